/**
 * Debian's ocf:heartbeat:IPaddr2, unchanged, run through the bridge inside network namespaces
 * this test creates: the address answers a client's ping from node a, then moves to node b and
 * the client's ARP entry follows. Skipped (with the reason printed) when not root.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOcfAgent, createProcessRunner } from '@paceline/ocf';
import type { OcfAgent } from '@paceline/ocf';
import { NetLab, act, netSkipReason, subnetOctet } from './helpers/netlab.js';

const skip = netSkipReason() ?? (existsSync('/usr/lib/ocf/resource.d/heartbeat/IPaddr2') ? undefined : 'resource-agents (IPaddr2) is not installed');
if (skip) console.log(`skipping IPaddr2 namespace tests: ${skip}`);
const d = skip ? describe.skip : describe;

const net = `10.233.${subnetOctet}`;
const VIP = `${net}.100`;

d('ocf:heartbeat:IPaddr2 through the bridge', () => {
  const lab = new NetLab('po');
  let a: string, b: string, client: string, rsc: string;
  let ipaddr2: OcfAgent;
  const params = { ip: VIP, cidr_netmask: 32, nic: 'eth0', arp_count: 2, arp_interval: 100 };

  beforeAll(async () => {
    rsc = mkdtempSync(join(tmpdir(), 'paceline-ipaddr2-'));
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
    ipaddr2 = await loadOcfAgent('ocf:heartbeat:IPaddr2', { run: createProcessRunner(), rscTmp: rsc });
  });
  afterAll(() => {
    lab.cleanup();
    rmSync(rsc, { recursive: true, force: true });
  });

  it('rejects bad parameters before running the script', async () => {
    const r = await act(ipaddr2, 'start', { nic: 'eth0' }, lab.runner(a), { instance: 'vip', unparsed: true });
    expect(r.outcome).toBe('misconfigured');
    expect(r.reason).toContain('resource "vip" (ocf:heartbeat:IPaddr2): parameter "ip": is required but missing');
  });

  it('starts on node a, answers the client, moves to node b with the ARP entry', async () => {
    const on = (ns: string, action: 'start' | 'stop' | 'monitor') => act(ipaddr2, action, params, lab.runner(ns), { instance: 'vip' });
    expect((await on(a, 'monitor')).outcome).toBe('not-running');
    expect(await on(a, 'start')).toMatchObject({ execution: 'done', outcome: 'ok' });
    expect((await on(a, 'monitor')).outcome).toBe('ok');
    expect(lab.ping(client, VIP)).toBe(true);
    expect(lab.neighbour(client, VIP, 'br0')).toBe(lab.mac(a, 'eth0'));
    expect((await on(a, 'stop')).outcome).toBe('ok');
    expect((await on(a, 'monitor')).outcome).toBe('not-running');
    expect((await on(b, 'start')).outcome).toBe('ok');
    let moved = false;
    for (let i = 0; i < 30 && !moved; i++) {
      moved = lab.neighbour(client, VIP, 'br0') === lab.mac(b, 'eth0');
      if (!moved) await new Promise((r) => setTimeout(r, 100));
    }
    expect(moved).toBe(true);
    expect(lab.ping(client, VIP)).toBe(true);
    expect((await on(b, 'stop')).outcome).toBe('ok');
  });
});
