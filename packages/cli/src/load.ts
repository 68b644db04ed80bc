/** Reading configuration and status files, with errors that name the file. */
import { ConfigError, emptyNodeStatus, parseConfigText, parseStatusText, type ClusterConfig, type ClusterStatus } from '@paceline/model';
import type { CliIo } from './io.js';

export function loadConfig(io: CliIo, path: string): ClusterConfig {
  return parseConfigText(readOrThrow(io, path), path);
}

/** A status file, or — without one — every configured node online with nothing known (a cold start). */
export function loadStatus(io: CliIo, config: ClusterConfig, path?: string): ClusterStatus {
  if (path) return parseStatusText(readOrThrow(io, path), path);
  return { quorum: true, nodes: config.nodes.map((n) => emptyNodeStatus(n.name, 'online')) };
}

export function readOrThrow(io: CliIo, path: string): string {
  try {
    return io.readFile(path);
  } catch (e) {
    throw new ConfigError([{ path, message: `cannot read file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` }], undefined, 'PARSE_FAILED');
  }
}

/** Parses an ISO-8601 date for --now; throws naming the option. */
export function parseNow(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new ConfigError([{ path: '--now', message: `"${text}" is not an ISO-8601 date (e.g. 2026-11-22T10:00:00Z)` }]);
  return ms;
}
