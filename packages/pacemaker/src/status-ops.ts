/**
 * Operation records (`lrm_rsc_op`) read straight from the CIB text: most of a large CIB is its
 * status section, and most of that is operation records with nineteen attributes each, half of
 * them bookkeeping nobody reads. `OP_READER` (a LeafReader for the XML scanner) keeps what the
 * model needs, numbers read in place; `opRecord` turns that into the model's record, reporting
 * what it cannot carry.
 */
import type { ExecStatus } from '@paceline/model';
import type { IssueLog } from './nvsets.js';
import { IGNORED_FIELD, ownString, type AttrValue, type LeafReader } from './xml.js';
import { compileOpMatch } from './status-op-match.js';

type Obj = Record<string, unknown>;

/** lrm op-status codes (PCMK_EXEC_*) in order. */
const EXEC_STATUS: Record<string, ExecStatus> = {
  '-1': 'pending',
  '0': 'done',
  '1': 'cancelled',
  '2': 'timeout',
  '3': 'not-supported',
  '4': 'error',
  '5': 'error-hard',
  '6': 'error-fatal',
  '7': 'not-installed',
  '8': 'not-connected',
  '9': 'invalid',
};

/** What one `lrm_rsc_op` says, as read; numbers NaN when not a number, strings undefined when absent. */
export interface OpEntry {
  id: string | undefined;
  action: string | undefined;
  intervalText: string | undefined;
  interval: number;
  callId: number;
  opStatus: string | undefined;
  rc: number;
  lastRcChange: number;
  lastRun: number;
  /** The target rc field of transition-key (action-id:transition-id:target-rc:uuid). */
  expectedRc: number;
  digest: string | undefined;
  restartDigest: string | undefined;
  secureDigest: string | undefined;
  forceRestart: string | undefined;
  secureParams: string | undefined;
  migrateSource: string | undefined;
  migrateTarget: string | undefined;
  exitReason: string | undefined;
  key: string | undefined;
  /** The crm_feature_set it was written with (it selects Pacemaker's digest rules). */
  featureSet: string | undefined;
  /** Attributes the model does not know, in document order (repeats included). */
  unknown: string[] | undefined;
}

/**
 * A fresh entry: an object literal, every field in place from the start (one shape for all; a class
 * with field initialisers cost about 1 µs per record before V8 optimised it, for 70,000 records).
 */
const newOpEntry = (): OpEntry => ({
  id: undefined,
  action: undefined,
  intervalText: undefined,
  interval: Number.NaN,
  callId: Number.NaN,
  opStatus: undefined,
  rc: Number.NaN,
  lastRcChange: Number.NaN,
  lastRun: Number.NaN,
  expectedRc: Number.NaN,
  digest: undefined,
  restartDigest: undefined,
  secureDigest: undefined,
  forceRestart: undefined,
  secureParams: undefined,
  migrateSource: undefined,
  migrateTarget: undefined,
  exitReason: undefined,
  key: undefined,
  featureSet: undefined,
  unknown: undefined,
});

/** lrm_rsc_op attributes that record bookkeeping only (no effect on decisions): not even read. */
const BOOKKEEPING = ['transition-magic', 'crm-debug-origin', 'exec-time', 'queue-time', 'on_node'];
const FIELDS = [
  'id',
  'operation',
  'interval',
  'call-id',
  'op-status',
  'rc-code',
  'last-rc-change',
  'last-run',
  'transition-key',
  'op-digest',
  'op-restart-digest',
  'op-secure-digest',
  'op-force-restart',
  'op-secure-params',
  'migrate_source',
  'migrate_target',
  'exit-reason',
  'operation_key',
  'crm_feature_set',
] as const;
const SKIP = IGNORED_FIELD;
const UNKNOWN = -2;

/** `Number.parseInt(text.split(':')[2], 10)`: the target rc in a transition key, NaN when there is none. */
function targetRc(key: string): number {
  const first = key.indexOf(':');
  const second = first < 0 ? -1 : key.indexOf(':', first + 1);
  return second < 0 ? Number.NaN : Number.parseInt(key.slice(second + 1), 10);
}

/** Reads `lrm_rsc_op` elements into OpEntry values. */
export const OP_READER: LeafReader<OpEntry> = {
  field(name: string): number {
    const i = (FIELDS as readonly string[]).indexOf(name);
    return i >= 0 ? i : BOOKKEEPING.includes(name) ? SKIP : UNKNOWN;
  },
  create: newOpEntry,
  set(e: OpEntry, field: number, a: AttrValue): void {
    switch (field) {
      case SKIP:
        return;
      case 0:
        e.id = a.string();
        return;
      case 1:
        e.action = a.string();
        return;
      case 2:
        e.intervalText = a.string();
        e.interval = a.int();
        return;
      case 3:
        e.callId = a.int();
        return;
      case 4:
        e.opStatus = a.string();
        return;
      case 5:
        e.rc = a.int();
        return;
      case 6:
        e.lastRcChange = a.int();
        return;
      case 7:
        e.lastRun = a.int();
        return;
      case 8:
        e.expectedRc = targetRc(a.string());
        return;
      case 9:
        e.digest = a.string();
        return;
      case 10:
        e.restartDigest = a.string();
        return;
      case 11:
        e.secureDigest = a.string();
        return;
      case 12:
        e.forceRestart = a.string();
        return;
      case 13:
        e.secureParams = a.string();
        return;
      case 14:
        e.migrateSource = a.string();
        return;
      case 15:
        e.migrateTarget = a.string();
        return;
      case 16:
        e.exitReason = a.empty() ? '' : a.string();
        return;
      case 17:
        e.key = a.string();
        return;
      case 18:
        e.featureSet = a.string();
        return;
      default:
        (e.unknown ??= []).push(a.name());
    }
  },
  compile: (fields, groups) => compileOpMatch(fields, groups, FIELDS.length, targetRc),
  finish: readOp,
};

const words = (v: string | undefined): string[] | undefined =>
  v
    ?.split(/\s+/)
    .filter((x) => x !== '')
    .map(ownString);
/**
 * `n` when finite, as a small integer where it is one: the entry's numbers come out of fields that
 * also hold NaN, so V8 boxes each of them, and a record made from such boxes keeps a box of its
 * own per number (five per record, 336,000 at 32 × 2,000 one node failed) where a small integer
 * costs nothing. The same value (`-0` stays `-0`).
 */
const finite = (n: number): number | undefined => (!Number.isFinite(n) ? undefined : (n | 0) === n && (n !== 0 || 1 / n > 0) ? n | 0 : n);

/**
 * Where a record is, for messages: the path is built only when one is written (most records have
 * none). One instance per node's history, moved along.
 */
export interface OpPlace {
  /** The node_state's path. */
  statePath: string;
  /** The lrm_resource's id. */
  resource: string;
  /** The record's position among the resource's records (its name when it has no id). */
  index: number;
}

export const resourcePath = (at: OpPlace): string => `${at.statePath}/lrm_resource[${at.resource}]`;
const opPath = (at: OpPlace, e: OpEntry): string => `${resourcePath(at)}/lrm_rsc_op[${e.id ?? at.index}]`;

/** What the digest comparison reads of a record besides the record itself (DigestCheck.annotate). */
export interface DigestSource {
  readonly featureSet: string | undefined;
  readonly forceRestart: string | undefined;
  readonly secureParams: string | undefined;
}

/** An operation record read while scanning: the model's record, and what the digest comparison needs. */
export interface ReadOp extends DigestSource {
  readonly rec: Obj;
}

/**
 * The value an `lrm_rsc_op` leaves in the tree: the model's record at once when it has nothing to
 * report (an operation name, a known op-status, no attribute the model does not know), so that
 * the 21-field entry does not outlive the scan; the entry itself otherwise, for opRecord to report
 * at its place when the status is imported.
 */
function readOp(e: OpEntry): ReadOp | OpEntry {
  const st = e.opStatus;
  if (e.action === undefined || e.unknown !== undefined || (st !== undefined && EXEC_STATUS[st.trim()] === undefined)) return e;
  return { rec: record(e, e.action), featureSet: e.featureSet, forceRestart: e.forceRestart, secureParams: e.secureParams };
}

/** What readOp left in the tree, as a record (undefined: none, reported) and its digest source. */
export function opOf(v: ReadOp | OpEntry, at: OpPlace, log: IssueLog): ReadOp | undefined {
  if ((v as ReadOp).rec !== undefined) return v as ReadOp;
  const e = v as OpEntry;
  const rec = opRecord(e, at, log);
  return rec === undefined ? undefined : { rec, featureSet: e.featureSet, forceRestart: e.forceRestart, secureParams: e.secureParams };
}

/**
 * The model's operation record for one entry (the shape the model's schema produces), or
 * undefined when it has no operation name; what the model cannot carry is reported at its place.
 */
export function opRecord(e: OpEntry, at: OpPlace, log: IssueLog): Obj | undefined {
  const action = e.action;
  if (action === undefined) {
    log.unsupportedAt(opPath(at, e), 'operation record without an operation name; skipped');
    return undefined;
  }
  const st = e.opStatus;
  if (st !== undefined && EXEC_STATUS[st.trim()] === undefined) log.unsupportedAt(`${opPath(at, e)}/@op-status`, `unknown op-status ${st}; read as error`);
  const rec = record(e, action);
  if (e.unknown !== undefined) {
    // Each name once, in the order an object's keys would list them (as when they were read into one).
    const seen: Record<string, true> = {};
    for (const k of e.unknown) seen[k] = true;
    for (const k of Object.keys(seen)) log.unsupportedAt(`${opPath(at, e)}/@${k}`, `operation record attribute ${k} is not modelled`);
  }
  return rec;
}

/** The record itself, keys in the schema's order; its strings the text's own, not slices of it (ownString). */
function record(e: OpEntry, action: string): Obj {
  // A record without call-id is pending in Pacemaker's eyes and sorts last: -1, as Pacemaker reads it.
  const rec: Obj = { action: ownString(action), interval: finite(e.interval) ?? 0, callId: finite(e.callId) ?? -1, status: 'done' };
  const st = e.opStatus;
  if (st !== undefined) rec['status'] = EXEC_STATUS[st.trim()] ?? 'error';
  rec['rc'] = finite(e.rc) ?? 0;
  if (Number.isFinite(e.lastRcChange)) rec['lastRcChange'] = e.lastRcChange * 1000;
  if (Number.isFinite(e.lastRun)) rec['lastRun'] = e.lastRun * 1000;
  if (Number.isFinite(e.expectedRc)) rec['expectedRc'] = finite(e.expectedRc);
  if (e.digest !== undefined) rec['digest'] = ownString(e.digest);
  if (e.restartDigest !== undefined) rec['restartDigest'] = ownString(e.restartDigest);
  if (e.secureDigest !== undefined) rec['secureDigest'] = ownString(e.secureDigest);
  const fr = words(e.forceRestart);
  if (fr !== undefined) rec['restartParams'] = fr;
  const sp = words(e.secureParams);
  if (sp !== undefined) rec['secureParams'] = sp;
  if (e.migrateSource !== undefined) rec['migrateSource'] = ownString(e.migrateSource);
  if (e.migrateTarget !== undefined) rec['migrateTarget'] = ownString(e.migrateTarget);
  if (e.exitReason !== undefined && e.exitReason !== '') rec['exitReason'] = ownString(e.exitReason);
  rec['key'] = ownString(e.key ?? e.id) ?? `${action}_${e.intervalText ?? 0}`;
  return rec;
}
