/**
 * The live web view: one page (plain HTML, CSS and JavaScript in `static/`, nothing to build) that
 * shows this daemon's view of the cluster and follows it live over server-sent events. Reading is
 * open to whoever reaches the address (127.0.0.1 by default); actions (clear a quarantine, clean up
 * a resource, standby) need the token from `monitoring.web.tokenFile`, sent as
 * `Authorization: Bearer TOKEN` — without a token file the view is read-only.
 *
 *   GET  /                 the page            GET /api/state   a snapshot (JSON)
 *   GET  /app.js /app.css  its script, style   GET /api/events  SSE: `state` snapshots, `timeline` entries
 *   POST /api/action       {op: clear-node | standby | cleanup, ...}
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo, Socket } from 'node:net';
import { z } from 'zod';
import type { Logger } from '@paceline/agent-api';
import { ObserveError } from './errors.js';
import { urlOf, type Bind } from './listen.js';
import type { ObservedDaemon } from './source.js';
import { Timeline, type TimelineEntry } from './timeline.js';

const STATIC = new URL('../static/', import.meta.url);
const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
};

const HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

const Name = z.string().min(1).max(255);
export const WebAction = z.discriminatedUnion('op', [
  z.strictObject({ op: z.literal('clear-node'), node: Name }),
  z.strictObject({ op: z.literal('standby'), node: Name, on: z.boolean() }),
  z.strictObject({ op: z.literal('cleanup'), resource: Name.optional(), node: Name.optional() }),
]);
export type WebAction = z.infer<typeof WebAction>;

const MAX_BODY = 64 * 1024;

export interface WebServerOptions {
  readonly bind: Bind;
  /** The token that allows actions (absent: read-only). */
  readonly token?: string;
  readonly logger: Logger;
  readonly now?: () => number;
  /** How often a changed state is pushed to the open pages at most (ms, default 500). */
  readonly pushMs?: number;
}

/** Reads a token file: its content without surrounding white space; a clear error when missing or empty. */
export function readTokenFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ObserveError('TOKEN_FILE', `cannot read the web view's token file ${path}: ${(e as Error).message}`, { cause: e });
  }
  const token = text.trim();
  if (token.length < 16)
    throw new ObserveError(
      'TOKEN_FILE',
      `the web view's token file ${path} holds ${token.length === 0 ? 'nothing' : 'a token shorter than 16 characters'} (create one with: head -c 24 /dev/urandom | base64 > ${path})`,
    );
  return token;
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

export class WebServer {
  private readonly clients = new Set<ServerResponse>();
  private readonly sockets = new Set<Socket>();
  private readonly files = new Map<string, Buffer>();
  private readonly timeline: Timeline;
  private readonly stopTimeline: () => void;
  private lastState = '';
  private pushTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly tokenDigest: Buffer | undefined;

  private constructor(
    private readonly daemon: ObservedDaemon,
    private readonly server: Server,
    private readonly o: WebServerOptions,
  ) {
    this.now = o.now ?? Date.now;
    this.log = o.logger.child({ component: 'web' });
    this.tokenDigest = o.token !== undefined ? digest(o.token) : undefined;
    for (const { file } of Object.values(FILES)) this.files.set(file, readFileSync(new URL(file, STATIC)));
    this.timeline = new Timeline(daemon, { now: this.now });
    this.stopTimeline = this.timeline.onEntry((e) => this.onEntry(e));
    // Peers' reports change the status without an event here: look for changes now and then.
    this.pollTimer = setInterval(() => this.schedulePush(), 2000);
    this.pollTimer.unref();
  }

  /** Starts listening; rejects with a clear error when the address cannot be bound. */
  static async open(daemon: ObservedDaemon, o: WebServerOptions): Promise<WebServer> {
    const server = createServer();
    const web = new WebServer(daemon, server, o);
    server.on('request', (req, res) => void web.handle(req, res));
    server.on('connection', (s) => {
      web.sockets.add(s);
      s.on('close', () => web.sockets.delete(s));
    });
    await listen(server, o.bind, 'web view').catch((e: unknown) => {
      web.stop();
      throw e;
    });
    return web;
  }

  /** http://HOST:PORT it listens on. */
  get url(): string {
    return urlOf({ host: this.o.bind.host, port: (this.server.address() as AddressInfo).port });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    try {
      if (req.method === 'GET' || req.method === 'HEAD') {
        const f = FILES[path];
        if (f) return this.send(res, 200, f.type, this.files.get(f.file)!);
        if (path === '/api/state') return this.json(res, 200, this.snapshot());
        if (path === '/api/events') return this.events(req, res);
        if (path === '/healthz') return this.send(res, 200, 'text/plain; charset=utf-8', 'ok\n');
        return this.json(res, 404, { ok: false, message: `no such page: ${path}` });
      }
      if (req.method === 'POST' && path === '/api/action') return await this.action(req, res);
      res.setHeader('allow', 'GET, HEAD, POST');
      return this.json(res, 405, { ok: false, message: `${req.method} is not allowed here` });
    } catch (e) {
      this.log.error('web request failed', { path, error: (e as Error).message });
      if (!res.headersSent) this.json(res, 500, { ok: false, message: (e as Error).message });
      else res.end();
    }
  }

  private send(res: ServerResponse, code: number, type: string, body: string | Buffer): void {
    res.writeHead(code, { ...HEADERS, 'content-type': type, 'content-length': Buffer.byteLength(body) });
    res.end(res.req.method === 'HEAD' ? undefined : body);
  }

  private json(res: ServerResponse, code: number, data: unknown): void {
    this.send(res, code, 'application/json; charset=utf-8', JSON.stringify(data));
  }

  /** What the page shows: the status, the quarantine reasons, recent transitions and events. */
  snapshot(): Record<string, unknown> {
    const doc = this.daemon.document();
    return {
      node: this.daemon.name,
      now: this.now(),
      actions: this.tokenDigest !== undefined,
      status: this.daemon.status(),
      quarantine: doc.quarantine,
      transitions: this.timeline.transitions(),
      timeline: this.timeline.list(),
    };
  }

  private events(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { ...HEADERS, 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write('retry: 2000\n\n');
    this.clients.add(res);
    const state = JSON.stringify(this.snapshot());
    res.write(`event: state\ndata: ${state}\n\n`);
    const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
    ping.unref();
    req.on('close', () => {
      clearInterval(ping);
      this.clients.delete(res);
    });
  }

  private onEntry(e: TimelineEntry): void {
    const line = `event: timeline\ndata: ${JSON.stringify(e)}\n\n`;
    for (const c of this.clients) c.write(line);
    this.schedulePush();
  }

  /** Pushes the state to open pages soon (at most every `pushMs`), if it changed. */
  private schedulePush(): void {
    if (this.pushTimer !== undefined || this.clients.size === 0) return;
    this.pushTimer = setTimeout(() => {
      this.pushTimer = undefined;
      const snap = this.snapshot();
      const key = JSON.stringify({ ...snap, now: 0, timeline: [] });
      if (key === this.lastState) return;
      this.lastState = key;
      const line = `event: state\ndata: ${JSON.stringify(snap)}\n\n`;
      for (const c of this.clients) c.write(line);
    }, this.o.pushMs ?? 500);
    this.pushTimer.unref();
  }

  private authorized(req: IncomingMessage): boolean {
    if (this.tokenDigest === undefined) return false;
    const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
    return m !== null && timingSafeEqual(digest(m[1]!.trim()), this.tokenDigest);
  }

  private async action(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.tokenDigest === undefined)
      return this.json(res, 403, { ok: false, message: 'this web view is read-only: set monitoring.web.tokenFile to allow actions' });
    if (!this.authorized(req)) {
      this.log.warn('web action refused: missing or wrong token', { remote: req.socket.remoteAddress });
      res.setHeader('www-authenticate', 'Bearer realm="paceline"');
      return this.json(res, 401, { ok: false, message: 'actions need the token (monitoring.web.tokenFile)' });
    }
    if (!/^application\/json\b/.test(req.headers['content-type'] ?? ''))
      return this.json(res, 415, { ok: false, message: 'send the action as application/json' });
    let raw = '';
    for await (const chunk of req) {
      raw += String(chunk);
      if (raw.length > MAX_BODY) return this.json(res, 413, { ok: false, message: 'request too large' });
    }
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch (e) {
      return this.json(res, 400, { ok: false, message: `the request is not JSON: ${(e as Error).message}` });
    }
    const a = WebAction.safeParse(body);
    if (!a.success)
      return this.json(res, 400, {
        ok: false,
        message: `invalid action: ${a.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ')}`,
      });
    const r = await this.run(a.data);
    this.log.info(`web action ${a.data.op}: ${r.message}`, { ...a.data, ok: r.ok, remote: req.socket.remoteAddress });
    this.schedulePush();
    return this.json(res, r.ok ? 200 : 409, r);
  }

  private async run(a: WebAction): Promise<{ ok: boolean; message: string }> {
    switch (a.op) {
      case 'clear-node':
        return this.daemon.update({ op: 'clear-node', node: a.node });
      case 'standby':
        return this.daemon.update({ op: 'standby', node: a.node, on: a.on });
      case 'cleanup':
        return { ok: true, message: this.daemon.cleanup(a.resource, a.node) };
    }
  }

  private stop(): void {
    clearInterval(this.pollTimer);
    clearTimeout(this.pushTimer);
    this.stopTimeline();
    this.timeline.dispose();
  }

  async dispose(): Promise<void> {
    this.stop();
    for (const c of this.clients) c.end();
    this.clients.clear();
    await new Promise<void>((r) => {
      this.server.close(() => r());
      for (const s of this.sockets) s.destroy();
    });
  }
}

/** Listens on `bind`; a clear error naming what failed (address in use, not an address of this machine). */
export function listen(server: Server, bind: Bind, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException): void => {
      const hint =
        e.code === 'EADDRINUSE'
          ? ' (the port is in use)'
          : e.code === 'EADDRNOTAVAIL'
            ? ' (not an address of this machine)'
            : e.code === 'EACCES'
              ? ' (a port below 1024 needs privileges)'
              : '';
      reject(new ObserveError('LISTEN_FAILED', `cannot listen for the ${what} on ${urlOf(bind)}: ${e.message}${hint}`, { cause: e }));
    };
    server.once('error', onError);
    server.listen(bind.port, bind.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
