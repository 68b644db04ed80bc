/**
 * The digest comparison for imported operation records: each record with a digest is compared with
 * its primitive's current definition (Pacemaker's), and the answer set on the record as
 * `paramsChange`, asked once per distinct question.
 */
import type { ClusterConfig, OpRecord, Primitive } from '@paceline/model';
import { compareDigests, DigestCache, type ParamsChange } from './digest.js';
import type { ReadOp } from './status-ops.js';

/** Primitive id behind a history entry ("db:1" → "db"). */
function baseId(id: string): string {
  const i = id.lastIndexOf(':');
  if (i <= 0 || i === id.length - 1) return id;
  for (let k = i + 1; k < id.length; k++) {
    const c = id.charCodeAt(k);
    if (c < 48 || c > 57) return id;
  }
  return id.slice(0, i);
}

/** One question compareDigests answered, and its answer (null: none). */
interface Answer {
  readonly action: unknown;
  readonly interval: unknown;
  readonly featureSet: string | undefined;
  readonly node: string | undefined;
  readonly digest: unknown;
  readonly restartDigest: unknown;
  readonly secureDigest: unknown;
  readonly forceRestart: string | undefined;
  readonly secureParams: string | undefined;
  readonly change: ParamsChange | null;
}

/** Beyond this many different questions about one primitive, answers are not kept. */
const MAX_ANSWERS = 16;

/**
 * Pacemaker's digest comparison for imported records (digest.ts's compareDigests), asked once per
 * distinct question: a clone's records on sixteen nodes usually carry the same digests of the same
 * definition, and hashing them again for each node was most of the import's digest time.
 */
export class DigestCheck {
  private readonly prims = new Map<string, Primitive>();
  private readonly answers = new Map<Primitive, Answer[]>();
  private readonly cache = new DigestCache();
  private readonly defaultTimeout: number | undefined;

  constructor(
    config: ClusterConfig,
    private readonly cibFeatureSet: string | undefined,
  ) {
    const visit = (r: ClusterConfig['resources'][number]): void => {
      if (r.type === 'primitive') this.prims.set(r.id, r);
      else if (r.type === 'group') r.members.forEach(visit);
      else visit(r.child);
    };
    config.resources.forEach(visit);
    this.defaultTimeout = config.defaults.operation.timeout;
  }

  /** The configured primitive a history entry belongs to. */
  primitive(resource: string): Primitive | undefined {
    return this.prims.get(resource) ?? this.prims.get(baseId(resource));
  }

  /** Sets `paramsChange` on the record when it has a digest to compare. */
  annotate(op: ReadOp, prim: Primitive, node: string): void {
    const rec = op.rec;
    const digest = rec['digest'];
    const restartDigest = rec['restartDigest'];
    if (digest === undefined && restartDigest === undefined) return;
    const secureDigest = rec['secureDigest'];
    const featureSet = op.featureSet ?? this.cibFeatureSet;
    // What compareDigests reads: the record's action, interval and digests, the feature set, and the node where parameters differ per node.
    const where = prim.paramsByNode === undefined ? undefined : node;
    let answers = this.answers.get(prim);
    if (answers === undefined) this.answers.set(prim, (answers = []));
    let change: ParamsChange | null | undefined;
    for (const a of answers)
      if (
        a.action === rec['action'] &&
        a.interval === rec['interval'] &&
        a.featureSet === featureSet &&
        a.node === where &&
        a.digest === digest &&
        a.restartDigest === restartDigest &&
        a.secureDigest === secureDigest &&
        a.forceRestart === op.forceRestart &&
        a.secureParams === op.secureParams
      ) {
        change = a.change;
        break;
      }
    if (change === undefined) {
      change = compareDigests(rec as unknown as OpRecord, prim, node, this.defaultTimeout, this.cache, featureSet) ?? null;
      if (answers.length < MAX_ANSWERS)
        answers.push({
          action: rec['action'],
          interval: rec['interval'],
          featureSet,
          node: where,
          digest,
          restartDigest,
          secureDigest,
          forceRestart: op.forceRestart,
          secureParams: op.secureParams,
          change,
        });
    }
    if (change !== null) rec['paramsChange'] = change;
  }
}
