/**
 * crm_simulate-like text: "Current cluster status", "Transition Summary" and "Revised Cluster
 * Status", in the layout Pacemaker 2.1.5 prints (so users can diff the two tools' outputs).
 */
import type { ClusterConfig, ClusterStatus, InstancePlacement, NodeStatus, Resource, Role, SummaryLine, Transition } from '@paceline/model';

/** Node names in Pacemaker's order: natural sort, so node9 comes before node10. */
export function naturalCompare(a: string, b: string): number {
  const ax = a.match(/(\d+|\D+)/g) ?? [];
  const bx = b.match(/(\d+|\D+)/g) ?? [];
  for (let i = 0; i < Math.min(ax.length, bx.length); i++) {
    const x = ax[i]!;
    const y = bx[i]!;
    if (x === y) continue;
    const nx = /^\d/.test(x);
    const ny = /^\d/.test(y);
    if (nx && ny) return Number(x) - Number(y) || x.length - y.length;
    return x < y ? -1 : 1;
  }
  return ax.length - bx.length;
}

const CHANGE_WORD: Record<string, string> = {
  start: 'Start',
  stop: 'Stop',
  move: 'Move',
  migrate: 'Migrate',
  recover: 'Recover',
  restart: 'Restart',
  reload: 'Reload',
  promote: 'Promote',
  demote: 'Demote',
  're-promote': 'Re-promote',
};

const ROLE_RANK: Record<Role, number> = { Stopped: 1, Started: 2, Unpromoted: 3, Promoted: 4 };

/**
 * The Transition Summary lines, with Pacemaker's column rules: the resource and detail columns
 * widen as longer entries appear and never shrink (within one rendering).
 */
export function renderTransitionSummary(summary: readonly SummaryLine[]): string[] {
  let rscWidth = 5;
  let detailWidth = 5;
  const out: string[] = [];
  for (const s of summary) {
    if (s.action === 'fence') {
      out.push(`  * Fence (${s.fenceType ?? 'reboot'}) ${s.node ?? ''}${s.reason !== undefined ? ` '${s.reason}'` : ''}`);
      continue;
    }
    const id = s.instance ?? s.resource ?? '';
    if (id.length > rscWidth) rscWidth = id.length + 2;
    const role = s.role ?? (s.from === null ? 'Stopped' : 'Started');
    const next = s.nextRole ?? (s.to === null ? 'Stopped' : role === 'Stopped' ? 'Started' : role);
    const needRole = ROLE_RANK[role] > ROLE_RANK.Started || ROLE_RANK[next] > ROLE_RANK.Unpromoted;
    const origin = s.from;
    const dest = s.to;
    const sameHost = origin !== null && dest !== null && origin === dest;
    const sameRole = role === next;
    let details: string;
    if (needRole && origin === null) details = `${role} -> ${next} ${dest ?? ''}`;
    else if (origin === null) details = dest ?? '';
    else if (needRole && dest === null) details = `${role} ${origin}`;
    else if (dest === null) details = origin;
    else if (needRole && sameRole && sameHost) details = `${role} ${origin}`;
    else if (sameRole && sameHost) details = origin;
    else if (needRole && sameRole) details = `${origin} -> ${dest} ${role}`;
    else if (sameRole) details = `${origin} -> ${dest}`;
    else if (sameHost) details = `${role} -> ${next} ${origin}`;
    else details = `${role} ${origin} -> ${next} ${dest}`;
    if (details.length > detailWidth) detailWidth = details.length;
    const reason = s.reason !== undefined ? `due to ${s.reason}${s.blocked ? ' (blocked)' : ''}` : s.blocked ? 'blocked' : undefined;
    const change = CHANGE_WORD[s.action] ?? s.action;
    out.push(`  * ${change.padEnd(8)}   ${id.padEnd(rscWidth)}   ( ${details.padStart(detailWidth)} )${reason ? `  ${reason}` : ''}`);
  }
  return out;
}

/** Node flags as crm_mon shows them. */
export interface NodeView {
  readonly name: string;
  readonly online: boolean;
  readonly unclean: boolean;
  readonly standby: boolean;
  readonly pending: boolean;
  readonly maintenance: boolean;
}

export function nodeViews(config: ClusterConfig, status: ClusterStatus): NodeView[] {
  const byName = new Map<string, NodeStatus>(status.nodes.map((n) => [n.name, n]));
  return config.nodes.map((n) => {
    const st = byName.get(n.name);
    const state = st?.state ?? 'offline';
    return {
      name: n.name,
      online: state === 'online' || state === 'pending',
      unclean: state === 'unclean',
      pending: state === 'pending',
      standby: n.standby || (st?.standby ?? false),
      maintenance: n.maintenance || (st?.maintenance ?? false),
    };
  });
}

/** The status after a transition when no simulated status is given: fenced nodes end offline and clean. */
export function nodeViewsAfter(config: ClusterConfig, status: ClusterStatus, transition: Transition): NodeView[] {
  const fenced = new Set<string>();
  for (const s of transition.summary) if (s.action === 'fence' && s.fenceType !== 'on' && !s.blocked && s.node) fenced.add(s.node);
  for (const a of transition.actions) if (a.kind === 'fence' && a.fenceType !== 'on' && a.runnable && a.node) fenced.add(a.node);
  return nodeViews(config, status).map((v) => (fenced.has(v.name) ? { ...v, online: false, unclean: false, pending: false } : v));
}

export function renderNodeList(views: readonly NodeView[]): string[] {
  const sorted = [...views].sort((a, b) => naturalCompare(a.name, b.name));
  const out = ['  * Node List:'];
  const online: string[] = [];
  const offline: string[] = [];
  for (const v of sorted) {
    if (v.unclean) out.push(`    * Node ${v.name}: UNCLEAN (${v.online ? 'online' : 'offline'})`);
    else if (v.pending) out.push(`    * Node ${v.name}: pending`);
    else if (v.online && v.standby) out.push(`    * Node ${v.name}: standby`);
    else if (v.online && v.maintenance) out.push(`    * Node ${v.name}: maintenance`);
    else if (v.online) online.push(v.name);
    else offline.push(v.name);
  }
  if (online.length) out.push(`    * Online: [ ${online.join(' ')} ]`);
  if (offline.length) out.push(`    * OFFLINE: [ ${offline.join(' ')} ]`);
  return out;
}

/** The placement by resource, in placement order: one pass, so a listing of N resources costs O(N), not O(N²). */
function byResource(placement: readonly InstancePlacement[]): Map<string, InstancePlacement[]> {
  const map = new Map<string, InstancePlacement[]>();
  for (const p of placement) {
    const list = map.get(p.resource);
    if (list) list.push(p);
    else map.set(p.resource, [p]);
  }
  return map;
}

function activeOf(ctx: RenderContext, resource: string): InstancePlacement[] {
  return (ctx.byResource.get(resource) ?? []).filter((p) => p.node !== null && p.role !== 'Stopped');
}

function primitiveLine(indent: string, id: string, agent: string, active: readonly InstancePlacement[], disabled: boolean, unmanaged = false): string {
  const head = `${indent}* ${id}\t(${agent}):\t `;
  if (active.length === 0) {
    const f = [...(disabled ? ['disabled'] : []), ...(unmanaged ? ['unmanaged'] : [])];
    return `${head}Stopped${f.length ? ` (${f.join(', ')})` : ''}`;
  }
  const flags = (p: InstancePlacement): string => {
    // A failed copy left in place is shown as blocked, as crm_mon does.
    const f = [...(disabled ? ['disabled'] : []), ...(!p.managed ? [p.failed ? 'blocked' : 'unmanaged'] : [])];
    return f.length ? ` (${f.join(', ')})` : '';
  };
  if (active.length === 1) {
    const p = active[0]!;
    return `${head}${p.failed ? 'FAILED' : p.role} ${p.node}${p.failed && p.role === 'Promoted' ? ' (Promoted)' : ''}${flags(p)}`;
  }
  return `${head}${active[0]!.role} [ ${active.map((p) => p.node).join(' ')} ]`;
}

interface RenderContext {
  readonly placement: readonly InstancePlacement[];
  readonly byResource: ReadonlyMap<string, readonly InstancePlacement[]>;
  readonly nodeNames: readonly string[];
  /** Resources are unmanaged by default (maintenance mode or is-managed=false in the defaults). */
  readonly unmanagedByDefault: boolean;
}

function isUnmanaged(meta: Resource['meta'], inherited: boolean): boolean {
  if (meta.maintenance === true || meta.isManaged === false) return true;
  if (meta.isManaged === true) return false;
  return inherited;
}

function renderResource(r: Resource, ctx: RenderContext, indent: string, parentUnmanaged = ctx.unmanagedByDefault): string[] {
  const { nodeNames } = ctx;
  const unmanaged = isUnmanaged(r.meta, parentUnmanaged);
  switch (r.type) {
    case 'primitive':
      return [primitiveLine(indent, r.id, r.agent, activeOf(ctx, r.id), r.meta.targetRole === 'Stopped', unmanaged)];
    case 'group': {
      const disabled = r.meta.targetRole === 'Stopped';
      return [
        `${indent}* Resource Group: ${r.id}${disabled ? ' (disabled)' : ''}:`,
        ...r.members.map((m) =>
          primitiveLine(`${indent}  `, m.id, m.agent, activeOf(ctx, m.id), disabled || m.meta.targetRole === 'Stopped', isUnmanaged(m.meta, unmanaged)),
        ),
      ];
    }
    case 'clone': {
      const childId = r.child.id;
      const unique = r.meta.globallyUnique ?? false;
      const disabled = r.meta.targetRole === 'Stopped' || r.child.meta.targetRole === 'Stopped';
      const tags = [...(r.promotable ? ['promotable'] : []), ...(unique ? ['unique'] : []), ...(disabled ? ['disabled'] : [])];
      const out = [`${indent}* Clone Set: ${r.id} [${childId}]${tags.length ? ` (${tags.join(', ')})` : ''}:`];
      const firstPrim = r.child.type === 'primitive' ? r.child : r.child.members[0]!;
      const active = activeOf(ctx, firstPrim.id);
      const cloneMax = r.meta.cloneMax ?? nodeNames.length * (r.meta.cloneNodeMax ?? 1);
      if (unique && r.child.type === 'primitive') {
        const prim = r.child;
        const instances = new Set((ctx.byResource.get(prim.id) ?? []).map((p) => p.instance));
        for (let i = 0; i < cloneMax; i++) instances.add(`${prim.id}:${i}`);
        for (const inst of [...instances].sort(naturalCompare))
          out.push(
            primitiveLine(
              `${indent}  `,
              inst,
              prim.agent,
              active.filter((p) => p.instance === inst),
              disabled,
              unmanaged,
            ),
          );
        return out;
      }
      const roles: Role[] = ['Promoted', 'Unpromoted', 'Started'];
      for (const role of roles) {
        const nodes = active
          .filter((p) => p.role === role && !p.failed)
          .map((p) => p.node!)
          .sort(naturalCompare);
        if (nodes.length) out.push(`${indent}  * ${role}: [ ${nodes.join(' ')} ]`);
      }
      for (const p of active.filter((x) => x.failed)) out.push(`${indent}  * ${p.instance}\t(${firstPrim.agent}):\t FAILED ${p.node}`);
      // Like crm_mon: stopped nodes are listed only while fewer instances than clone-max run.
      const used = new Set(active.map((p) => p.node));
      const stopped = nodeNames.filter((n) => !used.has(n)).sort(naturalCompare);
      if (stopped.length && active.length < cloneMax) out.push(`${indent}  * Stopped${disabled ? ' (disabled)' : ''}: [ ${stopped.join(' ')} ]`);
      return out;
    }
  }
}

export function renderResourceList(config: ClusterConfig, placement: readonly InstancePlacement[]): string[] {
  const nodeNames = config.nodes.map((n) => n.name);
  const out = ['  * Full List of Resources:'];
  const ctx: RenderContext = {
    placement,
    byResource: byResource(placement),
    nodeNames,
    unmanagedByDefault: config.properties.maintenanceMode || config.defaults.resource.isManaged === false || config.defaults.resource.maintenance === true,
  };
  for (const r of config.resources) out.push(...renderResource(r, ctx, '    '));
  const known = new Set<string>();
  const collect = (r: Resource): void => {
    known.add(r.id);
    if (r.type === 'group') r.members.forEach(collect);
    if (r.type === 'clone') collect(r.child);
  };
  config.resources.forEach(collect);
  for (const p of placement)
    if (!known.has(p.resource) && p.node !== null && p.role !== 'Stopped')
      out.push(`    * ${p.instance}\t(orphan):\t ORPHANED ${p.failed ? 'FAILED' : p.role} ${p.node}${p.managed ? '' : ' (unmanaged)'}`);
  return out;
}

export interface SimulationText {
  readonly config: ClusterConfig;
  /** The status the transition was computed from. */
  readonly status: ClusterStatus;
  readonly transition: Transition;
  /** The simulated status after the transition (e.g. from applyTransition); node flags are derived when absent. */
  readonly after?: ClusterStatus;
}

/** The whole crm_simulate-style report. */
export function renderSimulation(v: SimulationText): string {
  const lines: string[] = [];
  lines.push('Current cluster status:');
  lines.push(...renderNodeList(nodeViews(v.config, v.status)), '');
  lines.push(...renderResourceList(v.config, v.transition.current ?? []), '');
  lines.push('Transition Summary:');
  lines.push(...renderTransitionSummary(v.transition.summary), '');
  lines.push('Revised Cluster Status:');
  lines.push(...renderNodeList(v.after ? nodeViews(v.config, v.after) : nodeViewsAfter(v.config, v.status, v.transition)), '');
  lines.push(...renderResourceList(v.config, v.transition.placement));
  return `${lines.join('\n')}\n`;
}
