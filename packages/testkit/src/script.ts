/**
 * Data-driven test scripts in the style of etcd raft's testdata: blocks of
 *
 *     # comments
 *     command args...
 *     ----
 *     expected output lines
 *
 * separated by blank lines. `parseScript` reads a file's text; `renderScript` writes it back with
 * new outputs (for the rewrite flag). Pure: the caller does the file I/O.
 */
import { TestkitError } from './errors.js';
export interface ScriptBlock {
  /** Comment lines (with their `#`) before the command. */
  readonly comments: readonly string[];
  readonly command: string;
  /** 1-based line of the command, for error messages. */
  readonly line: number;
  readonly expected: readonly string[];
}

export function parseScript(text: string, source = 'script'): ScriptBlock[] {
  const lines = text.split('\n');
  const blocks: ScriptBlock[] = [];
  let i = 0;
  while (i < lines.length) {
    const comments: string[] = [];
    while (i < lines.length && ((lines[i] ?? '').trim() === '' || (lines[i] ?? '').startsWith('#'))) {
      if ((lines[i] ?? '').startsWith('#')) comments.push(lines[i] ?? '');
      i++;
    }
    if (i >= lines.length) break;
    const command = (lines[i] ?? '').trim();
    const line = i + 1;
    i++;
    if ((lines[i] ?? '').trim() !== '----') throw new TestkitError('SCRIPT_INVALID', `${source}:${line}: expected "----" after the command "${command}"`);
    i++;
    const expected: string[] = [];
    while (i < lines.length && (lines[i] ?? '').trim() !== '') expected.push(lines[i++] ?? '');
    blocks.push({ comments, command, line, expected });
  }
  return blocks;
}

export function renderScript(blocks: readonly { comments: readonly string[]; command: string; expected: readonly string[] }[]): string {
  return blocks.map((b) => [...b.comments, b.command, '----', ...b.expected].join('\n')).join('\n\n') + '\n';
}
