/** configuration/resources → the model's Resource inputs: primitives (with templates and operations), groups and clones. */
import { parseDurationMs } from '@paceline/model';
import { conditionalDefaults, durationText, importUtilization, mapRole, notADuration, readNvSets, type ConfigContext, type Obj } from './config-common.js';
import { importMeta } from './config-meta.js';
import { IssueLog, testsNodeAttributes, type RuleSubject } from './nvsets.js';
import { child, childrenOf, parseBool, resolveRef, type XmlElement } from './xml.js';

/** Op meta names (as op attributes or op meta_attributes) and how they map. */
const OP_IGNORED_ATTRS = new Set(['id', 'description', 'name']);
const OP_UNMODELLED = new Set(['record-pending', 'interval-origin', 'requires', 'on_fail']);

function importOp(raw: XmlElement, path: string, ctx: ConfigContext, agent: RuleSubject): Obj | undefined {
  const op = resolveRef(raw, ctx.ids);
  if (!op) {
    ctx.log.unsupportedAt(path, `operation refers to unknown id "${raw.attrs['id-ref']}"`);
    return undefined;
  }
  const attrs: Record<string, string> = { ...op.attrs };
  // Pacemaker reads an op's own meta attributes with overwrite (unpack_operation in lib/pengine/pe_actions.c).
  const metaSets = readNvSets(op, ['meta_attributes'], path, ctx.ids, ctx.log, { now: ctx.now, overwrite: true });
  for (const [k, nv] of metaSets) if (attrs[k] === undefined) attrs[k] = nv.value;
  let name = attrs['name'] ?? '';
  const d = ctx.defaults;
  if (d?.conditionalOp) {
    const subject = { ...agent, opName: name, opIntervalMs: parseDurationMs(attrs['interval'] ?? '0') ?? 0 };
    for (const [k, nv] of conditionalDefaults(d.opDefaults, d.baseOp, subject, ctx)) if (attrs[k] === undefined) attrs[k] = nv.value;
  }
  if (name === 'reload-agent') name = 'reload';
  const known = ['start', 'stop', 'monitor', 'promote', 'demote', 'migrate_to', 'migrate_from', 'reload', 'notify'];
  if (!known.includes(name)) {
    ctx.log.unsupportedAt(path, `operation "${name}" is not one the model knows (${known.join(', ')})`);
    return undefined;
  }
  const out: Obj = { name };
  const params: Obj = {};
  for (const [k, v] of Object.entries(attrs)) {
    if (OP_IGNORED_ATTRS.has(k)) continue;
    switch (k) {
      case 'interval':
      case 'timeout':
      case 'start-delay': {
        const d = durationText(v);
        if (d === undefined) {
          ctx.log.unsupportedAt(`${path}/@${k}`, notADuration(v));
          if (k === 'interval') return undefined;
        } else out[k === 'start-delay' ? 'startDelay' : k] = d;
        break;
      }
      case 'role': {
        const r = mapRole(v);
        if (r === undefined) ctx.log.unsupportedAt(`${path}/@role`, `"${v}" is not a role`);
        else out['role'] = r;
        break;
      }
      case 'on-fail': {
        const f = v.trim().toLowerCase();
        if (['ignore', 'block', 'stop', 'restart', 'standby', 'fence', 'demote'].includes(f)) out['onFail'] = f;
        else ctx.log.unsupportedAt(`${path}/@on-fail`, `on-fail="${v}" is not modelled`);
        break;
      }
      case 'enabled': {
        const b = parseBool(v);
        if (b === undefined) ctx.log.unsupportedAt(`${path}/@enabled`, `"${v}" is not a boolean`);
        else out['enabled'] = b;
        break;
      }
      default:
        if (OP_UNMODELLED.has(k)) ctx.log.unsupportedAt(`${path}/@${k}`, `operation option ${k}="${v}" is not modelled`);
        else ctx.log.ignoredAt(`${path}/@${k}`, `unknown operation attribute "${k}"`);
    }
  }
  for (const [k, nv] of readNvSets(op, ['instance_attributes'], path, ctx.ids, ctx.log, { now: ctx.now })) params[k] = nv.value;
  if (Object.keys(params).length > 0) out['params'] = params;
  return out;
}

function opKey(op: XmlElement): string {
  return `${op.attrs['name'] ?? ''}_${op.attrs['interval'] ?? '0'}_${op.attrs['role'] ?? ''}`;
}

/** Pacemaker's template expansion: template children first, then the primitive's; ops merged by key. */
function expandTemplate(prim: XmlElement, path: string, ctx: ConfigContext): XmlElement | undefined {
  const ref = prim.attrs['template'];
  if (ref === undefined) return prim;
  const tmpl = ctx.ids.get(`template#${ref}`);
  if (!tmpl) {
    ctx.log.unsupportedAt(`${path}/@template`, `template "${ref}" does not exist; the primitive is skipped`);
    return undefined;
  }
  const attrs: Record<string, string> = { ...tmpl.attrs, ...Object.fromEntries(Object.entries(prim.attrs).filter(([k]) => k !== 'template')) };
  attrs['id'] = prim.attrs['id'] ?? '';
  const tmplOps = child(tmpl, 'operations');
  const primOps = child(prim, 'operations');
  const children: XmlElement[] = [];
  for (const c of tmpl.children) if (c.tag !== 'operations' || !primOps) children.push(c);
  for (const c of prim.children) {
    if (c.tag === 'operations' && tmplOps) {
      const resolved = resolveRef(c, ctx.ids) ?? c;
      const keys = new Set(childrenOf(resolved, 'op').map(opKey));
      const extra = childrenOf(tmplOps, 'op').filter((o) => !keys.has(opKey(o)));
      children.push({ ...resolved, children: [...resolved.children, ...extra] });
    } else children.push(c);
  }
  return { tag: 'primitive', attrs, children };
}

function agentOf(e: XmlElement, path: string, ctx: ConfigContext): string | undefined {
  const cls = e.attrs['class'];
  const type = e.attrs['type'];
  const provider = e.attrs['provider'];
  if (cls === undefined || type === undefined) {
    ctx.log.unsupportedAt(path, 'primitive without class or type; skipped');
    return undefined;
  }
  if (cls === 'ocf') {
    if (provider === undefined) {
      ctx.log.unsupportedAt(path, 'OCF primitive without provider; skipped');
      return undefined;
    }
    return `ocf:${provider}:${type}`;
  }
  return `${cls}:${type}`;
}

export interface ResourceIndex {
  /** Ids of every configured primitive, group and clone. */
  readonly resources: Set<string>;
  /** Template id → primitives made from it. */
  readonly templates: Map<string, string[]>;
}

function importPrimitive(
  raw: XmlElement,
  path: string,
  inherited: Obj,
  ctx: ConfigContext,
  index: ResourceIndex,
  ancestorMeta: ReadonlySet<string> = new Set(),
): Obj | undefined {
  const prim = expandTemplate(raw, path, ctx);
  if (!prim) return undefined;
  const id = prim.attrs['id'];
  ctx.log.unknownAttributes(raw.attrs, PRIMITIVE_ATTRS, path, '<primitive>');
  const agent = agentOf(prim, path, ctx);
  if (id === undefined || agent === undefined) return undefined;
  const out: Obj = { type: 'primitive', id, agent };
  if (prim.attrs['description'] !== undefined) out['description'] = prim.attrs['description'];
  const params: Obj = {};
  for (const [k, nv] of readNvSets(prim, ['instance_attributes'], path, ctx.ids, ctx.log, { now: ctx.now })) params[k] = nv.value;
  for (const [k, v] of Object.entries(inherited)) if (!(k in params)) params[k] = v;
  out['params'] = params;
  const byNode = paramsByNode(prim, params, inherited, ctx);
  if (byNode) out['paramsByNode'] = byNode;
  const subject: RuleSubject = { standard: prim.attrs['class'], provider: prim.attrs['provider'], type: prim.attrs['type'] };
  const metaValues = readNvSets(prim, ['meta_attributes'], path, ctx.ids, ctx.log, { now: ctx.now });
  const d = ctx.defaults;
  if (d?.conditionalRsc) {
    // Pacemaker's order: the resource's own meta, then its parents', then rsc_defaults.
    for (const [k, nv] of conditionalDefaults(d.rscDefaults, d.baseRsc, subject, ctx)) if (!metaValues.has(k) && !ancestorMeta.has(k)) metaValues.set(k, nv);
  }
  out['meta'] = importMeta(metaValues, 'primitive', ctx).meta;
  const ops: Obj[] = [];
  const opsEl = child(prim, 'operations');
  if (opsEl) {
    const resolved = resolveRef(opsEl, ctx.ids);
    if (!resolved) ctx.log.unsupportedAt(`${path}/operations`, `operations refer to unknown id "${opsEl.attrs['id-ref']}"`);
    childrenOf(resolved, 'op').forEach((o, i) => {
      const op = importOp(o, `${path}/operations/op[${o.attrs['id'] ?? i}]`, ctx, subject);
      if (op) ops.push(op);
    });
  }
  out['ops'] = ops;
  out['utilization'] = importUtilization(prim, path, ctx);
  const tmpl = raw.attrs['template'];
  if (tmpl !== undefined) index.templates.set(tmpl, [...(index.templates.get(tmpl) ?? []), id]);
  index.resources.add(id);
  for (const c of prim.children)
    if (!['instance_attributes', 'meta_attributes', 'operations', 'utilization'].includes(c.tag))
      ctx.log.unsupportedAt(`${path}/${c.tag}`, `<${c.tag}> inside a primitive is not modelled`);
  return out;
}

/** Parameters on each node where node-attribute rules make them differ from the node-less ones. */
function paramsByNode(prim: XmlElement, base: Obj, inherited: Obj, ctx: ConfigContext): Record<string, Obj> | undefined {
  if (!ctx.nodeAttrs) return undefined;
  const guarded = childrenOf(prim, 'instance_attributes').some((raw) => {
    const set = resolveRef(raw, ctx.ids) ?? raw;
    return testsNodeAttributes(childrenOf(set, 'rule'), ctx.ids);
  });
  if (!guarded) return undefined;
  const out: Record<string, Obj> = {};
  const same = (a: Obj, b: Obj): boolean => {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
  };
  for (const [node, attrs] of ctx.nodeAttrs) {
    const p: Obj = {};
    const values = readNvSets(prim, ['instance_attributes'], '', ctx.ids, new IssueLog(), { now: ctx.now, subject: { nodeAttrs: attrs } });
    for (const [k, nv] of values) p[k] = nv.value;
    for (const [k, v] of Object.entries(inherited)) if (!(k in p)) p[k] = v;
    if (!same(p, base)) out[node] = p;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function paramsOf(e: XmlElement, path: string, ctx: ConfigContext, inherited: Obj): Obj {
  const params: Obj = {};
  for (const [k, nv] of readNvSets(e, ['instance_attributes'], path, ctx.ids, ctx.log, { now: ctx.now })) params[k] = nv.value;
  for (const [k, v] of Object.entries(inherited)) if (!(k in params)) params[k] = v;
  return params;
}

const PRIMITIVE_ATTRS: ReadonlySet<string> = new Set(['id', 'class', 'provider', 'type', 'template', 'description']);
const CONTAINER_ATTRS: ReadonlySet<string> = new Set(['id', 'description']);

function importGroup(
  g: XmlElement,
  path: string,
  inherited: Obj,
  ctx: ConfigContext,
  index: ResourceIndex,
  ancestorMeta: ReadonlySet<string> = new Set(),
): Obj | undefined {
  const id = g.attrs['id'];
  if (id === undefined) return undefined;
  ctx.log.unknownAttributes(g.attrs, CONTAINER_ATTRS, path, '<group>');
  const params = paramsOf(g, path, ctx, inherited);
  const metaValues = readNvSets(g, ['meta_attributes'], path, ctx.ids, ctx.log, { now: ctx.now });
  const childAncestors = new Set([...ancestorMeta, ...metaValues.keys()]);
  const members: Obj[] = [];
  for (const c of g.children) {
    const cpath = `${path}/${c.tag}[${c.attrs['id'] ?? ''}]`;
    if (c.tag === 'primitive') {
      const p = importPrimitive(c, cpath, params, ctx, index, childAncestors);
      if (p) members.push(p);
    } else if (!['meta_attributes', 'instance_attributes', 'utilization'].includes(c.tag))
      ctx.log.unsupportedAt(cpath, `<${c.tag}> inside a group is not modelled; skipped`);
  }
  if (members.length === 0) {
    ctx.log.unsupportedAt(path, 'empty group; skipped');
    return undefined;
  }
  index.resources.add(id);
  const out: Obj = { type: 'group', id, members, meta: importMeta(metaValues, 'group', ctx).meta };
  if (g.attrs['description'] !== undefined) out['description'] = g.attrs['description'];
  return out;
}

function importClone(c: XmlElement, path: string, ctx: ConfigContext, index: ResourceIndex): Obj | undefined {
  const id = c.attrs['id'];
  if (id === undefined) return undefined;
  ctx.log.unknownAttributes(c.attrs, CONTAINER_ATTRS, path, `<${c.tag}>`);
  const params = paramsOf(c, path, ctx, {});
  const cloneMeta = readNvSets(c, ['meta_attributes'], path, ctx.ids, ctx.log, { now: ctx.now });
  const { meta, promotable } = importMeta(cloneMeta, 'clone', ctx);
  const ancestors = new Set(cloneMeta.keys());
  let childRes: Obj | undefined;
  for (const k of c.children) {
    const kpath = `${path}/${k.tag}[${k.attrs['id'] ?? ''}]`;
    if (k.tag === 'primitive' || k.tag === 'group') {
      if (childRes) {
        ctx.log.unsupportedAt(kpath, 'a clone may hold only one resource; extra child skipped');
        continue;
      }
      childRes = k.tag === 'primitive' ? importPrimitive(k, kpath, params, ctx, index, ancestors) : importGroup(k, kpath, params, ctx, index, ancestors);
    } else if (!['meta_attributes', 'instance_attributes', 'utilization'].includes(k.tag))
      ctx.log.unsupportedAt(kpath, `<${k.tag}> inside a clone is not modelled; skipped`);
  }
  if (!childRes) {
    ctx.log.unsupportedAt(path, 'clone without a resource; skipped');
    return undefined;
  }
  index.resources.add(id);
  const out: Obj = { type: 'clone', id, promotable: c.tag === 'master' || promotable === true, child: childRes, meta };
  if (c.attrs['description'] !== undefined) out['description'] = c.attrs['description'];
  return out;
}

export function importResources(resources: XmlElement | undefined, ctx: ConfigContext): { resources: Obj[]; index: ResourceIndex } {
  const index: ResourceIndex = { resources: new Set(), templates: new Map() };
  const out: Obj[] = [];
  for (const r of resources?.children ?? []) {
    const path = `configuration/resources/${r.tag}[${r.attrs['id'] ?? ''}]`;
    let res: Obj | undefined;
    switch (r.tag) {
      case 'primitive':
        res = importPrimitive(r, path, {}, ctx, index);
        break;
      case 'group':
        res = importGroup(r, path, {}, ctx, index);
        break;
      case 'clone':
      case 'master':
        res = importClone(r, path, ctx, index);
        break;
      case 'template':
        continue;
      default:
        ctx.log.unsupportedAt(path, `<${r.tag}> resources are not modelled; skipped`);
    }
    if (res) out.push(res);
  }
  return { resources: out, index };
}
