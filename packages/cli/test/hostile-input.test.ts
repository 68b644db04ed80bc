/**
 * Every command reads YAML through one loader (issue 16, item 14): malformed text, NUL bytes and
 * alias bombs give `FILE: … line L, column C` and exit 2 from `config validate`, `config apply`,
 * `simulate`, `explain` and `daemon` alike, before anything else happens.
 */
import { readFileSync } from 'node:fs';
import { runCli, type CliIo } from '@paceline/cli';

function fakeIo(files: Record<string, string>): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    stdout,
    stderr,
    out: (l) => stdout.push(l),
    err: (l) => stderr.push(l),
    readFile: (p) => files[p] ?? readFileSync(p, 'utf8'),
    now: () => Date.UTC(2026, 10, 22, 10, 0, 0),
  };
}

const bomb = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 9 }, (_, i) => `a${i + 1}: &a${i + 1} [${Array(10).fill(`*a${i}`).join(', ')}]`)].join('\n');
const inputs: Record<string, { text: string; where: string; says: RegExp }> = {
  'malformed.yaml': { text: 'nodes: [\n  {name: a\n', where: 'line 3, column 1', says: /must be sufficiently indented/ },
  'nul.yaml': { text: 'nodes:\n  - name: n1\u0000\n', where: 'line 2, column 13', says: /a NUL byte is not allowed/ },
  'bomb.yaml': { text: bomb, where: 'line 2, column 10', says: /alias bomb/ },
};
const files = Object.fromEntries(Object.entries(inputs).map(([f, x]) => [f, x.text]));

const commands: Record<string, (f: string) => string[]> = {
  'config validate': (f) => ['config', 'validate', f],
  'config apply': (f) => ['config', 'apply', f, '--state-dir', '/nonexistent-paceline-state'],
  simulate: (f) => ['simulate', '--config', f],
  explain: (f) => ['explain', 'web', '--config', f],
  daemon: (f) => ['daemon', '--config', f, '--node', 'n1', '--state-dir', '/nonexistent-paceline-state', '--key', '/nonexistent-paceline-key'],
};

describe('hostile configuration files', () => {
  for (const [name, argv] of Object.entries(commands)) {
    for (const [file, x] of Object.entries(inputs)) {
      it(`${name} ${file}: exit 2, the file, the line and column`, async () => {
        const io = fakeIo(files);
        expect(await runCli(argv(file), io)).toBe(2);
        const err = io.stderr.join('\n');
        expect(err).toMatch(new RegExp(`^${file}: \\d+ problems? found\\n {2}- ${x.where}: `));
        expect(err).toMatch(x.says);
        expect(io.stdout).toEqual([]);
      });
    }
  }
});
