/** Test helpers: free loopback ports, polling with a deadline, a two-node configuration, a testbed. */
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Daemon } from '@paceline/daemon';

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => {
      s.close();
      resolve(false);
    });
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A base port such that base .. base+count-1 are all free on 127.0.0.1 (UDP). */
export async function freePorts(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20000 + Math.floor(Math.random() * 40000);
    let ok = true;
    for (let i = 0; i < count && ok; i++) ok = await bindable(base + i);
    if (ok) return base;
  }
  throw new Error('no free UDP ports on 127.0.0.1');
}

/** Polls `check` every `everyMs` until it returns a value other than undefined/false, or fails after `timeoutMs` (naming the last error). */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 15_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Two nodes on two links (lan, crossover); each address's port + 1 is the daemon channel. */
export function twoNodeConfig(base: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    properties: { clusterName: 'test', stonithEnabled: false, noQuorumPolicy: 'ignore' },
    defaults: { resource: { stickiness: 0 } },
    nodes: [
      { name: 'serv1', addresses: { lan: `127.0.0.1:${base}`, crossover: `127.0.0.1:${base + 2}` } },
      { name: 'serv2', addresses: { lan: `127.0.0.1:${base + 4}`, crossover: `127.0.0.1:${base + 6}` } },
    ],
    resources: [{ type: 'primitive', id: 'web', agent: 'paceline:dummy', ops: [{ name: 'monitor', interval: '1s' }] }],
    constraints: [{ type: 'location', id: 'web-home', resource: 'web', node: 'serv1', score: 100 }],
    ...extra,
  };
}

/**
 * What an in-process daemon test file needs: a scratch directory, a cluster key, and a list where it
 * puts its daemons; after the file's tests every daemon is disposed and the directory removed.
 */
export function testbed(name: string): { root: string; key: Buffer; daemons: Daemon[] } {
  const root = mkdtempSync(join(tmpdir(), `paceline-${name}-${process.pid}-`));
  const daemons: Daemon[] = [];
  afterAll(async () => {
    for (const d of daemons) await d.dispose().catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  });
  return { root, key: randomBytes(32), daemons };
}
