/**
 * OCF `meta-data` XML (ra-api-1.dtd) parsed into a plain, typed description of an agent:
 * its parameters (required, unique, type, default) and the actions it advertises.
 */
import { XMLParser } from 'fast-xml-parser';
import { parseDurationMs } from '@paceline/model';
import { OcfError } from './errors.js';

export type OcfParamType = 'string' | 'integer' | 'boolean' | 'time' | 'select';

export interface OcfParameter {
  readonly name: string;
  readonly required: boolean;
  readonly unique: boolean;
  readonly type: OcfParamType;
  readonly default?: string;
  /** For `select` parameters: the allowed values. */
  readonly options?: readonly string[];
  readonly shortdesc: string;
  readonly longdesc: string;
}

export interface OcfAction {
  readonly name: string;
  /** Suggested timeout, in ms. */
  readonly timeoutMs?: number;
  /** Suggested interval, in ms (monitor). */
  readonly intervalMs?: number;
  readonly role?: string;
  readonly depth?: number;
}

export interface OcfMetadata {
  readonly name: string;
  readonly version: string;
  readonly shortdesc: string;
  readonly longdesc: string;
  readonly parameters: readonly OcfParameter[];
  readonly actions: readonly OcfAction[];
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  textNodeName: '#text',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  isArray: (name) => ['parameter', 'action', 'longdesc', 'shortdesc', 'option'].includes(name),
});

type Node = Record<string, unknown>;

function text(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v.trim();
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) {
    // Prefer English (or untagged) text when several languages are given.
    const en = v.find((x) => typeof x !== 'object' || x === null || !(x as Node)['@_lang'] || (x as Node)['@_lang'] === 'en');
    return text(en ?? v[0]);
  }
  if (typeof v === 'object') return text((v as Node)['#text']);
  return '';
}

function flag(v: unknown): boolean {
  return v === '1' || v === 'true' || v === 1 || v === true;
}

/** Parses an agent's meta-data XML. `source` names the agent in error messages. */
export function parseOcfMetadata(xml: string, source: string): OcfMetadata {
  let doc: Node;
  try {
    doc = parser.parse(xml) as Node;
  } catch (err) {
    throw new OcfError('OCF_METADATA', `${source}: meta-data is not well-formed XML: ${(err as Error).message}`, { cause: err });
  }
  const ra = doc['resource-agent'] as Node | undefined;
  if (!ra || typeof ra !== 'object') {
    throw new OcfError('OCF_METADATA', `${source}: meta-data has no <resource-agent> element`);
  }
  const paramsNode = (ra['parameters'] ?? {}) as Node;
  const params = (Array.isArray(paramsNode['parameter']) ? paramsNode['parameter'] : []) as Node[];
  const parameters = params.map((p, i): OcfParameter => {
    const name = text(p['@_name']);
    if (!name) throw new OcfError('OCF_METADATA', `${source}: meta-data parameter #${i + 1} has no name`);
    const content = (p['content'] ?? {}) as Node;
    const rawType = text(content['@_type']) || 'string';
    const type: OcfParamType = (['string', 'integer', 'boolean', 'time', 'select'] as const).find((t) => t === rawType) ?? 'string';
    const options = Array.isArray(content['option']) ? (content['option'] as Node[]).map((o) => text(o['@_value'])).filter((o) => o !== '') : undefined;
    const dflt = content['@_default'];
    return {
      name,
      required: flag(p['@_required']),
      unique: flag(p['@_unique']) || p['@_unique-group'] !== undefined,
      type,
      ...(dflt !== undefined ? { default: text(dflt) } : {}),
      ...(options && options.length > 0 ? { options } : {}),
      shortdesc: text(p['shortdesc']),
      longdesc: text(p['longdesc']),
    };
  });
  const actionsNode = (ra['actions'] ?? {}) as Node;
  const acts = (Array.isArray(actionsNode['action']) ? actionsNode['action'] : []) as Node[];
  const actions = acts.map((a): OcfAction => {
    const timeoutMs = parseDurationMs(text(a['@_timeout']) || 'x');
    const intervalMs = parseDurationMs(text(a['@_interval']) || 'x');
    const depth = Number(text(a['@_depth']) || 'NaN');
    const role = text(a['@_role']);
    return {
      name: text(a['@_name']),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      ...(intervalMs !== undefined ? { intervalMs } : {}),
      ...(role ? { role } : {}),
      ...(Number.isFinite(depth) ? { depth } : {}),
    };
  });
  return {
    name: text(ra['@_name']),
    version: text(ra['version']) || text(ra['@_version']) || '0',
    shortdesc: text(ra['shortdesc']),
    longdesc: text(ra['longdesc']),
    parameters,
    actions,
  };
}

/** Is the action advertised? `reload-agent` counts as `reload`. */
export function advertises(meta: OcfMetadata, action: string): boolean {
  return meta.actions.some((a) => a.name === action || (action === 'reload' && a.name === 'reload-agent'));
}
