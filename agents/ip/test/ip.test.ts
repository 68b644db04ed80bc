/**
 * The ip agent for real, in network namespaces this test creates: two "nodes" and a client on one
 * bridge. The client pings the virtual address and watches its ARP entry move when the address
 * moves; a node refuses the address while the other holds it; a link set down (or a switch port
 * down) fails the monitor and the start, and only `bringLinkUp` sets it up again; ocf-tester passes
 * on the exported agent inside a node's namespace. Skipped (with the reason printed) when not root.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatReport, testAgent, validateParams } from '@paceline/agent-api';
import { exportOcf } from '@paceline/ocf';
import { ipAgent } from '@paceline/agent-ip';
import { NetLab, act, netSkipReason, subnetOctet } from '../../../packages/ocf/test/helpers/netlab.js';

const skip = netSkipReason();
if (skip) console.log(`skipping ip agent namespace tests: ${skip}`);
const d = skip ? describe.skip : describe;

const net = `10.231.${subnetOctet}`;
const net6 = `fd00:231:${subnetOctet.toString(16)}::`;
const VIP = `${net}.100`;
const VIP6 = `${net6}100`;

describe('ip parameters', () => {
  it.each([
    [{ address: '10.0.0.1/24', interface: 'eth0' }, 'address'],
    [{ address: '10.0.0.1', interface: 'eth0', cidrNetmask: 33 }, 'cidrNetmask'],
    [{ address: '10.0.0.1', interface: 'averyveryverylongname' }, 'interface'],
    [{ address: '10.0.0.1', interface: 'eth0', label: 'averylonglabel' }, 'label'],
    [{ address: '2001:db8::1', interface: 'eth0', label: 'x' }, 'label'],
    [{ interface: 'eth0' }, 'address'],
  ])('rejects %j naming %s', (raw, param) => {
    const r = validateParams(ipAgent, raw, 'vip');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toContain(`parameter "${param}"`);
  });
  it('fills defaults', () => {
    const r = validateParams(ipAgent, { address: '10.0.0.1', interface: 'eth0' });
    expect(r.ok && r.params).toMatchObject({ arpCount: 5, arpInterval: 200, arpMode: 'unsolicited', allowDuplicate: false });
    expect(r.ok && r.params.dadTimeout).toBeUndefined();
  });
});

d('ip agent in network namespaces', () => {
  const lab = new NetLab('pi');
  let a: string, b: string, client: string;
  let state: string;
  const params = (extra: Record<string, unknown> = {}) => ({
    address: VIP,
    cidrNetmask: 32,
    interface: 'eth0',
    label: 'vip',
    arpCount: 2,
    arpInterval: 100,
    dadTimeout: 1000,
    ...extra,
  });

  beforeAll(() => {
    state = mkdtempSync(join(tmpdir(), 'paceline-ip-'));
    a = lab.ns('a');
    b = lab.ns('b');
    client = lab.ns('c');
    lab.bridge(
      client,
      [
        { ns: a, ifname: 'eth0', port: 'pa', address: `${net}.1/24` },
        { ns: b, ifname: 'eth0', port: 'pb', address: `${net}.2/24` },
      ],
      `${net}.254/24`,
    );
    // IPv6: a real DAD, but quick.
    for (const ns of [a, b, client]) lab.tryExec(ns, 'sysctl', ['-q', '-w', 'net.ipv6.conf.all.accept_dad=1']);
    lab.exec(client, 'ip', ['-6', 'addr', 'add', `${net6}254/64`, 'dev', 'br0', 'nodad']);
  });
  afterAll(() => {
    lab.cleanup();
    rmSync(state, { recursive: true, force: true });
  });

  it("starts on node a: the client reaches the address at a's MAC", async () => {
    const run = lab.runner(a);
    expect((await act(ipAgent, 'monitor', params(), run)).outcome).toBe('not-running');
    expect(await act(ipAgent, 'start', params(), run)).toMatchObject({ execution: 'done', outcome: 'ok' });
    expect((await act(ipAgent, 'monitor', params(), run)).outcome).toBe('ok');
    expect(lab.exec(a, 'ip', ['-4', '-o', 'addr', 'show', 'dev', 'eth0'])).toContain(`${VIP}/32 scope global eth0:vip`);
    expect(lab.ping(client, VIP)).toBe(true);
    expect(lab.neighbour(client, VIP, 'br0')).toBe(lab.mac(a, 'eth0'));
    expect((await act(ipAgent, 'start', params(), run)).outcome).toBe('ok');
  });

  it('refuses to start on node b while a answers for the address', async () => {
    const r = await act(ipAgent, 'start', params(), lab.runner(b));
    expect(r).toMatchObject({ execution: 'done', outcome: 'generic-error' });
    expect(r.reason).toMatch(/another host already answers for/);
    expect((await act(ipAgent, 'monitor', params(), lab.runner(b))).outcome).toBe('not-running');
  });

  it("moves to node b: the gratuitous ARP moves the client's ARP entry", async () => {
    expect((await act(ipAgent, 'stop', params(), lab.runner(a))).outcome).toBe('ok');
    expect((await act(ipAgent, 'stop', params(), lab.runner(a))).outcome).toBe('ok');
    expect((await act(ipAgent, 'monitor', params(), lab.runner(a))).outcome).toBe('not-running');
    expect(lab.neighbour(client, VIP, 'br0')).toBe(lab.mac(a, 'eth0'));
    expect((await act(ipAgent, 'start', params(), lab.runner(b))).outcome).toBe('ok');
    // Before any traffic from the client: the gratuitous ARP moves the entry to b (start returns
    // once the first one is on the wire; allow for a slow arping start on a loaded machine).
    for (let i = 0; i < 20 && lab.neighbour(client, VIP, 'br0') !== lab.mac(b, 'eth0'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(lab.neighbour(client, VIP, 'br0')).toBe(lab.mac(b, 'eth0'));
    expect(lab.ping(client, VIP)).toBe(true);
  });

  it('starts anyway with allowDuplicate', async () => {
    const r = await act(ipAgent, 'start', params({ allowDuplicate: true, arpCount: 0 }), lab.runner(a));
    expect(r.outcome).toBe('ok');
    expect((await act(ipAgent, 'stop', params(), lab.runner(a))).outcome).toBe('ok');
  });

  it('sets the broadcast address for a prefix shorter than /31', async () => {
    const p = params({ address: `${net}.150`, cidrNetmask: 24, label: undefined, arpCount: 0 });
    expect((await act(ipAgent, 'start', p, lab.runner(a))).outcome).toBe('ok');
    expect(lab.exec(a, 'ip', ['-4', '-o', 'addr', 'show', 'dev', 'eth0'])).toContain(`${net}.150/24 brd ${net}.255`);
    expect((await act(ipAgent, 'stop', p, lab.runner(a))).outcome).toBe('ok');
  });

  const flags = (ns: string, ifname: string): string[] =>
    (JSON.parse(lab.exec(ns, 'ip', ['-j', 'link', 'show', 'dev', ifname])) as { flags: string[] }[])[0]!.flags;

  it('a link set down: monitor fails naming it, start fails and leaves it down, bringLinkUp brings it up', async () => {
    const run = lab.runner(b);
    expect((await act(ipAgent, 'monitor', params(), run)).outcome).toBe('ok');
    lab.exec(b, 'ip', ['link', 'set', 'eth0', 'down']);
    const mon = await act(ipAgent, 'monitor', params(), run);
    expect(mon.outcome).toBe('generic-error');
    expect(mon.reason).toBe(`${VIP} is on eth0 but the link is down: interface eth0 is administratively down (operstate DOWN)`);
    // Recovery (stop, start) must not override the administrator: stop works on the down link,
    // start fails and the link stays down.
    expect((await act(ipAgent, 'stop', params(), run)).outcome).toBe('ok');
    expect(lab.exec(b, 'ip', ['-4', '-o', 'addr', 'show', 'dev', 'eth0'])).not.toContain(VIP);
    const start = await act(ipAgent, 'start', params(), run);
    expect(start.outcome).toBe('generic-error');
    expect(start.reason).toMatch(/interface eth0 is administratively down .*bringLinkUp: true/);
    expect(flags(b, 'eth0')).not.toContain('UP');
    expect(lab.exec(b, 'ip', ['-4', '-o', 'addr', 'show', 'dev', 'eth0'])).not.toContain(VIP);
    expect((await act(ipAgent, 'monitor', params(), run)).outcome).toBe('not-running');
    // Asked to, start sets the link up and the client reaches the address again.
    expect(await act(ipAgent, 'start', params({ bringLinkUp: true }), run)).toMatchObject({ execution: 'done', outcome: 'ok' });
    expect(flags(b, 'eth0')).toEqual(expect.arrayContaining(['UP', 'LOWER_UP']));
    expect((await act(ipAgent, 'monitor', params(), run)).outcome).toBe('ok');
    expect(lab.ping(client, VIP)).toBe(true);
  });

  it('a link whose switch port is down (no carrier): monitor and start fail, even with bringLinkUp', async () => {
    const run = lab.runner(b);
    lab.exec(client, 'ip', ['link', 'set', 'pb', 'down']);
    try {
      const mon = await act(ipAgent, 'monitor', params(), run);
      expect(mon.outcome).toBe('generic-error');
      expect(mon.reason).toMatch(/interface eth0 is up but has no carrier/);
      expect((await act(ipAgent, 'stop', params(), run)).outcome).toBe('ok');
      const start = await act(ipAgent, 'start', params({ bringLinkUp: true }), run);
      expect(start.outcome).toBe('generic-error');
      expect(start.reason).toMatch(/no carrier/);
    } finally {
      lab.exec(client, 'ip', ['link', 'set', 'pb', 'up']);
    }
    expect((await act(ipAgent, 'start', params(), run)).outcome).toBe('ok');
    expect((await act(ipAgent, 'stop', params(), run)).outcome).toBe('ok');
  });

  it('fails to start on a missing interface, and stop there is a no-op', async () => {
    const p = params({ interface: 'nosuch0', label: undefined });
    expect(await act(ipAgent, 'start', p, lab.runner(a))).toMatchObject({ outcome: 'misconfigured' });
    expect((await act(ipAgent, 'stop', p, lab.runner(a))).outcome).toBe('ok');
  });

  it('handles IPv6: added after DAD, reachable, and removed', async () => {
    const p = { address: VIP6, cidrNetmask: 64, interface: 'eth0', dadTimeout: 3000 };
    expect(await act(ipAgent, 'start', p, lab.runner(a))).toMatchObject({ outcome: 'ok' });
    expect(lab.ping(client, VIP6, 2)).toBe(true);
    expect(lab.neighbour(client, VIP6, 'br0')).toBe(lab.mac(a, 'eth0'));
    // b refuses: the kernel's duplicate address detection sees a's address.
    const dup = await act(ipAgent, 'start', p, lab.runner(b));
    expect(dup.outcome).toBe('generic-error');
    expect(dup.reason).toMatch(/duplicate address detection failed/);
    expect((await act(ipAgent, 'stop', p, lab.runner(a))).outcome).toBe('ok');
    expect((await act(ipAgent, 'monitor', p, lab.runner(a))).outcome).toBe('not-running');
    // Now b takes it; with ndisc_notify the kernel advertises it and the client's entry moves.
    expect(await act(ipAgent, 'start', p, lab.runner(b))).toMatchObject({ outcome: 'ok' });
    let moved = false;
    for (let i = 0; i < 20 && !moved; i++) {
      moved = lab.neighbour(client, VIP6, 'br0') === lab.mac(b, 'eth0');
      if (!moved) await new Promise((r) => setTimeout(r, 100));
    }
    if (!moved)
      console.log(
        'client neighbours:',
        lab.exec(client, 'ip', ['-6', 'neigh', 'show']),
        'b:',
        lab.exec(b, 'ip', ['-6', 'addr', 'show', 'dev', 'eth0']),
        lab.exec(b, 'sysctl', ['net.ipv6.conf.eth0.ndisc_notify']),
        lab.mac(b, 'eth0'),
      );
    expect(moved).toBe(true);
    expect((await act(ipAgent, 'stop', p, lab.runner(b))).outcome).toBe('ok');
  });

  it('passes the agent test kit inside a namespace', async () => {
    const report = await testAgent(ipAgent, params(), { runner: lab.runner(a), instance: 'vip', badParams: [{ address: 'nope', interface: 'eth0' }] });
    if (!report.passed) console.log(formatReport(report));
    expect(report.passed).toBe(true);
  });

  const repo = fileURLToPath(new URL('../../..', import.meta.url));
  const built = existsSync(join(repo, 'agents/ip/dist/index.js')) && existsSync(join(repo, 'packages/ocf/dist/index.js'));
  (built && existsSync('/usr/sbin/ocf-tester') ? it : it.skip)('passes ocf-tester as an exported OCF agent inside a namespace', async () => {
    const out = mkdtempSync(join(tmpdir(), 'paceline-ip-ocf-'));
    chmodSync(out, 0o755);
    try {
      const { shimPath } = await exportOcf({ module: 'ip', outDir: out, resolveFrom: repo });
      const r = spawnSync(
        'ip',
        ['netns', 'exec', a, 'ocf-tester', '-n', 'vip', '-o', `address=${VIP}`, '-o', 'interface=eth0', '-o', 'arpCount=1', '-o', 'label=ocf', shimPath],
        {
          encoding: 'utf8',
          env: { ...process.env, HA_RSCTMP: out },
          timeout: 120_000,
        },
      );
      if (r.status !== 0) console.log(r.stdout, r.stderr);
      expect(r.stdout).toContain('passed all tests');
      expect(lab.exec(a, 'ip', ['-4', '-o', 'addr', 'show', 'dev', 'eth0'])).not.toContain(VIP);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
