import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentRegistry, describeAgentParams, formatReport, testAgent } from '@paceline/agent-api';
import { banner } from '../src/index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'banner-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('passes the agent test kit', async () => {
  const report = await testAgent(
    banner,
    { path: join(dir, 'motd') },
    {
      stateDir: join(dir, 'state'),
      badParams: [{ path: 'relative/motd' }, { path: join(dir, 'x'), mode: 'rw' }],
    },
  );
  expect(formatReport(report)).toContain('all checks passed');
});

test('leaves a file it did not write alone', async () => {
  const path = join(dir, 'foreign');
  await writeFile(path, 'not ours\n');
  const report = await testAgent(banner, { path }, { stateDir: join(dir, 'state2') });
  expect(report.checks.find((c) => c.name === 'probe: monitor on a clean node is not-running')?.status).toBe('pass');
  expect(report.checks.find((c) => c.name === 'start')?.reason).toContain('refusing to overwrite');
  expect(await readFile(path, 'utf8')).toBe('not ours\n');
});

test('is registered and described like any other agent', () => {
  const registry = new AgentRegistry([banner]);
  expect(registry.get('paceline:banner')).toBe(banner);
  expect(describeAgentParams(banner).map((p) => [p.name, p.required, p.unique])).toEqual([
    ['path', true, true],
    ['text', false, false],
    ['mode', false, false],
  ]);
});
