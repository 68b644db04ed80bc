/**
 * Work an action leaves running after it returns, with a handle that cancels it: the ip agent's
 * gratuitous-ARP series goes on for a second after start has returned, and must end when the
 * address is stopped (announcing an address that has moved to another node would send its
 * clients back to this one). `invokeAgent` gives each action `ctx.background`, scoped to its
 * node and instance, and cancels that instance's tasks when a stop of it begins.
 */
import type { AgentContext, BackgroundTasks, Logger } from './context.js';

interface Task {
  readonly name: string;
  readonly controller: AbortController;
  readonly done: Promise<void>;
}

/**
 * The background tasks of a process, by instance key (`invokeAgent` uses "node/instance"). Tasks
 * end by themselves, or when `cancel(key)` or `dispose()` aborts their signal; a task that throws
 * is logged as a warning (it has no caller left to report to).
 */
export class BackgroundTaskSet {
  private readonly tasks = new Map<string, Set<Task>>();

  /** The handle an action of instance `key` gets as `ctx.background`. */
  scope(key: string, log: Logger): BackgroundTasks {
    return { start: (name, task) => this.start(key, name, task, log) };
  }

  private start(key: string, name: string, task: (signal: AbortSignal) => Promise<void>, log: Logger): void {
    const set = this.tasks.get(key) ?? new Set<Task>();
    this.tasks.set(key, set);
    const controller = new AbortController();
    let finished!: () => void;
    const entry: Task = { name, controller, done: new Promise<void>((resolve) => (finished = resolve)) };
    set.add(entry);
    const end = (): void => {
      set.delete(entry);
      if (set.size === 0 && this.tasks.get(key) === set) this.tasks.delete(key);
      finished();
    };
    Promise.resolve()
      .then(() => task(controller.signal))
      .catch((e: unknown) => {
        if (!controller.signal.aborted) log.warn(`background task "${name}" failed`, { error: e instanceof Error ? e.message : String(e) });
      })
      .finally(end);
  }

  /** The names of the tasks still running for `key`. */
  running(key: string): string[] {
    return [...(this.tasks.get(key) ?? [])].map((t) => t.name);
  }

  /** Aborts the tasks of `key` and waits until they have ended. */
  async cancel(key: string, reason = 'cancelled'): Promise<void> {
    const set = this.tasks.get(key);
    if (!set) return;
    const all = [...set];
    for (const t of all) t.controller.abort(new Error(reason));
    await Promise.all(all.map((t) => t.done));
  }

  /** Aborts every task and waits until they have ended. */
  async dispose(): Promise<void> {
    await Promise.all([...this.tasks.keys()].map((k) => this.cancel(k, 'disposed')));
  }
}

/** The process's background tasks: what `invokeAgent` uses unless the request names another set. */
export const processBackgroundTasks = new BackgroundTaskSet();

/**
 * Runs `task` after the action returns, through `ctx.background` (cancelled when the instance is
 * stopped). A context without one (built by hand in a test) runs it detached with a signal that
 * never aborts, its errors logged.
 */
export function runInBackground(ctx: Pick<AgentContext, 'background' | 'log'>, name: string, task: (signal: AbortSignal) => Promise<void>): void {
  if (ctx.background) {
    ctx.background.start(name, task);
    return;
  }
  task(new AbortController().signal).catch((e: unknown) =>
    ctx.log.warn(`background task "${name}" failed`, { error: e instanceof Error ? e.message : String(e) }),
  );
}
