/**
 * Reading configuration and status files, with errors that name the file. Every command (and the
 * daemon's start) reads YAML through the model's one loader, `parseDocumentText`: malformed text,
 * control characters and alias bombs are a ConfigError naming `FILE: line L, column C` (exit 2).
 */
import {
  ConfigError,
  emptyNodeStatus,
  parseConfigDocumentText,
  parseConfigText,
  parseDocumentText,
  parseStatusText,
  validateConfig,
  type ClusterConfig,
  type ClusterStatus,
  type ConfigDocument,
  type ValidationResult,
} from '@paceline/model';
import type { CliIo } from './io.js';

export function loadConfig(io: CliIo, path: string): ClusterConfig {
  return parseConfigText(readOrThrow(io, path), path);
}

/**
 * A configuration file as written and as parsed (what the daemon starts from): the same loader and
 * validation as `loadConfig`; throws ConfigError naming the file.
 */
export function loadConfigFile(io: CliIo, path: string): ConfigDocument {
  return parseConfigDocumentText(readOrThrow(io, path), path);
}

/** Any YAML or JSON file as plain data (e.g. a demo story); throws ConfigError naming the file. */
export function loadDocument(io: CliIo, path: string): unknown {
  return parseDocumentText(readOrThrow(io, path), path);
}

/**
 * A configuration file as written (what `config apply` sends and the daemon starts from) and its
 * validation: the caller decides what to do with problems and warnings. Unreadable or malformed
 * text throws ConfigError.
 */
export function loadConfigDocument(io: CliIo, path: string): { document: Record<string, unknown>; result: ValidationResult } {
  const document = loadDocument(io, path);
  const result = validateConfig(document);
  // Not a mapping: the validation says so ("expected object") and nothing is applied.
  return { document: typeof document === 'object' && document !== null && !Array.isArray(document) ? (document as Record<string, unknown>) : {}, result };
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
