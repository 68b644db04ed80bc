import { mkdtemp, rm, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatReport, invokeAgent, silentLogger, testAgent, validateParams } from '@paceline/agent-api';
import { dummy, stateful } from '@paceline/agent-dummy';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dummy-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('paceline:dummy', () => {
  test('passes the agent test kit', async () => {
    const report = await testAgent(dummy, {}, { stateDir: join(dir, 'd1'), badParams: [{ delayMs: -1 }, { failActions: ['explode'] }] });
    expect(formatReport(report)).toContain('all checks passed');
  });
  test('passes with an explicit state file and delays', async () => {
    const state = join(dir, 'explicit', 'state');
    const report = await testAgent(dummy, { state, delayMs: 5, startDelayMs: 10 }, { stateDir: join(dir, 'd2') });
    expect(report.passed).toBe(true);
  });
  test('validate rejects a relative state path', () => {
    expect(validateParams(dummy, { state: 3 }, 'd').ok).toBe(false);
  });
  test('a delay longer than the timeout is a timeout, and the agent is cancelled', async () => {
    const report = await testAgent(dummy, { startDelayMs: 5000 }, { stateDir: join(dir, 'd3'), timeouts: { start: 50 } });
    expect(report.passed).toBe(false);
    expect(report.checks.find((c) => c.name === 'start')?.result?.execution).toBe('timeout');
  });
  test('failActions makes chosen actions fail with a reason', async () => {
    const clock = { now: () => Date.now(), sleep: () => new Promise<void>(() => undefined) };
    const r = await invokeAgent(dummy, {
      action: 'start',
      params: dummy.params.parse({ failActions: ['start'] }),
      node: 'n',
      instance: 'x',
      stateDir: join(dir, 'd4'),
      run: {
        run: async () => {
          throw new Error('no');
        },
      },
      log: silentLogger,
      clock,
      timeoutMs: 1000,
    });
    expect(r).toMatchObject({ execution: 'done', outcome: 'generic-error', reason: 'start fails because failActions includes it' });
  });
});

describe('paceline:stateful', () => {
  test('passes the agent test kit including promote/demote cycles', async () => {
    const report = await testAgent(stateful, { fake: 'x' }, { stateDir: join(dir, 's1') });
    expect(formatReport(report)).toContain('all checks passed');
    expect(report.checks.some((c) => c.name === 'promote (cycle 2)' && c.status === 'pass')).toBe(true);
    await expect(readFile(join(dir, 's1', 'dummy.state'), 'utf8')).rejects.toThrow();
  });
});
