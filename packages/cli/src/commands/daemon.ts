/** `paceline daemon --config FILE --node NAME`: runs the node daemon until SIGINT/SIGTERM. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { Daemon, DaemonError, systemTimers, type FenceOutcome } from '@paceline/daemon';
import { MEMBERSHIP_SETTING_NAMES, MembershipSettings, type FenceType } from '@paceline/model';
import { Observer, parseListenOverride } from '@paceline/observe';
import { ArbiterClient, DEFAULT_WITNESS_PORT, ExecaCommandRunner, createLogger, readKey, systemClock, type LogFormat, type LogLevel } from '@paceline/runtime';
import { ExitError, type CliIo } from '../io.js';
import { loadConfigFile } from '../load.js';
import { configAgentResolver } from '../agents.js';
import { assertAgentParams } from '../agent-params-check.js';
import { suggestName as suggest } from '@paceline/agent-api';
import { checkLogOptions, parseAddressOption } from '../options.js';
import { VERSION } from '../version.js';
import { announceToSystemd } from '../systemd.js';
import { DEFAULT_KEY, DEFAULT_STATE_DIR } from '../defaults.js';

export { DEFAULT_KEY, DEFAULT_STATE_DIR } from '../defaults.js';

const collect = (v: string, acc: string[]): string[] => [...acc, v];

/** "NODE:LINK=HOST:PORT" → overrides. */
export function parseAddressOverrides(items: readonly string[]): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const item of items) {
    const m = /^([^:=]+):([^=]+)=(.+)$/.exec(item);
    if (!m) throw new ExitError(2, `--address "${item}": write NODE:LINK=HOST[:PORT]`);
    (out[m[1]!] ??= {})[m[2]!] = m[3]!;
  }
  return out;
}

/** "key=value" membership settings; numbers and booleans are converted; `links.LINK.deadTicks=N` nests. */
export function parseMembershipSettings(items: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new ExitError(2, `--membership "${item}": write KEY=VALUE`);
    const v = item.slice(eq + 1);
    const value = /^-?\d+$/.test(v) ? Number(v) : v === 'true' ? true : v === 'false' ? false : v;
    const path = item.slice(0, eq).split('.');
    let at = out;
    for (const p of path.slice(0, -1)) {
      const next = at[p];
      at = at[p] = typeof next === 'object' && next !== null ? (next as Record<string, unknown>) : {};
    }
    at[path[path.length - 1]!] = value;
  }
  return out;
}

/**
 * This node's overrides of the configuration's `membership` section (`--membership`, `--profile`,
 * `--partition-policy`), checked with the model's schema: an unknown setting is an error with a
 * "did you mean", a bad value names the option and the setting.
 */
export function membershipOverrides(items: readonly string[], profile?: string, partitionPolicy?: string): MembershipSettings {
  const raw = {
    ...parseMembershipSettings(items),
    ...(profile !== undefined ? { profile } : {}),
    ...(partitionPolicy !== undefined ? { partitionPolicy } : {}),
  };
  const r = MembershipSettings.safeParse(raw);
  if (r.success) return r.data;
  const option = (key: PropertyKey | undefined): string =>
    key === 'profile' && profile !== undefined
      ? '--profile'
      : key === 'partitionPolicy' && partitionPolicy !== undefined
        ? '--partition-policy'
        : '--membership';
  const problems = r.error.issues.flatMap((i) => {
    if (i.code === 'unrecognized_keys') {
      const known = i.path.length === 0 ? MEMBERSHIP_SETTING_NAMES : ['deadTicks', 'warnTicks'];
      return i.keys.map((k) => {
        const near = suggest(k, known);
        return `--membership ${[...i.path.map(String), k].join('.')}: no such membership setting${near ? ` (did you mean "${near}"?)` : ` (settings: ${known.join(', ')})`}`;
      });
    }
    return [`${option(i.path[0])} ${i.path.map(String).join('.')}: ${i.message}`];
  });
  throw new ExitError(2, problems.join('\n'));
}

interface DaemonOpts {
  config: string;
  node: string;
  stateDir: string;
  key: string;
  address: string[];
  profile?: string;
  partitionPolicy?: string;
  fenceCommand?: string;
  witness?: string;
  arbiter?: string;
  membership: string[];
  logFormat: string;
  logLevel: string;
  portOffset: string;
  stopOnShutdown: boolean;
  metricsListen?: string;
  webListen?: string;
  webTokenFile?: string;
}

export function registerDaemonCommand(program: Command, io: CliIo): void {
  program
    .command('daemon')
    .description('Run the node daemon: membership, coordinator, execution, control socket')
    .requiredOption('--config <file>', 'cluster configuration (YAML); the state directory keeps newer epochs')
    .requiredOption('--node <name>', "this node's name in the configuration")
    .option('--state-dir <dir>', 'state directory (persisted state, resource state, control socket)', DEFAULT_STATE_DIR)
    .option('--key <file>', 'cluster key file (create with `paceline keygen`)', DEFAULT_KEY)
    .option('--address <node:link=host:port>', 'override an address (repeatable), e.g. serv1:lan=127.0.0.1:7001', collect, [])
    .option('--profile <name>', "this node's override of membership.profile: default (~0.3 s to detect a lost node) or fast (~0.15 s)")
    .option('--partition-policy <policy>', "this node's override of membership.partitionPolicy: fence | witness | stop-all")
    .option('--fence-command <cmd>', 'fencing command, run as CMD NODE (argument array, no shell); exit 0 = the node is off')
    .option('--witness <host>', 'ping target for the witness policy')
    .option(
      '--arbiter <host:port>',
      `the \`paceline witness\` arbiter on the service LAN (default port ${DEFAULT_WITNESS_PORT}): only the node holding its vote fences`,
    )
    .option(
      '--membership <key=value>',
      "this node's override of a membership setting (repeatable), e.g. deadTicks=30, links.lan.deadTicks=10; every node must use the same",
      collect,
      [],
    )
    .option('--port-offset <n>', 'daemon channel port = heartbeat port + n', '1')
    .option('--no-stop-on-shutdown', 'leave resources running when the daemon stops')
    .option('--metrics-listen <host:port|off>', "this node's Prometheus metrics address (overrides monitoring.metrics; off: none)")
    .option('--web-listen <host:port|off>', "this node's web view address (overrides monitoring.web; off: none)")
    .option('--web-token-file <file>', 'the token that allows actions in the web view (overrides monitoring.web.tokenFile)')
    .option('--log-format <fmt>', 'human | json', 'human')
    .option('--log-level <level>', 'debug | info | warn | error', 'info')
    .action((opts: DaemonOpts) => runDaemon(opts, io));
}

/** The daemon command's action: check the options, build the daemon's parts, run until SIGINT/SIGTERM. */
async function runDaemon(opts: DaemonOpts, io: CliIo): Promise<void> {
  const arbiterAt = opts.arbiter !== undefined ? parseAddressOption('--arbiter', opts.arbiter, DEFAULT_WITNESS_PORT) : undefined;
  checkLogOptions(opts.logFormat, opts.logLevel);
  const membership = membershipOverrides(opts.membership, opts.profile, opts.partitionPolicy);
  const parts = await daemonParts(opts, io);
  const daemon = await startDaemon(opts, parts, membership, arbiterAt);
  const observer = await openObserver(daemon, opts, parts);
  await runUntilSignal(daemon, observer, parts.logger, opts, io);
}

/** What the daemon is built from: the configuration, logger, agents, key and command runner. */
async function daemonParts(opts: DaemonOpts, io: CliIo) {
  // The one loader (as simulate's): a file that does not validate stops the start, naming it.
  const { written: config, config: loaded } = loadConfigFile(io, opts.config);
  const logger = createLogger({ format: opts.logFormat as LogFormat, level: opts.logLevel as LogLevel, fields: { node: opts.node } });
  // Built-in agents plus the agent modules of the configuration in force (relative to --config).
  const agents = configAgentResolver(opts.config, loaded);
  // A module this node cannot load does not stop the daemon: its agents' resources are
  // reported not installed here (their probes), so they are placed on other nodes.
  const modules = await agents.load(loaded.agents ?? []);
  for (const f of modules.failures) logger.error(`${f.error.message}: this node cannot run its agents`, { module: f.spec });
  // A misspelt parameter stops the start here, not at the resource's first action.
  assertAgentParams(loaded, modules.registry, opts.config, { unloadedModules: modules.failures.length > 0 });
  const key = await readKey(opts.key);
  return { config, loaded, logger, agents, key, runner: new ExecaCommandRunner() };
}

type DaemonParts = Awaited<ReturnType<typeof daemonParts>>;

/** --fence-command, run as CMD NODE (argument array, no shell), with PACELINE_FENCE_ACTION=reboot|off|on. */
function fenceHook(runner: ExecaCommandRunner, command: string | undefined) {
  const argv = command?.split(/\s+/).filter(Boolean);
  if (!argv || argv.length === 0) return undefined;
  return async (node: string, signal: AbortSignal, type: FenceType): Promise<FenceOutcome> => {
    const r = await runner.run(argv[0]!, [...argv.slice(1), node], { timeoutMs: 60_000, signal, env: { PACELINE_FENCE_ACTION: type } });
    return r.exitCode === 0
      ? { ok: true }
      : { ok: false, detail: `${argv.join(' ')} ${node}: exit ${r.exitCode ?? r.signal ?? 'timeout'} ${r.stderr.trim()}`.trim() };
  };
}

/** --witness: one ping to the witness host. */
function witnessHook(runner: ExecaCommandRunner, host: string | undefined) {
  if (host === undefined) return undefined;
  return async (): Promise<boolean> => (await runner.run('ping', ['-c', '1', '-W', '1', host], { timeoutMs: 2000 })).exitCode === 0;
}

/** Opens the arbiter client (if any), builds and starts the daemon; a failed start closes the arbiter. */
async function startDaemon(
  opts: DaemonOpts,
  parts: DaemonParts,
  membership: MembershipSettings,
  arbiterAt: ReturnType<typeof parseAddressOption> | undefined,
): Promise<Daemon> {
  const { config, loaded, logger, agents, key, runner } = parts;
  const fence = fenceHook(runner, opts.fenceCommand);
  const witness = witnessHook(runner, opts.witness);
  // The arbiter knows this node by the daemon's incarnation, which is known once it started;
  // membership asks for the vote only after that.
  // eslint-disable-next-line prefer-const -- read by the arbiter's callback below, set once the daemon exists
  let boot: number | undefined;
  const clusterName = loaded.properties.clusterName;
  const arbiter =
    arbiterAt !== undefined
      ? await ArbiterClient.open({
          self: opts.node,
          address: arbiterAt,
          key,
          ...(clusterName !== undefined ? { cluster: clusterName } : {}),
          boot: () => {
            if (boot === undefined) throw new DaemonError('NOT_STARTED', 'the daemon has not started yet');
            return boot;
          },
        })
      : undefined;
  const abort = new AbortController();
  let daemon: Daemon;
  try {
    daemon = new Daemon({
      node: opts.node,
      config,
      stateDir: opts.stateDir,
      key,
      keyFile: resolve(opts.key),
      agents,
      runner,
      clock: systemClock,
      timers: systemTimers,
      logger,
      membership,
      addresses: parseAddressOverrides(opts.address),
      portOffset: Number(opts.portOffset),
      stopOnShutdown: opts.stopOnShutdown,
      ...(fence ? { fence } : {}),
      ...(witness ? { witness } : {}),
      ...(arbiter ? { arbiter } : {}),
      signal: abort.signal,
    });
    await daemon.start();
  } catch (e) {
    await arbiter?.dispose(); // its socket would keep the process alive
    throw e;
  }
  boot = daemon.incarnation;
  return daemon;
}

/** Metrics, alerts and the web view (the configuration's monitoring section, this node's overrides); a failure stops the daemon. */
async function openObserver(daemon: Daemon, opts: DaemonOpts, parts: DaemonParts): Promise<Observer> {
  try {
    return await Observer.open(daemon, {
      runner: parts.runner,
      logger: parts.logger,
      version: VERSION,
      ...(opts.metricsListen !== undefined ? { metrics: parseListenOverride('--metrics-listen', opts.metricsListen) } : {}),
      ...(opts.webListen !== undefined ? { web: parseListenOverride('--web-listen', opts.webListen) } : {}),
      ...(opts.webTokenFile !== undefined ? { webTokenFile: opts.webTokenFile } : {}),
    });
  } catch (e) {
    await daemon.dispose();
    throw e;
  }
}

/** Announces the running daemon (stdout, systemd) and waits for SIGINT/SIGTERM, then stops it. */
async function runUntilSignal(daemon: Daemon, observer: Observer, logger: DaemonParts['logger'], opts: DaemonOpts, io: CliIo): Promise<void> {
  // Whoever reads our output may go away (`paceline daemon … | head`): the daemon keeps running.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE' && e.code !== 'ERR_STREAM_DESTROYED') throw e;
  });
  io.out(`paceline daemon ${opts.node} running (state ${opts.stateDir})`);
  const systemd = await announceToSystemd(daemon, logger);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void systemd
        .stopping()
        .then(() => daemon.dispose())
        .then(() => observer.dispose())
        .then(resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
