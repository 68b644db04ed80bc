/**
 * A supervised daemon that serves on sockets (a web, DNS, file, RADIUS or mail server): what the
 * service agents share on top of `supervise.ts`. Who serves the daemon's address (the daemon, or
 * another program), taking over a daemon started outside Paceline, a stop verified by its ports
 * closing, and the monitor's answer when the recorded daemon does not run (a probe finds a
 * running server, checks it and adopts it). The protocol check stays in each agent; so do the
 * agent's own answers once its recorded daemon runs.
 */
import { access } from 'node:fs/promises';
import type { AgentContext } from '../context.js';
import { failed, notRunning, ok, type ActionResult } from '../result.js';
import { verdictResult, type CheckVerdict } from './check.js';
import { waitPortClosed, whoListens, type ListeningProcess, type Transport } from './net.js';
import { adoptDaemon, daemonStatus, notRunningResult, stopDaemon, type DaemonHandle, type DaemonRecord, type DaemonStatus } from './supervise.js';

export interface ServiceSocket {
  readonly transport: Transport;
  readonly port: number;
}

/** Where a daemon serves, and how to tell it from another program on the same port. */
export interface Service {
  /** Names the program in messages: "nginx", "named", "Cyrus master". */
  readonly name: string;
  /** The address it serves (an IP address, or "localhost"). */
  readonly address: string;
  /** The sockets it listens on: a probe looks for it here, a stop waits until all are closed. */
  readonly sockets: readonly ServiceSocket[];
  /** More ports a stop waits to close, where a probe does not look (Cyrus's LMTP port). */
  readonly alsoClosedOnStop?: readonly ServiceSocket[];
  /** Is this listener the daemon? Default: its command name is `name`. */
  readonly isDaemon?: (p: ListeningProcess) => boolean | Promise<boolean>;
}

/** The listeners of a service's sockets: the daemon's processes and other programs'. */
export interface ServiceListeners {
  readonly daemon: readonly ListeningProcess[];
  readonly others: readonly ListeningProcess[];
}

/** "123 (nginx), 130 (nginx)": processes for a message. */
export const describeProcesses = (ps: readonly ListeningProcess[]): string => ps.map((x) => `${x.pid} (${x.comm})`).join(', ');

/** A tool's output on one line: trimmed lines, blank ones dropped, joined with " | ". */
export const oneLine = (text: string): string =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' | ');

/**
 * A check's timeout: `checkTimeoutMs`, but never past the action's deadline (less 500 ms, at
 * least 100 ms), so a hung daemon is reported as hung rather than the action timing out.
 */
export const checkTimeout = (ctx: Pick<AgentContext, 'clock' | 'deadline'>, checkTimeoutMs: number): number =>
  Math.min(checkTimeoutMs, Math.max(100, ctx.deadline - ctx.clock.now() - 500));

/** An environment whose PATH also has /usr/sbin and /sbin, where the servers and their tools live. */
export const sbinEnv = (): { readonly PATH: string } => ({ PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin` });

/** A 'not-installed' result naming the first of `files` that cannot be accessed ("config /etc/x.conf: ENOENT"). */
export async function requireFiles(files: readonly string[], label = ''): Promise<ActionResult | undefined> {
  for (const f of files) {
    try {
      await access(f);
    } catch (e) {
      return failed('not-installed', `${label ? `${label} ` : ''}${f}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  return undefined;
}

/** Does the service listen on UDP only (then it is "bound" to its port, not "serving" it)? */
const udpOnly = (svc: Service): boolean => svc.sockets.every((s) => s.transport === 'udp');

/** Who listens on the service's sockets, each process once (ascending pid), split into the daemon and others. */
export async function serviceListeners(svc: Service, sockets: readonly ServiceSocket[] = svc.sockets): Promise<ServiceListeners> {
  const seen = new Map<number, ListeningProcess>();
  for (const s of sockets) for (const x of await whoListens(s.transport, svc.address, s.port)) seen.set(x.pid, x);
  const isDaemon = svc.isDaemon ?? ((x: ListeningProcess) => x.comm === svc.name);
  const daemon: ListeningProcess[] = [];
  const others: ListeningProcess[] = [];
  for (const x of [...seen.values()].sort((a, b) => a.pid - b.pid)) ((await isDaemon(x)) ? daemon : others).push(x);
  return { daemon, others };
}

/**
 * Takes over the daemon listening on the service's sockets, if one does (started by hand, by the
 * distribution's init script, or by a Paceline that lost its record): records it as `adoptDaemon`
 * does. The record, or undefined when none listens.
 */
export async function adoptListener(ctx: AgentContext, d: DaemonHandle, svc: Service): Promise<DaemonRecord | undefined> {
  const first = (await serviceListeners(svc)).daemon[0];
  return first ? adoptDaemon(ctx, d, first.pid) : undefined;
}

/** What a stop does when a port stays open and the daemon is not the holder. */
export type ForeignHolder =
  /** Another program holds it: log a warning, the stop is 'ok' (the daemon is gone). */
  | 'warn'
  /** Any holder fails the stop. */
  | 'fail';

/**
 * Waits until the service's ports are closed, bounded by 5 s and the action's deadline. 'ok' when
 * they are; failed when the daemon still holds one; when another program does, `foreign` says.
 */
export async function verifyPortsClosed(ctx: AgentContext, svc: Service, foreign: ForeignHolder = 'warn'): Promise<ActionResult> {
  const wait = Math.max(100, Math.min(5000, ctx.deadline - ctx.clock.now() - 500));
  for (const s of [...svc.sockets, ...(svc.alsoClosedOnStop ?? [])]) {
    if (await waitPortClosed(ctx, s.transport, svc.address, s.port, wait)) continue;
    const where = `${svc.address}:${s.port}`;
    if (foreign === 'fail') {
      const held = await whoListens(s.transport, svc.address, s.port);
      return failed('generic-error', `${where} is still open (held by ${describeProcesses(held) || 'an unknown process'})`);
    }
    const { daemon, others } = await serviceListeners(svc);
    if (daemon.length > 0) return failed('generic-error', `${where} is still served by ${describeProcesses(daemon)}`);
    ctx.log.warn(`${where} stays ${s.transport === 'udp' ? 'bound' : 'open'}, held by another program`, { holders: describeProcesses(others) });
    return ok();
  }
  return ok();
}

/**
 * A verified stop of a service: with no record, the daemon listening there is adopted first (a
 * server found by a probe, or started by hand since), so it is stopped too; then `stopDaemon`,
 * then `verifyPortsClosed`.
 */
export async function stopService(ctx: AgentContext, d: DaemonHandle, svc: Service, foreign: ForeignHolder = 'warn'): Promise<ActionResult> {
  if ((await daemonStatus(ctx, d)).state === 'none') await adoptListener(ctx, d, svc);
  const r = await stopDaemon(ctx, d);
  if (r.outcome !== 'ok') return r;
  return verifyPortsClosed(ctx, svc, foreign);
}

export interface UnsupervisedOptions {
  /** The agent's protocol check, run on a daemon found listening before it is adopted. */
  readonly check: (signal: AbortSignal) => Promise<CheckVerdict>;
  /** When the recorded daemon is gone, name daemons of its kind still listening (workers that outlived it). */
  readonly leftovers?: boolean;
}

/**
 * The monitor's answer when the recorded daemon does not run (`s.state` is not 'same'):
 * - 'gone' or 'reused': not running (with `leftovers`, naming daemons still listening there);
 * - 'none' (a probe, or a daemon started outside Paceline): not running when nothing listens;
 *   failed when another program serves the address; else the check's verdict, and when it is
 *   'ok' the daemon is adopted ("found nginx started outside Paceline (pid N), now supervised").
 */
export async function monitorUnsupervised(
  ctx: AgentContext,
  d: DaemonHandle,
  s: Exclude<DaemonStatus, { readonly state: 'same' }>,
  svc: Service,
  options: UnsupervisedOptions,
): Promise<ActionResult> {
  const where = `${svc.address}:${svc.sockets[0]?.port ?? '?'}`;
  if (s.state !== 'none') {
    const down = notRunningResult(s)!;
    if (!options.leftovers) return down;
    const { daemon } = await serviceListeners(svc);
    return daemon.length > 0 ? notRunning(`${down.reason}; left over and still listening: ${describeProcesses(daemon)}`) : down;
  }
  const { daemon, others } = await serviceListeners(svc);
  if (daemon.length === 0 && others.length === 0) return notRunning();
  if (daemon.length === 0) return failed('generic-error', `${where} is ${udpOnly(svc) ? 'bound' : 'served'} by ${describeProcesses(others)}, not ${svc.name}`);
  const v = await options.check(ctx.signal);
  if (v.verdict !== 'ok') return verdictResult(v);
  const rec = await adoptDaemon(ctx, d, daemon[0]!.pid);
  return ok(`found ${svc.name} started outside Paceline (pid ${rec?.pid ?? daemon[0]!.pid}), now supervised; ${v.saw}`);
}
