/**
 * The action set under construction (the create-actions stage, actions.ts): one action per key,
 * made optional or required, and runnable or not by where it runs (Pacemaker's custom_action and
 * its runnable checks: node offline or pending, quorum policy, unmanaged resources).
 */
import type { NodeView } from './nodes.js';
import type { Resource } from './resources.js';
import { roleRank } from './roles.js';
import { actionKey, appendAction, type Action, type ActionContext, type ActionSet, type ProbeBlock } from './action-set.js';

export class ActionBuilder {
  readonly list: Action[] = [];
  readonly byKey = new Map<string, Action>();
  readonly byRsc = new Map<string, Action[]>();
  readonly fencing = new Map<string, Action>();
  readonly unfencings = new Map<string, Action>();
  readonly probes = new Map<string, ProbeBlock>();
  readonly nodeByName: ReadonlyMap<string, NodeView>;
  /** Anonymous clone → node → the instance probed there (primitive-actions.ts, probesAnonymousInstance). */
  readonly probedInstances = new Map<Resource, Map<string, Resource | undefined>>();

  constructor(readonly ctx: ActionContext) {
    this.nodeByName = new Map(ctx.nodes.map((n) => [n.name, n]));
  }

  /** Is `r` managed (not made unmanaged by assignment or by failure handling)? */
  managed(r: Resource): boolean {
    return !this.ctx.assignment.unmanaged.has(r.id) && (this.ctx.unpacked.resources.get(r.id)?.managed ?? r.meta.managed);
  }

  /**
   * The action `task` of `rsc` on `node` (made the first time it is asked for); `optional: false`
   * makes it required, once and for all.
   */
  make(rsc: Resource | undefined, task: string, node: string | undefined, optional: boolean, extra: Partial<Action> = {}): Action {
    const key = rsc ? actionKey(rsc.id, task, node, extra.interval ?? 0) : `${task} ${node}`;
    let a = this.byKey.get(key);
    if (!a) {
      a = { id: key, task, rsc, node, interval: extra.interval ?? 0, optional: true, runnable: true, pseudo: extra.pseudo ?? false, reason: undefined };
      this.byKey.set(key, a);
      appendAction(this.list, a);
      if (rsc) {
        const l = this.byRsc.get(rsc.id) ?? [];
        l.push(a);
        this.byRsc.set(rsc.id, l);
      }
    }
    if (!optional) a.optional = false;
    if (rsc && rsc.kind === 'primitive') this.updateRunnable(a, rsc);
    return a;
  }

  /** A fencing or unfencing action (no resource), found by its key. */
  addNodeAction(a: Action): void {
    appendAction(this.list, a);
    this.byKey.set(a.id, a);
  }

  /** A primitive's probes on `nodes` (see ProbeBlock): those that cannot run are actions too. */
  addProbes(r: Resource, nodes: string[], runnable: boolean[]): void {
    if (nodes.length === 0) return;
    const at = this.list.length;
    let mine = this.byRsc.get(r.id);
    if (mine === undefined) this.byRsc.set(r.id, (mine = []));
    for (let i = 0; i < nodes.length; i++) {
      if (runnable[i]) continue;
      const probe: Action = {
        id: actionKey(r.id, 'probe', nodes[i]),
        task: 'probe',
        rsc: r,
        node: nodes[i],
        interval: 0,
        optional: false,
        runnable: false,
        pseudo: false,
        reason: undefined,
      };
      appendAction(this.list, probe);
      mine.push(probe);
    }
    this.probes.set(r.id, { rsc: r, nodes, runnable, at });
  }

  /** Where a primitive's action cannot run: an unknown, offline or pending node, or the quorum policy. */
  private updateRunnable(a: Action, r: Resource): void {
    const ctx = this.ctx;
    const policy = ctx.quorumPolicy;
    if (!this.managed(r) && a.interval === 0 && !a.pseudo) a.optional = true;
    if (a.pseudo) return;
    const n = a.node ? this.nodeByName.get(a.node) : undefined;
    if (!n || !n.online || n.pending) {
      a.runnable = false;
      return;
    }
    const needs = a.task === 'start' || a.task === 'promote' ? r.meta.requires : 'nothing';
    if (needs === 'nothing' || ctx.quorum || policy === 'ignore') return;
    const st = ctx.unpacked.resources.get(r.id);
    const active = (st?.runningOn.length ?? 0) > 0;
    if (policy === 'freeze') {
      const next = ctx.assignment.nextRole.get(r.id) ?? 'Stopped';
      if (!active || roleRank(next) > roleRank(st?.role ?? 'Stopped')) {
        a.runnable = false;
        a.reason = 'quorum freeze';
      }
      return;
    }
    if (policy === 'demote' && (st?.role === 'Promoted' || st?.role === 'Unpromoted')) return;
    a.runnable = false;
    a.reason = 'no quorum';
  }

  /** The finished action set. */
  result(): ActionSet {
    const resources = this.ctx.unpacked.resources;
    const running = new Map([...resources].map(([id, st]) => [id, st.runningOn]));
    const blocked = new Set([...resources].filter(([id, st]) => st.blocked && !this.managed(this.ctx.tree.byId.get(id)!)).map(([id]) => id));
    return {
      list: this.list,
      byKey: this.byKey,
      byRsc: this.byRsc,
      fencing: this.fencing,
      unfencings: this.unfencings,
      running,
      blocked,
      probes: this.probes,
    };
  }
}
