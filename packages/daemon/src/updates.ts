/**
 * Administrative changes to the replicated cluster document, as pure functions: each returns a new
 * document with the epoch raised by one, or a clear error. Move and ban are location constraints
 * with well-known ids (`cli-prefer-RSC`, `cli-ban-RSC-on-NODE`) that `resource clear` removes.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { MAX_EPOCH, validateConfig, formatIssues, listResourceIds, type ClusterConfig, type ClusterConfigInput, type ConfigIssue } from '@paceline/model';
import type { ClusterDoc } from './messages.js';

const Name = z.string().min(1).max(255);

export const UpdateRequest = z.discriminatedUnion('op', [
  z.strictObject({ op: z.literal('standby'), node: Name, on: z.boolean() }),
  z.strictObject({ op: z.literal('quarantine'), node: Name, reason: z.string().min(1).max(1000) }),
  z.strictObject({ op: z.literal('clear-node'), node: Name }),
  z.strictObject({ op: z.literal('move'), resource: Name, node: Name }),
  z.strictObject({ op: z.literal('ban'), resource: Name, node: Name }),
  z.strictObject({ op: z.literal('clear'), resource: Name, node: Name.optional() }),
  z.strictObject({ op: z.literal('target-role'), resource: Name, role: z.enum(['Started', 'Stopped']).optional() }),
  /**
   * Replace the whole configuration; `epoch` (if the file names one) must be newer than the cluster's.
   * A configuration that drops a current member, or has no nodes or no resources where the cluster
   * has some, is refused unless `force` (see `replaceRisks`).
   */
  z.strictObject({
    op: z.literal('replace'),
    config: z.record(z.string(), z.unknown()),
    epoch: z.number().int().nonnegative().optional(),
    force: z.boolean().optional(),
  }),
]);
export type UpdateRequest = z.infer<typeof UpdateRequest>;

/** A change made (the new document), or refused: why, and for a configuration that does not validate, each issue with its path. */
export type UpdateOutcome =
  | { readonly doc: ClusterDoc; readonly message: string; readonly error?: undefined; readonly issues?: undefined }
  | { readonly doc?: undefined; readonly error: string; readonly issues?: readonly ConfigIssue[] };

export const preferId = (resource: string): string => `cli-prefer-${resource}`;
export const banId = (resource: string, node: string): string => `cli-ban-${resource}-on-${node}`;

/**
 * A document's configuration parsed with the model's schema: the configuration, and the same as
 * written (typed: edits of the document go through it) — or every issue with its path and a
 * message naming the epoch.
 */
export type DocConfig =
  | { readonly ok: true; readonly config: ClusterConfig; readonly written: ClusterConfigInput }
  | { readonly ok: false; readonly config?: undefined; readonly issues: readonly ConfigIssue[]; readonly message: string };

/** Parses a document's configuration (with its epoch). */
export function parseDocConfig(doc: ClusterDoc): DocConfig {
  // Once per document object (documents are values, never changed in place): a change applied by
  // the coordinator was validated by applyUpdate on the current document, again on the new one, and
  // a third time when the core adopted it — ~0.1 s each at 1,000 resources, with the event loop held.
  let parsed = parsedDocs.get(doc);
  if (parsed === undefined) parsedDocs.set(doc, (parsed = validateDoc(doc)));
  return parsed;
}

const parsedDocs = new WeakMap<ClusterDoc, DocConfig>();

function validateDoc(doc: ClusterDoc): DocConfig {
  const written = { ...doc.config, epoch: doc.epoch };
  const r = validateConfig(written);
  if (!r.config) return { ok: false, issues: r.issues, message: formatIssues(r.issues, `configuration epoch ${doc.epoch}`) };
  // It validated: it has the configuration's input shape.
  return { ok: true, config: r.config, written: written as ClusterConfigInput };
}

function withConfig(doc: ClusterDoc, written: Readonly<Record<string, unknown>>, message: string, epoch = doc.epoch + 1): UpdateOutcome {
  const next: ClusterDoc = { ...doc, epoch, config: { ...written, epoch } };
  const p = parseDocConfig(next);
  if (!p.ok) return { error: p.message, issues: p.issues };
  return { doc: next, message: `${message} (epoch ${epoch})` };
}

/**
 * Quarantine or clear a node: only the document's quarantine and epoch change. The new document's
 * configuration is the current one with the new epoch, and is known to parse as the current one
 * did (remembered for parseDocConfig: validating 1,000 resources again held the event loop ~0.1 s
 * between a peer's fencing and the failover's scheduler run).
 */
function quarantineUpdate(
  doc: ClusterDoc,
  current: Extract<DocConfig, { ok: true }>,
  config: ClusterConfig,
  req: Extract<UpdateRequest, { op: 'quarantine' | 'clear-node' }>,
  next: number,
): UpdateOutcome {
  const bad = checkNode(config, req.node);
  if (bad) return { error: bad };
  const quarantine = { ...doc.quarantine };
  let message: string;
  if (req.op === 'quarantine') {
    if (doc.quarantine[req.node] !== undefined) return { error: `${req.node} is already quarantined: ${doc.quarantine[req.node]}` };
    quarantine[req.node] = req.reason;
    message = `${req.node} quarantined: ${req.reason} (epoch ${next})`;
  } else {
    if (doc.quarantine[req.node] === undefined) return { error: `${req.node} is not quarantined` };
    delete quarantine[req.node];
    message = `${req.node} cleared: it may run resources again (epoch ${next})`;
  }
  const written = { ...current.written, epoch: next };
  const nextDoc: ClusterDoc = { ...doc, epoch: next, config: written, quarantine };
  if (next <= MAX_EPOCH) parsedDocs.set(nextDoc, { ok: true, config: { ...current.config, epoch: next }, written });
  return { doc: nextDoc, message };
}

function checkNode(config: ClusterConfig, node: string): string | undefined {
  return config.nodes.some((n) => n.name === node)
    ? undefined
    : `no node "${node}" in the configuration (nodes: ${config.nodes.map((n) => n.name).join(', ')})`;
}

function checkResource(config: ClusterConfig, resource: string): string | undefined {
  return listResourceIds(config).has(resource) ? undefined : `no resource "${resource}" in the configuration`;
}

/**
 * What replacing `current` by `next` would do that is rarely meant (an empty or truncated file
 * applied by mistake): drop a node that is a member now (it leaves the cluster, its resources keep
 * running unmanaged), leave no nodes, or leave no resources where there were some. Empty: nothing.
 */
export function replaceRisks(current: ClusterConfig, next: ClusterConfig, members: readonly string[]): string[] {
  const out: string[] = [];
  if (next.nodes.length === 0) out.push('it has no nodes (every node would leave the cluster, its resources left running unmanaged)');
  else {
    const dropped = members.filter((m) => current.nodes.some((n) => n.name === m) && !next.nodes.some((n) => n.name === m)).sort();
    if (dropped.length > 0)
      out.push(
        `it drops ${dropped.join(', ')}, ${dropped.length === 1 ? 'a current member' : 'current members'} (${dropped.length === 1 ? 'its' : 'their'} resources would be left running unmanaged)`,
      );
  }
  if (next.resources.length === 0 && current.resources.length > 0)
    out.push(`it has no resources (the cluster's ${current.resources.length} would be left running unmanaged or stopped as orphans)`);
  return out;
}

/**
 * Applies one change to `doc` (whose configuration `config` is the parsed form). The new document
 * gets epoch `next` (default: one more than `doc`'s; the coordinator skips one while a peer is
 * proven down, see core.ts `nextEpoch`); a `replace` that names a higher epoch gets that one.
 * `members`: the current members, which a `replace` may drop only when forced.
 */
export function applyUpdate(doc: ClusterDoc, config: ClusterConfig, req: UpdateRequest, next = doc.epoch + 1, members: readonly string[] = []): UpdateOutcome {
  if (!(Number.isInteger(next) && next > doc.epoch)) throw new RangeError(`applyUpdate: the next epoch must be above ${doc.epoch}, got ${next}`);
  const current = parseDocConfig(doc);
  if (!current.ok) return { error: current.message, issues: current.issues };
  if (req.op === 'quarantine' || req.op === 'clear-node') return quarantineUpdate(doc, current, config, req, next);
  const raw = structuredClone(current.written);
  switch (req.op) {
    case 'standby': {
      const bad = checkNode(config, req.node);
      if (bad) return { error: bad };
      raw.nodes = (raw.nodes ?? []).map((n) => (n.name === req.node ? { ...n, standby: req.on } : n));
      return withConfig(doc, raw, `${req.node} is ${req.on ? 'in standby' : 'online'}`, next);
    }
    case 'move':
    case 'ban': {
      const bad = checkResource(config, req.resource) ?? checkNode(config, req.node);
      if (bad) return { error: bad };
      const id = req.op === 'move' ? preferId(req.resource) : banId(req.resource, req.node);
      const constraint = { type: 'location', id, resource: req.resource, node: req.node, score: req.op === 'move' ? 'INFINITY' : '-INFINITY' } as const;
      raw.constraints = [...(raw.constraints ?? []).filter((c) => c.id !== id), constraint];
      return withConfig(
        doc,
        raw,
        req.op === 'move' ? `${req.resource} moves to ${req.node} (constraint ${id})` : `${req.resource} banned from ${req.node} (constraint ${id})`,
        next,
      );
    }
    case 'clear':
      return clearConstraints(doc, config, raw, req, next);
    case 'target-role': {
      const bad = checkResource(config, req.resource);
      if (bad) return { error: bad };
      const found = setTargetRole(raw.resources ?? [], req.resource, req.role);
      if (!found) return { error: `resource "${req.resource}" is not a top-level or member resource that takes meta attributes` };
      return withConfig(doc, raw, `${req.resource} target role ${req.role ?? 'default'}`, next);
    }
    case 'replace':
      return replaceConfig(doc, config, req, next, members);
  }
}

/** `resource clear`: removes the move and ban constraints of a resource (those on one node only, when `req.node` is given). */
function clearConstraints(
  doc: ClusterDoc,
  config: ClusterConfig,
  raw: ClusterConfigInput,
  req: Extract<UpdateRequest, { op: 'clear' }>,
  next: number,
): UpdateOutcome {
  const bad = checkResource(config, req.resource);
  if (bad) return { error: bad };
  const ids = new Set(
    (raw.constraints ?? [])
      .map((c) => c.id)
      .filter((id) =>
        req.node === undefined
          ? id === preferId(req.resource) || id.startsWith(`cli-ban-${req.resource}-on-`)
          : id === banId(req.resource, req.node) || id === preferId(req.resource),
      ),
  );
  if (ids.size === 0) return { error: `no move or ban constraints for ${req.resource}` };
  raw.constraints = (raw.constraints ?? []).filter((c) => !ids.has(c.id));
  return withConfig(doc, raw, `removed ${[...ids].sort().join(', ')}`, next);
}

/** `config apply`: the whole configuration replaced; an epoch not above the cluster's is a conflicting edit, and the risks of `replaceRisks` need `force`. */
function replaceConfig(
  doc: ClusterDoc,
  config: ClusterConfig,
  req: Extract<UpdateRequest, { op: 'replace' }>,
  next: number,
  members: readonly string[],
): UpdateOutcome {
  if (req.epoch !== undefined && req.epoch <= doc.epoch) {
    const same = JSON.stringify(stripEpoch(req.config)) === JSON.stringify(stripEpoch(doc.config));
    if (same) return { error: `nothing to do: the cluster already has this configuration (epoch ${doc.epoch})` };
    return {
      error: `conflicting edit: the file says epoch ${req.epoch} but the cluster is at epoch ${doc.epoch} and its configuration differs (someone changed it since the file was written). Run \`paceline config show\`, merge your change, and apply with epoch ${doc.epoch + 1} or without an epoch`,
    };
  }
  const r = withConfig(doc, stripEpoch(req.config), 'configuration replaced', Math.max(req.epoch ?? 0, next));
  if (r.doc === undefined || req.force === true) return r;
  const replaced = parseDocConfig(r.doc);
  if (!replaced.ok) return { error: replaced.message, issues: replaced.issues }; // withConfig checked it
  const risks = replaceRisks(config, replaced.config, members);
  if (risks.length > 0) return { error: `refusing to replace the configuration: ${risks.join('; ')}. If that is what you mean, apply it with --force` };
  return r;
}

function stripEpoch(c: Record<string, unknown>): Record<string, unknown> {
  const { epoch: _e, ...rest } = c;
  return rest;
}

type ResourceInput = NonNullable<ClusterConfigInput['resources']>[number];

/** Sets (or, without a role, removes) the target role of resource `id` wherever it is: top level, in a group, as a clone's child. */
function setTargetRole(resources: ResourceInput[], id: string, role: 'Started' | 'Stopped' | undefined): boolean {
  for (const r of resources) {
    if (r.id === id) {
      // Per variant: each has its own meta type, all with targetRole.
      if (r.type === 'primitive') r.meta = withRole({ ...r.meta }, role);
      else if (r.type === 'group') r.meta = withRole({ ...r.meta }, role);
      else r.meta = withRole({ ...r.meta }, role);
      return true;
    }
    if (r.type === 'group' && setTargetRole(r.members, id, role)) return true;
    if (r.type === 'clone' && setTargetRole([r.child], id, role)) return true;
  }
  return false;
}

function withRole<M extends { targetRole?: string | undefined }>(meta: M, role: 'Started' | 'Stopped' | undefined): M {
  delete meta.targetRole;
  return role === undefined ? meta : { ...meta, targetRole: role };
}

/** Same epoch, same content? (key order independent enough for documents built by this code and YAML) */
export function sameDoc(a: ClusterDoc, b: ClusterDoc): boolean {
  return a.epoch === b.epoch && canonical(a) === canonical(b);
}

/** A short identity of a document: `EPOCH/HASH` (equal for documents that `sameDoc` finds equal). */
export function docKey(doc: ClusterDoc): string {
  return `${doc.epoch}/${createHash('sha256').update(canonical(doc)).digest('hex').slice(0, 20)}`;
}

function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([p], [q]) => (p < q ? -1 : 1))) : x,
  );
}
