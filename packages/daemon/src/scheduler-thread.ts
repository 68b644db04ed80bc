/**
 * Runs the scheduler off the daemon's event loop, in a worker thread (schedule-worker.ts): a run
 * for a thousand resources takes most of a second of CPU, during which the event loop would send
 * no heartbeat (the peer would declare this node lost) and handle no message. The thread starts
 * with the daemon (`prestart`) or the first run and is reused; the configuration is copied to it only when it changed (the
 * status and the time every run). Copying the input there and the transition back costs the event
 * loop a few tens of ms at a thousand resources. A thread that fails or exits answers its runs with
 * the error and is started again for the next one.
 *
 * A run the core abandons (its answer would be dropped: a peer was lost, then its fencing was
 * confirmed, while it ran) cannot be interrupted inside its thread: it is answered ABANDONED at
 * once, and the next run waits until the thread is free (of several asked meanwhile, only the
 * newest). A second, idle thread to take over at once was tried (session 8): its first runs are
 * slower than the warm thread's (code not yet optimised), which ate the gain, for 25 MB more.
 */
import { Worker } from 'node:worker_threads';
import type { ClusterConfig, Transition } from '@paceline/model';
import type { ScheduleInput } from '@paceline/scheduler';

/**
 * A message to the thread: the configuration when it changed since the last one sent, or only its
 * epoch when nothing else changed (a quarantine, a node cleared: the document's epoch and
 * quarantine change, the configuration's parts are the same objects).
 */
export interface ScheduleRequest {
  readonly id: number;
  readonly config?: ClusterConfig;
  readonly epoch?: number;
  readonly status: ScheduleInput['status'];
  readonly now: number;
}

/** The thread's answer: the transition (without its scores), or why the scheduler failed. */
export interface ScheduleReply {
  readonly id: number;
  readonly transition?: Transition;
  readonly error?: string;
}

/** The compiled worker: beside this module in dist/; from the TypeScript sources (tests), the built one. */
function workerUrl(): URL {
  const here = new URL('.', import.meta.url);
  return here.pathname.endsWith('/src/') ? new URL('../dist/schedule-worker.js', here) : new URL('./schedule-worker.js', here);
}

/** What SchedulerThread uses of its worker (a Worker on schedule-worker.ts; tests give one they answer themselves). */
export type SchedulerWorker = Pick<Worker, 'postMessage' | 'on' | 'unref' | 'terminate'>;

/** The answer given to a run that was abandoned. */
export const ABANDONED = 'abandoned: a newer run replaces it';

interface Asked {
  readonly id: number;
  readonly input: ScheduleInput;
  readonly resolve: (r: ScheduleReply) => void;
  /** Asked ahead of the core (speculation.ts): `abandon` leaves it be. */
  readonly speculative?: boolean;
}

/** `next` is `sent` with another epoch and every other part the same object (values are never changed in place). */
function onlyEpochChanged(sent: ClusterConfig | undefined, next: ClusterConfig): boolean {
  if (sent === undefined) return false;
  const keys = Object.keys(next) as (keyof ClusterConfig)[];
  return keys.length === Object.keys(sent).length && keys.every((k) => k === 'epoch' || sent[k] === next[k]);
}

export class SchedulerThread {
  private worker: SchedulerWorker | undefined;
  private sentConfig: ClusterConfig | undefined;
  private seq = 0;
  /** The run the thread computes now (posted, not answered), and whether it is still wanted. */
  private busy: { asked: Asked; wanted: boolean } | undefined;
  /** The run asked for while the thread was busy: posted when it is free (only the newest is kept). */
  private held: Asked | undefined;
  private disposed = false;

  constructor(private readonly spawn: () => SchedulerWorker = () => new Worker(workerUrl())) {}

  /**
   * Runs `schedule(input)` in the thread; resolves with its answer (never rejects). While the thread
   * computes an abandoned run, the new one waits for it (a newer one asked meanwhile replaces it:
   * at most one run waits, however often the core asks).
   */
  run(input: ScheduleInput): Promise<ScheduleReply> {
    if (this.disposed) return Promise.resolve({ id: 0, error: 'the daemon is stopping' });
    return new Promise((resolve) => {
      const asked = { id: ++this.seq, input, resolve };
      if (this.busy === undefined) return this.post(asked);
      this.held?.resolve({ id: this.held.id, error: ABANDONED });
      this.held = asked;
    });
  }

  /**
   * A run asked ahead of the core (speculation.ts) when the thread is free, else answered ABANDONED
   * at once (it never waits, nor displaces a run the core asked for); `abandon` leaves it be.
   */
  speculate(input: ScheduleInput): Promise<ScheduleReply> {
    if (this.disposed || this.busy !== undefined) return Promise.resolve({ id: 0, error: ABANDONED });
    return new Promise((resolve) => this.post({ id: ++this.seq, input, resolve, speculative: true }));
  }

  /** Starts the thread now (before the first run needs it). */
  prestart(): void {
    if (!this.disposed) this.worker ??= this.start();
  }

  /** The runs the core asked for are no longer wanted: each is answered ABANDONED now (the next run waits until the thread is free). */
  abandon(): void {
    this.held?.resolve({ id: this.held.id, error: ABANDONED });
    this.held = undefined;
    const busy = this.busy;
    if (busy === undefined || !busy.wanted || busy.asked.speculative === true) return;
    busy.wanted = false;
    busy.asked.resolve({ id: busy.asked.id, error: ABANDONED });
  }

  private post(asked: Asked): void {
    const w = (this.worker ??= this.start());
    const { input } = asked;
    const request: ScheduleRequest = {
      id: asked.id,
      status: input.status,
      now: input.now,
      ...(input.config === this.sentConfig ? {} : onlyEpochChanged(this.sentConfig, input.config) ? { epoch: input.config.epoch } : { config: input.config }),
    };
    this.sentConfig = input.config;
    this.busy = { asked, wanted: true };
    try {
      w.postMessage(request);
    } catch (e) {
      this.fail(w, `cannot pass the run to the scheduler thread: ${(e as Error).message}`);
    }
  }

  private start(): SchedulerWorker {
    const w = this.spawn();
    w.unref(); // it never keeps the process alive on its own
    w.on('message', (r: ScheduleReply) => {
      if (this.worker !== w || this.busy?.asked.id !== r.id) return;
      const { asked, wanted } = this.busy;
      this.busy = undefined;
      if (wanted) asked.resolve(r);
      this.next();
    });
    w.on('error', (e) => this.fail(w, `the scheduler thread failed: ${e.message}`));
    w.on('exit', (code) => this.fail(w, `the scheduler thread exited (code ${code})`));
    return w;
  }

  /** The thread is free: the held run, if any, goes to it. */
  private next(): void {
    const held = this.held;
    this.held = undefined;
    if (held !== undefined && !this.disposed) this.post(held);
  }

  /** The thread is gone: the run it computed is answered with `error` (when still wanted); the next run starts a new thread. */
  private fail(w: SchedulerWorker, error: string): void {
    if (this.worker !== w) return;
    this.worker = undefined;
    this.sentConfig = undefined;
    void w.terminate();
    const busy = this.busy;
    this.busy = undefined;
    if (busy?.wanted) busy.asked.resolve({ id: busy.asked.id, error });
    this.next();
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    this.held?.resolve({ id: this.held.id, error: 'the daemon is stopping' });
    this.held = undefined;
    const w = this.worker;
    if (w === undefined) return;
    this.fail(w, 'the daemon is stopping');
    await w.terminate().catch(() => undefined);
  }
}
