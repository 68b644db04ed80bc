/**
 * What the observers read from a running daemon: its events, its status, its document, its message
 * counters, and the two administrative entry points the web view offers. `Daemon` implements it;
 * naming the surface keeps the observers honest about what they depend on.
 */
import type { ClusterConfig } from '@paceline/model';
import { parseDocConfig, type ClusterDoc, type Daemon, type DaemonEventMap, type DaemonStatus } from '@paceline/daemon';

export type ObservedDaemon = Pick<Daemon, 'name' | 'status' | 'document' | 'update' | 'cleanup' | 'on' | 'off' | 'messageStats'>;

/** Subscribes to daemon events and returns a function that unsubscribes them all. */
export function subscribe(daemon: ObservedDaemon, handlers: { [K in keyof DaemonEventMap]?: DaemonEventMap[K] }): () => void {
  const pairs = Object.entries(handlers) as [keyof DaemonEventMap, DaemonEventMap[keyof DaemonEventMap]][];
  for (const [event, fn] of pairs) daemon.on(event, fn as never);
  return () => {
    for (const [event, fn] of pairs) daemon.off(event, fn as never);
  };
}

/** The parsed configuration of a document (undefined when it does not parse, which a running daemon's never does). */
export function docConfig(doc: ClusterDoc): ClusterConfig | undefined {
  return parseDocConfig(doc).config;
}

export type { DaemonStatus };
