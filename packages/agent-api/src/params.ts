/**
 * Agent parameters: validation with errors that name the resource and the parameter, a flat
 * description of a zod parameter schema (for docs, CLI help and OCF meta-data), and coercion of
 * string-valued parameters (CLI `--param k=v`, OCF_RESKEY_*) to the types the schema expects.
 */
import { z } from 'zod';
import { PacelineError, ZOD_PEER_RANGE, isZod4Schema, type ConfigIssue } from '@paceline/model';
import type { ResourceAgent } from './agent.js';
import { failed, type ActionResult } from './result.js';

export type ParamType = 'string' | 'integer' | 'number' | 'boolean' | 'array' | 'object' | 'any';

/** One parameter of an agent, as shown in docs, `paceline agent info` and OCF meta-data. */
export interface ParamDescription {
  readonly name: string;
  readonly type: ParamType;
  /** For arrays: the type of the items. */
  readonly itemType?: ParamType;
  /** For enumerations: the allowed values. */
  readonly values?: readonly (string | number | boolean)[];
  readonly description: string;
  /** The default applied when the parameter is left out (absent when there is none). */
  readonly default?: unknown;
  /** Must be given (no default, not optional). */
  readonly required: boolean;
  /** Must differ between resources using this agent (e.g. an IP address). */
  readonly unique: boolean;
}

type JsonSchema = {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  unique?: unknown;
};

function typeOf(s: JsonSchema | undefined): ParamType {
  if (!s) return 'any';
  const t = Array.isArray(s.type) ? (s.type.length === 1 ? s.type[0] : undefined) : s.type;
  switch (t) {
    case 'string':
    case 'integer':
    case 'number':
    case 'boolean':
    case 'array':
    case 'object':
      return t;
    default:
      break; // null, no type, or several: decided from the alternatives and the enum below
  }
  const alts = s.anyOf ?? s.oneOf;
  if (alts) {
    const types = new Set(alts.filter((a) => a.type !== 'null').map(typeOf));
    if (types.size === 1) return [...types][0]!;
  }
  if (s.enum && s.enum.every((v) => typeof v === 'string')) return 'string';
  return 'any';
}

/**
 * Describes an object parameter schema field by field, in declaration order. Descriptions come
 * from `.describe()`; a field is unique when it carries `.meta({ unique: true })` or is listed in
 * `uniqueParams` (the agent's `meta.uniqueParams`). Throws when the schema is not an object.
 */
export function describeParams(schema: z.ZodType, uniqueParams: readonly string[] = []): ParamDescription[] {
  assertZod4Schema(schema, 'the parameter schema');
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  if (json.type !== 'object' || !json.properties)
    throw new PacelineError('PARAMS_SCHEMA', 'an agent parameter schema must be a z.object({...}) of named parameters');
  const required = new Set(json.required ?? []);
  return Object.entries(json.properties).map(([name, s]): ParamDescription => {
    const type = typeOf(s);
    const values = s.enum ?? (s.anyOf ?? s.oneOf)?.flatMap((a) => a.enum ?? (a.const !== undefined ? [a.const] : []));
    return {
      name,
      type,
      ...(type === 'array' ? { itemType: typeOf(s.items) } : {}),
      ...(values && values.length > 0 ? { values: values as (string | number | boolean)[] } : {}),
      description: s.description ?? '',
      ...(s.default !== undefined ? { default: s.default } : {}),
      required: required.has(name),
      unique: s.unique === true || uniqueParams.includes(name),
    };
  });
}

/**
 * Throws a clear error when `schema` is not a zod 4 schema: an agent built with zod 3 (its
 * `params` from a zod 3 `z.object`) would otherwise fail deep inside with a TypeError.
 */
export function assertZod4Schema(schema: unknown, what: string): void {
  if (isZod4Schema(schema)) return;
  const zod3 = typeof schema === 'object' && schema !== null && '_def' in schema;
  throw new PacelineError(
    'PARAMS_SCHEMA',
    `${what} is not a zod 4 schema${zod3 ? ' (it was made by zod 3)' : ''}: Paceline needs zod ${ZOD_PEER_RANGE} (import { z } from 'zod' with zod 4 installed)`,
  );
}

/** The parameters of an agent (its schema plus `meta.uniqueParams`). */
export function describeAgentParams(agent: ResourceAgent): ParamDescription[] {
  assertZod4Schema(agent.params, `agent paceline:${agent.meta.name}: params`);
  return describeParams(agent.params, agent.meta.uniqueParams ?? []);
}

/** Raised by `parseParamsOrThrow`; `issues` name each parameter that is wrong. */
export class AgentParamsError extends PacelineError<'PARAMS_INVALID'> {
  constructor(
    readonly issues: readonly ConfigIssue[],
    readonly where: string,
  ) {
    super('PARAMS_INVALID', `${where}: ${issues.map((i) => `${i.path ? `parameter "${i.path}"` : 'parameters'}: ${i.message}`).join('; ')}`);
  }
}

export type ParamsCheck<T> =
  | { readonly ok: true; readonly params: T }
  | { readonly ok: false; readonly issues: readonly ConfigIssue[]; readonly message: string; readonly result: ActionResult };

/** How to name the resource in messages: `resource "web" (paceline:process)`, `resource "vip" (ocf:heartbeat:IPaddr2)`. */
export function describeWhere(agent: ResourceAgent, resource?: string): string {
  const ref = agent.meta.name.includes(':') ? agent.meta.name : `paceline:${agent.meta.name}`;
  return resource ? `resource "${resource}" (${ref})` : `agent ${ref}`;
}

/** Levenshtein distance, case-insensitive, for suggestions. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/** The closest of `names` to `given`, when close enough to be a likely typo (for "did you mean"). */
export function suggestName(given: string, names: readonly string[]): string | undefined {
  let best: { name: string; d: number } | undefined;
  for (const name of names) {
    const d = distance(given, name);
    if (!best || d < best.d) best = { name, d };
  }
  return best && best.d <= Math.max(2, Math.floor(given.length / 3)) ? best.name : undefined;
}

/** `unknown parameter (did you mean "path"?)`, or `unknown parameter (known: a, b)`. */
export function unknownParameterMessage(key: string, known: readonly string[]): string {
  const near = suggestName(key, known);
  return `unknown parameter${near ? ` (did you mean "${near}"?)` : ` (known: ${known.join(', ') || 'none'})`}`;
}

/**
 * One issue per parameter, the same for every agent (native, OCF, a module's): a parameter left
 * out that the schema needs is "is required but missing"; each unknown key is its own issue, with
 * a "did you mean" when a known parameter of `schema` is close.
 */
export function paramIssues(schema: z.ZodType, error: z.ZodError, raw: unknown): ConfigIssue[] {
  const given = raw && typeof raw === 'object' ? (raw as Record<string, unknown>) : {};
  let known: string[] | undefined;
  const knownNames = (): string[] =>
    (known ??= (() => {
      try {
        return describeParams(schema).map((d) => d.name);
      } catch (e) {
        void e; // not an object schema: no names to suggest
        return [];
      }
    })());
  return error.issues.flatMap((i): ConfigIssue[] => {
    const path = i.path.map(String).join('.');
    if (i.code === 'unrecognized_keys') {
      const prefix = path ? `${path}.` : '';
      return i.keys.map((k) => ({ path: `${prefix}${k}`, message: path ? 'unknown key' : unknownParameterMessage(k, knownNames()) }));
    }
    const missing =
      i.path.length === 1 && !Object.prototype.hasOwnProperty.call(given, String(i.path[0])) && (i.code === 'invalid_type' || i.code === 'invalid_union');
    return [{ path, message: missing ? 'is required but missing' : i.message }];
  });
}

/**
 * Parses raw parameters with the agent's schema. On failure returns the issues, a message naming
 * the resource and each parameter, and a ready `misconfigured` result (OCF_ERR_CONFIGURED).
 */
export function validateParams<S extends z.ZodType>(agent: ResourceAgent<S>, raw: unknown, resource?: string): ParamsCheck<z.infer<S>> {
  const r = agent.params.safeParse(raw ?? {});
  if (r.success) return { ok: true, params: r.data };
  const issues = paramIssues(agent.params, r.error, raw);
  const message = new AgentParamsError(issues, describeWhere(agent, resource)).message;
  return { ok: false, issues, message, result: failed('misconfigured', message) };
}

/** Like `validateParams` but throws `AgentParamsError`. */
export function parseParamsOrThrow<S extends z.ZodType>(agent: ResourceAgent<S>, raw: unknown, resource?: string): z.infer<S> {
  const r = agent.params.safeParse(raw ?? {});
  if (r.success) return r.data;
  throw new AgentParamsError(paramIssues(agent.params, r.error, raw), describeWhere(agent, resource));
}

/**
 * Turns string values (from `--param k=v` or OCF_RESKEY_*) into the types the schema describes:
 * numbers, booleans (true/false/yes/no/1/0), arrays (a JSON array, or whitespace-separated words;
 * a repeated key adds items), objects (JSON). Unknown names and unparsable values are passed
 * through unchanged so the schema reports them.
 */
export function coerceParams(schema: z.ZodType, raw: Readonly<Record<string, string | readonly string[]>>): Record<string, unknown> {
  const byName = new Map(describeParams(schema).map((d) => [d.name, d]));
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(raw)) {
    const d = byName.get(name);
    const values = typeof value === 'string' ? [value] : [...value];
    if (!d) {
      out[name] = values.length === 1 ? values[0] : values;
      continue;
    }
    if (d.type === 'array') {
      out[name] = values.flatMap((v) => coerceArray(v, d.itemType ?? 'string'));
      continue;
    }
    out[name] = coerceScalar(values[values.length - 1] ?? '', d.type);
  }
  return out;
}

function coerceArray(v: string, itemType: ParamType): unknown[] {
  const t = v.trim();
  if (t.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(t);
      if (Array.isArray(parsed)) return parsed;
    } catch (e) {
      // not JSON: fall back to words (the schema reports anything still wrong)
      void e;
    }
  }
  return t === '' ? [] : t.split(/\s+/).map((w) => coerceScalar(w, itemType));
}

function coerceScalar(v: string, type: ParamType): unknown {
  switch (type) {
    case 'integer':
    case 'number': {
      const n = Number(v);
      return v.trim() !== '' && Number.isFinite(n) ? n : v;
    }
    case 'boolean': {
      const l = v.trim().toLowerCase();
      if (['true', 'yes', '1', 'on'].includes(l)) return true;
      if (['false', 'no', '0', 'off'].includes(l)) return false;
      return v;
    }
    case 'object':
      try {
        return JSON.parse(v) as unknown;
      } catch (e) {
        void e;
        return v;
      }
    default:
      return v;
  }
}
