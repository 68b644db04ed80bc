import { z } from 'zod';
import {
  coerceParams,
  defineAgent,
  describeAgentParams,
  describeParams,
  notRunning,
  ok,
  parseParamsOrThrow,
  validateParams,
  AgentParamsError,
} from '@paceline/agent-api';
import { isZod4Schema, ZOD_PEER_RANGE } from '@paceline/model';

const schema = z.object({
  command: z.string().min(1).describe('The program to run').meta({ unique: true }),
  args: z.array(z.string()).default([]).describe('Its arguments'),
  port: z.number().int().min(1).max(65535).optional().describe('TCP port'),
  mode: z.enum(['fast', 'safe']).default('safe').describe('How to stop'),
  verbose: z.boolean().default(false),
});
const agent = defineAgent({
  meta: { name: 'demo', version: '1', description: 'demo', uniqueParams: ['port'] },
  params: schema,
  start: async () => ok(),
  stop: async () => ok(),
  monitor: async () => notRunning(),
});

describe('describeParams', () => {
  test('lists each parameter with type, description, default, required and unique', () => {
    const d = describeParams(schema, ['port']);
    expect(d.map((p) => p.name)).toEqual(['command', 'args', 'port', 'mode', 'verbose']);
    expect(d[0]).toEqual({ name: 'command', type: 'string', description: 'The program to run', required: true, unique: true });
    expect(d[1]).toMatchObject({ type: 'array', itemType: 'string', default: [], required: false, unique: false });
    expect(d[2]).toMatchObject({ type: 'integer', required: false, unique: true });
    expect(d[3]).toMatchObject({ type: 'string', values: ['fast', 'safe'], default: 'safe' });
    expect(d[4]).toMatchObject({ type: 'boolean', default: false, description: '' });
  });
  test('rejects a schema that is not an object', () => {
    expect(() => describeParams(z.string())).toThrow(/z.object/);
  });
});

describe('validateParams', () => {
  test('names the resource and each bad parameter', () => {
    const r = validateParams(agent, { port: 'x' }, 'web');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.message).toContain('resource "web" (paceline:demo)');
    expect(r.message).toContain('parameter "command": is required but missing');
    expect(r.message).toMatch(/parameter "port": .*number/);
    expect(r.result).toMatchObject({ execution: 'done', outcome: 'misconfigured' });
    expect(r.issues.map((i) => i.path)).toEqual(['command', 'port']);
  });
  test('an unknown key of a strict schema is its own issue, with did-you-mean', () => {
    const strict = defineAgent({ ...agent, params: schema.strict() });
    const r = validateParams(strict, { command: 'sleep', verbos: true, zzzzzzzz: 1 }, 'web');
    expect(r.ok ? '' : r.message).toBe(
      'resource "web" (paceline:demo): parameter "verbos": unknown parameter (did you mean "verbose"?); parameter "zzzzzzzz": unknown parameter (known: command, args, port, mode, verbose)',
    );
    expect(r.ok ? [] : r.issues.map((i) => i.path)).toEqual(['verbos', 'zzzzzzzz']);
  });
  test('applies defaults', () => {
    const r = validateParams(agent, { command: 'sleep' });
    expect(r).toEqual({ ok: true, params: { command: 'sleep', args: [], mode: 'safe', verbose: false } });
  });
  test('parseParamsOrThrow throws AgentParamsError', () => {
    expect(() => parseParamsOrThrow(agent, {}, 'web')).toThrow(AgentParamsError);
  });
});

describe('coerceParams', () => {
  test('turns strings into the schema types', () => {
    const raw = coerceParams(schema, { command: 'sleep', args: ['10', '20'], port: '8080', verbose: 'yes', mode: 'fast' });
    expect(raw).toEqual({ command: 'sleep', args: ['10', '20'], port: 8080, verbose: true, mode: 'fast' });
    expect(coerceParams(schema, { args: '["a b", "c"]' }).args).toEqual(['a b', 'c']);
    expect(coerceParams(schema, { args: 'a  b' }).args).toEqual(['a', 'b']);
    expect(coerceParams(schema, { port: 'eighty' }).port).toBe('eighty');
  });
});

describe('a parameter schema not made by zod 4', () => {
  // What zod 3's z.object({ path: z.string() }) is to a zod 4 reader: a _def and safeParse, no _zod.
  const zod3Like = {
    _def: { typeName: 'ZodObject', shape: () => ({ path: { _def: { typeName: 'ZodString' } } }) },
    safeParse: () => ({ success: true, data: {} }),
  };
  const definition = {
    meta: { name: 'old', version: '1', description: 'built with zod 3' },
    params: zod3Like as unknown as z.ZodType,
    start: async () => ok(),
    stop: async () => ok(),
    monitor: async () => notRunning(),
  };

  test('is refused by defineAgent and describeParams with the reason and the fix, not a TypeError', () => {
    const message = 'agent paceline:old: params is not a zod 4 schema (it was made by zod 3): Paceline needs zod ^4.1.0';
    expect(() => defineAgent(definition)).toThrow(message);
    expect(() => describeAgentParams(definition)).toThrow(message);
    expect(() => describeParams(zod3Like as unknown as z.ZodType)).toThrow('the parameter schema is not a zod 4 schema (it was made by zod 3)');
  });

  test('the model recognises zod 4 schemas', () => {
    expect(isZod4Schema(z.string())).toBe(true);
    expect(isZod4Schema(zod3Like)).toBe(false);
    expect(ZOD_PEER_RANGE).toBe('^4.1.0');
  });
});
