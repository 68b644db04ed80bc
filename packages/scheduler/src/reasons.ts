/**
 * Why a score is what it is, as data: every contribution to a resource's score on a node carries a
 * typed cause (a `kind` plus what it needs), and `formatCause` is the one place that turns a cause
 * into the text the explanation prints. Logic asks the kind (`isBan`, `kind === 'stickiness'`),
 * never the text.
 */
import { INFINITY } from '@paceline/model';

/** Why a node is ruled out (or pushed down) for a resource. */
export type Ban =
  | { readonly kind: 'node-state'; readonly state: 'offline' | 'unclean' | 'in standby' | 'in maintenance' | 'shutting down' }
  | { readonly kind: 'fail-count'; readonly count: number; readonly threshold: number }
  | { readonly kind: 'discovery-exclusive' }
  | { readonly kind: 'capacity' }
  | { readonly kind: 'role-stopped'; readonly why: string }
  /** What the operation history found (unpack's score adjustments): "stop failed here", ... */
  | { readonly kind: 'history'; readonly what: string }
  | { readonly kind: 'clone-instance'; readonly limit: InstanceLimit }
  | { readonly kind: 'no-partner'; readonly colocation: string; readonly primary: string };

/** Per-node limits on a clone instance (clone/stage.ts). */
export type InstanceLimit =
  { readonly kind: 'cannot-run' } | { readonly kind: 'clone-banned'; readonly clone: string } | { readonly kind: 'node-max'; readonly max: number };

export type Cause =
  | { readonly kind: 'location'; readonly constraint: string }
  | { readonly kind: 'node-health'; readonly strategy: string }
  | { readonly kind: 'stickiness' }
  /** A positive adjustment from the operation history ("unmanaged and active here"). */
  | { readonly kind: 'history'; readonly what: string }
  | { readonly kind: 'colocation'; readonly colocation: string; readonly primary: string }
  /** Preferences of a resource colocated with this one (or, `via`, with its clone). */
  | { readonly kind: 'preferences'; readonly colocation: string; readonly dependent: string; readonly via?: string }
  | { readonly kind: 'promotion-score' }
  /** Opt-in cluster without a location constraint for this node. */
  | { readonly kind: 'not-allowed' }
  | { readonly kind: 'ban'; readonly ban: Ban };

/** A cause with its score (what the stages record per resource and node). */
export interface Contribution {
  readonly cause: Cause;
  readonly score: number;
}

export const isBan = (c: Cause): boolean => c.kind === 'ban';

export function formatInstanceLimit(l: InstanceLimit): string {
  switch (l.kind) {
    case 'cannot-run':
      return 'clone instance cannot run here';
    case 'clone-banned':
      return `clone ${l.clone} is banned here`;
    case 'node-max':
      return `clone-node-max (${l.max}) reached`;
  }
}

export function formatBan(b: Ban): string {
  switch (b.kind) {
    case 'node-state':
      return `node ${b.state}`;
    case 'fail-count':
      return `fail count ${b.count} ≥ migration-threshold ${b.threshold}`;
    case 'discovery-exclusive':
      return 'resource-discovery=exclusive elsewhere';
    case 'capacity':
      return 'not enough capacity (utilization)';
    case 'role-stopped':
      return `${b.why} (role Stopped)`;
    case 'history':
      return b.what;
    case 'clone-instance':
      return formatInstanceLimit(b.limit);
    case 'no-partner':
      return `colocation ${b.colocation}: no instance of ${b.primary} to pair with`;
  }
}

/** The one formatter: the text the explanation prints for a cause. */
export function formatCause(c: Cause): string {
  switch (c.kind) {
    case 'location':
      return `location ${c.constraint}`;
    case 'node-health':
      return `location node health (${c.strategy})`;
    case 'stickiness':
      return 'stickiness';
    case 'history':
      return c.what;
    case 'colocation':
      return `colocation ${c.colocation} with ${c.primary}`;
    case 'preferences':
      return `preferences of ${c.dependent} (colocated with ${c.via ?? 'it'} by ${c.colocation})`;
    case 'promotion-score':
      return 'promotion score';
    case 'not-allowed':
      return 'not allowed (opt-in cluster without a location constraint for this node)';
    // "no partner" was always printed without the "banned:" prefix.
    case 'ban':
      return c.ban.kind === 'no-partner' ? formatBan(c.ban) : `banned: ${formatBan(c.ban)}`;
  }
}

/** What a ban costs: the score it stands for in the explanation. */
export const BANNED = -INFINITY;
