/**
 * Parameter digests: a hash of the parameters an operation ran with, recorded with its result, so
 * that a later change of the resource's definition can be noticed by comparing digests (the
 * scheduler then restarts the resource, or reloads it). One function computes the parameters and
 * one the digest, so the executor that records and the scheduler that compares always agree.
 */
import { createHash } from 'node:crypto';
import type { Operation, Primitive } from './config.js';

/**
 * The parameters an operation of `prim` runs with on `node`: the node's own parameter set
 * (`paramsByNode`, from rules in an imported CIB) or the primitive's, with the operation's own
 * parameters on top.
 */
export function operationParams(prim: Primitive, node: string | undefined, op: Operation | undefined): Record<string, unknown> {
  const base = (node !== undefined ? prim.paramsByNode?.[node] : undefined) ?? prim.params;
  return { ...base, ...(op?.params ?? {}) };
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v !== null && typeof v === 'object')
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
    );
  return v;
}

const PREFIX = 'sha256:';

/**
 * The one-shot actions whose recorded digest says which definition a running resource has (a
 * probe that found it running counts too; see the scheduler's definition changes).
 */
export const DEFINING_ACTIONS: ReadonlySet<string> = new Set(['start', 'promote', 'migrate_from', 'reload']);

/** A digest made by `paramsDigest` (as opposed to one imported from a Pacemaker CIB). */
export function isNativeDigest(digest: string): boolean {
  return digest.startsWith(PREFIX);
}

/** A stable digest of a parameter set (key order does not matter): "sha256:" and 32 hex digits. */
export function paramsDigest(params: Readonly<Record<string, unknown>>): string {
  return `${PREFIX}${createHash('sha256')
    .update(JSON.stringify(canonical(params)))
    .digest('hex')
    .slice(0, 32)}`;
}
