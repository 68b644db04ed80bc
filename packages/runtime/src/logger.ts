/**
 * The Logger adapter on winston: a human format for terminals and a JSON format for machines,
 * with structured fields (node, resource, action, transition, ...) carried by child loggers.
 */
import winston from 'winston';
import type { Writable } from 'node:stream';
import type { Clock, Logger } from '@paceline/agent-api';

export type LogFormat = 'human' | 'json';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LoggerOptions {
  readonly level?: LogLevel;
  readonly format?: LogFormat;
  /** Fields on every entry, e.g. { node: 'serv1' }. */
  readonly fields?: Record<string, unknown>;
  /** Where to write (default: stderr). */
  readonly stream?: Writable;
  /** Timestamps from this clock (default: the wall clock). */
  readonly clock?: Clock;
}

/** Fields shown first, in this order, in the human format. */
const LEADING = ['node', 'resource', 'action', 'transition'];

function human(info: winston.Logform.TransformableInfo): string {
  const { level, message, timestamp, ...rest } = info as winston.Logform.TransformableInfo & { timestamp?: string };
  const fields = rest as Record<string, unknown>;
  const lead = LEADING.filter((k) => fields[k] !== undefined).map((k) => String(fields[k]));
  const tail = Object.keys(fields)
    .filter((k) => !LEADING.includes(k) && typeof k === 'string')
    .sort()
    .map((k) => `${k}=${format(fields[k])}`);
  return [timestamp, level.toUpperCase().padEnd(5), lead.length ? `[${lead.join(' ')}]` : '', String(message), ...tail]
    .filter((s) => s !== '' && s !== undefined)
    .join(' ');
}

function format(v: unknown): string {
  if (typeof v === 'string') return /\s|=|"/.test(v) ? JSON.stringify(v) : v;
  if (v instanceof Error) return JSON.stringify(v.message);
  return JSON.stringify(v) ?? String(v);
}

class WinstonLogger implements Logger {
  constructor(private readonly w: winston.Logger) {}
  debug(message: string, fields?: Record<string, unknown>): void { this.w.debug(message, fields ?? {}); }
  info(message: string, fields?: Record<string, unknown>): void { this.w.info(message, fields ?? {}); }
  warn(message: string, fields?: Record<string, unknown>): void { this.w.warn(message, fields ?? {}); }
  error(message: string, fields?: Record<string, unknown>): void { this.w.error(message, fields ?? {}); }
  child(fields: Record<string, unknown>): Logger { return new WinstonLogger(this.w.child(fields)); }
}

/** A Logger writing `human` (default) or `json` lines. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const clock = options.clock;
  const timestamp = winston.format.timestamp(clock ? { format: () => new Date(clock.now()).toISOString() } : {});
  const fmt = options.format === 'json'
    ? winston.format.combine(timestamp, winston.format.json())
    : winston.format.combine(timestamp, winston.format.printf(human));
  const transport = options.stream
    ? new winston.transports.Stream({ stream: options.stream })
    : new winston.transports.Console({ stderrLevels: ['debug', 'info', 'warn', 'error'] });
  const w = winston.createLogger({
    level: options.level ?? 'info',
    levels: { error: 0, warn: 1, info: 2, debug: 3 },
    format: fmt,
    defaultMeta: options.fields ?? {},
    transports: [transport],
  });
  return new WinstonLogger(w);
}
