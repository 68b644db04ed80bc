/**
 * CIB constraints (rsc_location, rsc_colocation, rsc_order, with rules, resource sets, tags and
 * template references) → the model's Constraint inputs. Pacemaker ignores constraints naming
 * resources that do not exist; so does the import (and reports it).
 */
import { parseScore } from '@paceline/model';
import type { ConfigContext, ResourceIndex } from './config.js';
import { constraintRole, importRule, scoreText } from './constraint-rules.js';
import { childrenOf, parseBool, resolveRef, type XmlElement } from './xml.js';

type Obj = Record<string, unknown>;

const ACTIONS = ['start', 'stop', 'monitor', 'promote', 'demote', 'migrate_to', 'migrate_from', 'reload', 'notify'];

interface RefContext extends ConfigContext {
  readonly index: ResourceIndex;
  /** Tag id → referenced ids. */
  readonly tags: Map<string, string[]>;
}

/** Resolves a reference to resources: a resource id, a tag, or a template (→ its primitives). */
function expandRef(id: string, ctx: RefContext): { ids: string[]; isTag: boolean } | undefined {
  if (ctx.index.resources.has(id)) return { ids: [id], isTag: false };
  const tag = ctx.tags.get(id);
  if (tag) return { ids: tag.filter((r) => ctx.index.resources.has(r)), isTag: true };
  const tmpl = ctx.index.templates.get(id);
  if (tmpl) return { ids: tmpl, isTag: true };
  return undefined;
}

function importSets(c: XmlElement, path: string, ctx: RefContext, forOrder: boolean): Obj[] | undefined {
  const sets: Obj[] = [];
  for (const [i, raw] of childrenOf(c, 'resource_set').entries()) {
    const spath = `${path}/resource_set[${raw.attrs['id'] ?? i}]`;
    const s = resolveRef(raw, ctx.ids);
    if (!s) {
      ctx.log.unsupportedAt(spath, `resource set refers to unknown id "${raw.attrs['id-ref']}"; constraint skipped`);
      return undefined;
    }
    const resources: string[] = [];
    for (const r of childrenOf(s, 'resource_ref')) {
      const id = r.attrs['id'] ?? '';
      const ex = expandRef(id, ctx);
      if (!ex) {
        ctx.log.ignoredAt(
          `${spath}/resource_ref[${id}]`,
          `constraint names "${id}", which is not a resource, tag or template (Pacemaker ignores the constraint)`,
        );
        return undefined;
      }
      resources.push(...ex.ids);
    }
    if (resources.length === 0) continue;
    const set: Obj = { resources };
    if (s.attrs['id'] !== undefined) set['id'] = s.attrs['id'];
    const seq = parseBool(s.attrs['sequential']);
    if (seq !== undefined) set['sequential'] = seq;
    const ra = parseBool(s.attrs['require-all']);
    if (ra !== undefined) set['requireAll'] = ra;
    const role = constraintRole(s.attrs['role'], `${spath}/@role`, ctx);
    if (role === null) return undefined;
    if (role !== undefined) set['role'] = role;
    const action = s.attrs['action'];
    if (action !== undefined) {
      if (!ACTIONS.includes(action)) {
        ctx.log.unsupportedAt(`${spath}/@action`, `action "${action}" is not known; constraint skipped`);
        return undefined;
      }
      set['action'] = action;
    }
    const kind = s.attrs['kind'];
    if (kind !== undefined && ['Mandatory', 'Optional', 'Serialize'].includes(kind)) set['kind'] = kind;
    const score = scoreText(s.attrs['score']);
    if (score !== undefined) set['score'] = score;
    const ordering = s.attrs['ordering']?.toLowerCase();
    if (ordering !== undefined && ordering !== 'group') {
      if (forOrder) ctx.log.ignoredAt(`${spath}/@ordering`, 'Pacemaker 2.1.5 ignores "ordering" on ordering sets');
      else if (ordering !== 'listed') ctx.log.unsupportedAt(`${spath}/@ordering`, `resource set ordering "${ordering}" is not known`);
      else if (childrenOf(c, 'resource_set').length === 1) {
        // "listed": each member is placed with the next one instead of the previous one, which for a
        // lone set is the default ("group") order of the reversed list.
        resources.reverse();
      } else ctx.log.unsupportedAt(`${spath}/@ordering`, 'ordering="listed" in a colocation with several sets is not modelled');
    }
    sets.push(set);
  }
  return forOrder || sets.length > 0 ? sets : sets;
}

const KNOWN_ATTRS: Record<string, ReadonlySet<string>> = {
  rsc_location: new Set(['id', 'rsc', 'rsc-pattern', 'node', 'score', 'role', 'resource-discovery', 'description']),
  rsc_colocation: new Set([
    'id',
    'rsc',
    'with-rsc',
    'score',
    'rsc-role',
    'with-rsc-role',
    'node-attribute',
    'influence',
    'score-attribute',
    'rsc-instance',
    'with-rsc-instance',
    'description',
  ]),
  rsc_order: new Set([
    'id',
    'first',
    'then',
    'first-action',
    'then-action',
    'kind',
    'score',
    'symmetrical',
    'require-all',
    'first-instance',
    'then-instance',
    'description',
  ]),
};

function importLocation(c: XmlElement, path: string, ctx: RefContext): Obj[] {
  const id = c.attrs['id'] ?? '';
  const base: Obj = { type: 'location', id };
  const role = constraintRole(c.attrs['role'], `${path}/@role`, ctx);
  if (role === null) return [];
  if (role !== undefined) base['role'] = role;
  const disc = c.attrs['resource-discovery'];
  if (disc !== undefined) {
    if (['always', 'never', 'exclusive'].includes(disc)) base['resourceDiscovery'] = disc;
    else ctx.log.unsupportedAt(`${path}/@resource-discovery`, `"${disc}" is not a discovery mode`);
  }
  if (c.attrs['node'] !== undefined) {
    const score = scoreText(c.attrs['score']);
    if (score === undefined) {
      ctx.log.unsupportedAt(path, `location for node "${c.attrs['node']}" without a valid score; skipped`);
      return [];
    }
    base['node'] = c.attrs['node'];
    base['score'] = score;
  } else {
    const rules: Obj[] = [];
    childrenOf(c, 'rule').forEach((r, i) => {
      const rule = importRule(r, `${path}/rule[${r.attrs['id'] ?? r.attrs['id-ref'] ?? i}]`, ctx, false);
      if (rule) rules.push(rule);
    });
    if (rules.length === 0) {
      ctx.log.unsupportedAt(path, 'location constraint without node/score or usable rules; skipped');
      return [];
    }
    base['rules'] = rules;
  }
  let targets: string[];
  if (c.attrs['rsc-pattern'] !== undefined) {
    return [{ ...base, resourcePattern: c.attrs['rsc-pattern'] }];
  } else if (c.attrs['rsc'] !== undefined) {
    const ex = expandRef(c.attrs['rsc'], ctx);
    if (!ex) {
      ctx.log.ignoredAt(path, `constraint names "${c.attrs['rsc']}", which is not a resource, tag or template (Pacemaker ignores it)`);
      return [];
    }
    targets = ex.ids;
    if (!ex.isTag) return [{ ...base, resource: targets[0] }];
  } else {
    const sets = importSets(c, path, ctx, false);
    if (!sets) return [];
    targets = sets.flatMap((s) => s['resources'] as string[]);
    const setRoles = new Set(sets.map((s) => s['role']));
    if (setRoles.size === 1 && [...setRoles][0] !== undefined && base['role'] === undefined) base['role'] = [...setRoles][0];
  }
  return targets.map((t) => ({ ...base, id: `${id}-${t}`, resource: t }));
}

function pairToSets(
  c: XmlElement,
  aAttr: string,
  bAttr: string,
  aRole: string | undefined,
  bRole: string | undefined,
  aAction: string | undefined,
  bAction: string | undefined,
  ctx: RefContext,
  path: string,
): { pair?: [string, string]; sets?: Obj[] } | undefined {
  const a = c.attrs[aAttr];
  const b = c.attrs[bAttr];
  if (a === undefined || b === undefined) {
    ctx.log.unsupportedAt(path, `constraint needs both ${aAttr} and ${bAttr}; skipped`);
    return undefined;
  }
  const ea = expandRef(a, ctx);
  const eb = expandRef(b, ctx);
  for (const [n, e] of [
    [a, ea],
    [b, eb],
  ] as const) {
    if (!e) {
      ctx.log.ignoredAt(path, `constraint names "${n}", which is not a resource, tag or template (Pacemaker ignores it)`);
      return undefined;
    }
  }
  if (!ea!.isTag && !eb!.isTag) return { pair: [a, b] };
  const mk = (e: { ids: string[]; isTag: boolean }, role: string | undefined, action: string | undefined): Obj => ({
    resources: e.ids,
    ...(e.isTag ? { sequential: false } : {}),
    ...(role !== undefined ? { role } : {}),
    ...(action !== undefined ? { action } : {}),
  });
  return { sets: [mk(ea!, aRole, aAction), mk(eb!, bRole, bAction)] };
}

function importColocation(c: XmlElement, path: string, ctx: RefContext): Obj | undefined {
  const id = c.attrs['id'] ?? '';
  const rawScore = c.attrs['score'];
  const score = scoreText(rawScore);
  if (rawScore !== undefined && score === undefined) {
    ctx.log.unsupportedAt(`${path}/@score`, `"${rawScore}" is not a score; constraint skipped`);
    return undefined;
  }
  if (c.attrs['score-attribute'] !== undefined) ctx.log.unsupportedAt(`${path}/@score-attribute`, 'colocation score-attribute is not modelled');
  const out: Obj = { type: 'colocation', id, score: score ?? '0' };
  const rr = constraintRole(c.attrs['rsc-role'], `${path}/@rsc-role`, ctx);
  const wr = constraintRole(c.attrs['with-rsc-role'], `${path}/@with-rsc-role`, ctx);
  if (rr === null || wr === null) return undefined;
  if (c.attrs['node-attribute'] !== undefined) out['nodeAttribute'] = c.attrs['node-attribute'];
  const infl = parseBool(c.attrs['influence']);
  if (infl !== undefined) out['influence'] = infl;
  for (const a of ['rsc-instance', 'with-rsc-instance']) if (c.attrs[a] !== undefined) ctx.log.unsupportedAt(`${path}/@${a}`, `${a} is not modelled`);
  if (childrenOf(c, 'resource_set').length > 0) {
    const sets = importSets(c, path, ctx, false);
    if (!sets || sets.length === 0) return undefined;
    out['sets'] = sets;
    return out;
  }
  const p = pairToSets(c, 'rsc', 'with-rsc', rr, wr, undefined, undefined, ctx, path);
  if (!p) return undefined;
  if (p.sets) {
    out['sets'] = p.sets;
    return out;
  }
  const [a, b] = p.pair!;
  if (a === b) {
    ctx.log.ignoredAt(path, 'colocation of a resource with itself (Pacemaker ignores it)');
    return undefined;
  }
  out['resource'] = a;
  out['withResource'] = b;
  if (rr !== undefined) out['resourceRole'] = rr;
  if (wr !== undefined) out['withResourceRole'] = wr;
  return out;
}

function importOrder(c: XmlElement, path: string, ctx: RefContext): Obj | undefined {
  const id = c.attrs['id'] ?? '';
  const out: Obj = { type: 'order', id };
  const kind = c.attrs['kind'];
  if (kind !== undefined) {
    const k = ['Mandatory', 'Optional', 'Serialize'].find((x) => x.toLowerCase() === kind.toLowerCase());
    if (k === undefined) {
      ctx.log.unsupportedAt(`${path}/@kind`, `"${kind}" is not an order kind; Mandatory used`);
    } else out['kind'] = k;
  } else if (c.attrs['score'] !== undefined) {
    // Pacemaker 2.1.5's legacy rule: an order with score 0 is Optional, any other score Mandatory.
    const s = parseScore(c.attrs['score']);
    out['kind'] = s === 0 ? 'Optional' : 'Mandatory';
  }
  const sym = parseBool(c.attrs['symmetrical']);
  if (sym !== undefined) out['symmetrical'] = sym;
  const ra = parseBool(c.attrs['require-all']);
  if (ra !== undefined) out['requireAll'] = ra;
  const fa = c.attrs['first-action'];
  const ta = c.attrs['then-action'];
  for (const [n, a] of [
    ['first-action', fa],
    ['then-action', ta],
  ] as const) {
    if (a !== undefined && !ACTIONS.includes(a)) {
      ctx.log.unsupportedAt(`${path}/@${n}`, `action "${a}" is not known; constraint skipped`);
      return undefined;
    }
  }
  for (const a of ['first-instance', 'then-instance']) if (c.attrs[a] !== undefined) ctx.log.unsupportedAt(`${path}/@${a}`, `${a} is not modelled`);
  if (childrenOf(c, 'resource_set').length > 0) {
    const sets = importSets(c, path, ctx, true);
    if (!sets || sets.length === 0) return undefined;
    out['sets'] = sets;
    return out;
  }
  const p = pairToSets(c, 'first', 'then', undefined, undefined, fa, ta ?? fa, ctx, path);
  if (!p) return undefined;
  if (p.sets) {
    out['sets'] = p.sets;
    return out;
  }
  const [a, b] = p.pair!;
  out['first'] = a;
  out['then'] = b;
  if (fa !== undefined) out['firstAction'] = fa;
  if (ta !== undefined) out['thenAction'] = ta;
  if (a === b && (ta ?? fa ?? 'start') === (fa ?? 'start')) {
    ctx.log.ignoredAt(path, 'order of a resource after itself (Pacemaker ignores it)');
    return undefined;
  }
  return out;
}

export function importTags(configuration: XmlElement | undefined): Map<string, string[]> {
  const tags = new Map<string, string[]>();
  for (const t of childrenOf(childrenOf(configuration, 'tags')[0], 'tag'))
    tags.set(
      t.attrs['id'] ?? '',
      childrenOf(t, 'obj_ref').map((o) => o.attrs['id'] ?? ''),
    );
  return tags;
}

export function importConstraints(constraints: XmlElement | undefined, ctx: ConfigContext, index: ResourceIndex, tags: Map<string, string[]>): Obj[] {
  const rctx: RefContext = { ...ctx, index, tags };
  const out: Obj[] = [];
  for (const c of constraints?.children ?? []) {
    const path = `configuration/constraints/${c.tag}[${c.attrs['id'] ?? ''}]`;
    const known = KNOWN_ATTRS[c.tag];
    if (known) ctx.log.unknownAttributes(c.attrs, known, path, `<${c.tag}>`);
    switch (c.tag) {
      case 'rsc_location':
        out.push(...importLocation(c, path, rctx));
        break;
      case 'rsc_colocation': {
        const x = importColocation(c, path, rctx);
        if (x) out.push(x);
        break;
      }
      case 'rsc_order': {
        const x = importOrder(c, path, rctx);
        if (x) out.push(x);
        break;
      }
      default:
        ctx.log.unsupportedAt(path, `<${c.tag}> constraints are not modelled; skipped`);
    }
  }
  return out;
}
