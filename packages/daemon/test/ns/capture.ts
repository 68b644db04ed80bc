/**
 * Capturing daemon datagrams on the wire and sending them again (a replay from another host):
 * tcpdump writes a pcap file, `readPcap` gets the UDP payloads back out of it, `replay` sends
 * payloads from a namespace with a plain UDP socket (the source address does not matter to the
 * receiver: what it checks is inside the datagram).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runAsync, waitFor } from './lab.js';

export interface Datagram {
  readonly at: number;
  readonly src: string;
  readonly dst: string;
  readonly dport: number;
  readonly payload: Buffer;
}

/** The UDP datagrams of a pcap file (Ethernet or Linux cooked capture, IPv4; first fragments only). */
export function readPcap(file: string): Datagram[] {
  const b = readFileSync(file);
  if (b.length < 24) return [];
  const magic = b.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!le && b.readUInt32BE(0) !== 0xa1b2c3d4 && b.readUInt32BE(0) !== 0xa1b23c4d) throw new Error(`${file} is not a pcap file`);
  const u32 = (o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const nano = (le ? magic : b.readUInt32BE(0)) === 0xa1b23c4d;
  const linktype = u32(20);
  const out: Datagram[] = [];
  for (let o = 24; o + 16 <= b.length;) {
    const at = u32(o) * 1000 + Math.floor(u32(o + 4) / (nano ? 1e6 : 1e3));
    const len = u32(o + 8);
    const frame = b.subarray(o + 16, o + 16 + len);
    o += 16 + len;
    let ip: Buffer;
    if (linktype === 1) {
      if (frame.readUInt16BE(12) !== 0x0800) continue;
      ip = frame.subarray(14);
    } else if (linktype === 113) {
      if (frame.readUInt16BE(14) !== 0x0800) continue;
      ip = frame.subarray(16);
    } else {
      throw new Error(`unsupported pcap link type ${linktype}`);
    }
    if (ip.length < 20 || ip[0]! >> 4 !== 4 || ip[9] !== 17) continue;
    if ((ip.readUInt16BE(6) & 0x1fff) !== 0) continue; // not a first fragment
    const ihl = (ip[0]! & 0xf) * 4;
    const udp = ip.subarray(ihl);
    const udpLen = udp.readUInt16BE(4);
    out.push({
      at,
      src: [...ip.subarray(12, 16)].join('.'),
      dst: [...ip.subarray(16, 20)].join('.'),
      dport: udp.readUInt16BE(2),
      payload: Buffer.from(udp.subarray(8, Math.min(udp.length, udpLen))),
    });
  }
  return out;
}

/** tcpdump on `ifname` in namespace `ns`, writing `file` packet by packet; resolves once it listens. */
export async function startCapture(ns: string, ifname: string, filter: string, file: string): Promise<ChildProcess> {
  let err = '';
  const p = spawn('ip', ['netns', 'exec', ns, 'tcpdump', '-i', ifname, '-n', '-U', '-s', '0', '-w', file, filter], { stdio: ['ignore', 'ignore', 'pipe'] });
  p.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  await waitFor(
    `tcpdump listening on ${ifname}`,
    () => {
      if (p.exitCode !== null) throw new Error(`tcpdump exited: ${err.trim()}`);
      return /listening on/.test(err);
    },
    10_000,
  );
  return p;
}

export async function stopCapture(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const done = new Promise<void>((r) => p.once('exit', () => r()));
  p.kill('SIGINT');
  await done;
}

/** Sends each payload, in order, from namespace `ns` to host:port over UDP. */
export async function replay(ns: string, dir: string, payloads: readonly Buffer[], host: string, port: number): Promise<void> {
  const file = join(dir, `replay-${Date.now()}.json`);
  writeFileSync(file, JSON.stringify(payloads.map((p) => p.toString('base64'))));
  const script = `const { createSocket } = await import('node:dgram');
const { readFileSync } = await import('node:fs');
const s = createSocket('udp4');
for (const p of JSON.parse(readFileSync(${JSON.stringify(file)}, 'utf8'))) await new Promise((r, j) => s.send(Buffer.from(p, 'base64'), ${port}, ${JSON.stringify(host)}, (e) => (e ? j(e) : r())));
s.close();`;
  const r = await runAsync('ip', ['netns', 'exec', ns, process.execPath, '--input-type=module', '-e', script]);
  if (r.code !== 0) throw new Error(`replay from ${ns} failed: ${r.out.trim()}`);
}
