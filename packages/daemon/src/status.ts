/**
 * `status()`: the crm_mon-style snapshot a daemon gives (the control socket's `status`, the
 * systemd watchdog's status line, metrics), built from the membership state and the coordinator
 * core without running the scheduler (the placement comes from view.ts). Pure apart from the log.
 */
import { OcfRc, type ClusterStatus, type NodeStatus, type ResourceHistory } from '@paceline/model';
import { clusterWideSettings, explainPeerSafelyDown, type MembershipState } from '@paceline/membership';
import type { Logger } from '@paceline/agent-api';
import { buildStatus, scheduleBlocker, QUARANTINE_ATTRIBUTE, UNCLEAN_ATTRIBUTE, type CoreState, type TransitionInfo } from './core.js';
import { mayRunReason } from './membership-driver.js';
import { replicaReports, type ReplicaStatus } from './replicas.js';
import type { PlacementViews } from './view.js';

export interface DaemonStatus {
  readonly node: string;
  readonly boot: number;
  readonly coordinator: string;
  readonly term: number;
  readonly quorate: boolean;
  readonly mayRun: boolean;
  readonly mayRunReason: string;
  readonly schedulerBlocked?: string;
  /** The members run with different membership settings (named): nothing is scheduled until they agree. */
  readonly membershipConflict?: string;
  /** The membership settings in effect on this node (the configuration's section, its overrides, the defaults). */
  readonly membershipSettings?: Readonly<Record<string, string | number | boolean>>;
  readonly epoch: number;
  readonly clusterName?: string;
  readonly members: readonly string[];
  readonly nodes: readonly {
    readonly name: string;
    readonly state: string;
    readonly standby: boolean;
    readonly quarantine?: string;
    readonly reason?: string;
    readonly links: Readonly<Record<string, 'up' | 'down' | 'self'>>;
    readonly failures: readonly { readonly resource: string; readonly action?: string; readonly interval?: number; readonly count: number }[];
    /**
     * Resources this node cannot run: its probe found their agent not installed or their
     * configuration unusable here (e.g. an agent module it cannot load), so they are placed elsewhere.
     */
    readonly cannotRun?: readonly { readonly resource: string; readonly reason: string }[];
  }[];
  readonly resources: readonly {
    readonly instance: string;
    readonly resource: string;
    readonly node: string | null;
    readonly role: string;
    readonly failed: boolean;
    readonly managed: boolean;
  }[];
  readonly lastTransition?: TransitionInfo;
  /** The scheduler's warnings about the configuration in force, e.g. why every resource is unmanaged (fencing without a device). */
  readonly warnings?: readonly string[];
  readonly dropped: Readonly<Record<string, number>>;
  /** With an arbiter: this node's last answer from it (granted / refused / unreachable), while a peer is lost. */
  readonly arbiter?: { readonly vote: 'asking' | 'granted' | 'refused' | 'unreachable'; readonly holder?: string; readonly detail?: string };
  /** Identity conflicts seen: two daemons run under these names. */
  readonly conflicts?: readonly string[];
  /** Resources not started while a peer is lost and not proven down (it may be starting them itself). */
  readonly held?: readonly string[];
  /** Replicas' last reported lag (mirrored data: how far each Unpromoted copy is behind its source). */
  readonly replicas?: readonly ReplicaStatus[];
}

/** What the snapshot is built from. */
export interface StatusInput {
  readonly node: string;
  readonly boot: number;
  readonly membership: MembershipState;
  readonly core: CoreState;
  readonly views: PlacementViews;
  readonly now: number;
  readonly log: Logger;
  /** The channel's and the freshness guard's drop counters. */
  readonly channelDrops: Readonly<Record<string, number | undefined>>;
  readonly freshnessDrops: Readonly<Record<string, number | undefined>>;
}

/** A crm_mon-style snapshot. */
export function daemonStatus(i: StatusInput): DaemonStatus {
  const m = i.membership;
  const s = i.core;
  const cs = buildStatus(s);
  const { resources, warnings } = placement(i, cs);
  const failed = s.schedulerFailed;
  const blocked =
    scheduleBlocker(s) ??
    (failed && `the scheduler failed ${failed.count} time(s) in a row (${failed.error}); asking it again at ${new Date(failed.retryAt).toISOString()}`);
  const replicas = replicaReports(cs);
  const arbiter = arbiterVote(m);
  const conflicts = identityConflicts(i.node, m);
  return {
    node: i.node,
    boot: i.boot,
    coordinator: m.coordinator,
    term: m.term,
    quorate: m.quorate,
    mayRun: m.mayRun,
    mayRunReason: m.mayRun ? 'ok' : mayRunReason(m),
    ...(blocked && m.coordinator === i.node ? { schedulerBlocked: blocked } : {}),
    ...(s.settingsConflict !== undefined ? { membershipConflict: s.settingsConflict } : {}),
    membershipSettings: clusterWideSettings(m.config),
    epoch: s.doc.epoch,
    ...(s.config.properties.clusterName ? { clusterName: s.config.properties.clusterName } : {}),
    members: m.members,
    nodes: cs.nodes.map((n) => nodeRow(n, m, s)),
    resources,
    ...(warnings.length ? { warnings } : {}),
    ...(s.last ? { lastTransition: s.last } : {}),
    ...(arbiter ? { arbiter } : {}),
    ...(conflicts.length ? { conflicts } : {}),
    ...(s.held.length && m.coordinator === i.node ? { held: s.held } : {}),
    ...(replicas.length ? { replicas } : {}),
    dropped: { ...m.drops, ...messageDrops(i.channelDrops, i.freshnessDrops) },
  };
}

/** Where every instance is, and the scheduler's warnings: never by running the scheduler (view.ts). */
function placement(i: StatusInput, cs: ClusterStatus): Pick<DaemonStatus, 'resources'> & { readonly warnings: readonly string[] } {
  try {
    // The view of the scheduler's last run, or of the last read of this status.
    const t = i.views.view(i.core, cs, i.now);
    const resources = t.resources.map((p) => ({
      instance: p.instance,
      resource: p.resource,
      node: p.node,
      role: p.role,
      failed: p.failed,
      managed: p.managed,
    }));
    return { resources, warnings: t.warnings };
  } catch (e) {
    i.log.warn('cannot compute resource placement for status', { error: (e as Error).message });
    return { resources: [], warnings: [] };
  }
}

/** This node's last answer from the arbiter (undefined: no arbiter, or no peer lost). */
function arbiterVote(m: MembershipState): DaemonStatus['arbiter'] {
  const v = m.vote;
  if (v.phase === 'none') return undefined;
  return {
    vote: v.phase === 'asking' ? (v.last ?? 'asking') : v.phase,
    ...(v.holder !== undefined ? { holder: v.holder } : {}),
    ...(v.phase !== 'asking' && v.detail !== undefined ? { detail: v.detail } : {}),
  };
}

/** The names two daemons run under: this node's own, and peers'. */
function identityConflicts(self: string, m: MembershipState): string[] {
  return [
    ...(m.selfConflict ? [`${self} (${m.selfConflict.by} knows a newer incarnation ${m.selfConflict.boot} of it)`] : []),
    ...Object.values(m.peers)
      .filter((p) => p.conflict)
      .map((p) => `${p.name} (incarnations ${p.conflict!.boots.join(' and ')})`),
  ];
}

/** One node's row: its state (unclean, quarantined, standby), why it is down, its links, fail counts and what it cannot run. */
function nodeRow(n: NodeStatus, m: MembershipState, s: CoreState): DaemonStatus['nodes'][number] {
  const p = m.peers[n.name];
  const cfg = s.config.nodes.find((x) => x.name === n.name);
  const q = n.attributes[QUARANTINE_ATTRIBUTE];
  const unclean = n.attributes[UNCLEAN_ATTRIBUTE];
  const cannotRun = cannotRunHere(n.history);
  return {
    name: n.name,
    state: unclean !== undefined ? 'unclean' : n.state,
    standby: (n.standby && unclean === undefined) || (cfg?.standby ?? false) || q !== undefined,
    ...(q !== undefined ? { quarantine: q } : {}),
    ...(unclean !== undefined
      ? { reason: `lost; its resources stay frozen until it is proven down: ${unclean}` }
      : p && !p.member
        ? { reason: explainPeerSafelyDown(m, n.name).reason }
        : {}),
    links: p
      ? Object.fromEntries(Object.entries(p.links).map(([l, x]) => [l, x.up ? ('up' as const) : ('down' as const)]))
      : Object.fromEntries(m.config.selfLinks.map((l) => [l, 'self' as const])),
    failures: n.failures.map((f) => ({
      resource: f.resource,
      ...(f.action ? { action: f.action } : {}),
      ...(f.interval !== undefined ? { interval: f.interval } : {}),
      count: f.count,
    })),
    ...(cannotRun.length ? { cannotRun } : {}),
  };
}

/**
 * The resources whose last probe on a node said they cannot run there: the agent is not installed
 * (OCF 5, or no agent: an agent module that node cannot load) or not usable there (OCF 6). The
 * scheduler bans them from that node, as Pacemaker does; this says why.
 */
function cannotRunHere(history: readonly ResourceHistory[]): { resource: string; reason: string }[] {
  const out: { resource: string; reason: string }[] = [];
  for (const h of history) {
    const probe = h.ops.filter((o) => o.action === 'monitor' && o.interval === 0).sort((a, b) => b.callId - a.callId)[0];
    if (!probe) continue;
    const missing = probe.status === 'not-installed' || probe.rc === OcfRc.ERR_INSTALLED;
    if (!missing && probe.rc !== OcfRc.ERR_CONFIGURED) continue;
    out.push({ resource: h.resource, reason: probe.exitReason ?? (missing ? 'its agent is not installed here' : 'its configuration is not usable here') });
  }
  return out;
}

/** The channel's and the freshness guard's drop counters, as `message REASON` (summed where both count one). */
function messageDrops(...counters: readonly Readonly<Record<string, number | undefined>>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of counters) for (const [k, n] of Object.entries(c)) if (n !== undefined) out[`message ${k}`] = (out[`message ${k}`] ?? 0) + n;
  return out;
}
