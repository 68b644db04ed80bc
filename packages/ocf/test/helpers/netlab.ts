/**
 * Network namespaces and veth pairs for real tests, shared by the ocf, ip and mac test suites.
 * Names carry the process id so parallel runs do not collide; `cleanup()` deletes every
 * namespace it created (which removes their interfaces too). Addresses are private-range and
 * exist only inside these namespaces.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createProcessRunner, prefixRunner, systemClock } from '@paceline/ocf';
import { invokeAgent, silentLogger, validateParams } from '@paceline/agent-api';
import type { ActionResult, AgentAction, CommandRunner, ResourceAgent } from '@paceline/agent-api';
import { addVeth, createNetns, deleteNetns, netnsSkipReason, run, runIn, tryRun, tryRunIn, type Ran } from '@paceline/testkit/netns';

/** Why real network tests cannot run here, or undefined when they can. */
export const netSkipReason = (): string | undefined => netnsSkipReason();

export const sh = (file: string, args: readonly string[]): string => run(file, args);

export { tryRun };

/** A third octet for this process's test subnet: 10.231.N.0/24. */
export const subnetOctet = (process.pid % 200) + 20;

/** Namespaces of one test file (`@paceline/testkit/netns` underneath), all deleted by `cleanup()`. */
export class NetLab {
  private readonly created: string[] = [];
  readonly tag: string;

  constructor(prefix: string) {
    this.tag = `${prefix}${process.pid}`;
  }

  /** Creates namespace `<prefix><pid>-<name>` with loopback up. */
  ns(name: string): string {
    const ns = `${this.tag}-${name}`;
    createNetns(ns);
    this.created.push(ns);
    return ns;
  }

  exec(ns: string, file: string, args: readonly string[]): string {
    return runIn(ns, file, args);
  }

  tryExec(ns: string, file: string, args: readonly string[]): Ran {
    return tryRunIn(ns, file, args);
  }

  /** A veth pair with one end in each namespace, both up. Names must be at most 15 characters. */
  veth(nsA: string, ifA: string, nsB: string, ifB: string): void {
    addVeth(nsA, ifA, nsB, ifB);
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

  /** Kills what still runs in the namespaces and deletes them (their interfaces go with them). */
  cleanup(): void {
    for (const ns of this.created.splice(0).reverse()) deleteNetns(ns);
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
  // Without a state directory from the caller, the action gets a private one that goes with it.
  const stateDir = opts.stateDir ?? mkdtempSync(join(tmpdir(), 'paceline-test-'));
  try {
    return await invokeAgent(agent, {
      action,
      params: checked.params,
      node: opts.node ?? 'node1',
      instance: opts.instance ?? 'res1',
      stateDir,
      run,
      log: silentLogger,
      clock: systemClock,
      timeoutMs: opts.timeoutMs ?? 20_000,
      interval: opts.interval ?? 0,
    });
  } finally {
    if (opts.stateDir === undefined) rmSync(stateDir, { recursive: true, force: true });
  }
}
