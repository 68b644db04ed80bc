/**
 * The scheduler's thread (see scheduler-thread.ts, which starts it): it takes a run's input —
 * the configuration only when it changed (only its epoch when nothing else did), the status and
 * the time every time — runs the pure `schedule()` and posts the transition back, or the error's
 * message. The transition's scores are left out (nothing in the daemon reads them; they are a
 * fifth of what would be copied back).
 */
import { parentPort } from 'node:worker_threads';
import { schedule } from '@paceline/scheduler';
import type { ClusterConfig, ClusterStatus } from '@paceline/model';
import type { ScheduleReply, ScheduleRequest } from './scheduler-thread.js';
import { DaemonError } from './errors.js';

let config: ClusterConfig | undefined;

parentPort?.on('message', (m: ScheduleRequest) => {
  if (m.config !== undefined) config = m.config;
  else if (m.epoch !== undefined && config !== undefined) config = { ...config, epoch: m.epoch };
  let reply: ScheduleReply;
  try {
    if (config === undefined) throw new DaemonError('SCHEDULER_THREAD', 'no configuration was sent to the scheduler thread');
    const t = schedule({ config, status: m.status as ClusterStatus, now: m.now });
    reply = { id: m.id, transition: { ...t, explanation: { ...t.explanation, scores: [] } } };
  } catch (e) {
    reply = { id: m.id, error: (e as Error).message };
  }
  parentPort?.postMessage(reply);
});
