/**
 * The replicated document in the coordinator core: adopting a newer copy, acknowledging and
 * yielding, confirming a document once every peer holds it, and configuration changes (queued,
 * applied one unconfirmed change at a time, answered once confirmed, never applied twice).
 */
import type { ClusterDoc } from './messages.js';
import { applyUpdate, docKey, parseDocConfig, type UpdateRequest } from './updates.js';
import { DOC_ACK, DOC_YIELD, isDocSignal, type CoreCommand, type CoreState, type Mutable, type QueuedUpdate } from './core-types.js';
import { provenDown, unaccountedPeer } from './core-peers.js';

export function adopt(s: Mutable<CoreState>, out: CoreCommand[], doc: ClusterDoc, from: string): boolean {
  const p = parseDocConfig(doc);
  if (!p.ok) {
    out.push({ type: 'log', level: 'error', message: `rejected configuration epoch ${doc.epoch} from ${from}: ${p.message}` });
    return false;
  }
  s.doc = doc;
  s.config = p.config;
  s.docKey = docKey(doc);
  s.committed = false;
  s.dirty = s.urgent = true;
  if (from !== s.self && s.pending.length > 0) {
    // Our unconfirmed changes may or may not be part of the document we take over.
    for (const x of s.pending)
      out.push(
        reply(
          x,
          false,
          `not confirmed: ${from} published configuration epoch ${doc.epoch} before this change (epoch ${x.epoch}) reached every node; it may or may not be in effect — check \`paceline config show\` and retry if needed`,
        ),
      );
    s.pending = [];
  }
  out.push({ type: 'persist', doc }, { type: 'config-changed', doc, from });
  return true;
}

function reply(to: { to: string; reqId: string }, ok: boolean, message: string): CoreCommand {
  return { type: 'reply', to: to.to, reqId: to.reqId, ok, message };
}

export function onDoc(s: Mutable<CoreState>, out: CoreCommand[], from: string, doc: ClusterDoc): void {
  const key = docKey(doc);
  if (s.view.peers[from] !== undefined) s.peerDocs = { ...s.peerDocs, [from]: key };
  if (doc.epoch > s.doc.epoch) {
    if (adopt(s, out, doc, from)) {
      out.push({ type: 'log', level: 'info', message: `adopted configuration epoch ${doc.epoch} from ${from}`, fields: { epoch: doc.epoch } });
      out.push(ack(from, key));
    }
    return;
  }
  if (doc.epoch < s.doc.epoch) {
    out.push({ type: 'publish', doc: s.doc, to: from });
    return;
  }
  if (key === s.docKey) {
    out.push(ack(from, key));
    return;
  }
  // Same epoch, different content: two copies were changed independently (a race between two
  // nodes that both believed they coordinate). A copy that holds an acknowledged change is never
  // given up: its holder republishes it with a higher epoch. A copy without one yields; when
  // neither holds one, the coordinator's copy wins once the other side has yielded.
  if (s.committed) {
    out.push({
      type: 'log',
      level: 'warn',
      message: `conflicting configuration at epoch ${doc.epoch} from ${from}: keeping this node's confirmed copy and republishing it`,
      fields: { epoch: doc.epoch },
    });
    bump(s, out);
    return;
  }
  out.push({
    type: 'log',
    level: 'warn',
    message: `conflicting configuration at epoch ${doc.epoch} from ${from}: this node's copy is not confirmed; yielding to ${from}'s${s.view.coordinator === s.self ? ' unless it yields too' : ''}`,
    fields: { epoch: doc.epoch },
  });
  out.push({ type: 'reply', to: from, reqId: `${DOC_YIELD}${key}`, ok: true, message: `${s.self} yields its copy of epoch ${doc.epoch}` });
}

/**
 * A peer's digest of its document (the periodic anti-entropy). The same copy is what receiving the
 * document would be: the peer has shown it (see the stale-copy rule), holds it, and is acknowledged.
 * An older epoch shows that the peer holds nothing newer, and it is sent this node's document. A newer
 * epoch, or the same epoch with other content, needs the document itself: this node sends its own,
 * which the peer answers with its copy (older there) or its conflict rule (the same epoch) — as both
 * nodes do when each receives the other's digest.
 */
export function onDigest(s: Mutable<CoreState>, out: CoreCommand[], from: string, key: string): void {
  const epoch = Number(key.slice(0, key.indexOf('/')));
  const member = s.view.peers[from] !== undefined;
  if (key === s.docKey || (Number.isSafeInteger(epoch) && epoch < s.doc.epoch)) {
    if (member) {
      if (s.docShown[from] !== true) s.docShown = { ...s.docShown, [from]: true };
      s.peerDocs = { ...s.peerDocs, [from]: key };
    }
    if (key === s.docKey) out.push(ack(from, key));
    else out.push({ type: 'publish', doc: s.doc, to: from });
    return;
  }
  out.push({ type: 'publish', doc: s.doc, to: from });
}

const ack = (to: string, key: string): CoreCommand => ({ type: 'reply', to, reqId: `${DOC_ACK}${key}`, ok: true, message: `holds configuration ${key}` });

export function onDocSignal(s: Mutable<CoreState>, out: CoreCommand[], from: string, reqId: string, ok: boolean, message: string): void {
  if (s.view.peers[from] === undefined) return;
  if (reqId.startsWith(DOC_ACK) && !ok) {
    // The peer holds the document but could not save it: a power loss there would lose it. The
    // changes waiting for it are answered with that (they are in effect, not durable everywhere);
    // the document is not counted as held, so it keeps being sent until the peer can save it.
    if (reqId.slice(DOC_ACK.length) !== s.docKey) return;
    out.push({ type: 'log', level: 'error', message: `${from} could not save configuration epoch ${s.doc.epoch}: ${message}`, fields: { epoch: s.doc.epoch } });
    for (const x of s.pending)
      out.push(
        reply(
          x,
          false,
          `${x.message} is in effect, but ${from} could not save it (${message}): a power loss there would lose it; free the space there, then check \`paceline config show\``,
        ),
      );
    s.pending = [];
    return;
  }
  if (reqId.startsWith(DOC_ACK)) {
    s.peerDocs = { ...s.peerDocs, [from]: reqId.slice(DOC_ACK.length) };
    return;
  }
  // A yield to our copy: the peer's conflicting copy holds no acknowledged change.
  if (reqId.slice(DOC_YIELD.length) === s.docKey && (s.view.coordinator === s.self || s.committed)) {
    out.push({ type: 'log', level: 'warn', message: `${from} yielded its conflicting copy of epoch ${s.doc.epoch}: republishing this node's copy` });
    bump(s, out);
  }
}

/** Republishes this node's copy with a higher epoch (it wins a same-epoch conflict). */
function bump(s: Mutable<CoreState>, out: CoreCommand[]): void {
  const epoch = nextEpoch(s);
  const next: ClusterDoc = { ...s.doc, epoch, config: { ...s.doc.config, epoch } };
  if (adopt(s, out, next, s.self)) out.push({ type: 'publish', doc: next });
}

/**
 * The epoch of the next document this node makes. While a peer is proven down (not a member) one
 * epoch is skipped: that peer may hold one change of its own that never reached this node (at most
 * one, since a coordinator makes a new change only once the previous one is confirmed), and when it
 * comes back its copy must be older than everything made since, so that it adopts ours.
 */
export function nextEpoch(s: CoreState): number {
  return s.doc.epoch + (Object.values(s.view.peers).some((p) => !p.member) ? 2 : 1);
}

/** Every peer is a member holding this exact document, or proven down. */
function confirmedNow(s: CoreState): boolean {
  return Object.entries(s.view.peers).every(([name, p]) => (p.member ? s.peerDocs[name] === s.docKey : provenDown(s, name)));
}

/** Members that have not acknowledged this node's document while it is unconfirmed or changes wait (the shell resends it to them). */
export function docRetransmitTargets(s: CoreState): string[] {
  // Also once confirmed: a member that joined since may not have it yet (simulated replay seed 730:
  // both documents sent on a join over a lossy LAN were lost, and the next periodic one was 5 s away).
  return Object.keys(s.view.peers)
    .sort()
    .filter((name) => s.view.peers[name]!.member && s.peerDocs[name] !== s.docKey);
}

/** Why this node refuses to change the configuration now (undefined: it may). */
export function updateBlocker(s: CoreState): string | undefined {
  if (!s.view.quorate) return `cannot change the configuration now: this node has no quorum (${s.view.mayRunReason}); retry when the cluster is quorate`;
  const u = unaccountedPeer(s);
  if (u !== undefined)
    return `cannot change the configuration now: ${u.node} is lost and not proven down (${u.reason}), so a change made now could conflict with one made there; retry when ${u.node} is back, or once it is fenced or has left cleanly`;
  // A node that restarted holds its document from disk, which may be older than what the cluster
  // acknowledged meanwhile. Until nodes holding a majority have shown it theirs in this life, a
  // change made here (from an old epoch) could later override acknowledged ones (simulated replay
  // seed 730: a restarted node that never received its peer's document fenced it, then changed the
  // configuration from epoch 3 while the peer held an acknowledged epoch 7).
  const names = Object.keys(s.view.peers);
  const shown = names.filter((n) => s.docShown[n] === true);
  if ((shown.length + 1) * 2 <= names.length + 1) {
    const missing = names.filter((n) => s.docShown[n] !== true).sort();
    return `cannot change the configuration now: ${missing.join(', ')} ${missing.length === 1 ? 'has' : 'have'} not shown ${s.self} ${missing.length === 1 ? 'its' : 'their'} configuration since ${s.self} started (it may hold newer acknowledged changes); retry once ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} back`;
  }
  return undefined;
}

const MAX_QUEUE = 100;
/** Answers to update requests remembered (a request is answered within seconds; a repeat comes sooner or is refused by the channel). */
export const MAX_ANSWERED = 256;

/**
 * An update request whose id was seen already (a copy, or a replay that got past the channel) is not
 * applied twice: one that waits (queued, or applied and not yet confirmed) gets its answer when it
 * comes; an answered one gets the same answer again.
 */
export function repeatedRequest(s: Mutable<CoreState>, out: CoreCommand[], reqId: string, replyTo: string): boolean {
  if (s.queue.some((q) => q.reply?.reqId === reqId) || s.pending.some((p) => p.reqId === reqId)) {
    out.push({ type: 'log', level: 'debug', message: `update request ${reqId} is already under way; not applied twice`, fields: { from: replyTo } });
    return true;
  }
  const a = s.answered.find((x) => x.reqId === reqId);
  if (a === undefined) return false;
  out.push({
    type: 'log',
    level: 'debug',
    message: `update request ${reqId} was already answered; answering again, not applying it twice`,
    fields: { from: replyTo },
  });
  out.push({ ...reply({ to: replyTo, reqId }, a.ok, a.message), ...(a.epoch !== undefined ? { epoch: a.epoch } : {}) });
  return true;
}

export function rememberAnswers(s: Mutable<CoreState>, out: readonly CoreCommand[]): void {
  const answers = out.filter(
    (c): c is Extract<CoreCommand, { type: 'reply' }> => c.type === 'reply' && !isDocSignal(c.reqId) && !s.answered.some((a) => a.reqId === c.reqId),
  );
  if (answers.length > 0)
    s.answered = [
      ...s.answered,
      ...answers.map((c) => ({ reqId: c.reqId, ok: c.ok, message: c.message, ...(c.epoch !== undefined ? { epoch: c.epoch } : {}) })),
    ].slice(-MAX_ANSWERED);
}

export function update(s: Mutable<CoreState>, out: CoreCommand[], request: UpdateRequest, to: { to: string; reqId: string } | undefined): void {
  if (s.queue.length >= MAX_QUEUE) {
    if (to) out.push(reply(to, false, `too many configuration changes are waiting (${MAX_QUEUE}); retry later`));
    else out.push({ type: 'log', level: 'warn', message: `update ${request.op} dropped: too many changes are waiting` });
    return;
  }
  s.queue = [...s.queue, { request, ...(to ? { reply: to } : {}) }];
}

/**
 * Confirms the current document when every peer holds it or is proven down, answers the changes
 * that waited for it, then applies the next queued change (one unconfirmed change at a time).
 */
export function settleDoc(s: Mutable<CoreState>, out: CoreCommand[]): void {
  for (let guard = 0; guard < 10_000; guard++) {
    if (s.queue.length > 0 && s.view.coordinator !== s.self) {
      for (const q of s.queue) {
        const message = `the coordinator changed (now ${s.view.coordinator}) before this change could be applied; it was not applied — retry`;
        out.push(q.reply ? reply(q.reply, false, message) : { type: 'log', level: 'warn', message: `update ${q.request.op}: ${message}` });
      }
      s.queue = [];
    }
    if (!s.committed && confirmedNow(s)) s.committed = true;
    if (!s.committed) return;
    if (s.pending.length > 0) {
      for (const x of s.pending) out.push({ type: 'reply', to: x.to, reqId: x.reqId, ok: true, message: x.message, epoch: x.epoch });
      s.pending = [];
    }
    const [q, ...rest] = s.queue;
    if (q === undefined) return;
    const blocked = updateBlocker(s);
    if (blocked !== undefined) {
      s.queue = rest;
      out.push(q.reply ? reply(q.reply, false, blocked) : { type: 'log', level: 'warn', message: `update ${q.request.op} refused: ${blocked}` });
      continue;
    }
    // Every current member must hold this document now, not only when it was confirmed: a member
    // that rejoined may bring a newer one (simulated seed 7383: a node back from a power loss held an
    // acknowledged change; the other made a quarantine at the same epoch before hearing of it).
    if (!confirmedNow(s)) return;
    s.queue = rest;
    applyQueued(s, out, q);
  }
}

function applyQueued(s: Mutable<CoreState>, out: CoreCommand[], q: QueuedUpdate): void {
  const refuse = (message: string): void => {
    out.push(q.reply ? reply(q.reply, false, message) : { type: 'log', level: 'warn', message: `update ${q.request.op} refused: ${message}` });
  };
  const blocked = updateBlocker(s);
  if (blocked !== undefined) return refuse(blocked);
  const r = applyUpdate(s.doc, s.config, q.request, nextEpoch(s), s.view.members);
  if (r.error !== undefined) return refuse(r.error);
  if (!adopt(s, out, r.doc, s.self)) return refuse('the change makes the configuration invalid');
  out.push({ type: 'publish', doc: r.doc }, { type: 'log', level: 'info', message: r.message, fields: { epoch: r.doc.epoch } });
  if (q.reply) s.pending = [...s.pending, { ...q.reply, epoch: r.doc.epoch, message: r.message }];
}
