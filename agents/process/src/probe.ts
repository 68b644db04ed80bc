/** Readiness probes: a TCP connect, an HTTP GET, or a command that must exit 0. */
import { connect } from 'node:net';
import type { AgentContext } from '@paceline/agent-api';
import type { ReadyResult } from '@paceline/agent-api/daemon';
import type { ProcessParams } from './params.js';

export type ProbeResult = ReadyResult;

const READY: ProbeResult = { ready: true };

function tcp(host: string, port: number, timeoutMs: number, signal: AbortSignal): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const finish = (r: ProbeResult): void => {
      socket.destroy();
      signal.removeEventListener('abort', onAbort);
      resolve(r);
    };
    const onAbort = (): void => finish({ ready: false, reason: 'probe cancelled' });
    signal.addEventListener('abort', onAbort, { once: true });
    socket.setTimeout(timeoutMs, () => finish({ ready: false, reason: `tcp ${host}:${port}: no answer within ${timeoutMs} ms` }));
    socket.once('connect', () => finish(READY));
    socket.once('error', (e) => finish({ ready: false, reason: `tcp ${host}:${port}: ${e.message}` }));
  });
}

async function http(url: string, expect: number | undefined, timeoutMs: number, signal: AbortSignal): Promise<ProbeResult> {
  try {
    const res = await fetch(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]), redirect: 'manual' });
    await res.body?.cancel();
    const good = expect === undefined ? res.status >= 200 && res.status < 400 : res.status === expect;
    return good ? READY : { ready: false, reason: `GET ${url}: status ${res.status}, expected ${expect ?? '2xx or 3xx'}` };
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code;
    return { ready: false, reason: `GET ${url}: ${cause ?? (e as Error).message}` };
  }
}

/** Runs the configured readiness probe once. */
export async function probeOnce(p: ProcessParams, ctx: AgentContext): Promise<ProbeResult> {
  switch (p.probe) {
    case 'none':
      return READY;
    case 'tcp':
      return tcp(p.probeHost, p.probePort!, p.probeTimeoutMs, ctx.signal);
    case 'http':
      return http(p.probeUrl!, p.probeStatus, p.probeTimeoutMs, ctx.signal);
    case 'command': {
      const [file, ...args] = p.probeCommand!;
      const r = await ctx.run.run(file!, args, { timeoutMs: p.probeTimeoutMs, signal: ctx.signal, ...(p.cwd ? { cwd: p.cwd } : {}) });
      if (r.exitCode === 0) return READY;
      const why = r.notFound ? 'not found' : r.timedOut ? `no answer within ${p.probeTimeoutMs} ms` : `exit code ${r.exitCode ?? r.signal}`;
      const err = r.stderr.trim().split('\n').pop();
      return { ready: false, reason: `probe command ${file}: ${why}${err ? ` (${err})` : ''}` };
    }
  }
}
