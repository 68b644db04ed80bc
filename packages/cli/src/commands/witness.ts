/**
 * `paceline witness --listen HOST:PORT --config FILE [--key FILE] [--lease-ms N]`: runs the witness
 * arbiter (the cluster's tie-breaking vote) until SIGINT/SIGTERM, logging every decision.
 */
import type { Command } from 'commander';
import { DEFAULT_WITNESS_PORT, WitnessServer, createLogger, readKey, type LogFormat, type LogLevel, type WitnessEvent } from '@paceline/runtime';
import type { Logger } from '@paceline/agent-api';
import type { CliIo } from '../io.js';
import { loadConfig } from '../load.js';
import { checkLogOptions, parseAddressOption, parseMsOption } from '../options.js';
import { DEFAULT_KEY } from '../defaults.js';

interface WitnessOpts {
  listen: string;
  key: string;
  config: string;
  leaseMs?: string;
  maxSkewMs?: string;
  logFormat: string;
  logLevel: string;
}

/** One log line per decision: new grants, refusals and frees at info, renewals at debug, drops as warnings. */
function logEvent(log: Logger, e: WitnessEvent): void {
  const from = { from: e.from };
  const who = (x: { node: string; boot: number }): string => `${x.node} (incarnation ${x.boot})`;
  switch (e.type) {
    case 'granted':
      if (e.renewal) log.debug(`renewed ${who(e)}'s vote`, { ...from, leaseMs: e.leaseMs });
      else
        log.info(`granted the vote to ${who(e)}`, {
          ...from,
          lost: e.lost.join(','),
          leaseMs: e.leaseMs,
          ...(e.previous ? { previous: `${who(e.previous)}, lease ran out` } : {}),
        });
      break;
    case 'refused':
      log.info(`refused the vote to ${who(e)}: ${e.holder} holds it`, {
        ...from,
        lost: e.lost.join(','),
        holderBoot: e.holderBoot,
        remainingMs: e.remainingMs,
      });
      break;
    case 'released':
      if (e.freed) log.info(`${who(e)} gave the vote back`, from);
      else log.debug(`${who(e)} released a vote it did not hold`, from);
      break;
    case 'unavailable':
      log.info(`not granting to ${who(e)} yet: started recently (a vote granted before the restart may still be in use)`, { ...from, retryInMs: e.retryInMs });
      break;
    case 'dropped':
      log.warn(`dropped a request (${e.reason})`, { ...from, ...(e.node !== undefined ? { claimant: e.node } : {}), detail: e.detail });
      break;
  }
}

export function registerWitnessCommand(program: Command, io: CliIo): void {
  program
    .command('witness')
    .description("Run the witness arbiter: on a third host of the service LAN, it grants the cluster's tie-breaking vote to one node at a time")
    .requiredOption('--listen <host:port>', `address to listen on (UDP; default port ${DEFAULT_WITNESS_PORT})`)
    .requiredOption('--config <file>', 'cluster configuration (YAML): the node names and clusterName')
    .option('--key <file>', "cluster key file (the nodes' key)", DEFAULT_KEY)
    .option('--lease-ms <n>', 'how long a granted vote lasts unless renewed (default 3000)')
    .option('--max-skew-ms <n>', 'largest clock difference accepted between a node and the witness (default 2000)')
    .option('--log-format <fmt>', 'human | json', 'human')
    .option('--log-level <level>', 'debug | info | warn | error', 'info')
    .action(async (opts: WitnessOpts) => {
      const listen = parseAddressOption('--listen', opts.listen, DEFAULT_WITNESS_PORT, { allowPortZero: true });
      const leaseMs = parseMsOption('--lease-ms', opts.leaseMs);
      const maxSkewMs = parseMsOption('--max-skew-ms', opts.maxSkewMs);
      checkLogOptions(opts.logFormat, opts.logLevel);
      const config = loadConfig(io, opts.config);
      const key = await readKey(opts.key);
      const log = createLogger({ format: opts.logFormat as LogFormat, level: opts.logLevel as LogLevel, fields: { node: 'witness' } });
      const cluster = config.properties.clusterName;
      const server = await WitnessServer.open({
        listen,
        key,
        nodes: config.nodes.map((n) => n.name),
        ...(cluster !== undefined ? { cluster } : {}),
        ...(leaseMs !== undefined ? { leaseMs } : {}),
        ...(maxSkewMs !== undefined ? { maxSkewMs } : {}),
        onEvent: (e) => logEvent(log, e),
        onError: (e) => log.warn('socket error', { error: e.message }),
      });
      const a = server.address();
      const c = server.config;
      io.out(
        `paceline witness listening on ${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port} for ${cluster !== undefined ? `cluster "${cluster}"` : 'a cluster without clusterName'} (nodes ${c.nodes.join(', ')}; lease ${c.leaseMs} ms; grants from ${c.startupHoldMs} ms after start)`,
      );
      log.info('witness started', {
        listen: `${a.host}:${a.port}`,
        nodes: c.nodes.join(','),
        leaseMs: c.leaseMs,
        maxSkewMs: c.maxSkewMs,
        startupHoldMs: c.startupHoldMs,
      });
      // Operators (and tests) can tell from the log when votes can be won.
      const holdOver = setTimeout(() => log.info('startup hold over: granting votes from now on'), c.startupHoldMs);
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          clearTimeout(holdOver);
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          const s = server.stats();
          const drops = Object.entries(s.dropped)
            .filter(([, n]) => n > 0)
            .map(([r, n]) => `${r} ${n}`)
            .join(', ');
          log.info('witness stopping', {
            received: s.received,
            granted: s.granted,
            renewals: s.renewals,
            refused: s.refused,
            released: s.released,
            unavailable: s.unavailable,
            dropped: drops || 'none',
          });
          void server.dispose().then(resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}
