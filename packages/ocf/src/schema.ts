/**
 * An OCF agent's parameters as a zod schema, so bad parameters are caught before the script runs.
 * Every value is turned into the string that goes into `OCF_RESKEY_<name>`.
 */
import { z } from 'zod';
import { AgentParamsError, paramIssues } from '@paceline/agent-api';
import { OcfError } from './errors.js';
import type { OcfMetadata, OcfParameter } from './metadata.js';

/** What an OCF parameter value may be written as in a config. */
export type OcfParamValue = string | number | boolean;
/** Parsed OCF parameters: name → the string passed to the script. */
export type OcfParams = Record<string, string>;

const TRUE = new Set(['1', 'yes', 'true', 'on', 'y']);
const FALSE = new Set(['0', 'no', 'false', 'off', 'n']);

function describe(p: OcfParameter): string {
  const main = p.shortdesc || p.longdesc || p.name;
  return p.default !== undefined && p.default !== '' ? `${main} (default: ${p.default})` : main;
}

function valueSchema(p: OcfParameter): z.ZodType<string> {
  const scalar = z.union([z.string(), z.number(), z.boolean()]);
  switch (p.type) {
    case 'integer':
      return scalar.transform((v, ctx) => {
        const s = String(v).trim();
        if (typeof v === 'boolean' || !/^[+-]?\d+$/.test(s)) {
          ctx.addIssue({ code: 'custom', message: `must be an integer, got ${JSON.stringify(v)}` });
          return z.NEVER;
        }
        return s;
      });
    case 'boolean':
      return scalar.transform((v, ctx) => {
        const s = String(v).trim().toLowerCase();
        if (TRUE.has(s)) return 'true';
        if (FALSE.has(s)) return 'false';
        ctx.addIssue({ code: 'custom', message: `must be a boolean (true/false, yes/no, 1/0), got ${JSON.stringify(v)}` });
        return z.NEVER;
      });
    case 'select': {
      const options = p.options ?? [];
      return scalar.transform((v, ctx) => {
        const s = String(v);
        if (options.length > 0 && !options.includes(s)) {
          ctx.addIssue({ code: 'custom', message: `must be one of ${options.join(', ')}, got ${JSON.stringify(v)}` });
          return z.NEVER;
        }
        return s;
      });
    }
    default:
      return scalar.transform((v) => String(v));
  }
}

export interface OcfSchemaOptions {
  /** Accept parameters the meta-data does not declare (passed through as strings). Default false. */
  readonly allowUnknown?: boolean;
}

/**
 * The zod schema for an agent's parameters: required ones must be present, types are checked,
 * unknown names are rejected (a typo is the commonest mistake) unless `allowUnknown`.
 * Defaults are recorded in the descriptions and the zod metadata but not injected: the script
 * applies its own defaults, exactly as under Pacemaker.
 */
export function ocfParamsSchema(meta: OcfMetadata, options: OcfSchemaOptions = {}): z.ZodType<OcfParams, Record<string, OcfParamValue>> {
  const shape: Record<string, z.ZodType<string | undefined>> = {};
  for (const p of meta.parameters) {
    const base = valueSchema(p)
      .describe(describe(p))
      .meta({
        ocfType: p.type,
        ...(p.default !== undefined ? { default: p.default } : {}),
        ...(p.unique ? { unique: true } : {}),
      });
    shape[p.name] = p.required ? base : base.optional();
  }
  const obj = options.allowUnknown ? z.object(shape).catchall(z.union([z.string(), z.number(), z.boolean()]).transform(String)) : z.strictObject(shape);
  return obj.transform((o) => {
    const out: OcfParams = {};
    for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v as string;
    return out;
  }) as unknown as z.ZodType<OcfParams, Record<string, OcfParamValue>>;
}

/**
 * One sentence naming the resource, the agent and each bad parameter, worded as for every other
 * agent (agent-api's paramIssues): `resource "vip" (ocf:heartbeat:IPaddr2): parameter "ip": is
 * required but missing; parameter "ipp": unknown parameter (did you mean "ip"?)`.
 */
export function formatParamIssues(schema: z.ZodType, error: z.ZodError, resource: string, agent: string, raw: unknown): string {
  return new AgentParamsError(paramIssues(schema, error, raw), `resource "${resource}" (${agent})`).message;
}

/** Parses raw parameters or throws an OcfError naming the resource and the parameter. */
export function parseOcfParams(schema: z.ZodType<OcfParams>, raw: unknown, resource: string, agent: string): OcfParams {
  const r = schema.safeParse(raw);
  if (!r.success) throw new OcfError('OCF_PARAMS', formatParamIssues(schema, r.error, resource, agent, raw));
  return r.data;
}
