/**
 * The scheduler's thread in a simulated cluster (fault class `thread`): the daemon's own
 * SchedulerThread and CoreDriver (runs held while a lost peer is fenced, the failover's run
 * computed ahead, stale runs abandoned, failed runs asked again), with a worker that answers on the
 * simulated clock `ticks` ticks after a run is posted, computed by the real scheduler then. It
 * keeps the configuration as schedule-worker.ts does (sent whole, or only a new epoch).
 */
import { EventEmitter } from 'node:events';
import type { ClusterConfig, ClusterStatus } from '@paceline/model';
import { schedule } from '@paceline/scheduler';
import { SchedulerThread, type ScheduleReply, type ScheduleRequest, type SchedulerWorker, type Timers } from '@paceline/daemon';

class SimWorker extends EventEmitter {
  private config: ClusterConfig | undefined;
  private pending: unknown;
  private ended = false;

  constructor(
    private readonly timers: Timers,
    private readonly delayMs: number,
  ) {
    super();
  }

  postMessage(m: ScheduleRequest): void {
    if (this.ended) return;
    if (m.config !== undefined) this.config = m.config;
    else if (m.epoch !== undefined && this.config !== undefined) this.config = { ...this.config, epoch: m.epoch };
    const config = this.config;
    this.pending = this.timers.setTimeout(() => {
      this.pending = undefined;
      if (this.ended) return;
      let reply: ScheduleReply;
      if (config === undefined) reply = { id: m.id, error: 'the scheduler thread has no configuration' };
      else {
        try {
          reply = { id: m.id, transition: schedule({ config, status: m.status as ClusterStatus, now: m.now }) };
        } catch (e) {
          reply = { id: m.id, error: (e as Error).message };
        }
      }
      this.emit('message', reply);
    }, this.delayMs);
  }

  unref(): this {
    return this;
  }

  terminate(): Promise<number> {
    this.ended = true;
    if (this.pending !== undefined) this.timers.clearTimeout(this.pending);
    return Promise.resolve(0);
  }
}

/** A SchedulerThread whose runs are answered `delayMs` after they are posted, on `timers`. */
export function simulatedThread(timers: Timers, delayMs: number): () => SchedulerThread {
  return () => new SchedulerThread(() => new SimWorker(timers, delayMs) as unknown as SchedulerWorker);
}
