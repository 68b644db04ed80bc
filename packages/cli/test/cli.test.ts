import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli, type CliIo } from '@paceline/cli';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const example = join(root, 'examples', 'two-node-mutual-failover', 'cluster.yaml');

function fakeIo(files: Record<string, string> = {}): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    stdout,
    stderr,
    out: (l) => stdout.push(l),
    err: (l) => stderr.push(l),
    readFile: (p) => {
      if (p in files) return files[p]!;
      return readFileSync(p, 'utf8');
    },
    now: () => Date.UTC(2026, 10, 22, 10, 0, 0),
  };
}

const tiny = `
properties: { stonithEnabled: false }
nodes: [{ name: n1 }, { name: n2 }]
resources:
  - { type: primitive, id: web, agent: "paceline:dummy" }
  - { type: primitive, id: db, agent: "paceline:dummy" }
constraints:
  - { type: location, id: web-likes-n2, resource: web, node: n2, score: 50 }
  - { type: colocation, id: db-with-web, resource: db, withResource: web, score: INFINITY }
`;

describe('paceline config validate', () => {
  it('accepts the reference cluster', async () => {
    const io = fakeIo();
    expect(await runCli(['config', 'validate', example], io)).toBe(0);
    expect(io.stdout.join('\n')).toMatch(/valid \(2 nodes, 10 resources, 10 constraints\)/);
  });

  it('lists every problem with its path and exits 2', async () => {
    const io = fakeIo({
      'bad.yaml':
        'nodes: [{ name: n1 }]\nresources: [{ type: primitive, id: a, agent: "paceline:dummy", meta: { stickiness: lots } }]\nconstraints: [{ type: order, id: o, first: a, then: ghost }]\n',
    });
    expect(await runCli(['config', 'validate', 'bad.yaml'], io)).toBe(2);
    const err = io.stderr.join('\n');
    expect(err).toMatch(/^bad\.yaml: 1 problem found/);
    expect(err).toMatch(/resources\[0\]\.meta\.stickiness: "lots" is not a score/);
  });

  it('checks the parameters of paceline: agents: an unknown one is an error with a suggestion', async () => {
    const io = fakeIo({
      'params.yaml':
        'nodes: [{ name: n1 }]\nresources:\n' +
        '  - { type: primitive, id: web, agent: "paceline:httpd", params: { server: nginx, expectStatu: 200 } }\n' +
        '  - { type: clone, id: dns-clone, child: { type: primitive, id: dns, agent: "paceline:bind", params: { port: 0 } } }\n' +
        '  - { type: primitive, id: mail, agent: "paceline:sendmial" }\n' +
        '  - { type: primitive, id: vip, agent: "ocf:heartbeat:IPaddr2", params: { anything: goes } }\n',
    });
    expect(await runCli(['config', 'validate', 'params.yaml'], io)).toBe(2);
    const err = io.stderr.join('\n');
    expect(err).toMatch(/^params\.yaml: 3 problems found/m);
    expect(err).toContain('resources[0].params.expectStatu: unknown parameter of paceline:httpd (did you mean "expectStatus"?)');
    expect(err).toMatch(/resources\[1\]\.child\.params\.port: .*>=1/);
    expect(err).toContain('resources[2].agent: no agent "paceline:sendmial"');
    expect(err).not.toContain('resources[3]');
  });

  // Typos of the native agents' parameters used to be dropped silently (a /32 VIP, a process
  // without arguments); every command that acts on a configuration now refuses them.
  const typos =
    'properties: { stonithEnabled: false }\nnodes: [{ name: n1 }]\nresources:\n' +
    '  - { type: primitive, id: vip, agent: "paceline:ip", params: { address: 192.0.2.10, interface: eth0, cidrNetmaks: 24 } }\n' +
    '  - { type: primitive, id: app, agent: "paceline:process", params: { command: /bin/sleep, agrs: ["600"] } }\n';
  const typoProblems = [
    'resources[0].params.cidrNetmaks: unknown parameter of paceline:ip (did you mean "cidrNetmask"?)',
    'resources[1].params.agrs: unknown parameter of paceline:process (did you mean "args"?)',
  ];
  it.each([
    ['config validate', ['config', 'validate', 'typos.yaml']],
    ['simulate', ['simulate', '--config', 'typos.yaml']],
    ['explain', ['explain', 'vip', '--config', 'typos.yaml']],
    ['config apply', ['config', 'apply', 'typos.yaml', '--state-dir', '/nonexistent/state']],
    ['daemon start', ['daemon', '--config', 'typos.yaml', '--node', 'n1', '--state-dir', '/nonexistent/state', '--key', '/nonexistent/key']],
  ])('%s refuses misspelt parameters of native agents with a "did you mean"', async (_name, argv) => {
    const io = fakeIo({ 'typos.yaml': typos });
    expect(await runCli(argv, io)).toBe(2);
    const err = io.stderr.join('\n');
    expect(err).toMatch(/^typos\.yaml: 2 problems found/);
    for (const p of typoProblems) expect(err).toContain(p);
  });

  it('warns that fencing without a fencing device leaves everything unmanaged, naming both fixes', async () => {
    const io = fakeIo({ 'nofence.yaml': 'nodes: [{ name: n1 }]\nresources: [{ type: primitive, id: a, agent: "paceline:dummy" }]\n' });
    expect(await runCli(['config', 'validate', 'nofence.yaml'], io)).toBe(0);
    expect(io.stderr.join('\n')).toMatch(
      /^warning: nofence\.yaml: properties\.stonithEnabled: fencing is enabled .* no fencing device .* every resource is left unmanaged\. Add a fencing device .*stonith:.*, or set properties\.stonithEnabled: false/,
    );
    const sim = fakeIo({ 'nofence.yaml': 'nodes: [{ name: n1 }]\nresources: [{ type: primitive, id: a, agent: "paceline:dummy" }]\n' });
    expect(await runCli(['explain', 'a', '--config', 'nofence.yaml'], sim)).toBe(0);
    expect(sim.stdout.some((l) => l.startsWith('  a: not placed (unmanaged: fencing is enabled'))).toBe(true);
    expect(sim.stdout.join('\n')).not.toContain('a: a:');
  });

  it('names a missing file', async () => {
    const io = fakeIo();
    expect(await runCli(['config', 'validate', '/nonexistent/cluster.yaml'], io)).toBe(2);
    expect(io.stderr.join('\n')).toMatch(/\/nonexistent\/cluster\.yaml: cannot read file: ENOENT/);
  });
});

describe('paceline simulate', () => {
  it('cold start: starts both, db follows web to its preferred node', async () => {
    const io = fakeIo({ 'c.yaml': tiny });
    expect(await runCli(['simulate', '--config', 'c.yaml'], io)).toBe(0);
    const out = io.stdout.join('\n');
    expect(out).toMatch(/Start\s+web\s+\( n2 \)/);
    expect(out).toMatch(/Start\s+db\s+\( n2 \)/);
    expect(out).toMatch(/Revised cluster status:/);
  });

  it('--show-scores prints contributions, --format json is machine-readable', async () => {
    const io = fakeIo({ 'c.yaml': tiny });
    expect(await runCli(['simulate', '--config', 'c.yaml', '--show-scores'], io)).toBe(0);
    expect(io.stdout.join('\n')).toMatch(/web on n2: 50/);
    const json = fakeIo({ 'c.yaml': tiny });
    expect(await runCli(['simulate', '--config', 'c.yaml', '--format', 'json'], json)).toBe(0);
    const parsed = JSON.parse(json.stdout.join('\n'));
    expect(parsed.transition.summary).toEqual(expect.arrayContaining([expect.objectContaining({ action: 'start', resource: 'web', to: 'n2' })]));
  });

  it('--dot prints a graph', async () => {
    const io = fakeIo({ 'c.yaml': tiny });
    expect(await runCli(['simulate', '--config', 'c.yaml', '--dot'], io)).toBe(0);
    expect(io.stdout.join('\n')).toMatch(/^digraph transition \{/);
  });

  it('rejects an unknown node in a what-if with its name', async () => {
    const io = fakeIo({ 'c.yaml': tiny });
    expect(await runCli(['simulate', '--config', 'c.yaml', '--node-fail', 'n9'], io)).toBe(2);
    expect(io.stderr.join('\n')).toMatch(/--node-fail: node "n9" is not configured/);
  });

  it('reads a Pacemaker CIB and prints the conformance shape', async () => {
    const cib = join(root, '..', 'shared', 'conformance', 'pacemaker', 'group6.xml');
    const io = fakeIo();
    expect(await runCli(['simulate', '--cib', cib, '--format', 'json'], io)).toBe(0);
    const parsed = JSON.parse(io.stdout.join('\n'));
    expect(parsed.resources.child_rsc1.instances).toEqual([{ node: 'node2', role: 'Started' }]);
    expect(parsed.actions).toContainEqual(expect.objectContaining({ action: 'move', resource: 'child_rsc1', from: 'node1', to: 'node2' }));
  });
});

describe('paceline explain', () => {
  it('answers why a resource is where it is', async () => {
    const io = fakeIo({ 'c.yaml': tiny });
    expect(await runCli(['explain', 'db', '--config', 'c.yaml'], io)).toBe(0);
    const out = io.stdout.join('\n');
    expect(out).toMatch(/^db: Started on n2/m);
    expect(out).toMatch(/db on n1: -INFINITY/);
  });

  it('names an unknown resource', async () => {
    const io = fakeIo({ 'c.yaml': tiny });
    expect(await runCli(['explain', 'nope', '--config', 'c.yaml'], io)).toBe(1);
    expect(io.stderr.join('\n')).toMatch(/resource "nope" is not configured/);
  });
});

describe('paceline simulate --cib (text)', () => {
  it("prints crm_simulate's layout with the same Transition Summary", async () => {
    const cib = join(root, '..', 'shared', 'conformance', 'pacemaker', 'group6.xml');
    const io = fakeIo();
    expect(await runCli(['simulate', '--cib', cib], io)).toBe(0);
    const out = io.stdout.join('\n');
    expect(out).toMatch(/^Current cluster status:\n {2}\* Node List:/);
    expect(out).toMatch(/Transition Summary:\n {2}\* Move {7}child_rsc1 {5}\( node1 -> node2 \)/);
    expect(out).toMatch(/Revised Cluster Status:/);
  });
});

describe('paceline daemon: membership settings', () => {
  const daemonArgv = (...extra: string[]): string[] => [
    'daemon',
    '--config',
    'tiny.yaml',
    '--node',
    'n1',
    '--state-dir',
    '/nonexistent/state',
    '--key',
    '/nonexistent/key',
    ...extra,
  ];

  it.each([
    [['--membership', 'deadTick=8'], /--membership deadTick: no such membership setting \(did you mean "deadTicks"\?\)/],
    [['--membership', 'links.lan.deadTick=8'], /--membership links\.lan\.deadTick: no such membership setting \(did you mean "deadTicks"\?\)/],
    [['--membership', 'deadTicks=abc'], /--membership deadTicks: .*number/],
    [['--partition-policy', 'fence-all'], /--partition-policy partitionPolicy: .*"fence"/],
    [['--profile', 'ludicrous'], /--profile profile: .*"fast"/],
  ])('%j is refused before anything starts, naming the option and the setting', async (extra, message) => {
    const io = fakeIo({ 'tiny.yaml': tiny });
    expect(await runCli(daemonArgv(...extra), io)).toBe(2);
    expect(io.stderr.join('\n')).toMatch(message);
  });

  it('a configuration file that does not validate is refused as simulate refuses it, naming the file', async () => {
    const io = fakeIo({ 'bad.yaml': 'nodes: [{ name: n1 }]\nmembership: { partitionPolicy: pray }\n' });
    expect(await runCli(['daemon', '--config', 'bad.yaml', '--node', 'n1', '--state-dir', '/nonexistent/state', '--key', '/nonexistent/key'], io)).toBe(2);
    expect(io.stderr.join('\n')).toMatch(/^bad\.yaml: 1 problem found\n {2}- membership\.partitionPolicy: /);
  });
});
