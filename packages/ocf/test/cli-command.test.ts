/** `paceline agent export-ocf` / `agent meta-data` (packages/cli/src/commands/ocf.ts) on the real ocfCliApi. */
import { afterAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { ocfCliApi } from '@paceline/ocf';
import { registerOcfCommands } from '../../cli/src/commands/ocf.js';

const repo = fileURLToPath(new URL('../../..', import.meta.url));
const built = existsSync(join(repo, 'packages/ocf/dist/index.js')) && existsSync(join(repo, 'agents/dummy/dist/index.js'));
const out = mkdtempSync(join(tmpdir(), 'paceline-cli-ocf-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

async function cli(args: string[]): Promise<string[]> {
  const lines: string[] = [];
  const program = new Command('paceline').exitOverride();
  program.command('agent').command('list');
  registerOcfCommands(program, ocfCliApi, { out: (l) => lines.push(l), err: (l) => lines.push(l), readFile: () => '', now: () => 0 });
  await program.parseAsync(args, { from: 'user' });
  return lines;
}

(built ? describe : describe.skip)('paceline agent export-ocf / meta-data', () => {
  it('adds both commands under the existing `agent` command', async () => {
    const program = new Command('p');
    program.command('agent');
    registerOcfCommands(program, ocfCliApi);
    expect(program.commands.filter((c) => c.name() === 'agent')).toHaveLength(1);
    expect(program.commands[0]!.commands.map((c) => c.name())).toEqual(['export-ocf', 'meta-data']);
  });
  it('exports an agent by name', async () => {
    const lines = await cli(['agent', 'export-ocf', 'stateful', '--out', out]);
    expect(lines[0]).toContain(`wrote ${join(out, 'stateful')}`);
    expect(statSync(join(out, 'stateful')).mode & 0o111).toBe(0o111);
  });
  it("prints generated meta-data, and an OCF script's own", async () => {
    expect((await cli(['agent', 'meta-data', 'paceline:dummy'])).join('\n')).toContain('<resource-agent name="dummy"');
    if (existsSync('/usr/lib/ocf/resource.d/heartbeat/Dummy')) {
      expect((await cli(['agent', 'meta-data', 'ocf:heartbeat:Dummy'])).join('\n')).toContain('<resource-agent name="Dummy"');
    }
  });
  it('names an unknown agent', async () => {
    await expect(cli(['agent', 'meta-data', 'nosuch'])).rejects.toThrow(/no agent "nosuch"/);
  });
});
