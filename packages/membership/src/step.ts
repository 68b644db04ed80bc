/**
 * The membership state machine: `step(state, input) → { state, outbox, events }`. Pure and
 * deterministic: no clock, no randomness, no I/O; peers and links are visited in sorted order.
 * The caller feeds a `tick` every `tickMs`, feeds decoded packets, sends the outbox, and acts on
 * the events.
 *
 * One step: the state is copied into a writable draft (draft.ts), the input changes it — a tick
 * (tick.ts), a peer's packet (receive.ts), or one of the small inputs below — and then everything
 * that follows from the peers' state is derived again (reconcile.ts). Settings and the first state:
 * init.ts. `stepAll` takes several inputs at once (one copy of the state for all of them).
 */
import { daemonDown, drop, draft, type S } from './draft.js';
import { onMessage } from './receive.js';
import { reconcile } from './reconcile.js';
import { voteResult, witnessFresh } from './safety.js';
import type { MembershipEvent, MembershipInput, MembershipState, Outgoing, StepResult } from './state.js';
import { onTick } from './tick.js';

export { initialState, reconfigure, resolveConfig } from './init.js';
export { fenceDelay } from './reconcile.js';
export { isRefresh } from './receive.js';

/** Advances the state machine by one input. Never throws on peer input; invalid input is counted. */
export function step(state: MembershipState, input: MembershipInput): StepResult {
  return stepAll(state, [input]);
}

/**
 * Advances the state machine by several inputs in order: the same result as stepping them one by one
 * (each input, then everything that follows from it), with one copy of the state — what a caller
 * that queues the heartbeats it received until its next tick uses (see `isRefresh`).
 */
export function stepAll(state: MembershipState, inputs: readonly MembershipInput[]): StepResult {
  const s = draft(state);
  const out: Outgoing[] = [];
  const ev: MembershipEvent[] = [];
  for (const input of inputs) {
    apply(s, input, out, ev);
    reconcile(s, ev);
  }
  return { state: s as MembershipState, outbox: out, events: ev };
}

function apply(s: S, input: MembershipInput, out: Outgoing[], ev: MembershipEvent[]): void {
  switch (input.type) {
    case 'tick':
      onTick(s, out, ev);
      break;
    case 'message':
      onMessage(s, input.link, input.from, input.message, ev);
      break;
    case 'dropped':
      drop(s, ev, input.link, input.reason, input.from, input.detail);
      break;
    case 'witness': {
      const wasUp = witnessFresh(s as MembershipState);
      s.witnessUpSince = input.reachable ? (wasUp ? s.witnessUpSince : s.tick) : undefined;
      s.witness = { reachable: input.reachable, tick: s.tick };
      break;
    }
    case 'fence-result':
      onFenceResult(s, input.node, input.ok, input.detail, ev);
      break;
    case 'unreachable':
      onUnreachable(s, input.link, input.node, ev);
      break;
    case 'vote':
      onVote(s, input, ev);
      break;
    case 'weights':
      s.weights = { ...input.weights };
      break;
    case 'leave':
      if (!s.leaving) {
        s.leaving = true;
        for (const [peer, links] of Object.entries(s.config.peerLinks))
          for (const link of links) out.push({ link, to: peer, message: { v: 1, type: 'leave', from: s.self, to: peer, link, boot: s.boot, seq: ++s.seq } });
      }
      break;
  }
}

function onVote(s: S, input: Extract<MembershipInput, { type: 'vote' }>, ev: MembershipEvent[]): void {
  if (s.vote.phase === 'none') return; // a late answer after the vote was given back
  const before = voteResult(s as MembershipState);
  s.vote = {
    phase: input.result,
    at: s.tick,
    ...(input.holder !== undefined ? { holder: input.holder } : {}),
    ...(input.detail !== undefined ? { detail: input.detail } : {}),
  };
  if (before !== input.result)
    ev.push({
      type: 'vote-changed',
      result: input.result,
      ...(input.holder !== undefined ? { holder: input.holder } : {}),
      ...(input.detail !== undefined ? { detail: input.detail } : {}),
    });
}

function onUnreachable(s: S, link: string, node: string, ev: MembershipEvent[]): void {
  const p = s.peers[node];
  const l = p?.links[link];
  if (p === undefined || l === undefined) return; // not a peer on that link: nothing to learn
  if (l.refusedAt !== undefined) return;
  l.refusedAt = s.tick;
  // A peer never seen since this node started is not news (its daemon is not up yet).
  if (!p.member && !p.left && p.lostAt !== undefined && daemonDown(p)) ev.push({ type: 'peer-daemon-down', node });
}

function onFenceResult(s: S, node: string, ok: boolean, detail: string | undefined, ev: MembershipEvent[]): void {
  const p = s.peers[node];
  if (p === undefined || p.fence.phase !== 'requested') return; // stale or unsolicited result: ignore
  if (ok) {
    // (An identity conflict stays: the fencing device powered off one machine; a copy elsewhere may
    // still run. It ends when every copy is silent and a newer incarnation speaks.)
    p.fence = { phase: 'confirmed', at: s.tick };
    ev.push({ type: 'fence-confirmed', node });
  } else {
    const retry = s.config.fenceRetryTicks;
    p.fence = { phase: 'failed', retryTick: s.tick + retry };
    ev.push({ type: 'fence-failed', node, retryInTicks: retry, ...(detail !== undefined ? { detail } : {}) });
  }
}
