// bench:daemon:scale's node processes (scripts/bench-daemon-scale-node.mjs, one daemon each) and the
// questions it asks them over IPC (that script's header lists them).

/**
 * `spawn(node, argv, execArgv)` starts a node's process (with an IPC channel), `args(node)` its
 * arguments, `stateDir(node)` its daemon's state directory. Returns `children` (node → { child,
 * stateDir }), `start(node)` (resolves once it is ready), `ask(node, cmd, extra)`, `stats(node,
 * light)`, `probe(on)` and `endPhase()`.
 */
export function scaleNodes({ spawn, args, stateDir }) {
  const children = new Map();
  let seq = 0;
  const pending = new Map();
  function start(node) {
    const execArgv = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const child = spawn(node, args(node), execArgv);
    const ready = new Promise((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`${node} exited (${code}) before it was ready`)));
      child.on('message', (m) => {
        if (m.ready) resolve();
        else if (pending.has(m.id)) {
          pending.get(m.id)(m);
          pending.delete(m.id);
        }
      });
    });
    children.set(node, { child, stateDir: stateDir(node) });
    return ready;
  }
  /**
   * Asks `node` `cmd` and waits for its answer (a minute at most: a node that does not answer is an
   * error, not a hang); a node whose process has ended fails the question at once, saying how it ended.
   */
  function ask(node, cmd, extra = {}) {
    const id = ++seq;
    const { child } = children.get(node);
    return new Promise((resolve, reject) => {
      const ended = () => `${node}'s process ended (${child.signalCode ?? `exit ${child.exitCode}`}) before it answered ${cmd}`;
      if (child.exitCode !== null || child.signalCode !== null) return reject(new Error(ended()));
      const onExit = () => {
        clearTimeout(timer);
        pending.delete(id);
        reject(new Error(ended()));
      };
      const timer = setTimeout(() => {
        child.off('exit', onExit);
        pending.delete(id);
        reject(new Error(`${node} did not answer ${cmd} within 60 s`));
      }, 60_000);
      pending.set(id, (m) => {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve(m);
      });
      child.once('exit', onExit);
      child.send({ cmd, id, ...extra });
    });
  }
  /** Per node and phase: the event loop's largest delay and the peers lost (every answer resets them). */
  const phase = { loopDelayMaxMs: {}, lost: {} };
  async function stats(node, light = false) {
    const m = await ask(node, 'stats', { light });
    phase.loopDelayMaxMs[node] = Math.max(phase.loopDelayMaxMs[node] ?? 0, m.loopDelayMaxMs ?? 0);
    phase.lost[node] = (phase.lost[node] ?? 0) + (m.lost?.length ?? 0);
    return m;
  }
  /** Turns every node's event-loop delay probe on or off. */
  function probe(on) {
    for (const { child } of children.values()) child.send({ cmd: 'probe', on });
  }
  /** The phase's figures so far, and a new phase. */
  function endPhase() {
    const r = { loopDelayMaxMs: { ...phase.loopDelayMaxMs }, lost: { ...phase.lost } };
    phase.loopDelayMaxMs = {};
    phase.lost = {};
    return r;
  }
  return { children, start, ask, stats, probe, endPhase };
}
