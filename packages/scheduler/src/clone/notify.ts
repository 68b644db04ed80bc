/**
 * Clone notifications (clones with notify=true), kept light: around each kind of instance action
 * a clone performs in a transition (stop, start, demote, promote), every instance that is active
 * before gets a "pre" notification and every instance active after gets a "post" one, ordered
 * pre -> the clone's actions -> post, with one round finished before the next begins
 * (demote -> stop -> start -> promote), as Pacemaker sequences them. Notifications never appear
 * in the summary; the executor calls the agents' notify action for them.
 */
import type { ClusterConfig, GraphAction, InstancePlacement, OrderEdge, Transition } from '@paceline/model';

const OPS = ['demote', 'stop', 'start', 'promote'] as const;
type Op = (typeof OPS)[number];
/** A later round's pre-notifications wait for an earlier round's post-notifications. */
const AFTER: readonly (readonly [Op, Op])[] = [
  ['demote', 'stop'],
  ['demote', 'start'],
  ['demote', 'promote'],
  ['stop', 'start'],
  ['stop', 'promote'],
  ['start', 'promote'],
];

export function notifyActionId(instance: string, phase: 'pre' | 'post', op: Op, node: string): string {
  return `${instance}_${phase}_notify_${op}_0 ${node}`;
}

/** Adds notification actions and edges for every clone with notify=true. */
export function addNotifications<T extends Pick<Transition, 'current' | 'placement' | 'actions' | 'edges'>>(config: Pick<ClusterConfig, 'resources'>, t: T): T {
  const notifying = new Set(config.resources.filter((r) => r.type === 'clone' && r.meta.notify === true).map((r) => r.id));
  if (notifying.size === 0) return t;
  const fenced = new Set(t.actions.filter((a) => a.kind === 'fence' && a.node !== undefined).map((a) => a.node!));
  const instanceClone = new Map<string, string>();
  for (const p of [...t.current, ...t.placement]) if (p.clone !== undefined && notifying.has(p.clone)) instanceClone.set(p.instance, p.clone);
  const active = (list: readonly InstancePlacement[], clone: string): InstancePlacement[] =>
    list.filter((p) => p.clone === clone && p.node !== null && !fenced.has(p.node));

  const actions: GraphAction[] = [...t.actions];
  const edges: OrderEdge[] = [...t.edges];
  for (const clone of [...notifying].sort()) {
    const rounds = new Map<Op, { pre: string[]; post: string[] }>();
    for (const op of OPS) {
      const doing = t.actions.filter((a) => a.kind === op && a.runnable && a.resource !== undefined && instanceClone.get(a.resource) === clone);
      if (doing.length === 0) continue;
      const make = (p: InstancePlacement, phase: 'pre' | 'post'): string => {
        const id = notifyActionId(p.instance, phase, op, p.node!);
        actions.push({
          id,
          kind: 'notify',
          resource: p.instance,
          primitive: p.resource,
          node: p.node!,
          interval: 0,
          reason: `${phase}-${op} notification for ${clone}`,
          runnable: true,
        });
        return id;
      };
      const pre = active(t.current, clone).map((p) => make(p, 'pre'));
      const post = active(t.placement, clone).map((p) => make(p, 'post'));
      for (const id of pre) for (const a of doing) edges.push({ before: id, after: a.id, reason: `${clone}: notify before ${op}` });
      for (const a of doing) for (const id of post) edges.push({ before: a.id, after: id, reason: `${clone}: notify after ${op}` });
      rounds.set(op, { pre, post });
    }
    for (const [earlier, later] of AFTER) {
      const e = rounds.get(earlier);
      const l = rounds.get(later);
      if (!e || !l) continue;
      for (const b of e.post)
        for (const a of l.pre) edges.push({ before: b, after: a, reason: `${clone}: ${earlier} notifications before ${later} notifications` });
    }
  }
  return { ...t, actions, edges };
}
