import type { Logger } from './context.js';

/** A logger that drops everything (tests, and callers that do not care). */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};

export interface LogEntry {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

/** A logger that keeps entries in memory (`entries` is shared with its children), for tests. */
export function memoryLogger(fields: Record<string, unknown> = {}, entries: LogEntry[] = []): Logger & { readonly entries: LogEntry[] } {
  const at =
    (level: LogEntry['level']) =>
    (message: string, extra?: Record<string, unknown>): void => {
      entries.push({ level, message, fields: { ...fields, ...extra } });
    };
  return {
    entries,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (more) => memoryLogger({ ...fields, ...more }, entries),
  };
}
