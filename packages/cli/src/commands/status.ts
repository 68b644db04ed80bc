/** `paceline status [--json] [--watch]`: a crm_mon-style view from the local daemon. */
import type { Command } from 'commander';
import type { DaemonStatus, ReplicaStatus } from '@paceline/daemon';
// The control client alone (not the whole daemon): `paceline status` starts in a fraction of the time.
import { controlRequest } from '@paceline/daemon/control';
import { ExitError, type CliIo } from '../io.js';
import { DEFAULT_STATE_DIR } from '../defaults.js';

/** Sends a control request; prints the daemon's message; exit 1 when it refused. */
export async function control(io: CliIo, stateDir: string, req: Parameters<typeof controlRequest>[1]): Promise<unknown> {
  const r = await controlRequest(stateDir, req);
  if (!r.ok) throw new ExitError(1, `error: ${r.message ?? 'the daemon refused the request'}`);
  if (r.message) io.out(r.message);
  return r.data;
}

const when = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');

const seconds = (s: number): string => (s < 10 ? `${s.toFixed(1)} s` : `${Math.round(s)} s`);

/** "in sync with serv1 as of …; lag ≤ 0.3 s, 0 B behind (monitor at …)", "BEHIND serv1 …". */
export function replicaText(r: ReplicaStatus): string {
  const asOf = r.asOf !== undefined ? ` as of ${when(r.asOf)}` : '';
  const missing = r.bytes !== undefined ? `${r.changes !== undefined ? `${r.changes} change(s), ` : ''}${r.bytes} B behind` : 'bytes behind unknown';
  const oldest = r.oldestMissingAt !== undefined ? `, the oldest missing change written at ${when(r.oldestMissingAt)}` : '';
  const state =
    r.state === 'in-sync'
      ? `in sync with ${r.source}${asOf}`
      : r.state === 'behind'
        ? `BEHIND ${r.source} (in sync${asOf || ' never'})`
        : `NEVER SYNCED with ${r.source}`;
  return `${state}; lag ≤ ${seconds(r.seconds)}, ${missing}${oldest}${r.reachable ? '' : `; ${r.source} unreachable`} (monitor at ${when(r.at)})`;
}

export function renderStatus(s: DaemonStatus): string[] {
  const out: string[] = [];
  out.push(`Cluster ${s.clusterName ?? '(unnamed)'}  configuration epoch ${s.epoch}`);
  out.push(`Coordinator: ${s.coordinator} (term ${s.term})  quorum: ${s.quorate ? 'yes' : 'NO'}  viewed from ${s.node}`);
  if (!s.mayRun) out.push(`  ${s.node} may not run resources: ${s.mayRunReason}`);
  if (s.schedulerBlocked) out.push(`  scheduling waits: ${s.schedulerBlocked}`);
  else if (s.membershipConflict) out.push(`  membership settings differ: ${s.membershipConflict}`);
  if (s.arbiter)
    out.push(
      `  arbiter's vote: ${s.arbiter.vote}${s.arbiter.holder ? ` (held by ${s.arbiter.holder})` : ''}${s.arbiter.detail ? ` — ${s.arbiter.detail}` : ''}`,
    );
  for (const c of s.conflicts ?? []) out.push(`  IDENTITY CONFLICT: two daemons run as ${c}; stop one (fencing powers off the name's machine)`);
  if (s.held?.length) out.push(`  not started while a lost peer may be starting them: ${s.held.join(', ')}`);
  out.push('', 'Nodes:');
  for (const n of s.nodes) {
    const flags = [n.state === 'online' ? 'Online' : n.state === 'offline' ? 'OFFLINE' : n.state === 'unclean' ? 'UNCLEAN' : n.state];
    if (n.standby) flags.push('standby');
    const links = Object.entries(n.links)
      .map(([l, u]) => `${l} ${u}`)
      .join(', ');
    out.push(`  * ${n.name}: ${flags.join(', ')}${links ? `  [links: ${links}]` : ''}`);
    if (n.quarantine) out.push(`      quarantined: ${n.quarantine}`);
    if (n.reason && n.state !== 'online') out.push(`      ${n.reason}`);
    for (const c of n.cannotRun ?? []) out.push(`      cannot run ${c.resource}: ${c.reason}`);
  }
  out.push('', 'Resources:');
  if (s.resources.length === 0) out.push('  (none)');
  for (const r of s.resources) {
    const name = r.instance === r.resource ? r.resource : `${r.resource} (${r.instance})`;
    const state = r.node === null || r.role === 'Stopped' ? 'Stopped' : `${r.role} ${r.node}`;
    out.push(`  * ${name}: ${state}${r.failed ? ' FAILED' : ''}${r.managed ? '' : ' (unmanaged)'}`);
  }
  if (s.replicas?.length) {
    out.push('', 'Replicas (as their last monitor saw them):');
    for (const r of s.replicas) out.push(`  * ${r.instance} on ${r.node}: ${replicaText(r)}`);
  }
  for (const w of s.warnings ?? []) out.push('', `Warning: ${w}`);
  const failures = s.nodes.flatMap((n) => n.failures.map((f) => ({ node: n.name, ...f })));
  if (failures.length) {
    out.push('', 'Failures:');
    for (const f of failures) out.push(`  * ${f.resource} ${f.action ?? ''}${f.interval ? ` (${f.interval} ms)` : ''} on ${f.node}: fail count ${f.count}`);
  }
  if (s.lastTransition) {
    const t = s.lastTransition;
    out.push('', `Last transition: #${t.id} at ${when(t.at)} (epoch ${t.epoch}) ${t.state}${t.actions ? `, ${t.actions} actions` : ''}`);
    for (const l of t.summary) out.push(`  ${l}`);
    for (const f of t.failed ?? []) out.push(`  failed: ${f}`);
  }
  const dropped = Object.entries(s.dropped).filter(([, n]) => n > 0);
  if (dropped.length) out.push('', `Dropped packets: ${dropped.map(([k, n]) => `${k} ${n}`).join(', ')}`);
  return out;
}

export function registerStatusCommand(program: Command, io: CliIo): void {
  program
    .command('status')
    .description('Show nodes, links, resources, failures and the last transition (from the local daemon)')
    .option('--state-dir <dir>', "the local daemon's state directory", DEFAULT_STATE_DIR)
    .option('--json', 'print the status as JSON')
    .option('--watch', 'refresh until interrupted')
    .option('--interval <ms>', 'refresh interval with --watch', '1000')
    .action(async (opts: { stateDir: string; json?: boolean; watch?: boolean; interval: string }) => {
      for (;;) {
        const s = (await control(io, opts.stateDir, { cmd: 'status' })) as DaemonStatus;
        if (opts.watch && !opts.json) io.out('\u001b[2J\u001b[H');
        if (opts.json) io.out(JSON.stringify(s, null, 2));
        else for (const l of renderStatus(s)) io.out(l);
        if (!opts.watch) return;
        await new Promise((r) => setTimeout(r, Math.max(100, Number(opts.interval))));
      }
    });
}
