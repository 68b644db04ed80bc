/**
 * Runs the scheduler off the daemon's event loop, in a worker thread (schedule-worker.ts): a run
 * for a thousand resources takes most of a second of CPU, during which the event loop would send
 * no heartbeat (the peer would declare this node lost) and handle no message. The thread starts
 * with the first run and is reused; the configuration is copied to it only when it changed (the
 * status and the time every run). Copying the input there and the transition back costs the event
 * loop a few tens of ms at a thousand resources. A thread that fails or exits answers its runs with
 * the error and is started again for the next one.
 */
import { Worker } from 'node:worker_threads';
import type { ClusterConfig, Transition } from '@paceline/model';
import type { ScheduleInput } from '@paceline/scheduler';

/** A message to the thread: the configuration when it changed since the last one sent. */
export interface ScheduleRequest {
  readonly id: number;
  readonly config?: ClusterConfig;
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

export class SchedulerThread {
  private worker: Worker | undefined;
  private sentConfig: ClusterConfig | undefined;
  private seq = 0;
  private readonly waiting = new Map<number, (r: ScheduleReply) => void>();
  private disposed = false;

  /** Runs `schedule(input)` in the thread; resolves with its answer (never rejects). */
  run(input: ScheduleInput): Promise<ScheduleReply> {
    if (this.disposed) return Promise.resolve({ id: 0, error: 'the daemon is stopping' });
    const w = (this.worker ??= this.start());
    const id = ++this.seq;
    const request: ScheduleRequest = { id, status: input.status, now: input.now, ...(input.config !== this.sentConfig ? { config: input.config } : {}) };
    this.sentConfig = input.config;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      try {
        w.postMessage(request);
      } catch (e) {
        this.fail(w, `cannot pass the run to the scheduler thread: ${(e as Error).message}`);
      }
    });
  }

  private start(): Worker {
    const w = new Worker(workerUrl());
    w.unref(); // it never keeps the process alive on its own
    w.on('message', (r: ScheduleReply) => {
      const resolve = this.waiting.get(r.id);
      this.waiting.delete(r.id);
      resolve?.(r);
    });
    w.on('error', (e) => this.fail(w, `the scheduler thread failed: ${e.message}`));
    w.on('exit', (code) => this.fail(w, `the scheduler thread exited (code ${code})`));
    return w;
  }

  /** The thread is gone: its runs are answered with `error`; the next run starts a new one. */
  private fail(w: Worker, error: string): void {
    if (this.worker !== w) return;
    this.worker = undefined;
    this.sentConfig = undefined;
    void w.terminate();
    for (const [id, resolve] of this.waiting) resolve({ id, error });
    this.waiting.clear();
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    const w = this.worker;
    if (w === undefined) return;
    this.fail(w, 'the daemon is stopping');
    await w.terminate().catch(() => undefined);
  }
}
