/**
 * The local control socket: a unix socket in the state directory (mode 0600: only the daemon's
 * user may talk to it) carrying one JSON request and one JSON response per line, validated with
 * zod on both ends. The CLI's `status`, `node`, `resource` and `config` commands use it.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { chmod, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { DaemonError } from './errors.js';
import { UpdateRequest } from './updates.js';
import type { ClusterDoc } from './messages.js';
import type { Clock } from '@paceline/agent-api';

/** What the control socket needs from a daemon (the `Daemon` implements it; tests may pass another). */
export interface ControlTarget {
  /** A crm_mon-style snapshot (`DaemonStatus`; only its resources are read here). */
  status(): { readonly resources: readonly { readonly instance: string; readonly resource: string; readonly node: string | null; readonly role: string }[] };
  document(): ClusterDoc;
  update(request: UpdateRequest, timeoutMs?: number): Promise<{ ok: boolean; message: string }>;
  cleanupProblem(resource?: string, node?: string): string | undefined;
  cleanup(resource?: string, node?: string): string;
  /** The daemon's clock: a restart waits on it (a simulated one in tests). */
  readonly clock: Clock;
}

export const CONTROL_SOCKET = 'control.sock';
export const controlSocketPath = (stateDir: string): string => join(stateDir, CONTROL_SOCKET);

const Name = z.string().min(1).max(255);
export const ControlRequest = z.discriminatedUnion('cmd', [
  z.strictObject({ cmd: z.literal('status') }),
  z.strictObject({ cmd: z.literal('config') }),
  z.strictObject({ cmd: z.literal('update'), request: UpdateRequest }),
  z.strictObject({ cmd: z.literal('cleanup'), resource: Name.optional(), node: Name.optional() }),
  z.strictObject({ cmd: z.literal('restart'), resource: Name, timeoutMs: z.number().int().positive().max(600_000).optional() }),
  /** Move away from where it runs now (a ban on that node) when no node is given. */
  z.strictObject({ cmd: z.literal('move'), resource: Name, node: Name.optional() }),
]);
export type ControlRequest = z.infer<typeof ControlRequest>;

export const ControlResponse = z.strictObject({ ok: z.boolean(), message: z.string().optional(), data: z.unknown().optional() });
export type ControlResponse = z.infer<typeof ControlResponse>;

const MAX_REQUEST_BYTES = 4 * 1024 * 1024;

/**
 * How long a change asked for on the control socket waits for the coordinator's answer: the answer
 * comes once every member has saved the change (fsync of file and directory on each), which takes
 * seconds on a machine under heavy I/O.
 */
export const CONTROL_UPDATE_TIMEOUT_MS = 15_000;

/** Answers one request against a daemon. */
export async function handleControl(daemon: ControlTarget, req: ControlRequest): Promise<ControlResponse> {
  switch (req.cmd) {
    case 'status':
      return { ok: true, data: daemon.status() };
    case 'config':
      return { ok: true, data: daemon.document() };
    case 'update':
      return daemon.update(req.request, CONTROL_UPDATE_TIMEOUT_MS);
    case 'cleanup': {
      const problem = daemon.cleanupProblem(req.resource, req.node);
      return problem !== undefined ? { ok: false, message: problem } : { ok: true, message: daemon.cleanup(req.resource, req.node) };
    }
    case 'move': {
      if (req.node !== undefined) return daemon.update({ op: 'move', resource: req.resource, node: req.node }, CONTROL_UPDATE_TIMEOUT_MS);
      const where = activeNodes(daemon, req.resource);
      if (where.length !== 1)
        return {
          ok: false,
          message:
            where.length === 0
              ? `${req.resource} is not running anywhere; name a node with --node`
              : `${req.resource} runs on ${where.join(', ')}; name a node with --node`,
        };
      return daemon.update({ op: 'ban', resource: req.resource, node: where[0]! }, CONTROL_UPDATE_TIMEOUT_MS);
    }
    case 'restart': {
      const stop = await daemon.update({ op: 'target-role', resource: req.resource, role: 'Stopped' }, CONTROL_UPDATE_TIMEOUT_MS);
      if (!stop.ok) return stop;
      const deadline = daemon.clock.now() + (req.timeoutMs ?? 60_000);
      while (activeNodes(daemon, req.resource).length > 0) {
        if (daemon.clock.now() > deadline) break;
        await daemon.clock.sleep(100);
      }
      const stopped = activeNodes(daemon, req.resource).length === 0;
      const start = await daemon.update({ op: 'target-role', resource: req.resource, role: undefined }, CONTROL_UPDATE_TIMEOUT_MS);
      return {
        ok: stopped && start.ok,
        message: stopped
          ? `${req.resource} stopped and started again (${start.message})`
          : `${req.resource} did not stop in time; its target role was restored (${start.message})`,
      };
    }
  }
}

function activeNodes(daemon: ControlTarget, resource: string): string[] {
  const nodes = daemon
    .status()
    .resources.filter(
      (r) => (r.resource === resource || r.instance === resource || r.instance.startsWith(`${resource}:`)) && r.node !== null && r.role !== 'Stopped',
    )
    .map((r) => r.node!);
  return [...new Set(nodes)].sort();
}

/** Serves the control protocol on STATE_DIR/control.sock (mode 0600). */
export class ControlServer {
  private constructor(
    private readonly server: Server,
    readonly path: string,
  ) {}

  static async open(daemon: ControlTarget, stateDir: string): Promise<ControlServer> {
    const path = controlSocketPath(stateDir);
    await rm(path, { force: true });
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      let buf = '';
      socket.setEncoding('utf8');
      socket.on('error', () => undefined);
      socket.on('data', (chunk: string) => {
        buf += chunk;
        if (buf.length > MAX_REQUEST_BYTES) {
          socket.end(`${JSON.stringify({ ok: false, message: 'request too large' })}\n`);
          return;
        }
        const nl = buf.indexOf('\n');
        if (nl < 0) return;
        const line = buf.slice(0, nl);
        buf = '';
        void answer(daemon, line).then((r) => socket.end(`${JSON.stringify(r)}\n`));
      });
    });
    const old = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, () => resolve());
      });
    } finally {
      process.umask(old);
    }
    await chmod(path, 0o600);
    server.on('close', () => {
      for (const s of sockets) s.destroy();
    });
    return new ControlServer(server, path);
  }

  async dispose(): Promise<void> {
    await new Promise<void>((r) => this.server.close(() => r()));
    await rm(this.path, { force: true });
  }
}

async function answer(daemon: ControlTarget, line: string): Promise<ControlResponse> {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch (e) {
    return { ok: false, message: `the request is not JSON: ${(e as Error).message}` };
  }
  const req = ControlRequest.safeParse(json);
  if (!req.success) return { ok: false, message: `invalid request: ${req.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ')}` };
  try {
    return await handleControl(daemon, req.data);
  } catch (e) {
    return { ok: false, message: (e as Error).message };
  }
}

/** Sends one request to the daemon whose state directory is `stateDir`. */
export function controlRequest(stateDir: string, req: ControlRequest, timeoutMs = 70_000): Promise<ControlResponse> {
  const path = controlSocketPath(stateDir);
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    let buf = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new DaemonError('CONTROL_UNAVAILABLE', `no answer from the daemon on ${path} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify(req)}\n`));
    socket.on('data', (c: string) => {
      buf += c;
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const hint = e.code === 'ENOENT' || e.code === 'ECONNREFUSED' ? ' (is `paceline daemon` running with this --state-dir?)' : '';
      reject(new DaemonError('CONTROL_UNAVAILABLE', `cannot reach the daemon at ${path}: ${e.message}${hint}`, { cause: e }));
    });
    socket.on('end', () => {
      clearTimeout(timer);
      // The daemon ends every answer with a newline: without one it went away mid-request (crashed,
      // killed, stopped), and whether the request took effect is unknown.
      if (!buf.endsWith('\n')) {
        reject(
          new DaemonError(
            'CONTROL_UNAVAILABLE',
            `the daemon at ${path} closed the connection before answering${buf.length ? ` (after ${buf.length} bytes of an answer)` : ''}: it may have stopped or crashed, and the outcome of the request is unknown; check with \`paceline status\` (and \`paceline config show\`) before retrying`,
          ),
        );
        return;
      }
      try {
        const r = ControlResponse.safeParse(JSON.parse(buf));
        if (r.success) resolve(r.data);
        else reject(new DaemonError('CONTROL_REQUEST', `the daemon sent an invalid response: ${r.error.issues[0]?.message ?? ''}`));
      } catch (e) {
        reject(new DaemonError('CONTROL_REQUEST', `the daemon sent an invalid response: ${(e as Error).message}`));
      }
    });
  });
}
