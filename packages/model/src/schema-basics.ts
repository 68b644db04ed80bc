/**
 * The small schemas the configuration's parts share: scores, ids, roles, on-fail policies and
 * action names. Part of config.ts's public API (it re-exports them); `Id` stays inside the model.
 */
import { z } from 'zod';
import { parseScore, type Score } from './score.js';

/** A score: a number, or "INFINITY" / "+INFINITY" / "-INFINITY". */
export const ScoreSchema = z.union([z.number(), z.string()]).transform((v, ctx): Score => {
  const s = parseScore(v);
  if (s === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${v}" is not a score (a whole number, INFINITY or -INFINITY)` });
    return z.NEVER;
  }
  return s;
});

/** An id of a resource, a constraint or a node. */
export const Id = z
  .string()
  .min(1, 'an id must not be empty')
  .regex(/^[A-Za-z0-9_.:@+-]+$/, 'an id may contain only letters, digits and _ . : @ + -');

export const Role = z.enum(['Stopped', 'Started', 'Unpromoted', 'Promoted']);
export type Role = z.infer<typeof Role>;

/** Roles a constraint may name; `Started` in a constraint means "any active role". */
export const ConstraintRole = z.enum(['Started', 'Unpromoted', 'Promoted']);

export const OnFail = z.enum(['ignore', 'block', 'stop', 'restart', 'standby', 'fence', 'demote']);
export type OnFail = z.infer<typeof OnFail>;

export const ActionName = z.enum(['start', 'stop', 'monitor', 'promote', 'demote', 'migrate_to', 'migrate_from', 'reload', 'notify']);
export type ActionName = z.infer<typeof ActionName>;
