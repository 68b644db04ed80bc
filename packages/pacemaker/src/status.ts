/**
 * The CIB `status` section → the model's ClusterStatus input: node states (Pacemaker 2.1.5's
 * determine_online_status rules), transient attributes, fail counts and operation history.
 */
import { parseScore, type NodeStatus } from '@paceline/model';
import { readNvSets, type IssueLog } from './nvsets.js';
import type { DigestCheck } from './status-digests.js';
import type { OpEntry, OpPlace, ReadOp } from './status-ops.js';
import { opOf, resourcePath } from './status-ops.js';
import { childrenOf, isTrue, type XmlElement } from './xml.js';

type Obj = Record<string, unknown>;

export interface StatusInputs {
  readonly status: XmlElement | undefined;
  readonly nodeNames: readonly string[];
  readonly byId: Map<string, string>;
  readonly ping: Set<string>;
  readonly stonithEnabled: boolean;
  readonly startupFencing: boolean;
  readonly ids: Map<string, XmlElement>;
  readonly log: IssueLog;
  /** Compares each record's digests with the configuration's. */
  readonly digests: DigestCheck;
}

function intOf(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number.parseInt(v, 10);
  return Number.isFinite(n) ? n : undefined;
}

/** The last agent name built, for the next resource with the same class, provider and type (one string for all). */
let lastAgent: { cls: string; provider: string | undefined; type: string; agent: string } | undefined;

/** `class:provider:type` (or `class:type`) of an lrm_resource; undefined without class or type. */
function agentOf(attrs: Readonly<Record<string, string>>): string | undefined {
  const cls = attrs['class'];
  const type = attrs['type'];
  if (cls === undefined || type === undefined) return undefined;
  const provider = attrs['provider'];
  const last = lastAgent;
  if (last !== undefined && last.cls === cls && last.provider === provider && last.type === type) return last.agent;
  const agent = provider !== undefined ? `${cls}:${provider}:${type}` : `${cls}:${type}`;
  lastAgent = { cls, provider, type, agent };
  return agent;
}

/**
 * A history as the model's schema produces it (keys in its order: resource, agent, shutdownLock,
 * ops), made in one object literal: properties added one by one to a smaller literal are kept in a
 * second object of their own (64,000 histories at 32 × 2,000 one node failed).
 */
function historyEntry(resource: string, agent: string | undefined, shutdownLock: number | undefined, ops: Obj[]): Obj {
  if (shutdownLock === undefined) return agent === undefined ? { resource, ops } : { resource, agent, ops };
  return agent === undefined ? { resource, shutdownLock, ops } : { resource, agent, shutdownLock, ops };
}

/**
 * A history's records are gathered here and copied out at their exact length: an array that grows
 * by push keeps room for 17 (64,000 histories at 32 × 2,000 one node failed, most with one record).
 */
const OPS: Obj[] = [];

function importHistory(state: XmlElement, node: string, path: string, inp: StatusInputs): Obj[] {
  const log = inp.log;
  const out: Obj[] = [];
  const at: OpPlace = { statePath: path, resource: '', index: 0 };
  for (const lrm of childrenOf(state, 'lrm'))
    for (const list of childrenOf(lrm, 'lrm_resources'))
      for (const r of childrenOf(list, 'lrm_resource')) {
        const id = r.attrs['id'];
        if (id === undefined) continue;
        at.resource = id;
        const agent = agentOf(r.attrs);
        const lock = r.attrs['shutdown-lock'];
        let lockMs: number | undefined;
        if (lock !== undefined) {
          const t = intOf(lock);
          if (t === undefined) log.unsupportedAt(`${resourcePath(at)}/@shutdown-lock`, `"${lock}" is not a time`);
          else lockMs = t * 1000;
        }
        const prim = inp.digests.primitive(id);
        const ops = OPS;
        ops.length = 0;
        at.index = 0;
        for (const o of r.children) {
          if (o.tag !== 'lrm_rsc_op') continue;
          // Read by OP_READER (importCib parses with it).
          const op = opOf(o.value as ReadOp | OpEntry, at, log);
          at.index++;
          if (!op) continue;
          if (prim) inp.digests.annotate(op, prim, node);
          ops.push(op.rec);
        }
        out.push(historyEntry(id, agent, lockMs, ops.slice()));
      }
  return out;
}

/** `fail-count-RSC` or `fail-count-RSC#OP_INTERVAL` → its parts. */
function failKey(rest: string): { resource: string; action?: string; interval?: number } {
  const hash = rest.lastIndexOf('#');
  if (hash < 0) return { resource: rest };
  const resource = rest.slice(0, hash);
  const opPart = rest.slice(hash + 1);
  const us = opPart.lastIndexOf('_');
  const interval = us < 0 ? undefined : intOf(opPart.slice(us + 1));
  return interval === undefined ? { resource, action: opPart } : { resource, action: opPart.slice(0, us), interval };
}

/** What a node's transient attributes say: flags, the shutdown and terminate requests, fail counts, and the rest. */
interface Transient {
  standby?: boolean;
  maintenance?: boolean;
  shutdown?: string;
  terminate?: string;
  attributes: Record<string, string>;
  failures: Obj[];
}

/** A node_state's transient attributes (fail counts joined with their last-failure times). */
function readTransient(state: XmlElement, path: string, inp: StatusInputs): Transient {
  const t: Transient = { attributes: {}, failures: [] };
  const failures = new Map<string, Obj>();
  const lastFailures = new Map<string, number>();
  for (const ta of childrenOf(state, 'transient_attributes')) {
    const values = readNvSets(ta, ['instance_attributes'], `${path}/transient_attributes`, inp.ids, inp.log, { overwrite: true });
    for (const [k, nv] of values) {
      if (k === 'standby' || k === 'maintenance') t[k] = isTrue(nv.value);
      else if (k === 'shutdown') t.shutdown = nv.value;
      else if (k === 'terminate') t.terminate = nv.value;
      else if (k.startsWith('fail-count-')) {
        const key = k.slice('fail-count-'.length);
        const count = parseScore(nv.value);
        if (count === undefined) inp.log.unsupportedAt(nv.path, `fail count "${nv.value}" is not a number`);
        else failures.set(key, { ...failKey(key), count });
      } else if (k.startsWith('last-failure-')) {
        const n = intOf(nv.value);
        if (n !== undefined) lastFailures.set(k.slice('last-failure-'.length), n * 1000);
      } else if (k === 'probe_complete') inp.log.ignoredAt(nv.path, 'probe_complete is obsolete and has no effect');
      else t.attributes[k] = nv.value;
    }
  }
  for (const [key, ms] of lastFailures) {
    const f = failures.get(key);
    if (f) f['lastFailure'] = ms;
    else inp.log.ignoredAt(`${path}/transient_attributes/last-failure-${key}`, 'last-failure without a fail count (no failure is counted)');
  }
  t.failures = [...failures.values()];
  return t;
}

/** The node with every default filled in, exactly as the model's schema would produce it. */
function complete(n: Obj): NodeStatus {
  return {
    standby: false,
    maintenance: false,
    shutdown: false,
    attributes: {},
    history: [],
    failures: [],
    ...n,
  } as unknown as NodeStatus;
}

/**
 * The status section as the model's NodeStatus list. The objects are built in their final,
 * schema-conformant shape (the tests check this against the zod schema) rather than parsed,
 * because the status of a large cluster is most of a CIB.
 */
export function importStatus(inp: StatusInputs): NodeStatus[] {
  const states = childrenOf(inp.status, 'node_state');
  const used = new Set<XmlElement>();
  const findState = (name: string, id: string | undefined): XmlElement | undefined => {
    // Pacemaker matches node_state to a configured node by id first, then by uname.
    const byId = id === undefined ? undefined : states.find((s) => s.attrs['id'] === id);
    return byId ?? states.find((s) => s.attrs['uname'] === name);
  };
  const idOf = new Map<string, string>();
  for (const [id, name] of inp.byId) idOf.set(name, id);

  const out: NodeStatus[] = [];
  for (const name of inp.nodeNames) {
    const state = findState(name, idOf.get(name));
    const path = `status/node_state[${name}]`;
    const node: Obj = { name };
    if (!state) {
      if (inp.ping.has(name)) node['state'] = 'offline';
      else if (inp.stonithEnabled && inp.startupFencing) {
        node['state'] = 'unclean';
        node['uncleanReason'] = 'node has never been seen by the cluster (startup-fencing)';
      } else node['state'] = 'offline';
      out.push(complete(node));
      continue;
    }
    used.add(state);
    const t = readTransient(state, path, inp);
    for (const k of ['standby', 'maintenance'] as const) if (t[k] !== undefined) node[k] = t[k];
    const shutdown = t.shutdown !== undefined && t.shutdown !== '0';
    if (shutdown) node['shutdown'] = true;
    node['attributes'] = t.attributes;
    node['failures'] = t.failures;

    const s = determineState(state, shutdown, t.terminate, inp.stonithEnabled);
    node['state'] = inp.ping.has(name) ? 'offline' : s.state;
    if (s.reason !== undefined && s.state === 'unclean') node['uncleanReason'] = s.reason;
    if (s.standby) node['standby'] = true;
    node['history'] = importHistory(state, name, path, inp);
    out.push(complete(node));
  }
  for (const s of states)
    if (!used.has(s))
      inp.log.ignoredAt(
        `status/node_state[${s.attrs['uname'] ?? s.attrs['id'] ?? ''}]`,
        'state of a node that is not in the configuration (Pacemaker ignores it)',
      );
  // Keep the status section's node order (nodes without a node_state last): Pacemaker reads
  // histories in that order, and it decides how anonymous clone instances are numbered.
  const position = new Map<string, number>();
  for (const name of inp.nodeNames) {
    const st = findState(name, idOf.get(name));
    position.set(name, st === undefined ? Number.MAX_SAFE_INTEGER : states.indexOf(st));
  }
  return out
    .map((n, i) => ({ n, i }))
    .sort((a, b) => (position.get(a.n.name) ?? 0) - (position.get(b.n.name) ?? 0) || a.i - b.i)
    .map((x) => x.n);
}

/** Pacemaker 2.1.5 determine_online_status{_fencing,_no_fencing}, for cluster nodes. */
export function determineState(
  state: XmlElement,
  shutdown: boolean,
  terminateAttr: string | undefined,
  stonithEnabled: boolean,
): { state: 'online' | 'offline' | 'unclean' | 'pending'; reason?: string; standby?: boolean } {
  const join = state.attrs['join'];
  const crmd = state.attrs['crmd'];
  const inCcmRaw = state.attrs['in_ccm'];
  const inCcm = isTrue(inCcmRaw);
  const crmdOnline = crmd?.toLowerCase() === 'online';
  const expected = state.attrs['expected'] ?? 'down';
  const expectedUp = !shutdown && expected.toLowerCase() === 'member';

  if (!stonithEnabled) {
    if (!inCcm) return { state: 'offline' };
    if (crmdOnline) return join?.toLowerCase() === 'member' ? { state: 'online' } : { state: 'offline' };
    if (!expectedUp) return { state: 'offline' };
    return { state: 'unclean', reason: 'peer is unexpectedly down' };
  }

  let terminate = isTrue(terminateAttr);
  if (!terminate && terminateAttr !== undefined && terminateAttr.length > 0) {
    const c = terminateAttr[0]!;
    terminate = c !== '0' && c >= '0' && c <= '9';
  }
  const j = join?.toLowerCase();
  if (shutdown) return crmdOnline ? { state: 'online' } : { state: 'offline' };
  if (inCcmRaw === undefined) return { state: 'unclean', reason: 'peer has not been seen by the cluster' };
  if (j === 'banned') return { state: 'unclean', reason: 'peer failed Pacemaker membership criteria' };
  if (!terminate && expected.toLowerCase() === 'down') {
    // Pacemaker flags the node pending (and so standby) even when it is not in the membership.
    return inCcm ? { state: 'pending' } : crmdOnline ? { state: 'offline', standby: true } : { state: 'offline' };
  }
  if (terminate && j === 'down' && !inCcm && !crmdOnline) return { state: 'offline' };
  if (!inCcm) return { state: 'unclean', reason: 'peer is no longer part of the cluster' };
  if (!crmdOnline) return { state: 'unclean', reason: 'peer process is no longer available' };
  if (terminate) return { state: 'unclean', reason: 'termination was requested' };
  if (j === 'member') return { state: 'online' };
  if (j === 'pending' || j === 'down') return { state: 'pending' };
  return { state: 'unclean', reason: 'peer was in an unknown state' };
}
