/**
 * @paceline/observe — what an operator plugs into a running daemon: Prometheus metrics, alerts on
 * cluster events and the live web view (docs/operations.md). The public API is the `Observer`
 * that wires them to a daemon, and the three parts for programs that want one of them alone.
 * The helpers behind them (alert environment, listener resolution, strftime, ...) are internal.
 */
export { Observer, type ObserverOptions } from './observer.js';
export { type ObservedDaemon } from './source.js';
export { ObserveError, type ObserveErrorCode } from './errors.js';
export { parseListenOverride, type Bind } from './listen.js';
export { AlertManager, type AlertManagerOptions, type AlertRunResult } from './alerts.js';
export { type AlertEvent, type AlertContext } from './alert-event.js';
export { ClusterMetrics, type ClusterMetricsOptions } from './metrics.js';
export { Timeline, type TimelineEntry, type TransitionView, type TimelineOptions } from './timeline.js';
export { WebServer, WebAction, readTokenFile, type WebServerOptions } from './web.js';
