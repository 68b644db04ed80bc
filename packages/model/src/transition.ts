/**
 * What the scheduler produces: the target placement, a graph of actions with ordering edges,
 * a Pacemaker-style summary, and an explanation of every score and action.
 */
import type { Role } from './config.js';
import type { Score } from './score.js';

// One action of the graph (GraphAction) is defined in action.ts: it crosses the wire, so it has a schema.
import type { GraphAction } from './action.js';

/** `before` must complete before `after` starts. */
export interface OrderEdge {
  readonly before: string;
  readonly after: string;
  /** The constraint or rule that created the edge. */
  readonly reason: string;
}

export type SummaryKind = 'start' | 'stop' | 'move' | 'migrate' | 'recover' | 'restart' | 'reload' | 'promote' | 'demote' | 're-promote' | 'fence';

/** One line of the transition summary, as crm_simulate words it. */
export interface SummaryLine {
  readonly action: SummaryKind;
  /** Primitive id (clone suffix removed). */
  readonly resource?: string;
  /** Instance id with clone suffix ("rsc:1"), when it differs from resource. */
  readonly instance?: string;
  readonly from: string | null;
  readonly to: string | null;
  readonly role?: Role;
  readonly nextRole?: Role;
  readonly blocked: boolean;
  readonly reason?: string;
  /** For fencing. */
  readonly node?: string;
  readonly fenceType?: 'reboot' | 'off' | 'on';
}

/** Where one resource instance should be after the transition. */
export interface InstancePlacement {
  /** Primitive id. */
  readonly resource: string;
  /** Instance id ("rsc" or "rsc:N"). */
  readonly instance: string;
  readonly node: string | null;
  readonly role: Role;
  readonly group?: string;
  readonly clone?: string;
  /** The instance is left where it is although unmanaged or blocked. */
  readonly managed: boolean;
  readonly failed: boolean;
}

/** One named addend of a resource's score on a node. */
export interface ScoreContribution {
  /** What contributed: "location loc-web", "stickiness", "colocation web-with-ip", "fail count", "standby" ... */
  readonly source: string;
  readonly score: Score;
  readonly detail?: string;
}

export interface NodeScore {
  readonly resource: string;
  readonly node: string;
  readonly total: Score;
  readonly contributions: readonly ScoreContribution[];
}

export interface Explanation {
  /** Scores used for placement, per resource instance and node. */
  readonly scores: readonly NodeScore[];
  /** Human-readable decisions, e.g. "web: moving serv1 -> serv2 because serv1 is in standby". */
  readonly decisions: readonly { readonly resource: string; readonly text: string }[];
}

export interface Transition {
  /** Where instances are now, as the scheduler read the status (before this transition). */
  readonly current: readonly InstancePlacement[];
  /** Where instances will be after this transition (blocked actions leave instances where they are). */
  readonly placement: readonly InstancePlacement[];
  readonly actions: readonly GraphAction[];
  readonly edges: readonly OrderEdge[];
  readonly summary: readonly SummaryLine[];
  readonly explanation: Explanation;
  /** Problems found while scheduling that did not stop it (e.g. a constraint naming an unknown node). */
  readonly warnings: readonly string[];
}
