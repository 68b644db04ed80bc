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

const bomb = [
  'a0: &a0 [x, x, x, x, x, x, x, x, x, x]',
  ...Array.from({ length: 9 }, (_, i) => `a${i + 1}: &a${i + 1} [${Array(10).fill(`*a${i}`).join(', ')}]`),
].join('\n');
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

describe('simulate --cib says what it did not import (issue 16, item 16)', () => {
  const UP = (id: string, name: string): string => `<node_state id="${id}" uname="${name}" in_ccm="true" crmd="online" join="member" expected="member"/>`;
  const cib = `<cib have-quorum="1" dc-uuid="1"><configuration><crm_config/><nodes><node id="1" uname="n1"/></nodes>
    <resources><clone id="cl"><meta_attributes id="m"><nvpair id="m1" name="clone-max" value="-5"/></meta_attributes><primitive id="d" class="ocf" provider="heartbeat" type="Dummy"/></clone>
      <primitive id="e" class="ocf" provider="heartbeat" type="Dummy"/></resources>
    <constraints><rsc_colocation id="c" rsc="e" with-rsc="ghost" score="INFINITY"/></constraints>
    <fencing-topology/></configuration><status>${UP('1', 'n1')}${UP('9', 'n9')}</status></cib>`;

  it('prints every unsupported and every ignored element with its place', async () => {
    const io = fakeIo({ 'c.xml': cib });
    expect(await runCli(['simulate', '--cib', 'c.xml'], io)).toBe(0);
    expect(io.stderr).toEqual(
      expect.arrayContaining([
        'warning: c.xml: configuration/fencing-topology: unsupported: fencing topology (fencing levels) is not modelled',
        expect.stringMatching(/^note: c\.xml: configuration\/constraints\/rsc_colocation\[c\]: ignored: constraint names "ghost"/),
        expect.stringMatching(/^note: c\.xml: status\/node_state\[n9\]: ignored: state of a node that is not in the configuration/),
        'note: c.xml: configuration/resources/clone[cl]/meta_attributes[m]/clone-max: ignored: clone-max="-5" is below 0: read as 0, as Pacemaker does',
      ]),
    );
  });

  it('refuses two CIBs pasted together (exit 2)', async () => {
    const io = fakeIo({ 'two.xml': cib + cib });
    expect(await runCli(['simulate', '--cib', 'two.xml'], io)).toBe(2);
    expect(io.stderr.join('\n')).toMatch(
      /^two\.xml: 1 problem found\n {2}- \(top level\): not well-formed XML: a document has one root element, this one has 2/,
    );
  });
});
