/**
 * Network namespaces and veth pairs for real tests, shared by the ocf, ip and mac test suites.
 * Names carry the process id so parallel runs do not collide; `cleanup()` deletes every
 * namespace it created (which removes their interfaces too). Addresses are private-range and
 * exist only inside these namespaces.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createProcessRunner, prefixRunner, systemClock } from '@paceline/ocf';
import { invokeAgent, silentLogger, validateParams } from '@paceline/agent-api';
import type { ActionResult, AgentAction, CommandRunner, ResourceAgent } from '@paceline/agent-api';

export const isRoot = (): boolean => process.getuid?.() === 0;

/** Why real network tests cannot run here, or undefined when they can. */
export function netSkipReason(): string | undefined {
  if (!isRoot()) return 'not root: network-namespace tests need root (run the suite as root to include them)';
  const r = spawnSync('ip', ['netns', 'list']);
  if (r.error || r.status !== 0) return `cannot use network namespaces: ${r.error?.message ?? r.stderr.toString().trim()}`;
  return undefined;
}

export function sh(file: string, args: readonly string[]): string {
  return execFileSync(file, [...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function tryRun(file: string, args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(file, [...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** A third octet for this process's test subnet: 10.231.N.0/24. */
export const subnetOctet = (process.pid % 200) + 20;

export class NetLab {
  private readonly created: string[] = [];
  readonly tag: string;

  constructor(prefix: string) {
    this.tag = `${prefix}${process.pid}`;
  }

  /** Creates namespace `<prefix><pid>-<name>` with loopback up. */
  ns(name: string): string {
    const ns = `${this.tag}-${name}`;
    sh('ip', ['netns', 'add', ns]);
    this.created.push(ns);
    this.exec(ns, 'ip', ['link', 'set', 'lo', 'up']);
    return ns;
  }

  exec(ns: string, file: string, args: readonly string[]): string {
    return sh('ip', ['netns', 'exec', ns, file, ...args]);
  }

  tryExec(ns: string, file: string, args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
    return tryRun('ip', ['netns', 'exec', ns, file, ...args]);
  }

  /** A veth pair with one end in each namespace, both up. Names must be at most 15 characters. */
  veth(nsA: string, ifA: string, nsB: string, ifB: string): void {
    for (const n of [ifA, ifB]) if (n.length > 15) throw new Error(`interface name ${n} is longer than 15 characters`);
    const tmp = `v${process.pid % 100000}t${this.created.length}`;
    sh('ip', ['link', 'add', tmp, 'type', 'veth', 'peer', 'name', `${tmp}p`]);
    sh('ip', ['link', 'set', tmp, 'netns', nsA]);
    sh('ip', ['link', 'set', `${tmp}p`, 'netns', nsB]);
    this.exec(nsA, 'ip', ['link', 'set', tmp, 'name', ifA]);
    this.exec(nsB, 'ip', ['link', 'set', `${tmp}p`, 'name', ifB]);
    this.exec(nsA, 'ip', ['link', 'set', ifA, 'up']);
    this.exec(nsB, 'ip', ['link', 'set', ifB, 'up']);
  }

  /**
   * A switch in `client`: bridge br0 (with `bridgeAddress`), and for each link a veth pair from
   * `ns`/`ifname` to a bridge port, with `address` on the node's end. The usual two-node-and-a-client
   * LAN of the takeover tests.
   */
  bridge(client: string, links: readonly { ns: string; ifname: string; port: string; address: string }[], bridgeAddress: string): void {
    this.exec(client, 'ip', ['link', 'add', 'br0', 'type', 'bridge']);
    this.exec(client, 'ip', ['link', 'set', 'br0', 'up']);
    for (const l of links) this.veth(l.ns, l.ifname, client, l.port);
    for (const l of links) this.exec(client, 'ip', ['link', 'set', l.port, 'master', 'br0']);
    for (const l of links) this.exec(l.ns, 'ip', ['addr', 'add', l.address, 'dev', l.ifname]);
    this.exec(client, 'ip', ['addr', 'add', bridgeAddress, 'dev', 'br0']);
  }

  /** The MAC of an interface. */
  mac(ns: string, ifname: string): string {
    const [link] = JSON.parse(this.exec(ns, 'ip', ['-j', 'link', 'show', 'dev', ifname])) as { address: string }[];
    return link!.address;
  }

  /** The MAC the namespace's neighbour table holds for an address, if any (FAILED/INCOMPLETE entries excluded). */
  neighbour(ns: string, address: string, dev: string): string | undefined {
    const entries = JSON.parse(this.exec(ns, 'ip', ['-j', 'neigh', 'show', address, 'dev', dev]) || '[]') as { lladdr?: string; state?: string[] }[];
    const e = entries.find((x) => x.lladdr && !(x.state ?? []).includes('FAILED'));
    return e?.lladdr;
  }

  ping(ns: string, address: string, count = 1): boolean {
    return this.tryExec(ns, 'ping', [address.includes(':') ? '-6' : '-4', '-c', String(count), '-W', '1', '-i', '0.2', address]).status === 0;
  }

  runner(ns: string): CommandRunner {
    return prefixRunner(createProcessRunner(), ['ip', 'netns', 'exec', ns]);
  }

  /** The namespaces created so far. */
  namespaces(): readonly string[] {
    return [...this.created];
  }

  cleanup(): void {
    for (const ns of this.created.splice(0).reverse()) tryRun('ip', ['netns', 'del', ns]);
  }
}

/** Runs one agent action the way the executor does: parameters parsed first, the wall clock, a deadline. */
export async function act(
  agent: ResourceAgent,
  action: AgentAction,
  params: unknown,
  run: CommandRunner,
  opts: { stateDir?: string; node?: string; instance?: string; timeoutMs?: number; interval?: number; unparsed?: boolean } = {},
): Promise<ActionResult> {
  const checked = opts.unparsed ? { ok: true as const, params } : validateParams(agent, params, opts.instance ?? 'res1');
  if (!checked.ok) return checked.result;
  return invokeAgent(agent, {
    action,
    params: checked.params,
    node: opts.node ?? 'node1',
    instance: opts.instance ?? 'res1',
    stateDir: opts.stateDir ?? mkdtempSync(join(tmpdir(), 'paceline-test-')),
    run,
    log: silentLogger,
    clock: systemClock,
    timeoutMs: opts.timeoutMs ?? 20_000,
    interval: opts.interval ?? 0,
  });
}
