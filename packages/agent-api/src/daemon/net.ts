/**
 * Sockets from /proc: who listens on an address and port (for probes that must find a daemon
 * started outside Paceline), and waiting until nothing does (for verified stops). Reads
 * /proc/net/{tcp,tcp6,udp,udp6} of the caller's network namespace and maps socket inodes to
 * processes through /proc/PID/fd. No traffic is sent.
 */
import { isIP } from 'node:net';
import { readdirSync, readlinkSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { PacelineError } from '@paceline/model';
import type { AgentContext } from '../context.js';
import { procInfo } from './proc.js';

export type Transport = 'tcp' | 'udp';

export interface Listener {
  readonly transport: Transport;
  /** The bound address as text ("0.0.0.0", "::", "10.0.0.5", "::1"). */
  readonly address: string;
  readonly port: number;
  readonly inode: number;
}

export interface ListeningProcess {
  readonly pid: number;
  readonly comm: string;
  readonly startTime: string;
  readonly pgid: number;
}

function ipv4(hex: string): string {
  // /proc/net/tcp stores the address as a little-endian 32-bit word on x86 and arm64.
  const n = parseInt(hex, 16);
  return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255].join('.');
}

function ipv6(hex: string): string {
  const words: string[] = [];
  for (let i = 0; i < 32; i += 8) {
    const w = hex.slice(i, i + 8);
    // Each 32-bit word is little-endian.
    const b = [w.slice(6, 8), w.slice(4, 6), w.slice(2, 4), w.slice(0, 2)].join('');
    words.push(b.slice(0, 4), b.slice(4, 8));
  }
  const groups = words.map((w) => parseInt(w, 16).toString(16));
  const text = groups.join(':');
  if (text === '0:0:0:0:0:0:0:0') return '::';
  if (text === '0:0:0:0:0:0:0:1') return '::1';
  if (text.startsWith('0:0:0:0:0:ffff:')) {
    const a = parseInt(words[6]!, 16);
    const b = parseInt(words[7]!, 16);
    return `::ffff:${a >> 8}.${a & 255}.${b >> 8}.${b & 255}`;
  }
  return text;
}

async function table(file: string, transport: Transport, v6: boolean): Promise<Listener[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const out: Listener[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const [addr, port] = f[1]!.split(':');
    // TCP: only LISTEN (0A). UDP: bound sockets are "listening" in state 07 (CLOSE).
    if (transport === 'tcp' ? f[3] !== '0A' : f[3] !== '07') continue;
    out.push({ transport, address: v6 ? ipv6(addr!) : ipv4(addr!), port: parseInt(port!, 16), inode: Number(f[9]) });
  }
  return out;
}

/** Sockets listening (TCP) or bound (UDP) in this network namespace. */
export async function listeners(transport: Transport): Promise<Listener[]> {
  return [...(await table(`/proc/net/${transport}`, transport, false)), ...(await table(`/proc/net/${transport}6`, transport, true))];
}

const WILDCARD = new Set(['0.0.0.0', '::']);

/** Does a socket bound to `bound` receive traffic for `address`? (a wildcard bind does; v4-mapped matches v4). */
function covers(bound: string, address: string): boolean {
  if (bound === address || WILDCARD.has(bound)) return true;
  if (bound.startsWith('::ffff:') && bound.slice(7) === address) return true;
  return address === 'localhost' && (bound === '127.0.0.1' || bound === '::1');
}

/** The sockets that accept `transport` traffic for `address:port` (wildcard binds included). */
export async function listenersOn(transport: Transport, address: string, port: number): Promise<Listener[]> {
  if (address !== 'localhost' && isIP(address) === 0)
    throw new PacelineError('ADDRESS_INVALID', `listenersOn: "${address}" is not an IP address (nor localhost)`);
  return (await listeners(transport)).filter((l) => l.port === port && covers(l.address, address));
}

/**
 * The processes holding any of these socket inodes (each once, ascending pid). Reads /proc
 * synchronously: thousands of tiny readlinks are much faster so than as thread-pool round trips on
 * a loaded machine, where a probe or a stop runs against a deadline.
 */
export async function processesHolding(inodes: readonly number[]): Promise<ListeningProcess[]> {
  if (inodes.length === 0) return [];
  const wanted = new Set(inodes.map((i) => `socket:[${i}]`));
  const out: ListeningProcess[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${name}/fd`);
    } catch (e) {
      void e; // gone, or not ours to read
      continue;
    }
    for (const fd of fds) {
      let target = '';
      try {
        target = readlinkSync(`/proc/${name}/fd/${fd}`);
      } catch (e) {
        void e; // closed meanwhile
      }
      if (!wanted.has(target)) continue;
      const info = await procInfo(Number(name)).catch(() => undefined);
      if (info) out.push({ pid: Number(name), comm: info.comm, startTime: info.startTime, pgid: info.pgid });
      break;
    }
  }
  return out.sort((a, b) => a.pid - b.pid);
}

/**
 * Who serves `address:port`: the processes holding a listening socket for it. For a probe to find
 * a daemon started outside Paceline (e.g. by hand or by the distribution's init script).
 */
export async function whoListens(transport: Transport, address: string, port: number): Promise<ListeningProcess[]> {
  return processesHolding((await listenersOn(transport, address, port)).map((l) => l.inode));
}

/**
 * Waits until nothing listens on `address:port` (TCP or UDP) or `timeoutMs` passes. True when
 * the port is closed. Polls /proc every `intervalMs`; stops early (false) when `ctx.signal` aborts.
 */
export async function waitPortClosed(
  ctx: Pick<AgentContext, 'clock' | 'signal'>,
  transport: Transport,
  address: string,
  port: number,
  timeoutMs: number,
  intervalMs = 50,
): Promise<boolean> {
  const until = ctx.clock.now() + timeoutMs;
  for (;;) {
    if ((await listenersOn(transport, address, port)).length === 0) return true;
    if (ctx.clock.now() >= until || ctx.signal.aborted) return false;
    try {
      await ctx.clock.sleep(Math.max(1, Math.min(intervalMs, until - ctx.clock.now())), ctx.signal);
    } catch (e) {
      void e;
      return false;
    }
  }
}
