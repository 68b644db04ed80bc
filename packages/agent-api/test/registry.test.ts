import { z } from 'zod';
import { AgentRegistry, defineAgent, notRunning, ok, type ResourceAgent } from '@paceline/agent-api';

const make = (name: string): ResourceAgent =>
  defineAgent({
    meta: { name, version: '1', description: name },
    params: z.object({}),
    start: async () => ok(),
    stop: async () => ok(),
    monitor: async () => notRunning(),
  });

describe('AgentRegistry', () => {
  test('registers and finds agents by paceline:NAME or NAME', async () => {
    const a = make('alpha');
    const reg = new AgentRegistry([make('beta'), a]);
    expect(reg.get('paceline:alpha')).toBe(a);
    expect(reg.get('alpha')).toBe(a);
    expect(reg.get('ocf:heartbeat:alpha')).toBeUndefined();
    expect(await reg.resolve('paceline:alpha')).toBe(a);
    expect(await reg.resolve('paceline:nope')).toBeUndefined();
    expect(reg.list().map((x) => x.meta.name)).toEqual(['alpha', 'beta']);
    expect(() => reg.require('paceline:nope')).toThrow(/known: paceline:alpha, paceline:beta/);
  });
  test('refuses a second agent with the same name and bad names', () => {
    const reg = new AgentRegistry([make('alpha')]);
    expect(() => reg.register(make('alpha'))).toThrow(/already registered/);
    expect(() => reg.register(make('a b'))).toThrow(/may contain only/);
  });
  test('resolves other classes through pluggable resolvers, cached per reference', async () => {
    const reg = new AgentRegistry();
    let calls = 0;
    const dummy = make('Dummy');
    reg.addResolver('ocf', async (ref) => {
      calls++;
      return ref === 'ocf:heartbeat:Dummy' ? dummy : undefined;
    });
    expect(await reg.resolve('ocf:heartbeat:Dummy')).toBe(dummy);
    expect(await reg.resolve('ocf:heartbeat:Dummy')).toBe(dummy);
    expect(calls).toBe(1);
    expect(await reg.resolve('ocf:heartbeat:Missing')).toBeUndefined();
    expect(await reg.resolve('stonith:fence_xvm')).toBeUndefined();
  });
});
