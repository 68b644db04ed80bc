/**
 * Alerts: on cluster events (node joined or lost, fencing, resource actions, links), run each
 * configured alert agent — a program with Pacemaker's CRM_alert_* environment, once per recipient,
 * or a webhook POST — without ever blocking the daemon: event handlers only queue; a bounded
 * number of runs go at once, the queue is bounded (beyond it new runs are dropped, logged and
 * counted), and every run has a deadline (the program's process group is killed, the request
 * aborted).
 */
import { Counter, type Registry } from 'prom-client';
import type { Alert, ClusterConfig, Monitoring } from '@paceline/model';
import { eitherSignal, type CommandRunner, type Logger } from '@paceline/agent-api';
import { alertEnv, alertJson, resourceAlert, type AlertEvent } from './alert-event.js';
import { docConfig, subscribe, type ObservedDaemon } from './source.js';

export interface AlertManagerOptions {
  readonly runner: CommandRunner;
  readonly logger: Logger;
  /** CRM_alert_version: the Paceline version. */
  readonly version: string;
  /** Register `paceline_alerts_total` and `paceline_alerts_dropped_total` here (the metrics registry). */
  readonly registry?: Registry;
  /** Wall clock in ms. */
  readonly now?: () => number;
  /** Webhook transport (default: the global fetch). */
  readonly fetch?: typeof fetch;
}

interface Job {
  readonly alert: Alert;
  readonly event: AlertEvent;
  readonly sequence: number;
  readonly recipient?: string;
}

export type AlertRunResult = 'ok' | 'failed' | 'timeout' | 'dropped';

export class AlertManager {
  private alerts: readonly Alert[] = [];
  private concurrency = 4;
  private queueLimit = 100;
  private config: ClusterConfig | undefined;
  private readonly waiting: Job[] = [];
  private readonly running = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private sequence = 0;
  private disposed = false;
  private readonly unsubscribe: () => void;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly results: Counter | undefined;
  private readonly dropped: Counter | undefined;

  constructor(
    private readonly daemon: ObservedDaemon,
    private readonly o: AlertManagerOptions,
  ) {
    this.now = o.now ?? Date.now;
    this.log = o.logger.child({ component: 'alerts' });
    if (o.registry) {
      this.results = new Counter({
        name: 'paceline_alerts_total',
        help: 'Alert agent runs and webhook calls, by alert and result',
        labelNames: ['alert', 'result'],
        registers: [o.registry],
      });
      this.dropped = new Counter({
        name: 'paceline_alerts_dropped_total',
        help: 'Alert runs dropped because the alert queue was full',
        labelNames: ['alert'],
        registers: [o.registry],
      });
    }
    this.configure(docConfig(daemon.document()));
    const self = daemon.name;
    this.unsubscribe = subscribe(daemon, {
      'config-changed': (e) => this.configure(docConfig(e.doc)),
      'node-joined': (e) => this.emit({ kind: 'node', at: this.now(), node: e.node, desc: 'member' }),
      'node-lost': (e) => this.emit({ kind: 'node', at: this.now(), node: e.node, desc: 'lost' }),
      fenced: (e) => {
        const task = this.config?.properties.stonithAction ?? 'reboot';
        this.emit({
          kind: 'fencing',
          at: this.now(),
          node: e.node,
          task,
          rc: e.ok ? 0 : 1,
          desc: `Operation ${task} of ${e.node} by ${self}: ${e.ok ? 'OK' : `Error${e.detail ? ` (${e.detail})` : ''}`}`,
        });
      },
      // Each node alerts for the actions it runs (the coordinator also sees the ones it dispatched).
      'action-finished': (e) => {
        if (e.node !== self) return;
        const a = resourceAlert(e, this.now());
        if (a) this.emit(a);
      },
      'link-down': (e) => this.emit({ kind: 'link', at: this.now(), node: e.node, link: e.link, task: 'down', desc: `link ${e.link} to ${e.node} is down` }),
      'link-up': (e) => this.emit({ kind: 'link', at: this.now(), node: e.node, link: e.link, task: 'up', desc: `link ${e.link} to ${e.node} is up` }),
    });
  }

  private configure(config: ClusterConfig | undefined): void {
    if (config === undefined) return;
    this.config = config;
    const m: Monitoring | undefined = config.monitoring;
    this.alerts = m?.alerts ?? [];
    this.concurrency = m?.alertConcurrency ?? 4;
    this.queueLimit = m?.alertQueue ?? 100;
    this.pump();
  }

  /** Queues the runs an event causes (never waits). */
  emit(event: AlertEvent): void {
    if (this.disposed) return;
    const matching = this.alerts.filter((a) => a.select === undefined || a.select.includes(event.kind));
    if (matching.length === 0) return;
    const sequence = ++this.sequence;
    for (const alert of matching) {
      const recipients = 'path' in alert && alert.recipients.length > 0 ? alert.recipients : [undefined];
      for (const recipient of recipients) {
        if (this.waiting.length >= this.queueLimit) {
          this.dropped?.inc({ alert: alert.id });
          this.results?.inc({ alert: alert.id, result: 'dropped' });
          this.log.warn(`alert ${alert.id} dropped: ${this.waiting.length} alert runs wait already (monitoring.alertQueue)`, {
            kind: event.kind,
            node: event.node,
          });
          continue;
        }
        this.waiting.push({ alert, event, sequence, ...(recipient !== undefined ? { recipient } : {}) });
      }
    }
    this.pump();
  }

  private pump(): void {
    while (!this.disposed && this.running.size < this.concurrency && this.waiting.length > 0) {
      const job = this.waiting.shift()!;
      const p: Promise<void> = this.run(job)
        .then((result) => {
          this.results?.inc({ alert: job.alert.id, result });
        })
        .finally(() => {
          this.running.delete(p);
          this.pump();
        });
      this.running.add(p);
    }
  }

  private async run(job: Job): Promise<AlertRunResult> {
    const { alert, event } = job;
    const ctx = {
      sequence: job.sequence,
      timestampFormat: alert.timestampFormat,
      version: this.o.version,
      ...(job.recipient !== undefined ? { recipient: job.recipient } : {}),
    };
    const fields = { alert: alert.id, kind: event.kind, node: event.node, ...(job.recipient !== undefined ? { recipient: job.recipient } : {}) };
    let release: (() => void) | undefined;
    try {
      if ('path' in alert) {
        const r = await this.o.runner.run(alert.path, alert.args, {
          env: alertEnv(event, { ...ctx, env: alert.env }),
          timeoutMs: alert.timeout,
          signal: this.abort.signal,
        });
        if (r.timedOut) {
          this.log.warn(`alert agent ${alert.path} timed out after ${alert.timeout} ms (killed)`, fields);
          return 'timeout';
        }
        if (r.notFound) {
          this.log.warn(`alert agent ${alert.path} cannot be run: ${r.stderr.trim() || 'not found or not executable'}`, fields);
          return 'failed';
        }
        if (r.exitCode !== 0) {
          this.log.warn(
            `alert agent ${alert.path} failed: ${r.exitCode !== null ? `exit ${r.exitCode}` : `signal ${r.signal ?? '?'}`} ${r.stderr.trim().slice(0, 500)}`.trim(),
            fields,
          );
          return 'failed';
        }
        this.log.debug(`alert agent ${alert.path} ran`, fields);
        return 'ok';
      }
      // Not AbortSignal.any: Node 20 would keep every delivery's composite on the queue's signal.
      const deadline = eitherSignal(this.abort.signal, AbortSignal.timeout(alert.timeout));
      release = deadline.release;
      const body = alertJson(event, {
        ...ctx,
        alert: alert.id,
        from: this.daemon.name,
        ...(this.config?.properties.clusterName !== undefined ? { cluster: this.config.properties.clusterName } : {}),
      });
      const res = await (this.o.fetch ?? fetch)(alert.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...alert.headers },
        body: JSON.stringify(body),
        signal: deadline.signal,
      });
      await res.arrayBuffer().catch(() => undefined);
      if (!res.ok) {
        this.log.warn(`alert webhook ${alert.id} answered HTTP ${res.status}`, fields);
        return 'failed';
      }
      return 'ok';
    } catch (e) {
      const err = e as Error;
      const timedOut = err.name === 'TimeoutError';
      this.log.warn(`alert ${alert.id} ${timedOut ? `timed out after ${alert.timeout} ms` : `failed: ${err.message}`}`, fields);
      return timedOut ? 'timeout' : 'failed';
    } finally {
      release?.();
    }
  }

  /** Runs waiting or running now. */
  get pending(): number {
    return this.waiting.length + this.running.size;
  }

  /** Resolves once nothing waits or runs (for tests and shutdown). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.race(this.running);
  }

  /** Stops: drops what waits, aborts what runs (processes are killed), waits for them. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.unsubscribe();
    const left = this.waiting.length;
    this.waiting.length = 0;
    if (left > 0) this.log.warn(`${left} alert runs not started: the daemon is stopping`);
    this.abort.abort();
    await Promise.allSettled([...this.running]);
  }
}
