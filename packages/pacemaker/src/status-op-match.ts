/**
 * OP_READER's reading of a whole matched `lrm_rsc_op` start tag (LeafReader.compile): the same
 * fields its `set` fills, one attribute at a time, filled in one straight pass over the pattern's
 * captures instead of a call and a switch per attribute (67,000 records of 19 attributes at 32 × 2,000
 * one node failed). A tag with an attribute the model does not know, or one listed twice, is left to
 * `set` (undefined).
 */
import type { CapturedValues, MatchReader } from './xml-attr.js';
import type { OpEntry } from './status-ops.js';

/** A field's capture group and position in the pattern; group -1 when the tag does not list it. */
interface Place {
  readonly group: number;
  readonly position: number;
}
const ABSENT: Place = { group: -1, position: 0 };

/** The value `set` would read for `at` (its string, shared as AttrValue.string() shares it), undefined when absent. */
function text(m: RegExpExecArray, a: CapturedValues, at: Place): string | undefined {
  return at.group < 0 ? undefined : a.stringAt(at.position, m[at.group]!);
}
/**
 * `at`'s value as captured, not shared: for the values no record keeps (the id, the interval's text,
 * the transition key) and the key, which the record keeps as a string of its own (ownString) anyway.
 */
function raw(m: RegExpExecArray, at: Place): string | undefined {
  return at.group < 0 ? undefined : m[at.group];
}
/** AttrValue.int() of `at`'s value; `absent` when the tag does not list it (set is not called then). */
function int(m: RegExpExecArray, at: Place, absent: number): number {
  return at.group < 0 ? absent : Number.parseInt(m[at.group]!, 10);
}

/**
 * The MatchReader for a pattern whose attributes have these OP_READER fields (FIELDS' positions,
 * IGNORED_FIELD for bookkeeping, UNKNOWN for the rest) and groups; `targetRc` reads a transition key.
 */
export function compileOpMatch(
  fields: readonly number[],
  groups: readonly number[],
  fieldCount: number,
  targetRc: (key: string) => number,
): MatchReader<OpEntry> | undefined {
  const places: Place[] = Array.from({ length: fieldCount }, () => ABSENT);
  for (let k = 0; k < fields.length; k++) {
    const f = fields[k]!;
    if (f === -1) continue; // bookkeeping: set does nothing with it
    if (f < 0 || places[f] !== ABSENT || groups[k] === 0) return undefined;
    places[f] = { group: groups[k]!, position: k };
  }
  const [id, action, interval, callId, opStatus, rc, lastRcChange, lastRun, transitionKey, digest, restartDigest, secureDigest] = places as [
    Place,
    Place,
    Place,
    Place,
    Place,
    Place,
    Place,
    Place,
    Place,
    Place,
    Place,
    Place,
  ];
  const [forceRestart, secureParams, migrateSource, migrateTarget, exitReason, key, featureSet] = places.slice(12) as [
    Place,
    Place,
    Place,
    Place,
    Place,
    Place,
    Place,
  ];
  return (e, m, a) => {
    e.id = raw(m, id);
    e.action = text(m, a, action);
    e.intervalText = raw(m, interval);
    e.interval = int(m, interval, e.interval);
    e.callId = int(m, callId, e.callId);
    e.opStatus = text(m, a, opStatus);
    e.rc = int(m, rc, e.rc);
    e.lastRcChange = int(m, lastRcChange, e.lastRcChange);
    e.lastRun = int(m, lastRun, e.lastRun);
    const tk = raw(m, transitionKey);
    if (tk !== undefined) e.expectedRc = targetRc(tk);
    e.digest = text(m, a, digest);
    e.restartDigest = text(m, a, restartDigest);
    e.secureDigest = text(m, a, secureDigest);
    e.forceRestart = text(m, a, forceRestart);
    e.secureParams = text(m, a, secureParams);
    e.migrateSource = text(m, a, migrateSource);
    e.migrateTarget = text(m, a, migrateTarget);
    e.exitReason = exitReason.group < 0 ? undefined : m[exitReason.group] === '' ? '' : a.stringAt(exitReason.position, m[exitReason.group]!);
    e.key = raw(m, key);
    e.featureSet = text(m, a, featureSet);
  };
}
