/**
 * A recursion written as generators, run on an explicit stack instead of the call stack (a
 * colocation chain thousands of resources long would overflow it): each request a frame yields
 * starts a new frame on top, whose result is sent back to the frame that yielded it.
 */
export function runOnStack<Request, Result>(
  first: Generator<Request, Result, Result>,
  frame: (request: Request) => Generator<Request, Result, Result>,
): Result {
  const stack = [first];
  // The first next() of a frame ignores its argument, so a new frame starts with none.
  let reply: Result | undefined;
  for (;;) {
    const step = stack[stack.length - 1]!.next(reply as Result);
    if (step.done) {
      stack.pop();
      if (stack.length === 0) return step.value;
      reply = step.value;
    } else {
      stack.push(frame(step.value));
      reply = undefined;
    }
  }
}
