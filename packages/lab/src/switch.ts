/**
 * The lab's power switch, a tiny HTTP service on the LAN (the arbiter's host, 192.168.100.251):
 * `POST /off` with `{ node, at, mac }` (mac = HMAC-SHA256 under the cluster key of "NODE AT") powers
 * the node off — every process in its namespace killed, its links down — and answers 200 "off".
 * The servers' `--fence-command` is `fence.js` (below), so fencing goes over the LAN like a real
 * network power switch: a server that lost the LAN cannot fence anybody. It refuses until armed
 * (the lab arms it once the cluster has formed). Every call is logged as a JSON line.
 *
 *   node switch.js LISTEN_HOST:PORT LAB_JSON
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { powerOff } from './hardware.js';

export interface SwitchConfig {
  /** Namespace of each node the switch powers. */
  readonly outlets: Readonly<Record<string, string>>;
  readonly keyFile: string;
  readonly armedFile: string;
  readonly logFile: string;
}

export function fenceMac(key: Buffer, node: string, at: number): string {
  return createHmac('sha256', key).update(`${node} ${at}`).digest('hex');
}

export function serveSwitch(listen: string, cfg: SwitchConfig): void {
  const [host, port] = [listen.slice(0, listen.lastIndexOf(':')), Number(listen.slice(listen.lastIndexOf(':') + 1))];
  const key = readFileSync(cfg.keyFile);
  const log = (from: string, target: string, result: string): void => {
    appendFileSync(cfg.logFile, `${JSON.stringify({ at: Date.now(), from, target, result })}\n`);
  };
  createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      if (body.length < 4096) body += c;
    });
    req.on('end', () => {
      const from = req.socket.remoteAddress ?? '?';
      const answer = (code: number, text: string, target = '?'): void => {
        log(from, target, text);
        res.writeHead(code, { 'content-type': 'text/plain' }).end(`${text}\n`);
      };
      if (req.method !== 'POST' || req.url !== '/off') return answer(404, 'unknown request');
      let m: { node?: unknown; at?: unknown; mac?: unknown };
      try {
        m = JSON.parse(body) as typeof m;
      } catch {
        return answer(400, 'bad request');
      }
      const node = typeof m.node === 'string' ? m.node : '';
      const at = typeof m.at === 'number' ? m.at : 0;
      const mac = typeof m.mac === 'string' ? Buffer.from(m.mac, 'hex') : Buffer.alloc(0);
      const want = Buffer.from(fenceMac(key, node, at), 'hex');
      if (mac.length !== want.length || !timingSafeEqual(mac, want) || Math.abs(Date.now() - at) > 30_000)
        return answer(403, 'refused: bad signature or stale request', node);
      const ns = cfg.outlets[node];
      if (!ns) return answer(404, `no outlet for ${node}`, node);
      if (!existsSync(cfg.armedFile)) return answer(503, 'not armed (the cluster is starting)', node);
      powerOff(ns);
      answer(200, 'off', node);
    });
  }).listen(port, host);
}

if (process.argv[1]?.endsWith('switch.js')) {
  const [listen, labJson] = process.argv.slice(2);
  if (!listen || !labJson) {
    console.error('usage: switch.js HOST:PORT SWITCH_JSON');
    process.exit(2);
  }
  serveSwitch(listen, JSON.parse(readFileSync(labJson, 'utf8')) as SwitchConfig);
}
