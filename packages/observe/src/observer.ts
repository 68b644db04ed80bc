/**
 * Wires what the configuration's `monitoring` section asks for to a started daemon: the metrics
 * endpoint, the alert manager (always: it does nothing while no alert is configured, and picks up
 * alerts added later), and the web view. The listen addresses come from the configuration the
 * daemon holds when it starts, unless this node's command line overrides them; changing them in
 * the configuration takes effect when the daemon restarts (alerts change at once).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CommandRunner, Logger } from '@paceline/agent-api';
import { AlertManager } from './alerts.js';
import { ObserveError } from './errors.js';
import { resolveListener, urlOf, type Bind } from './listen.js';
import { ClusterMetrics } from './metrics.js';
import { docConfig, type ObservedDaemon } from './source.js';
import { WebServer, listen, readTokenFile } from './web.js';

export interface ObserverOptions {
  readonly runner: CommandRunner;
  readonly logger: Logger;
  /** The Paceline version (CRM_alert_version). */
  readonly version: string;
  /** This node's overrides: a bind address, or null for off; undefined: as the configuration says. */
  readonly metrics?: Bind | null;
  readonly web?: Bind | null;
  readonly webTokenFile?: string;
  readonly now?: () => number;
}

export class Observer {
  private constructor(
    readonly metrics: ClusterMetrics | undefined,
    readonly alerts: AlertManager,
    readonly web: WebServer | undefined,
    private readonly metricsServer: Server | undefined,
    private readonly metricsBind: Bind | undefined,
  ) {}

  /** http://HOST:PORT/metrics, when metrics are on. */
  get metricsUrl(): string | undefined {
    if (this.metricsServer === undefined || this.metricsBind === undefined) return undefined;
    return `${urlOf({ host: this.metricsBind.host, port: (this.metricsServer.address() as AddressInfo).port })}/metrics`;
  }

  static async open(daemon: ObservedDaemon, o: ObserverOptions): Promise<Observer> {
    const config = docConfig(daemon.document());
    if (config === undefined) throw new ObserveError('LISTEN_INVALID', "the daemon's configuration does not parse");
    const m = config.monitoring;
    const log = o.logger;
    const metricsBind =
      o.metrics !== undefined ? (o.metrics ?? undefined) : m?.metrics ? resolveListener(m.metrics, config, daemon.name, 'metrics') : undefined;
    const webBind = o.web !== undefined ? (o.web ?? undefined) : m?.web ? resolveListener(m.web, config, daemon.name, 'web') : undefined;
    const tokenFile = o.webTokenFile ?? m?.web?.tokenFile;
    const token = webBind !== undefined && tokenFile !== undefined ? readTokenFile(tokenFile) : undefined;
    const now = o.now ?? Date.now;

    const metrics = metricsBind !== undefined ? new ClusterMetrics(daemon, { now }) : undefined;
    const alerts = new AlertManager(daemon, { runner: o.runner, logger: log, version: o.version, now, ...(metrics ? { registry: metrics.registry } : {}) });
    let server: Server | undefined;
    let web: WebServer | undefined;
    try {
      if (metrics !== undefined && metricsBind !== undefined) {
        server = metricsHttp(metrics, log);
        await listen(server, metricsBind, 'metrics');
        log.info(`metrics on ${urlOf({ host: metricsBind.host, port: (server.address() as AddressInfo).port })}/metrics`);
      }
      if (webBind !== undefined) {
        web = await WebServer.open(daemon, { bind: webBind, logger: log, now, ...(token !== undefined ? { token } : {}) });
        log.info(`web view on ${web.url}/ (${token !== undefined ? 'actions with the token' : 'read-only: no token file'})`);
      }
    } catch (e) {
      await closeServer(server);
      metrics?.dispose();
      await alerts.dispose();
      throw e;
    }
    return new Observer(metrics, alerts, web, server, metricsBind);
  }

  async dispose(): Promise<void> {
    await this.web?.dispose();
    await closeServer(this.metricsServer);
    this.metrics?.dispose();
    await this.alerts.dispose();
  }
}

function metricsHttp(metrics: ClusterMetrics, log: Logger): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('metrics are on /metrics\n');
      return;
    }
    metrics.render().then(
      ({ contentType, body }) => res.writeHead(200, { 'content-type': contentType }).end(req.method === 'HEAD' ? undefined : body),
      (e: Error) => {
        log.error('cannot render the metrics', { error: e.message });
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`${e.message}\n`);
      },
    );
  });
}

function closeServer(server: Server | undefined): Promise<void> {
  if (server === undefined || !server.listening) return Promise.resolve();
  return new Promise((r) => {
    server.close(() => r());
    server.closeAllConnections();
  });
}
