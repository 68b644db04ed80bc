/**
 * `ClusterConfig.safeParse` for what the importer built, without zod's general machinery where the
 * data is in a form this file knows exactly. The importer's output is trusted only as far as its
 * shape: every value is still checked by the model's own schemas, which this file walks (objects,
 * arrays, records, defaults, optional fields and discriminated unions are followed here; strings,
 * numbers, booleans and their transforms are handed to the leaf schema's own `safeParse`, once per
 * distinct value and schema). Anything else — an unknown field, a value a leaf refuses, a schema
 * kind not followed here (refinements, lazy rules) — makes a field of the configuration go through
 * zod as before, so every message for bad input is zod's. At 5,000 resources zod took half of the
 * import's CPU time, the first call of a process being the expensive one.
 *
 * The result must be what zod would return, key order included (tests compare both on the corpus).
 */
import { ClusterConfig, ConfigError, zodIssues } from '@paceline/model';

/** What this file reads of a zod schema (zod 4's internal definition, `_zod.def`). */
interface Schema {
  readonly _zod: { readonly def: Def };
}
type Def = { readonly type: string } & Readonly<Record<string, unknown>>;
type SafeParse = (v: unknown) => { success: boolean; data?: unknown };
/** A refinement as zod 4 keeps it. */
interface Check {
  readonly _zod: { readonly def: Def; readonly check: (payload: { value: unknown; issues: unknown[] }) => unknown };
}

/** Returned when the fast walk cannot decide; zod then parses the field. */
const GIVE_UP: unique symbol = Symbol('give up');
/** Returned when zod refused part of the input: the whole input then goes through zod for its issues. */
const INVALID: unique symbol = Symbol('invalid');
type Out = unknown;

const isPlain = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;

/** Leaf schemas' answers per value (booleans, enums, scores and durations repeat on thousands of resources). */
const leafAnswers = new WeakMap<Schema, Map<unknown, Out>>();

function leaf(schema: Schema, v: unknown): Out {
  if (v === null || (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean')) return GIVE_UP;
  let answers = leafAnswers.get(schema);
  if (answers === undefined) leafAnswers.set(schema, (answers = new Map()));
  let out = answers.get(v);
  if (out === undefined && !answers.has(v)) {
    const r = (schema as unknown as { safeParse: SafeParse }).safeParse(v);
    out = r.success && (r.data === null || typeof r.data !== 'object') ? r.data : GIVE_UP;
    // Bounded: ids and free text are mostly distinct, and a long-lived process imports many times.
    if (answers.size < 4096) answers.set(v, out);
  }
  return out;
}

function object(def: Def, v: unknown): Out {
  if (!isPlain(v)) return GIVE_UP;
  const shape = def['shape'] as Record<string, Schema>;
  // A strict object: a field the schema does not name is an error (zod's message).
  for (const k in v) if (!Object.hasOwn(shape, k) || v[k] === undefined) return GIVE_UP;
  const out: Record<string, unknown> = {};
  for (const k in shape) {
    const r = Object.hasOwn(v, k) ? walk(shape[k]!, v[k]) : absent(shape[k]!);
    if (r === GIVE_UP) return GIVE_UP;
    if (r !== undefined) out[k] = r;
  }
  return passesChecks(def, out) ? out : GIVE_UP;
}

/**
 * A schema's own checks (an id's pattern, a constraint's superRefine), run on the parsed value as
 * zod runs them (no issue before them, so every check whose condition holds); false when one
 * reports an issue or is asynchronous.
 */
function passesChecks(def: Def, value: unknown): boolean {
  for (const c of (def['checks'] as Check[] | undefined) ?? []) {
    const payload = { value, issues: [] as unknown[] };
    const when = c._zod.def['when'] as ((p: typeof payload) => boolean) | undefined;
    if (when !== undefined && !when(payload)) continue;
    if (c._zod.check(payload) instanceof Promise || payload.issues.length > 0) return false;
  }
  return true;
}

/** A field that is not there: nothing (optional), its default (fresh, as zod hands it out), else zod decides. */
function absent(schema: Schema): Out {
  const def = schema._zod.def as Def;
  if (def.type === 'optional') return undefined;
  if (def.type === 'default') return def['defaultValue'];
  return GIVE_UP;
}

function array(def: Def, v: unknown): Out {
  if (!Array.isArray(v)) return GIVE_UP;
  for (const c of (def['checks'] as Schema[] | undefined) ?? []) {
    const cdef = c._zod.def as Def;
    if (cdef['check'] !== 'min_length' || !(v.length >= (cdef['minimum'] as number))) return GIVE_UP;
  }
  const element = def['element'] as Schema;
  const out: unknown[] = new Array(v.length);
  for (let i = 0; i < v.length; i++) {
    if (!(i in v)) return GIVE_UP;
    const r = walk(element, v[i]);
    if (r === GIVE_UP) return GIVE_UP;
    out[i] = r;
  }
  return out;
}

function record(def: Def, v: unknown): Out {
  if (!isPlain(v) || (def['checks'] as unknown[] | undefined)?.length) return GIVE_UP;
  const keyType = (def['keyType'] as Schema)._zod.def as Def;
  if (keyType.type !== 'string' || (keyType['checks'] as unknown[] | undefined)?.length) return GIVE_UP;
  const valueType = def['valueType'] as Schema;
  const unknownValues = valueType._zod.def.type === 'unknown';
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) {
    if (k === '__proto__') return GIVE_UP;
    const r = unknownValues ? v[k] : walk(valueType, v[k]);
    if (r === GIVE_UP || (r === undefined && !unknownValues)) return GIVE_UP;
    out[k] = r;
  }
  return out;
}

/** A discriminated union: the option whose literal discriminator the value names. */
function union(def: Def, v: unknown): Out {
  const key = def['discriminator'] as string | undefined;
  if (key === undefined || !isPlain(v)) return GIVE_UP;
  for (const option of def['options'] as Schema[]) {
    const odef = option._zod.def as Def;
    const tag = (odef['shape'] as Record<string, Schema> | undefined)?.[key]?._zod.def as Def | undefined;
    if (tag?.type === 'literal' && (tag['values'] as unknown[]).includes(v[key])) return odef.type === 'object' ? object(odef, v) : GIVE_UP;
  }
  return GIVE_UP;
}

function walk(schema: Schema, v: unknown): Out {
  const def = schema._zod.def as Def;
  switch (def.type) {
    case 'object':
      return object(def, v);
    case 'array':
      return array(def, v);
    case 'record':
      return record(def, v);
    case 'optional':
      return v === undefined ? undefined : walk(def['innerType'] as Schema, v);
    case 'default': {
      const r = v === undefined ? undefined : walk(def['innerType'] as Schema, v);
      return r === undefined ? def['defaultValue'] : r;
    }
    case 'union':
      if (def['discriminator'] !== undefined) return union(def, v);
      return leaf(schema, v);
    case 'lazy':
      return walk((def['getter'] as () => Schema)(), v);
    case 'string':
      // An id or a name: mostly distinct values, checked by the schema's own checks without a parse.
      if (typeof v === 'string' && def['coerce'] !== true) return passesChecks(def, v) ? v : GIVE_UP;
      return leaf(schema, v);
    case 'number':
    case 'boolean':
    case 'enum':
    case 'literal':
    case 'pipe':
      return leaf(schema, v);
    default:
      return GIVE_UP;
  }
}

/**
 * A top-level list whose walk gave up as a whole (one constraint with a rule): element by element,
 * zod parsing only the elements the walk cannot decide; INVALID when zod refuses one.
 */
function elementwise(schema: Schema, v: unknown): Out {
  let def = schema._zod.def;
  if (def.type === 'default') def = (def['innerType'] as Schema)._zod.def;
  if (def.type !== 'array' || (def['checks'] as unknown[] | undefined)?.length || !Array.isArray(v)) return GIVE_UP;
  const element = def['element'] as Schema & { safeParse: SafeParse };
  const out: unknown[] = [];
  for (const x of v) {
    let r = walk(element, x);
    if (r === GIVE_UP) {
      const z = element.safeParse(x);
      if (!z.success) return INVALID;
      r = z.data;
    }
    out.push(r);
  }
  return out;
}

/**
 * The configuration the importer built, parsed: each top-level field the fast walk can decide is
 * taken from it, the rest from zod. When zod finds anything invalid, the whole input goes through
 * `ClusterConfig.safeParse` for its issues, in its order: a ConfigError naming `source`.
 */
export function parseImportedConfig(input: Record<string, unknown>, source: string | undefined): ClusterConfig {
  const shape = ClusterConfig.shape as unknown as Record<string, Schema>;
  const fast: Record<string, unknown> = {};
  const rest: Record<string, unknown> = {};
  let invalid = false;
  for (const k of Object.keys(input)) {
    const schema = Object.hasOwn(shape, k) && input[k] !== undefined ? shape[k]! : undefined;
    let r = schema === undefined ? GIVE_UP : walk(schema, input[k]);
    if (r === GIVE_UP && schema !== undefined) r = elementwise(schema, input[k]);
    if (r === INVALID) invalid = true;
    else if (r === GIVE_UP) rest[k] = input[k];
    else fast[k] = r;
  }
  const parsed = invalid ? undefined : ClusterConfig.safeParse(rest);
  if (!parsed?.success) {
    const whole = ClusterConfig.safeParse(input);
    if (!whole.success) throw new ConfigError(zodIssues(whole.error), source);
    return whole.data;
  }
  // zod's key order: the schema's.
  const out: Record<string, unknown> = {};
  const data = parsed.data as Record<string, unknown>;
  for (const k in shape)
    if (Object.hasOwn(fast, k)) out[k] = fast[k];
    else if (Object.hasOwn(data, k)) out[k] = data[k];
  return out as ClusterConfig;
}
