/**
 * The story's client: what its workload targets (lanes per service, through the service
 * addresses), the operations it logged, and waiting until a lane works.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClientConfig, Op } from './client.js';
import { LabError } from './errors.js';
import { NET } from './hardware.js';
import { CLUSTER_YAML, type Lab } from './lab.js';
import { waitFor } from './sys.js';

/**
 * Mail runs when the cluster configuration uses the typed Sendmail and Cyrus agents (with
 * paceline:process and Debian's defaults they do not make a working pair). The client submits to
 * Sendmail on Samba's address (Sendmail runs on both servers) and reads from Cyrus on its own.
 */
export function mailEnabled(): boolean {
  const text = readFileSync(CLUSTER_YAML, 'utf8');
  return /agent: paceline:sendmail\b/.test(text) && /agent: paceline:cyrus\b/.test(text);
}
export const MAIL_USER = { user: 'alice', password: 'wonderland', to: 'alice@lab.example' } as const;

/** Client lanes and what they target: each service through the service addresses clients use. */
export function clientConfig(lab: Lab, deadline: number, mail = mailEnabled()): ClientConfig {
  return {
    ...(mail ? { mail: { smtp: { host: NET.samba, port: 25, everyMs: 1000 }, imap: { host: NET.cyrus, port: 143, everyMs: 500 }, ...MAIL_USER } } : {}),
    out: lab.file('client.jsonl'),
    stopFile: lab.file('client.stop'),
    deadline,
    tmp: join(lab.dir, 'client'),
    smb: { host: NET.samba, share: 'share', writeEveryMs: 500, readEveryMs: 700, maxFiles: 60, sizeBytes: 4096 },
    connect: [{ name: 'smb-connect', host: NET.samba, port: 445, everyMs: 100 }],
    http: [
      { name: 'http@samba-ip', url: `http://${NET.samba}/`, everyMs: 100 },
      { name: 'http@cyrus-ip', url: `http://${NET.cyrus}/`, everyMs: 200 },
    ],
    dns: [{ name: 'dns@samba-ip', server: NET.samba, query: 'whoami.lab.example', everyMs: 100 }],
    radius: [{ name: 'radius@samba-ip', server: NET.samba, secret: 'labsecret', user: 'alice', password: 'wonderland', everyMs: 500 }],
  };
}
export const LANES = ['smb-connect', 'smb-write', 'smb-read', 'http@samba-ip', 'http@cyrus-ip', 'dns@samba-ip', 'radius@samba-ip'];
export const MAIL_LANES = ['smtp', 'imap'];

export function readOps(lab: Lab): Op[] {
  const f = lab.file('client.jsonl');
  if (!existsSync(f)) return [];
  return readFileSync(f, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Op);
}

/** Waits until the lane's last `n` operations (started after `since`) succeeded; returns the first one's start. */
export async function clientOk(lab: Lab, svc: string, since: number, timeoutMs: number, n = 3): Promise<number> {
  return waitFor(
    `the client's ${svc} to work`,
    () => {
      const ops = readOps(lab).filter((o) => o.svc === svc && o.t >= since);
      const last = ops.slice(-n);
      if (last.length === n && last.every((o) => o.ok)) return last[0]!.t;
      throw new LabError('NOT_YET', `last ${svc}: ${last.map((o) => (o.ok ? 'ok' : o.err)).join(', ')}`);
    },
    timeoutMs,
    200,
  );
}
