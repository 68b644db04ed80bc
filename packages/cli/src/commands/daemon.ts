/** `paceline daemon --config FILE --node NAME`: runs the node daemon until SIGINT/SIGTERM. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { Daemon, systemTimers, type FenceOutcome } from '@paceline/daemon';
import { Observer, parseListenOverride } from '@paceline/observe';
import { ArbiterClient, DEFAULT_WITNESS_PORT, ExecaCommandRunner, createLogger, readKey, systemClock, type LogFormat, type LogLevel } from '@paceline/runtime';
import { ExitError, type CliIo } from '../io.js';
import { loadConfigDocument } from '../load.js';
import { configAgentResolver } from '../agents.js';
import { assertAgentParams } from '../agent-params-check.js';
import { checkLogOptions, parseAddressOption } from '../options.js';
import { VERSION } from '../version.js';
import { announceToSystemd } from '../systemd.js';

export const DEFAULT_STATE_DIR = process.env['PACELINE_STATE_DIR'] ?? '/var/lib/paceline';
export const DEFAULT_KEY = '/etc/paceline/authkey';

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

/** "key=value" membership settings; numbers and booleans are converted. */
export function parseMembershipSettings(items: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new ExitError(2, `--membership "${item}": write KEY=VALUE`);
    const v = item.slice(eq + 1);
    out[item.slice(0, eq)] = /^-?\d+$/.test(v) ? Number(v) : v === 'true' ? true : v === 'false' ? false : v;
  }
  return out;
}

interface DaemonOpts {
  config: string; node: string; stateDir: string; key: string; address: string[]; profile?: string; partitionPolicy?: string;
  fenceCommand?: string; witness?: string; arbiter?: string; membership: string[]; logFormat: string; logLevel: string; portOffset: string; stopOnShutdown: boolean;
  metricsListen?: string; webListen?: string; webTokenFile?: string;
}

export function registerDaemonCommand(program: Command, io: CliIo): void {
  program
    .command('daemon')
    .description('Run the node daemon: membership, coordinator, execution, control socket')
    .requiredOption('--config <file>', 'cluster configuration (YAML); the state directory keeps newer epochs')
    .requiredOption('--node <name>', 'this node\'s name in the configuration')
    .option('--state-dir <dir>', 'state directory (persisted state, resource state, control socket)', DEFAULT_STATE_DIR)
    .option('--key <file>', 'cluster key file (create with `paceline keygen`)', DEFAULT_KEY)
    .option('--address <node:link=host:port>', 'override an address (repeatable), e.g. serv1:lan=127.0.0.1:7001', collect, [])
    .option('--profile <name>', 'membership timing profile: default (~0.3 s to detect a lost node) or fast (~0.15 s)')
    .option('--partition-policy <policy>', 'fence | witness | stop-all (default fence)')
    .option('--fence-command <cmd>', 'fencing command, run as CMD NODE (argument array, no shell); exit 0 = the node is off')
    .option('--witness <host>', 'ping target for the witness policy')
    .option('--arbiter <host:port>', `the \`paceline witness\` arbiter on the service LAN (default port ${DEFAULT_WITNESS_PORT}): only the node holding its vote fences`)
    .option('--membership <key=value>', 'a membership setting (repeatable), e.g. fenceDelayTicks=0, deadTicks=8, twoNode=true', collect, [])
    .option('--port-offset <n>', 'daemon channel port = heartbeat port + n', '1')
    .option('--no-stop-on-shutdown', 'leave resources running when the daemon stops')
    .option('--metrics-listen <host:port|off>', 'this node\'s Prometheus metrics address (overrides monitoring.metrics; off: none)')
    .option('--web-listen <host:port|off>', 'this node\'s web view address (overrides monitoring.web; off: none)')
    .option('--web-token-file <file>', 'the token that allows actions in the web view (overrides monitoring.web.tokenFile)')
    .option('--log-format <fmt>', 'human | json', 'human')
    .option('--log-level <level>', 'debug | info | warn | error', 'info')
    .action(async (opts: DaemonOpts) => {
      const arbiterAt = opts.arbiter !== undefined ? parseAddressOption('--arbiter', opts.arbiter, DEFAULT_WITNESS_PORT) : undefined;
      checkLogOptions(opts.logFormat, opts.logLevel);
      const { document: config, result: loaded } = loadConfigDocument(io, opts.config);
      const logger = createLogger({ format: opts.logFormat as LogFormat, level: opts.logLevel as LogLevel, fields: { node: opts.node } });
      // Built-in agents plus the agent modules of the configuration in force (relative to --config).
      const agents = configAgentResolver(opts.config, loaded.config ?? {});
      if (loaded.config) {
        // A module this node cannot load does not stop the daemon: its agents' resources are
        // reported not installed here (their probes), so they are placed on other nodes.
        const modules = await agents.load(loaded.config.agents ?? []);
        for (const f of modules.failures) logger.error(`${f.error.message}: this node cannot run its agents`, { module: f.spec });
        // A misspelt parameter stops the start here, not at the resource's first action.
        assertAgentParams(loaded.config, modules.registry, opts.config, { unloadedModules: modules.failures.length > 0 });
      }
      const key = await readKey(opts.key);
      const runner = new ExecaCommandRunner();
      const fenceArgv = opts.fenceCommand?.split(/\s+/).filter(Boolean);
      const fence = fenceArgv && fenceArgv.length > 0
        ? async (node: string): Promise<FenceOutcome> => {
          const r = await runner.run(fenceArgv[0]!, [...fenceArgv.slice(1), node], { timeoutMs: 60_000 });
          return r.exitCode === 0 ? { ok: true } : { ok: false, detail: `${fenceArgv.join(' ')} ${node}: exit ${r.exitCode ?? r.signal ?? 'timeout'} ${r.stderr.trim()}`.trim() };
        }
        : undefined;
      const witness = opts.witness !== undefined
        ? async (): Promise<boolean> => (await runner.run('ping', ['-c', '1', '-W', '1', opts.witness!], { timeoutMs: 2000 })).exitCode === 0
        : undefined;
      // The arbiter knows this node by the daemon's incarnation, which is known once it started;
      // membership asks for the vote only after that.
      let boot: number | undefined;
      const clusterName = (config['properties'] as Record<string, unknown> | undefined)?.['clusterName'];
      const arbiter = arbiterAt !== undefined
        ? await ArbiterClient.open({
          self: opts.node, address: arbiterAt, key, ...(typeof clusterName === 'string' ? { cluster: clusterName } : {}),
          boot: () => {
            if (boot === undefined) throw new Error('the daemon has not started yet');
            return boot;
          },
        })
        : undefined;
      const abort = new AbortController();
      let daemon: Daemon;
      try {
        daemon = new Daemon({
          node: opts.node, config, stateDir: opts.stateDir, key, keyFile: resolve(opts.key), agents, runner, clock: systemClock, timers: systemTimers, logger,
          membership: {
            ...parseMembershipSettings(opts.membership),
            ...(opts.profile !== undefined ? { profile: opts.profile as 'default' | 'fast' } : {}),
            ...(opts.partitionPolicy !== undefined ? { partitionPolicy: opts.partitionPolicy as 'fence' | 'witness' | 'stop-all' } : {}),
          },
          addresses: parseAddressOverrides(opts.address), portOffset: Number(opts.portOffset), stopOnShutdown: opts.stopOnShutdown,
          ...(fence ? { fence } : {}), ...(witness ? { witness } : {}), ...(arbiter ? { arbiter } : {}), signal: abort.signal,
        });
        await daemon.start();
      } catch (e) {
        await arbiter?.dispose(); // its socket would keep the process alive
        throw e;
      }
      boot = daemon.incarnation;
      // Metrics, alerts and the web view (the configuration's monitoring section, this node's overrides).
      let observer: Observer;
      try {
        observer = await Observer.open(daemon, {
          runner, logger, version: VERSION,
          ...(opts.metricsListen !== undefined ? { metrics: parseListenOverride('--metrics-listen', opts.metricsListen) } : {}),
          ...(opts.webListen !== undefined ? { web: parseListenOverride('--web-listen', opts.webListen) } : {}),
          ...(opts.webTokenFile !== undefined ? { webTokenFile: opts.webTokenFile } : {}),
        });
      } catch (e) {
        await daemon.dispose();
        throw e;
      }
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
          void systemd.stopping().then(() => daemon.dispose()).then(() => observer.dispose()).then(resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}
