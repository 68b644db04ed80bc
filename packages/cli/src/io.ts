/** The CLI's edges: files, output streams and the clock, injected so commands can be tested. */
import { readFileSync } from 'node:fs';

export interface CliIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  readonly readFile: (path: string) => string;
  /** Epoch ms. */
  readonly now: () => number;
}

export const processIo: CliIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  readFile: (path) => readFileSync(path, 'utf8'),
  now: () => Date.now(),
};

/** Thrown by commands to end with an exit code after printing their own message. */
export class ExitError extends Error {
  constructor(readonly exitCode: number, message = '') {
    super(message);
  }
}
