/**
 * Text rendering for people: status, transition summary, scores and the action graph.
 * Pacemaker users will recognise the words (Start, Stop, Move, Recover, Promote, Fence ...).
 */
import { formatScore, type ClusterConfig, type ClusterStatus, type InstancePlacement, type SummaryLine, type Transition } from '@paceline/model';

const pad = (s: string, n: number): string => (s.length >= n ? s : s + ' '.repeat(n - s.length));

export function renderNodes(config: ClusterConfig, status: ClusterStatus): string[] {
  const names = [...new Set([...config.nodes.map((n) => n.name), ...status.nodes.map((n) => n.name)])].sort();
  const groups = new Map<string, string[]>();
  for (const name of names) {
    const ns = status.nodes.find((n) => n.name === name);
    const cfg = config.nodes.find((n) => n.name === name);
    let label: string;
    if (!ns || ns.state === 'offline') label = 'OFFLINE';
    else if (ns.state === 'unclean') label = 'UNCLEAN (offline)';
    else if (ns.state === 'pending') label = 'pending';
    else if (ns.standby || cfg?.standby)
      label = ns.attributes['paceline-quarantine'] ? `standby (quarantined: ${ns.attributes['paceline-quarantine']})` : 'standby';
    else if (ns.maintenance || cfg?.maintenance) label = 'maintenance';
    else label = 'online';
    groups.set(label, [...(groups.get(label) ?? []), name]);
  }
  const lines = [`Nodes${status.quorum ? '' : ' (partition WITHOUT quorum)'}:`];
  for (const [label, ns] of groups) lines.push(`  ${label}: [ ${ns.join(' ')} ]`);
  return lines;
}

function describeInstances(list: readonly InstancePlacement[]): string {
  const active = list.filter((p) => p.node !== null);
  if (active.length === 0) return 'Stopped';
  return active.map((p) => `${p.role === 'Started' ? 'Started' : p.role} ${p.node}${p.failed ? ' (FAILED)' : ''}${p.managed ? '' : ' (unmanaged)'}`).join(', ');
}

/** One line per primitive (grouped under its group or clone), like crm_mon's resource list. */
export function renderPlacement(config: ClusterConfig, placement: readonly InstancePlacement[]): string[] {
  const byPrimitive = new Map<string, InstancePlacement[]>();
  for (const p of placement) byPrimitive.set(p.resource, [...(byPrimitive.get(p.resource) ?? []), p]);
  const lines: string[] = ['Resources:'];
  const prim = (id: string, agent: string, indent: string): string =>
    `${indent}${pad(id, 14)} ${pad(`(${agent})`, 22)} ${describeInstances(byPrimitive.get(id) ?? [])}`;
  for (const r of config.resources) {
    if (r.type === 'primitive') lines.push(prim(r.id, r.agent, '  '));
    else if (r.type === 'group') {
      lines.push(`  group ${r.id}:`);
      for (const m of r.members) lines.push(prim(m.id, m.agent, '    '));
    } else {
      lines.push(`  ${r.promotable ? 'promotable clone' : 'clone'} ${r.id}:`);
      const members = r.child.type === 'group' ? r.child.members : [r.child];
      for (const m of members) lines.push(prim(m.id, m.agent, '    '));
    }
  }
  return lines;
}

export function summaryText(s: SummaryLine): string {
  const verb = s.action === 're-promote' ? 'Re-promote' : s.action[0]!.toUpperCase() + s.action.slice(1);
  if (s.action === 'fence') return `${pad('Fence', 10)} (${s.fenceType ?? 'reboot'}) ${s.node}${s.reason ? ` '${s.reason}'` : ''}`;
  const id = s.instance ?? s.resource ?? '?';
  let where: string;
  if (s.action === 'promote') where = `${s.from ? 'Unpromoted' : 'Stopped'} -> Promoted ${s.to}`;
  else if (s.action === 'demote') where = `Promoted -> Unpromoted ${s.from}`;
  else if (s.from && s.to && s.from !== s.to) where = `${s.role && s.role !== 'Started' ? `${s.role} ` : ''}${s.from} -> ${s.to}`;
  else where = `${s.from ?? s.to}`;
  return `${pad(verb, 10)} ${pad(id, 14)} ( ${where} )${s.reason ? `  due to ${s.reason}` : ''}${s.blocked ? ' (blocked)' : ''}`;
}

export function renderSummary(t: Transition): string[] {
  if (t.summary.length === 0) return ['Transition summary: nothing to do'];
  return ['Transition summary:', ...t.summary.map((s) => `  * ${summaryText(s)}`)];
}

export function renderScores(t: Transition, filter?: { resource?: string; node?: string }): string[] {
  const lines: string[] = [];
  const rows = t.explanation.scores.filter(
    (s) => (!filter?.resource || s.resource === filter.resource || s.resource.startsWith(`${filter.resource}:`)) && (!filter?.node || s.node === filter.node),
  );
  for (const s of rows) {
    lines.push(`${s.resource} on ${s.node}: ${formatScore(s.total)}`);
    for (const c of s.contributions) lines.push(`    ${pad(formatScore(c.score), 10)} ${c.source}${c.detail ? ` (${c.detail})` : ''}`);
  }
  return lines;
}

export function renderDecisions(t: Transition, resource?: string): string[] {
  return t.explanation.decisions
    .filter((d) => !resource || d.resource === resource || d.resource.startsWith(`${resource}:`))
    .map((d) => `${d.resource}: ${d.text}`);
}

/** The action graph in Graphviz dot syntax. */
export function renderDot(t: Transition): string {
  const q = (s: string): string => JSON.stringify(s);
  const lines = ['digraph transition {', '  rankdir=LR;'];
  for (const a of t.actions) {
    const style = a.runnable ? (a.kind === 'pseudo' ? 'style=dashed' : 'style=bold') : 'style=dotted color=red';
    lines.push(`  ${q(a.id)} [${style}];`);
  }
  for (const e of t.edges) lines.push(`  ${q(e.before)} -> ${q(e.after)};`);
  lines.push('}');
  return lines.join('\n');
}
