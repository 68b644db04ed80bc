/** Parsing of option values shared by commands: each error names the option and exits 2. */
import { parseEndpoint, type Endpoint } from '@paceline/runtime';
import { ExitError } from './io.js';

/** "HOST[:PORT]" for `option`, or exit 2 naming the option. */
export function parseAddressOption(option: string, text: string, defaultPort: number, { allowPortZero = false } = {}): Endpoint {
  let e: Endpoint;
  try {
    e = parseEndpoint(text, defaultPort);
  } catch (err) {
    throw new ExitError(2, `${option}: ${(err as Error).message}`);
  }
  if (!Number.isInteger(e.port) || e.port > 65535 || (e.port === 0 && !allowPortZero))
    throw new ExitError(2, `${option} "${text}": the port must be 1 to 65535`);
  return e;
}

/** A positive whole number of milliseconds for `option`, or exit 2 naming it. */
export function parseMsOption(option: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < 1 || !Number.isSafeInteger(Number(text)))
    throw new ExitError(2, `${option} "${text}": write a positive whole number of milliseconds`);
  return Number(text);
}

export const LOG_FORMATS = ['human', 'json'];
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'];

/** Checks --log-format and --log-level (shared with the daemon's). */
export function checkLogOptions(format: string, level: string): void {
  if (!LOG_FORMATS.includes(format)) throw new ExitError(2, `--log-format "${format}": write ${LOG_FORMATS.join(' or ')}`);
  if (!LOG_LEVELS.includes(level)) throw new ExitError(2, `--log-level "${level}": write one of ${LOG_LEVELS.join(', ')}`);
}
