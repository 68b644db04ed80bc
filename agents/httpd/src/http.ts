/** The monitor's HTTP GET: one request, no keep-alive, classified by `runCheck`. */
import { request } from 'node:http';
import { isIPv6 } from 'node:net';
import { runCheck, type CheckVerdict } from '@paceline/agent-api/daemon';

export interface HttpTarget {
  readonly address: string;
  readonly port: number;
  readonly path: string;
  readonly expectStatus: number;
  /** Host header; default address:port. */
  readonly hostHeader?: string | undefined;
}

export const urlOf = (t: HttpTarget): string => `http://${isIPv6(t.address) ? `[${t.address}]` : t.address}:${t.port}${t.path}`;

/** GETs the target and compares the status; ok / failed (wrong status) / not-running (refused) / hung (timeout). */
export function httpGet(t: HttpTarget, timeoutMs: number, signal: AbortSignal): Promise<CheckVerdict> {
  return runCheck(
    `GET ${urlOf(t)}`,
    timeoutMs,
    signal,
    (s) =>
      new Promise((resolve, reject) => {
        const req = request(
          {
            host: t.address,
            port: t.port,
            path: t.path,
            method: 'GET',
            agent: false,
            signal: s,
            headers: {
              Host: t.hostHeader ?? `${isIPv6(t.address) ? `[${t.address}]` : t.address}:${t.port}`,
              Connection: 'close',
              'User-Agent': 'paceline-httpd-monitor',
            },
          },
          (res) => {
            const status = res.statusCode ?? 0;
            const server = res.headers.server ? ` (${res.headers.server})` : '';
            res.resume();
            resolve({
              ok: status === t.expectStatus,
              saw: status === t.expectStatus ? `${status}${server}` : `status ${status}${server}, expected ${t.expectStatus}`,
            });
          },
        );
        req.once('error', reject);
        req.end();
      }),
  );
}
