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

/**
 * Each call first asks winston whether the level is on: winston formats an entry (timestamp,
 * fields) before its transports filter it, which cost a daemon placing a thousand resources about
 * a third of a second of CPU for debug lines nobody saw. A child's winston logger is made when it
 * first writes (a daemon makes one or more children per action, most of which write nothing).
 */
class WinstonLogger implements Logger {
  private made: winston.Logger | undefined;

  constructor(
    private readonly parent: winston.Logger | WinstonLogger,
    private readonly fields?: Record<string, unknown>,
  ) {}

  private get w(): winston.Logger {
    if (this.made === undefined) {
      const p = this.parent instanceof WinstonLogger ? this.parent.w : this.parent;
      this.made = this.fields === undefined ? p : p.child(this.fields);
    }
    return this.made;
  }

  private on(level: LogLevel): boolean {
    return this.root().isLevelEnabled(level);
  }

  private root(): winston.Logger {
    return this.parent instanceof WinstonLogger ? this.parent.root() : this.parent;
  }

  debug(message: string, fields?: Record<string, unknown>): void {
    if (this.on('debug')) this.w.debug(message, fields ?? {});
  }
  info(message: string, fields?: Record<string, unknown>): void {
    if (this.on('info')) this.w.info(message, fields ?? {});
  }
  warn(message: string, fields?: Record<string, unknown>): void {
    if (this.on('warn')) this.w.warn(message, fields ?? {});
  }
  error(message: string, fields?: Record<string, unknown>): void {
    if (this.on('error')) this.w.error(message, fields ?? {});
  }
  child(fields: Record<string, unknown>): Logger {
    return new WinstonLogger(this, fields);
  }
}

/** Console transports writing to this process's stderr, silenced together when it breaks. */
const stderrTransports = new Set<{ silent?: boolean }>();
let watchingStderr = false;

/**
 * A daemon whose log pipe closes (`paceline daemon … | head`, a log collector that died) must keep
 * running: on EPIPE the console transports stop writing to stderr instead of the process dying of an
 * unhandled 'error' event. Any other stream error is not expected and is thrown as before.
 */
function silenceStderrOnBrokenPipe(transport: { silent?: boolean }): void {
  stderrTransports.add(transport);
  if (watchingStderr) return;
  watchingStderr = true;
  process.stderr.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE' && e.code !== 'ERR_STREAM_DESTROYED') throw e;
    for (const t of stderrTransports) t.silent = true;
  });
}

/** A Logger writing `human` (default) or `json` lines (to stderr by default; silenced if that pipe closes). */
export function createLogger(options: LoggerOptions = {}): Logger {
  const clock = options.clock;
  const timestamp = winston.format.timestamp(clock ? { format: () => new Date(clock.now()).toISOString() } : {});
  const fmt =
    options.format === 'json' ? winston.format.combine(timestamp, winston.format.json()) : winston.format.combine(timestamp, winston.format.printf(human));
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
  if (!options.stream) silenceStderrOnBrokenPipe(transport);
  return new WinstonLogger(w);
}
