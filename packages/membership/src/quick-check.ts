/**
 * A quick check of a usual heartbeat, in front of its zod schema (messages.ts), which stays the
 * definition: `quickHeartbeat(json)` returns the heartbeat only when the schema would accept the
 * value as it is, and undefined for anything else — then the codec asks the schema, which accepts
 * or names what is wrong. A node at rest checks 40 heartbeats a second; going through the schema's
 * general machinery was the largest single cost of a daemon at rest (issue 13). The property test
 * (test/quick-check.test.ts) checks against the schema that whatever this accepts, the schema
 * accepts with the same value, and that every heartbeat the schema accepts is accepted here too.
 */
import type { Heartbeat } from './messages.js';

const NAME = /^[A-Za-z0-9_.:@+-]+$/;
const MAX_MEMBERS = 1024;
const MAX_CONFLICT = 2;

/** Every key a heartbeat may have: the value says whether it is required. */
const KEYS: Readonly<Record<string, boolean>> = {
  v: true,
  type: true,
  from: true,
  to: true,
  link: true,
  boot: true,
  seq: true,
  sentAt: false,
  membershipId: true,
  members: true,
  coordinator: true,
  term: true,
  peerBoot: false,
  conflict: false,
};
const REQUIRED = Object.values(KEYS).filter(Boolean).length;

function isName(x: unknown): boolean {
  return typeof x === 'string' && x.length >= 1 && x.length <= 255 && NAME.test(x);
}

/** The schema's `Counter` (and `sentAt`): a non-negative safe integer. */
function isCounter(x: unknown): boolean {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

function allOf(x: unknown, max: number, each: (y: unknown) => boolean): boolean {
  if (!Array.isArray(x) || x.length > max) return false;
  for (const y of x) if (!each(y)) return false;
  return true;
}

/** The heartbeat when `json` (a freshly parsed JSON value) is one the schema accepts; undefined when unsure. */
export function quickHeartbeat(json: unknown): Heartbeat | undefined {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return undefined;
  const m = json as Record<string, unknown>;
  let required = 0;
  for (const k of Object.keys(m)) {
    if (!Object.hasOwn(KEYS, k)) return undefined;
    if (KEYS[k] === true) required += 1;
  }
  if (required !== REQUIRED) return undefined;
  if (m.v !== 1 || m.type !== 'heartbeat') return undefined;
  if (!isName(m.from) || !isName(m.to) || !isName(m.link) || !isName(m.coordinator)) return undefined;
  if (!isCounter(m.boot) || !isCounter(m.seq) || !isCounter(m.membershipId) || !isCounter(m.term)) return undefined;
  if (!allOf(m.members, MAX_MEMBERS, isName)) return undefined;
  if (Object.hasOwn(m, 'sentAt') && !isCounter(m.sentAt)) return undefined;
  if (Object.hasOwn(m, 'peerBoot') && !isCounter(m.peerBoot)) return undefined;
  if (Object.hasOwn(m, 'conflict') && !allOf(m.conflict, MAX_CONFLICT, isCounter)) return undefined;
  return m as Heartbeat;
}
