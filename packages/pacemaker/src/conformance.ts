/**
 * The Pacemaker conformance contract (format `pacemaker-scheduler-conformance/1`, see
 * ../shared/conformance/pacemaker/README.md): turning a scheduled transition into the expected
 * JSON shape, comparing two results by the README's rules, and running one case.
 */
import {
  listPrimitives,
  type ClusterConfig,
  type ClusterStatus,
  type GraphAction,
  type InstancePlacement,
  type SummaryLine,
  type Transition,
} from '@paceline/model';
import { importCib, type CibImport } from './import.js';

export type ConformanceRole = 'Started' | 'Promoted' | 'Unpromoted';

export interface ConformanceInstance {
  readonly node: string;
  readonly role: ConformanceRole;
  readonly instance?: string;
  readonly failed?: boolean;
  readonly managed?: boolean;
}

export interface ConformanceResource {
  readonly group: string | null;
  readonly clone: string | null;
  readonly promotable?: boolean;
  readonly unique?: boolean;
  readonly orphan?: boolean;
  readonly instances: readonly ConformanceInstance[];
}

export interface ConformanceAction {
  readonly action: string;
  readonly resource?: string;
  readonly instance?: string;
  readonly from?: string | null;
  readonly to?: string | null;
  readonly blocked?: boolean;
  readonly role?: string;
  readonly next_role?: string;
  readonly reason?: string;
  readonly node?: string;
  readonly fence_type?: string;
}

export interface ConformanceNode {
  readonly online: boolean;
  readonly standby: boolean;
  readonly maintenance: boolean;
  readonly unclean: boolean;
  readonly type?: string;
}

export interface ConformanceResult {
  readonly resources: Readonly<Record<string, ConformanceResource>>;
  readonly actions: readonly ConformanceAction[];
  readonly nodes?: Readonly<Record<string, ConformanceNode>>;
}

/** The parts of an expected file the runner uses (the file has more, all informational). */
export interface ConformanceExpected extends ConformanceResult {
  readonly name?: string;
  readonly tier?: number;
  readonly level?: number;
  readonly effective_time?: { readonly source?: string; readonly value?: string; readonly iso?: string } | null;
}

const byNodeRole = (a: ConformanceInstance, b: ConformanceInstance): number =>
  a.node < b.node ? -1 : a.node > b.node ? 1 : a.role < b.role ? -1 : a.role > b.role ? 1 : 0;

function summaryToAction(s: SummaryLine): ConformanceAction {
  if (s.action === 'fence') {
    return { action: 'fence', node: s.node ?? '', fence_type: s.fenceType ?? 'reboot', ...(s.reason !== undefined ? { reason: s.reason } : {}) };
  }
  return {
    action: s.action,
    resource: s.resource ?? '',
    ...(s.instance !== undefined && s.instance !== s.resource ? { instance: s.instance } : {}),
    from: s.from,
    to: s.to,
    blocked: s.blocked,
    ...(s.role !== undefined ? { role: s.role } : {}),
    ...(s.nextRole !== undefined ? { next_role: s.nextRole } : {}),
    ...(s.reason !== undefined ? { reason: s.reason } : {}),
  };
}

/**
 * The result in the contract's shape: where every primitive is after the transition, the
 * Transition Summary as actions, and node flags after the transition (fenced nodes end offline
 * and clean). `status` is the status the transition was computed from, or the simulated status
 * after it (applyTransition): both give the same node flags. `fencing`: the graph's fencing
 * actions, when the caller has them without reading the whole graph (the scheduler's
 * `graphFencing`); the transition's actions otherwise.
 */
export function toConformanceResult(
  config: ClusterConfig,
  status: ClusterStatus,
  transition: Transition,
  fencing: readonly GraphAction[] = transition.actions,
): ConformanceResult {
  const resources: Record<string, ConformanceResource> = {};
  const unique = new Map<string, boolean>();
  for (const e of listPrimitives(config)) {
    const entry: ConformanceResource = e.clone
      ? {
          group: e.group?.id ?? null,
          clone: e.clone.id,
          promotable: e.clone.promotable,
          unique: e.clone.meta.globallyUnique ?? false,
          instances: [],
        }
      : { group: e.group?.id ?? null, clone: null, instances: [] };
    resources[e.primitive.id] = entry;
    unique.set(e.primitive.id, e.clone?.meta.globallyUnique ?? false);
  }
  const instances = new Map<string, ConformanceInstance[]>();
  for (const p of transition.placement) {
    if (p.node === null || p.role === 'Stopped') continue;
    const list = instances.get(p.resource) ?? [];
    list.push(toInstance(p, unique.get(p.resource) ?? false));
    instances.set(p.resource, list);
    if (!(p.resource in resources)) resources[p.resource] = { group: p.group ?? null, clone: p.clone ?? null, orphan: true, instances: [] };
  }
  for (const [id, list] of instances) resources[id] = { ...resources[id]!, instances: [...list].sort(byNodeRole) };

  const actions = transition.summary.map(summaryToAction);

  // Fenced: a Fence line, or a runnable fencing action in the graph. A fencing action the graph
  // wants but cannot run (no quorum, fencing disabled) leaves the node unclean.
  const fenced = new Set(transition.summary.filter((s) => s.action === 'fence' && s.fenceType !== 'on' && !s.blocked).map((s) => s.node ?? ''));
  const wantsFence = new Set<string>();
  for (const a of fencing) {
    if (a.kind !== 'fence' || a.fenceType === 'on' || a.node === undefined) continue;
    if (a.runnable) fenced.add(a.node);
    else wantsFence.add(a.node);
  }
  const nodes: Record<string, ConformanceNode> = {};
  const statusByName = new Map(status.nodes.map((n) => [n.name, n]));
  for (const n of config.nodes) {
    const st = statusByName.get(n.name);
    const state = st?.state ?? 'offline';
    const isFenced = fenced.has(n.name);
    nodes[n.name] = {
      online: !isFenced && (state === 'online' || state === 'pending'),
      standby: n.standby || (st?.standby ?? false) || state === 'pending',
      maintenance: n.maintenance || (st?.maintenance ?? false),
      unclean: !isFenced && (state === 'unclean' || wantsFence.has(n.name)),
    };
  }
  return { resources, actions, nodes };
}

function toInstance(p: InstancePlacement, unique: boolean): ConformanceInstance {
  return {
    node: p.node ?? '',
    role: p.role as ConformanceRole,
    ...(unique && p.instance !== p.resource ? { instance: p.instance } : {}),
    ...(p.failed ? { failed: true } : {}),
    ...(!p.managed ? { managed: false } : {}),
  };
}

function actionKey(a: ConformanceAction): string {
  if (a.action === 'fence') return `fence ${a.node ?? ''} ${a.fence_type ?? 'reboot'}`;
  return `${a.action} ${a.resource ?? ''} from=${a.from ?? '-'} to=${a.to ?? '-'}${a.blocked ? ' (blocked)' : ''}`;
}

/** Renders one action the way it reads in a report. */
export function describeAction(a: ConformanceAction): string {
  if (a.action === 'fence') return `fence (${a.fence_type ?? 'reboot'}) ${a.node ?? ''}`;
  const where = a.from && a.to && a.from !== a.to ? `${a.from} -> ${a.to}` : (a.to ?? a.from ?? '');
  return `${a.action} ${a.resource ?? ''} (${where})${a.blocked ? ' (blocked)' : ''}`;
}

function describeInstances(list: readonly ConformanceInstance[] | undefined): string {
  if (!list || list.length === 0) return 'stopped';
  return [...list]
    .sort(byNodeRole)
    .map((i) => `${i.role} on ${i.node}`)
    .join(', ');
}

function multisetDiff(a: readonly string[], b: readonly string[]): { onlyA: string[]; onlyB: string[] } {
  const count = new Map<string, number>();
  for (const k of a) count.set(k, (count.get(k) ?? 0) + 1);
  const onlyB: string[] = [];
  for (const k of b) {
    const c = count.get(k) ?? 0;
    if (c > 0) count.set(k, c - 1);
    else onlyB.push(k);
  }
  const onlyA: string[] = [];
  for (const [k, c] of count) for (let i = 0; i < c; i++) onlyA.push(k);
  return { onlyA, onlyB };
}

export interface CompareOptions {
  /** Also compare the (secondary) node flags. Default false. */
  readonly nodes?: boolean;
}

/**
 * Compares by the README's rules: placement as a multiset of (node, role) per primitive, the
 * Transition Summary as a multiset of keys, and optionally node flags. Returns the first
 * difference in words, or null when the results agree.
 */
export function compareConformance(expected: ConformanceResult, actual: ConformanceResult, options: CompareOptions = {}): string | null {
  const ids = [...new Set([...Object.keys(expected.resources), ...Object.keys(actual.resources)])].sort();
  for (const id of ids) {
    const key = (list: readonly ConformanceInstance[] | undefined): string[] => (list ?? []).map((i) => `${i.node}\u0000${i.role}`);
    const e = expected.resources[id]?.instances;
    const a = actual.resources[id]?.instances;
    const d = multisetDiff(key(e), key(a));
    if (d.onlyA.length > 0 || d.onlyB.length > 0) return `placement of ${id}: expected ${describeInstances(e)}, got ${describeInstances(a)}`;
  }
  const ek = expected.actions.map(actionKey);
  const ak = actual.actions.map(actionKey);
  const d = multisetDiff(ek, ak);
  if (d.onlyA.length > 0) {
    const missing = expected.actions.find((x) => actionKey(x) === d.onlyA[0]);
    return `missing action: ${missing ? describeAction(missing) : d.onlyA[0]}${d.onlyB.length ? `; unexpected: ${d.onlyB.length} other(s), e.g. ${describeAction(actual.actions.find((x) => actionKey(x) === d.onlyB[0])!)}` : ''}`;
  }
  if (d.onlyB.length > 0) {
    const extra = actual.actions.find((x) => actionKey(x) === d.onlyB[0]);
    return `unexpected action: ${extra ? describeAction(extra) : d.onlyB[0]}`;
  }
  if (options.nodes && expected.nodes) {
    for (const [name, en] of Object.entries(expected.nodes).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (en.type !== undefined) continue;
      const an = actual.nodes?.[name];
      for (const f of ['online', 'standby', 'maintenance', 'unclean'] as const) {
        if (an === undefined) return `node ${name}: missing from the result`;
        if (an[f] !== en[f]) return `node ${name}: expected ${f}=${en[f]}, got ${an[f]}`;
      }
    }
  }
  return null;
}

/** The scheduler's entry point, injected (the pacemaker package does not decide which one runs). */
export type ScheduleFn = (input: { config: ClusterConfig; status: ClusterStatus; now: number }) => Transition;

/** Fallback "now" for cases without a fixed time: any date works for them (see the README). */
export const DEFAULT_CONFORMANCE_NOW = Date.UTC(2026, 0, 1);

/** The case's time: effective_time, else the CIB's execution-date, else a fixed date. */
export function caseNow(expected: ConformanceExpected, imported: CibImport | undefined): number {
  const et = expected.effective_time;
  if (et) {
    if (et.iso !== undefined) {
      const t = Date.parse(et.iso);
      if (Number.isFinite(t)) return t;
    }
    if (et.value !== undefined && /^\d+$/.test(et.value)) return Number(et.value) * 1000;
  }
  return imported?.now ?? DEFAULT_CONFORMANCE_NOW;
}

export interface CaseOutcome {
  readonly name: string;
  readonly tier: number;
  readonly pass: boolean;
  /** First difference, or the error that stopped the case. */
  readonly difference?: string;
  readonly error?: boolean;
  readonly actual?: ConformanceResult;
  readonly unsupported?: number;
}

/** Runs one case: import, schedule at the case's time, shape the result, compare. Never throws. */
export function runConformanceCase(name: string, xml: string, expected: ConformanceExpected, schedule: ScheduleFn | undefined): CaseOutcome {
  const tier = expected.tier ?? 3;
  let imported: CibImport;
  const fixed = caseNow(expected, undefined);
  const hasFixedTime = expected.effective_time !== null && expected.effective_time !== undefined;
  try {
    imported = importCib(xml, {
      source: `${name}.xml`,
      ...(hasFixedTime ? { now: fixed } : {}),
      defaultNow: DEFAULT_CONFORMANCE_NOW,
    });
  } catch (e) {
    return { name, tier, pass: false, error: true, difference: `import failed: ${(e as Error).message}` };
  }
  if (!schedule) return { name, tier, pass: false, error: true, difference: 'scheduler not available', unsupported: imported.unsupported.length };
  let transition: Transition;
  try {
    transition = schedule({ config: imported.config, status: imported.status, now: caseNow(expected, imported) });
  } catch (e) {
    const err = e as Error;
    return {
      name,
      tier,
      pass: false,
      error: true,
      difference: `scheduler threw: ${err.stack?.split('\n').slice(0, 4).join(' | ') ?? String(e)}`,
      unsupported: imported.unsupported.length,
    };
  }
  let actual: ConformanceResult;
  try {
    actual = toConformanceResult(imported.config, imported.status, transition);
  } catch (e) {
    return { name, tier, pass: false, error: true, difference: `result could not be shaped: ${(e as Error).message}` };
  }
  const difference = compareConformance(expected, actual);
  return difference === null
    ? { name, tier, pass: true, actual, unsupported: imported.unsupported.length }
    : { name, tier, pass: false, difference, actual, unsupported: imported.unsupported.length };
}
