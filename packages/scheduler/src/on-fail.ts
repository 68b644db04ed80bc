/**
 * What a failed operation leads to, as tables (Pacemaker's on-fail handling in unpack_rsc_op and
 * process_rsc_state): the configured `on-fail` of the operation maps to a response, responses are
 * ranked (the worst one over a history wins), and each response has fixed effects on the node, on
 * the resource, and on the resource when it is still active. The history replay (history/) applies them.
 */
import type { OnFail, Role } from '@paceline/model';

export type FailResponse = 'ignore' | 'demote' | 'recover' | 'migrate' | 'block' | 'stop' | 'standby' | 'fence';

export interface FailResponseRule {
  /** Worse responses win over milder ones when a history has several failures. */
  readonly rank: number;
  /** What it does to the node the failure happened on. */
  readonly node?: 'fence' | 'standby';
  /** What it does to the resource, active or not. */
  readonly resource?: 'mark-failed' | 'block' | 'ban-here' | 'stop' | 'recover-if-active';
  /** A resource still active after the failure: left alone, marked failed, or stopped for recovery. */
  readonly whenActive: 'nothing' | 'mark-failed' | 'recover';
  /** A later success (a start, a stop, the same monitor passing) forgets the failure. */
  readonly clearedBySuccess: boolean;
}

export const FAIL_RESPONSES: Readonly<Record<FailResponse, FailResponseRule>> = {
  ignore: { rank: 0, whenActive: 'nothing', clearedBySuccess: true },
  demote: { rank: 1, resource: 'mark-failed', whenActive: 'mark-failed', clearedBySuccess: true },
  recover: { rank: 2, resource: 'recover-if-active', whenActive: 'recover', clearedBySuccess: true },
  migrate: { rank: 3, resource: 'ban-here', whenActive: 'recover', clearedBySuccess: false },
  block: { rank: 4, resource: 'block', whenActive: 'mark-failed', clearedBySuccess: true },
  stop: { rank: 5, resource: 'stop', whenActive: 'recover', clearedBySuccess: false },
  standby: { rank: 6, node: 'standby', whenActive: 'recover', clearedBySuccess: false },
  fence: { rank: 7, node: 'fence', whenActive: 'recover', clearedBySuccess: false },
};

/** The worse of two responses. */
export function worseResponse(a: FailResponse, b: FailResponse): FailResponse {
  return FAIL_RESPONSES[a].rank < FAIL_RESPONSES[b].rank ? b : a;
}

interface ConfiguredRule {
  readonly response: (stonith: boolean) => FailResponse;
  /** The role the resource may keep after the failure, when it differs from the action's default. */
  readonly failRole?: (stonith: boolean) => Role | undefined;
}

/** Configured on-fail → response (and role limit). */
const CONFIGURED: Readonly<Record<OnFail, ConfiguredRule>> = {
  block: { response: () => 'block' },
  fence: { response: (stonith) => (stonith ? 'fence' : 'stop'), failRole: (stonith) => (stonith ? undefined : 'Stopped') },
  standby: { response: () => 'standby' },
  ignore: { response: () => 'ignore' },
  stop: { response: () => 'stop', failRole: () => 'Stopped' },
  restart: { response: () => 'recover' },
  demote: { response: () => 'demote', failRole: () => 'Unpromoted' },
};

/** A stop cannot be answered by these (Pacemaker falls back to the default for a stop). */
const NOT_FOR_STOP: ReadonlySet<OnFail> = new Set(['standby', 'demote', 'stop']);

/**
 * The response to a failure of `action` with the operation's configured on-fail (undefined: the
 * default, which is recover, and for a stop fence, or block without fencing).
 */
export function failResponseFor(configured: OnFail | undefined, action: string, stonith: boolean): { onFail: FailResponse; failRole: Role } {
  const effective = action === 'stop' && configured !== undefined && NOT_FOR_STOP.has(configured) ? undefined : configured;
  const defaultRole: Role = action === 'promote' ? 'Unpromoted' : 'Started';
  if (effective === undefined) return { onFail: action === 'stop' ? (stonith ? 'fence' : 'block') : 'recover', failRole: defaultRole };
  const rule = CONFIGURED[effective];
  return { onFail: rule.response(stonith), failRole: rule.failRole?.(stonith) ?? defaultRole };
}
