/**
 * Choosing which instances of a promotable clone are promoted (Pacemaker 2.1.5 semantics):
 *
 * - Each placed instance gets a promotion priority: the promotion score its agent published as the
 *   node attribute `master-<id>` (or `promotion-<id>`) on its node, -1 when none was published
 *   (so only constraints can make it promotable), -INFINITY when it must not be promoted
 *   (target-role Unpromoted/Stopped); plus role=Promoted location constraints on that node; plus
 *   colocations of the clone's Promoted role with other resources.
 * - Instances are then ranked by the clone's weight on their node, raised by the priorities of the
 *   instances placed there and by resources colocated with the Promoted role; ties go to the one
 *   already promoted, then to the normal instance order.
 * - The first promoted-max eligible instances are promoted, at most promoted-node-max per node;
 *   an instance with a negative priority, on an unavailable node, or placed nowhere stays unpromoted.
 */
import { INFINITY, addScores, parseScore, type RecordedReport, type ReplicaLag, type Role, type Score } from '@paceline/model';

export interface PromotableInstance {
  readonly id: string;
  readonly number: number;
  /** Where assignment placed it (null = stopped). */
  readonly node: string | null;
  /** Role now (Started is read as Unpromoted). */
  readonly currentRole: Role;
  readonly managed: boolean;
  /** target-role of the clone/child when it limits the role (Unpromoted or Stopped). */
  readonly targetRole?: Role | undefined;
}

export interface PromotionScore {
  readonly score: Score;
  /** True when no promotion score was published (the default -1 applies). */
  readonly isDefault: boolean;
}

/** A replica's last lag report on a node, and whether the node whose copy it follows is up. */
export interface ReplicaInfo {
  readonly report: RecordedReport;
  readonly replica: ReplicaLag;
  /** The source is online and clean: a promotion there can first take what it lacks from it. */
  readonly sourceUp: boolean;
}

export interface RoleInput {
  readonly promotedMax: number;
  readonly promotedNodeMax: number;
  readonly instances: readonly PromotableInstance[];
  /** The clone's own node weights (missing = clone not allowed there). */
  readonly cloneScores: ReadonlyMap<string, Score>;
  nodeAvailable(node: string): boolean;
  promotionScore(instance: PromotableInstance, node: string): PromotionScore;
  /** Sum of location constraints with role=Promoted on the clone or its child for that node (0 if none). */
  promotedLocationScore(node: string): Score;
  /**
   * Colocations in which the clone (in the Promoted role) depends on another resource: the change to
   * the instance's priority if placed on `node` (may return -INFINITY for a mandatory one that cannot hold).
   */
  dependentColocationPriority?(instance: PromotableInstance, node: string): Score;
  /** Extra weight per node from resources colocated with the clone's Promoted role (and vice versa). */
  readonly colocationNodeScores?: ReadonlyMap<string, Score>;
  /**
   * Reworks the ranking weights (the clone's weights raised by the instances' priorities) for
   * colocations involving the Promoted role, e.g. with the node preferences of resources colocated
   * with it (Pacemaker merges those with "only positive" semantics: a node driven negative keeps 1).
   */
  adjustWeights?(weights: ReadonlyMap<string, Score>): ReadonlyMap<string, Score>;
  /** no-quorum-policy=freeze without quorum: nothing new may be promoted. */
  readonly freezeNoQuorum?: boolean;
  /** Whether the clone as a whole is managed. */
  readonly cloneManaged?: boolean;
  /** Tie-break (normal instance order); defaults to instance number. */
  compareInstances?(a: PromotableInstance, b: PromotableInstance): number;
  /** The instance's last replica-lag report on a node (agents that mirror data report one). */
  replica?(instance: PromotableInstance, node: string): ReplicaInfo | undefined;
  /** Which replica may be promoted while its source is down (CloneMeta.promoteReplica; default any). */
  readonly promoteReplica?: 'any' | 'in-sync';
}

const iso = (ms: number): string => new Date(ms).toISOString();
const secs = (s: number): string => (s < 10 ? `${s.toFixed(1)} s` : `${Math.round(s)} s`);

/**
 * What promoting a replica means for its data, for the reasons: with its source up, a promotion
 * takes what it lacks first; with its source down, how far behind it was at its last monitor and
 * since when (what the source wrote after `asOf` is not in this copy).
 */
export function replicaNote(info: ReplicaInfo): string {
  const r = info.replica;
  if (info.sourceUp) return `its copy follows ${r.source}, which is up: promoting it first takes what it lacks from there`;
  const measured = `last monitor at ${iso(info.report.at)}: lag ≤ ${secs(r.seconds)}, ${r.bytes !== undefined ? `${r.changes !== undefined ? `${r.changes} change(s), ` : ''}${r.bytes} B known missing` : 'bytes missing unknown'}${r.reachable ? '' : `, ${r.source} no longer answering`}`;
  const since = r.asOf !== undefined ? ` as of ${iso(r.asOf)}` : '';
  switch (r.state) {
    case 'in-sync':
      return `its copy was in sync with ${r.source}${since} (${measured}); what ${r.source} wrote after that is not in it while ${r.source} is down`;
    case 'behind':
      return `its copy is BEHIND ${r.source}: in sync${since || ' never'}${r.oldestMissingAt !== undefined ? `, missing changes since ${iso(r.oldestMissingAt)}` : ''} (${measured}); ${r.source} is down`;
    case 'never-synced':
      return `its copy NEVER completed a sync with ${r.source} (${measured}); ${r.source} is down`;
  }
}

export interface RoleDecision {
  readonly instance: string;
  readonly node: string | null;
  readonly role: Role;
  /** Promotion priority and final ranking score, for explanations. */
  readonly priority: Score;
  readonly rank: Score;
  readonly reason: string;
}

const ROLE_ORDER: Record<Role, number> = { Stopped: 1, Started: 2, Unpromoted: 3, Promoted: 4 };

/** One instance while roles are chosen: its promotion priority with the reasons for it, and its rank. */
interface Candidate {
  readonly inst: PromotableInstance;
  readonly priority: Score;
  rank: Score;
  readonly why: readonly string[];
  /** What promoting it means for its data (replicas), added to the reason when it is promoted. */
  readonly note?: string;
}

/**
 * Decides the next role of every instance of one promotable clone: each instance's promotion
 * priority (`promotionPriority`), the instances ranked by the weight of their node
 * (`rankCandidates`), then promoted in rank order while the limits allow (`whyNotPromoted`).
 */
export function chooseRoles(input: RoleInput): RoleDecision[] {
  const ranked = rankCandidates(
    input,
    input.instances.map((inst) => promotionPriority(input, inst)),
  );
  const promotedOn = new Map<string, number>();
  let promoted = 0;
  const out: RoleDecision[] = [];
  for (const candidate of ranked) {
    const inst = candidate.inst;
    const base = { instance: inst.id, node: inst.node, priority: candidate.priority, rank: candidate.rank };
    if (inst.node === null) {
      out.push({ ...base, role: 'Stopped', reason: 'not placed' });
      continue;
    }
    const reason = whyNotPromoted(input, candidate, inst.node, promoted, promotedOn.get(inst.node) ?? 0);
    if (reason !== undefined) {
      out.push({ ...base, role: 'Unpromoted', reason });
      continue;
    }
    promotedOn.set(inst.node, (promotedOn.get(inst.node) ?? 0) + 1);
    promoted++;
    out.push({
      ...base,
      role: 'Promoted',
      reason: `promoted (rank ${candidate.rank}: ${candidate.why.join(', ')})${candidate.note !== undefined ? `; ${candidate.note}` : ''}`,
    });
  }
  return out;
}

/**
 * An instance's promotion priority on its node, with the reasons: -INFINITY under a limiting
 * target-role; an unmanaged instance keeps its role; else the published promotion score (-1 when
 * none); plus role=Promoted locations and the clone's role colocations. A replica whose source is
 * down may be refused (promoteReplica: in-sync, DRBD's UpToDate).
 */
function promotionPriority(input: RoleInput, inst: PromotableInstance): Candidate {
  const why: string[] = [];
  let priority: Score = 0;
  if (inst.node === null) return { inst, priority: 0, rank: 0, why: ['not placed'] };
  if (inst.targetRole === 'Unpromoted' || inst.targetRole === 'Stopped') {
    priority = -INFINITY;
    why.push(`target-role ${inst.targetRole}`);
  } else if (!inst.managed) {
    priority = inst.currentRole === 'Promoted' ? INFINITY : -INFINITY;
    why.push(inst.currentRole === 'Promoted' ? 'unmanaged and promoted' : 'unmanaged and not promoted');
  } else {
    const ps = input.promotionScore(inst, inst.node);
    priority = ps.isDefault ? -1 : ps.score;
    why.push(ps.isDefault ? 'no promotion score (-1)' : `promotion score ${ps.score}`);
  }
  const loc = input.promotedLocationScore(inst.node);
  if (loc !== 0) {
    priority = addScores(priority, loc);
    why.push(`role=Promoted location ${loc}`);
  }
  if (input.dependentColocationPriority !== undefined) {
    const c = input.dependentColocationPriority(inst, inst.node);
    if (c !== 0) {
      priority = c <= -INFINITY ? -INFINITY : addScores(priority, c);
      why.push(`colocation ${c}`);
    }
  }
  const info = inst.currentRole === 'Promoted' ? undefined : input.replica?.(inst, inst.node);
  const note = info && info.replica.source !== inst.node ? replicaNote(info) : undefined;
  if (note !== undefined && !info!.sourceUp && input.promoteReplica === 'in-sync' && info!.replica.state !== 'in-sync') {
    priority = -INFINITY;
    why.push(`promoteReplica is in-sync and ${note} (to promote it all the same: set promoteReplica to any)`);
    return { inst, priority, rank: priority, why };
  }
  return { inst, priority, rank: priority, why, ...(note !== undefined ? { note } : {}) };
}

/**
 * The candidates in promotion order: ranked by the clone's weight on their node, raised by the
 * non-negative priorities placed there and by colocations with the Promoted role (an unmanaged
 * promoted instance first of all); ties go to the one already promoted, then to the normal
 * instance order.
 */
function rankCandidates(input: RoleInput, candidates: Candidate[]): Candidate[] {
  const nodeWeight = new Map<string, Score>(input.cloneScores);
  for (const candidate of candidates) {
    if (candidate.inst.node === null || candidate.priority < 0) continue;
    nodeWeight.set(candidate.inst.node, addScores(nodeWeight.get(candidate.inst.node) ?? 0, candidate.priority));
  }
  for (const [node, s] of input.colocationNodeScores ?? []) nodeWeight.set(node, addScores(nodeWeight.get(node) ?? 0, s));
  const weights = input.adjustWeights !== undefined ? new Map(input.adjustWeights(nodeWeight)) : nodeWeight;
  for (const candidate of candidates) {
    if (!candidate.inst.managed && candidate.inst.currentRole === 'Promoted') candidate.rank = INFINITY;
    else if (candidate.inst.node !== null && candidate.priority >= 0) candidate.rank = weights.get(candidate.inst.node) ?? 0;
  }
  const cmpBase = input.compareInstances ?? ((a: PromotableInstance, b: PromotableInstance) => a.number - b.number);
  return candidates.sort((a, b) => {
    if (a.rank !== b.rank) return b.rank - a.rank;
    const ra = ROLE_ORDER[a.inst.currentRole === 'Started' ? 'Unpromoted' : a.inst.currentRole];
    const rb = ROLE_ORDER[b.inst.currentRole === 'Started' ? 'Unpromoted' : b.inst.currentRole];
    if (ra !== rb) return rb - ra;
    return cmpBase(a.inst, b.inst);
  });
}

/** Why a placed candidate stays unpromoted, given how many are promoted already (in all, and on its node); undefined: promote it. */
function whyNotPromoted(input: RoleInput, candidate: Candidate, node: string, promoted: number, promotedHere: number): string | undefined {
  const inst = candidate.inst;
  if (candidate.rank < 0) return `promotion rank ${candidate.rank} is negative (${candidate.why.join(', ')})`;
  if (promoted >= input.promotedMax && input.cloneManaged !== false) return `promoted-max (${input.promotedMax}) reached`;
  if (inst.managed && candidate.priority < 0) return `promotion priority ${candidate.priority} is negative (${candidate.why.join(', ')})`;
  if (inst.managed && !input.nodeAvailable(node)) return `${node} cannot run resources`;
  if (!input.cloneScores.has(node)) return `clone not allowed on ${node}`;
  if (inst.managed && promotedHere >= input.promotedNodeMax) return `promoted-node-max (${input.promotedNodeMax}) reached on ${node}`;
  if (inst.currentRole !== 'Promoted' && input.freezeNoQuorum === true) return 'no quorum and no-quorum-policy=freeze';
  return undefined;
}

/** Names of the node attributes an agent publishes its promotion score under, most specific first. */
export function promotionAttributeNames(name: string): string[] {
  return [`master-${name}`, `promotion-${name}`];
}

/** Reads a promotion score from node attributes; undefined when none is set. */
export function readPromotionAttribute(attrs: Readonly<Record<string, string>>, name: string): Score | undefined {
  for (const key of promotionAttributeNames(name)) {
    const v = attrs[key];
    if (v !== undefined) return parseScore(v) ?? 0;
  }
  return undefined;
}

/**
 * Whether an instance's published promotion score on a node counts (Pacemaker's rule): for an
 * anonymous clone, the score of the instance active on the node counts; if no instance is active
 * there, a score counts where the resource was probed. If the resource is known nowhere (cluster
 * start-up), every score counts. Otherwise only nodes where this instance is known count. The
 * instance must be allowed on the node in every case.
 */
export function promotionScoreApplies(q: {
  readonly unique: boolean;
  readonly node: string;
  /** Instance active on the node (anonymous clones), if any. */
  readonly activeInstanceOnNode: string | undefined;
  readonly instance: string;
  /** Some instance of the clone has history on the node. */
  readonly anyInstanceKnownOnNode: boolean;
  /** This instance is known (has history, or runs) on the node. */
  readonly knownOnNode: boolean;
  /** This instance is known (or running) anywhere. */
  readonly knownAnywhere: boolean;
  readonly allowed: boolean;
}): boolean {
  if (!q.allowed) return false;
  if (!q.unique) {
    if (q.activeInstanceOnNode === q.instance) return true;
    if (q.activeInstanceOnNode === undefined && q.anyInstanceKnownOnNode) return true;
  }
  if (!q.knownAnywhere) return true;
  return q.knownOnNode;
}
