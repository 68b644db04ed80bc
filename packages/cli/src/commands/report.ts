/**
 * `paceline report`: a support bundle, as Pacemaker's crm_report makes — one .tar.gz with what a
 * person helping needs: versions, the configuration file (secrets in it redacted; never the cluster
 * key), the running daemon's status and replicated document, the persisted state, recent logs
 * (journal or files) and the network's addresses and routes. Each part that cannot be had is named
 * in the bundle's README instead of failing the whole report.
 */
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile, lstat } from 'node:fs/promises';
import { hostname, release, arch, tmpdir, type as osType } from 'node:os';
import { basename, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { parseDocumentText } from '@paceline/model';
import { controlRequest } from '@paceline/daemon/control';
import { ExecaCommandRunner } from '@paceline/runtime';
import { stringify as toYaml } from 'yaml';
import { ExitError, type CliIo } from '../io.js';
import { VERSION } from '../version.js';
import { DEFAULT_STATE_DIR } from '../defaults.js';

const REDACTED = '(redacted by paceline report)';

/** A copy of a configuration document with secrets replaced: alert webhook headers and URL credentials, alert env values. */
export function redactConfig(doc: unknown): unknown {
  if (typeof doc !== 'object' || doc === null) return doc;
  const copy = structuredClone(doc) as Record<string, unknown>;
  const monitoring = copy['monitoring'] as Record<string, unknown> | undefined;
  const alerts = Array.isArray(monitoring?.['alerts']) ? (monitoring!['alerts'] as Record<string, unknown>[]) : [];
  for (const a of alerts) {
    if (typeof a !== 'object' || a === null) continue;
    for (const k of ['headers', 'env'] as const) {
      const m = a[k];
      if (typeof m === 'object' && m !== null) a[k] = Object.fromEntries(Object.keys(m).map((h) => [h, REDACTED]));
    }
    if (typeof a['url'] === 'string') {
      try {
        const u = new URL(a['url']);
        if (u.username || u.password) {
          u.username = 'redacted';
          u.password = '';
        }
        if (u.search) u.search = '?redacted';
        a['url'] = u.toString();
      } catch {
        /* not a URL: leave it, the configuration says so itself */
      }
    }
  }
  return copy;
}

/** A replicated document ({ epoch, config, quarantine }) with its configuration redacted. */
function redactDoc(doc: unknown): unknown {
  if (typeof doc !== 'object' || doc === null || !('config' in doc)) return doc;
  return { ...doc, config: redactConfig((doc as { config: unknown }).config) };
}

const sinceMs = (text: string): number => {
  const m = /^(\d+)\s*(m|min|h|d)$/.exec(text.trim());
  if (!m) throw new ExitError(2, `--since "${text}": write e.g. 30min, 24h or 7d`);
  return Number(m[1]) * (m[2] === 'd' ? 86_400_000 : m[2] === 'h' ? 3_600_000 : 60_000);
};

interface ReportOpts {
  dest?: string;
  config: string;
  stateDir: string;
  since: string;
  log: string[];
  unit: string;
  journal: boolean;
}

export function registerReportCommand(program: Command, io: CliIo): void {
  program
    .command('report')
    .description('Gather a support bundle (.tar.gz): versions, configuration (secrets redacted, never the key), status, state, recent logs, network')
    .option('--dest <file>', 'where to write the bundle (default: ./paceline-report-HOST-TIME.tar.gz)')
    .option('--config <file>', 'the configuration file', '/etc/paceline/cluster.yaml')
    .option('--state-dir <dir>', "the daemon's state directory", DEFAULT_STATE_DIR)
    .option('--since <age>', 'logs of this long ago and since (e.g. 30min, 24h, 7d)', '24h')
    .option('--log <file>', 'a log file to include (its last 5 MB; repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--unit <name>', 'the systemd unit whose journal to include', 'paceline')
    .option('--no-journal', 'do not read the journal')
    .action((o: ReportOpts) => writeReport(o, io));
}

/** The bundle's folder while it is gathered: the files written into it, and what could not be included. */
class Bundle {
  readonly missing: string[] = [];
  private readonly runner = new ExecaCommandRunner();

  constructor(readonly dir: string) {}

  put(file: string, text: string): Promise<void> {
    return writeFile(join(this.dir, file), text.endsWith('\n') ? text : `${text}\n`);
  }

  /** A command's output (with the command line, its stderr and a non-zero exit) as `file`. */
  async run(file: string, cmd: string, args: readonly string[]): Promise<void> {
    const r = await this.runner.run(cmd, args, { timeoutMs: 20_000 });
    if (r.notFound) this.missing.push(`${file}: ${cmd} is not installed`);
    else
      await this.put(
        file,
        `$ ${[cmd, ...args].join(' ')}\n${r.stdout}${r.stderr ? `\n(stderr)\n${r.stderr}` : ''}${r.exitCode !== 0 ? `\n(exit ${r.exitCode ?? r.signal ?? 'timeout'})` : ''}`,
      );
  }

  /** The folder as a .tar.gz at `dest`. */
  async tar(dest: string, work: string, name: string): Promise<void> {
    const tar = await this.runner.run('tar', ['-czf', dest, '-C', work, name], { timeoutMs: 120_000 });
    if (tar.exitCode !== 0) throw new ExitError(1, `cannot write ${dest}: ${tar.stderr.trim() || `tar exit ${tar.exitCode ?? tar.signal}`}`);
  }
}

/** `paceline report`: each part of the bundle in turn, then the archive; a part that cannot be had is listed in README.txt and printed. */
async function writeReport(o: ReportOpts, io: CliIo): Promise<void> {
  const age = sinceMs(o.since);
  const stamp = new Date(io.now()).toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  const name = `paceline-report-${hostname()}-${stamp}`;
  const dest = resolve(o.dest ?? `${name}.tar.gz`);
  const work = await mkdtemp(join(tmpdir(), 'paceline-report-'));
  const dir = join(work, name);
  await mkdir(dir, { recursive: true });
  const b = new Bundle(dir);
  try {
    await putVersions(b, io);
    await putConfig(b, o, io);
    await putDaemonView(b, o);
    await putLogs(b, o, io, age);
    // The network as the node sees it.
    await b.run('network.txt', 'ip', ['-d', 'address', 'show']);
    await b.run('routes.txt', 'ip', ['route', 'show', 'table', 'all']);

    await b.put(
      'README.txt',
      [
        `Paceline support bundle from ${hostname()}, ${new Date(io.now()).toISOString()}.`,
        'The cluster key is not included. Secrets in the configuration (alert webhook headers, URL credentials, alert env values) are redacted',
        'in config.yaml, document.json and state.json; resource parameters are included as written: check them before you share the bundle.',
        '',
        b.missing.length ? `Not included:\n${b.missing.map((m) => `- ${m}`).join('\n')}` : 'Everything was gathered.',
      ].join('\n'),
    );
    await b.tar(dest, work, name);
    io.out(`wrote ${dest}`);
    for (const m of b.missing) io.out(`  not included: ${m}`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Versions and the machine. */
async function putVersions(b: Bundle, io: CliIo): Promise<void> {
  const osRelease = await readFile('/etc/os-release', 'utf8').catch(() => '(no /etc/os-release)');
  await b.put(
    'versions.txt',
    [
      `paceline ${VERSION}`,
      `node ${process.version} (${Object.entries(process.versions)
        .filter(([k]) => ['v8', 'uv', 'openssl'].includes(k))
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')})`,
      `host ${hostname()}: ${osType()} ${release()} ${arch()}`,
      `report made ${new Date(io.now()).toISOString()}`,
      '',
      osRelease,
    ].join('\n'),
  );
}

/** The configuration file, secrets redacted (the cluster key is never read), and /etc/default/paceline. */
async function putConfig(b: Bundle, o: ReportOpts, io: CliIo): Promise<void> {
  try {
    const text = io.readFile(o.config);
    let out: string;
    try {
      out = `# ${o.config} (webhook headers, URL credentials and alert env values redacted)\n${toYaml(redactConfig(parseDocumentText(text, o.config)))}`;
    } catch (e) {
      out = `# ${o.config} does not parse (${(e as Error).message}); as written:\n${text}`;
    }
    await b.put('config.yaml', out);
  } catch (e) {
    b.missing.push(`config.yaml: cannot read ${o.config}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  for (const f of ['/etc/default/paceline']) {
    const t = await readFile(f, 'utf8').catch(() => undefined);
    if (t !== undefined) await b.put(`etc-default-paceline.txt`, t);
  }
}

/** The running daemon's view through its control socket, its persisted state (redacted) and what else its state directory holds. */
async function putDaemonView(b: Bundle, o: ReportOpts): Promise<void> {
  for (const [file, cmd] of [
    ['status.json', 'status'],
    ['document.json', 'config'],
  ] as const) {
    try {
      const r = await controlRequest(o.stateDir, { cmd }, 10_000);
      await b.put(file, JSON.stringify(r.ok ? (cmd === 'config' ? redactDoc(r.data) : r.data) : r, null, 2));
    } catch (e) {
      b.missing.push(`${file}: ${(e as Error).message}`);
    }
  }
  // The persisted state (document, fail counts, incarnations) and what else the directory holds.
  try {
    const text = await readFile(join(o.stateDir, 'state.json'), 'utf8');
    let state: unknown;
    try {
      state = JSON.parse(text) as unknown;
    } catch {
      state = undefined;
    }
    await b.put('state.json', state === undefined ? text : JSON.stringify({ ...(state as object), doc: redactDoc((state as { doc?: unknown }).doc) }, null, 2));
  } catch (e) {
    b.missing.push(`state.json: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message} in ${o.stateDir}`);
  }
  await b.put('state-dir.txt', (await listTree(o.stateDir).catch((e: Error) => [`cannot list ${o.stateDir}: ${e.message}`])).join('\n'));
}

/** The unit's journal since `age` ago, and the last 5 MB of each log file named. */
async function putLogs(b: Bundle, o: ReportOpts, io: CliIo, age: number): Promise<void> {
  if (o.journal)
    await b.run('journal.txt', 'journalctl', ['--unit', o.unit, '--since', `@${Math.floor((io.now() - age) / 1000)}`, '--no-pager', '--output', 'short-iso']);
  for (const f of o.log) {
    try {
      const st = await stat(f);
      const buf = await readFile(f);
      await writeFile(join(b.dir, `log-${basename(f)}`), st.size > 5 * 1024 * 1024 ? buf.subarray(buf.length - 5 * 1024 * 1024) : buf);
    } catch (e) {
      b.missing.push(`log ${f}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
}

/** "mode size path" for every entry under `root` (contents are not read). */
async function listTree(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const n of (await readdir(d)).sort()) {
      const p = join(d, n);
      const st = await lstat(p);
      out.push(`${(st.mode & 0o7777).toString(8).padStart(4, '0')} ${String(st.size).padStart(9)} ${p}${st.isDirectory() ? '/' : ''}`);
      if (st.isDirectory() && out.length < 5000) await walk(p);
    }
  };
  await walk(root);
  return out;
}
