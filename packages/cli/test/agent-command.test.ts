import { Command, CommanderError } from 'commander';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExitError, type CliIo } from '../src/io.js';
import { builtinAgentRegistry, parseParamPairs, registerAgentCommands } from '../src/commands/agent.js';

async function run(argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (l) => out.push(l), err: (l) => err.push(l), readFile: () => '', now: () => 0 };
  const program = new Command('paceline').exitOverride().configureOutput({ writeOut: (s) => out.push(s), writeErr: (s) => err.push(s) });
  registerAgentCommands(program, builtinAgentRegistry(), io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return { code: 0, out, err };
  } catch (e) {
    if (e instanceof ExitError) {
      if (e.message) err.push(e.message);
      return { code: e.exitCode, out, err };
    }
    if (e instanceof CommanderError) return { code: e.exitCode, out, err };
    throw e;
  }
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cli-agent-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('paceline agent', () => {
  test('list', async () => {
    const r = await run(['agent', 'list']);
    expect(r.code).toBe(0);
    expect(r.out.map((l) => l.split(/\s+/)[0])).toEqual(['paceline:dummy', 'paceline:process', 'paceline:stateful']);
  });
  test('info prints capabilities and a parameter table', async () => {
    const r = await run(['agent', 'info', 'paceline:process']);
    expect(r.code).toBe(0);
    expect(r.out[1]).toBe('capabilities: validatable');
    const header = r.out.find((l) => l.startsWith('NAME'));
    expect(header).toMatch(/^NAME\s+TYPE\s+REQUIRED\s+DEFAULT\s+UNIQUE\s+DESCRIPTION$/);
    expect(r.out.find((l) => l.startsWith('command '))).toMatch(/^command\s+string\s+yes\s+The program/);
    expect(r.out.find((l) => l.startsWith('probe '))).toMatch(/none\|tcp\|http\|command\s+none/);
    const json = await run(['agent', 'info', 'stateful', '--format', 'json']);
    expect(JSON.parse(json.out.join('\n'))).toMatchObject({ name: 'stateful', capabilities: ['promotable', 'reloadable', 'validatable'] });
  });
  test('info of an unknown agent names the known ones', async () => {
    const r = await run(['agent', 'info', 'nope']);
    expect(r.code).toBe(2);
    expect(r.err.join('\n')).toContain('known: paceline:dummy, paceline:process, paceline:stateful');
  });
  test('test passes for a good agent and prints each check', async () => {
    const r = await run(['agent', 'test', 'process', '--param', 'command=sleep', '--param', 'args=30', '--state-dir', join(dir, 'p')]);
    expect(r.out.join('\n')).toContain('PASS monitor after stop is not-running');
    expect(r.out[r.out.length - 1]).toBe('agent process: all checks passed');
    expect(r.code).toBe(0);
  });
  test('test fails with exit code 1 and reasons', async () => {
    const r = await run(['agent', 'test', 'dummy', '--param', 'failActions=stop', '--state-dir', join(dir, 'd')]);
    expect(r.code).toBe(1);
    expect(r.out.join('\n')).toMatch(/FAIL stop — expected ok, got generic-error: stop fails because failActions includes it/);
  });
  test('parseParamPairs collects repeated names and rejects bad pairs', () => {
    expect(parseParamPairs(['a=1', 'b=x=y', 'a=2'])).toEqual({ a: ['1', '2'], b: 'x=y' });
    expect(() => parseParamPairs(['novalue'])).toThrow(/NAME=VALUE/);
  });
});
