/**
 * What the configuration importers (config.ts, config-meta.ts, config-resources.ts, constraints.ts)
 * share: their context, attribute sets with the rules the import can decide, durations and roles.
 */
import { MAX_DURATION_MS, formatDurationMs, parseDurationMs } from '@paceline/model';
import { evalImportRules, hasChild, IssueLog, readNvSets as readSets, type NvValue, type RuleSubject } from './nvsets.js';
import type { XmlElement } from './xml.js';

export type Obj = Record<string, unknown>;

export interface ConfigContext {
  readonly ids: Map<string, XmlElement>;
  readonly log: IssueLog;
  /** rsc_defaults / op_defaults, for sets that apply only to some agents or operations. */
  readonly defaults?: DefaultsSources;
  /** The time date rules in attribute sets are evaluated at (epoch ms); unknown = such sets are reported. */
  readonly now?: number | undefined;
  /** Every node's attributes as rules see them (configured, transient and #uname/#id/...), for per-node parameters. */
  readonly nodeAttrs?: ReadonlyMap<string, Readonly<Record<string, string>>>;
}

/**
 * Reads attribute sets, deciding the rules the import can decide (dates at `ctx.now`; agent and
 * operation expressions against `subject`). Other rule-controlled sets are reported.
 */
export function readNvSets(
  parent: XmlElement | undefined,
  tags: readonly string[],
  path: string,
  ids: Map<string, XmlElement>,
  log: IssueLog,
  options: { specialFirst?: string; overwrite?: boolean; now?: number | undefined; subject?: RuleSubject } = {},
): Map<string, NvValue> {
  if (!hasChild(parent, tags)) return new Map();
  return readSets(parent, tags, path, ids, log, {
    ...(options.specialFirst !== undefined ? { specialFirst: options.specialFirst } : {}),
    ...(options.overwrite !== undefined ? { overwrite: options.overwrite } : {}),
    ruleEval: (rules) => evalImportRules(rules, options.subject ?? {}, ids, intervalMs, options.now),
  });
}

/**
 * Defaults sets guarded by rsc_expression / op_expression rules cannot be carried by the model's
 * global defaults; they are resolved per resource and per operation at import time instead.
 */
export interface DefaultsSources {
  readonly rscDefaults?: XmlElement | undefined;
  readonly opDefaults?: XmlElement | undefined;
  /** Values from the unconditional sets (what the model's defaults hold). */
  readonly baseRsc: Map<string, NvValue>;
  readonly baseOp: Map<string, NvValue>;
  readonly conditionalRsc: boolean;
  readonly conditionalOp: boolean;
}

export const intervalMs = (v: string): number | undefined => parseDurationMs(v);

/** The defaults that apply to one subject, where they differ from the unconditional defaults. */
export function conditionalDefaults(el: XmlElement | undefined, base: Map<string, NvValue>, subject: RuleSubject, ctx: ConfigContext): Map<string, NvValue> {
  const eff = readNvSets(el, ['meta_attributes'], '', ctx.ids, new IssueLog(), { subject, now: ctx.now });
  const out = new Map<string, NvValue>();
  for (const [k, nv] of eff) if (base.get(k)?.value !== nv.value) out.set(k, nv);
  return out;
}

const ROLE_NAMES: Record<string, string> = {
  started: 'Started',
  stopped: 'Stopped',
  promoted: 'Promoted',
  unpromoted: 'Unpromoted',
  master: 'Promoted',
  slave: 'Unpromoted',
};

export function mapRole(v: string | undefined): string | undefined {
  return v === undefined ? undefined : ROLE_NAMES[v.trim().toLowerCase()];
}

/** The duration as the model reads it; undefined when it is not one or is longer than the model accepts (see notADuration). */
export function durationText(v: string): string | undefined {
  const ms = parseDurationMs(v);
  return ms === undefined || !(ms <= MAX_DURATION_MS) ? undefined : v.trim();
}

/** Why durationText refused `v`. */
export function notADuration(v: string): string {
  const ms = parseDurationMs(v);
  return ms === undefined
    ? `"${v}" is not a duration`
    : `"${v}" is too long: Paceline's durations are at most ${formatDurationMs(MAX_DURATION_MS)} (${MAX_DURATION_MS} ms)`;
}

const UTIL_RE = /^[+-]?\d+(\.\d+)?$/;

export function importUtilization(e: XmlElement, path: string, ctx: ConfigContext): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, nv] of readNvSets(e, ['utilization'], path, ctx.ids, ctx.log, { now: ctx.now })) {
    if (UTIL_RE.test(nv.value.trim())) out[k] = Number(nv.value);
    else ctx.log.unsupportedAt(nv.path, `utilization "${nv.value}" is not a number`);
  }
  return out;
}
