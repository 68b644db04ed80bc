/**
 * A backtracking resourcePattern (issue 16, item 4): `^(a+)+$` against ids of 29 and 40 a's
 * blocked the event loop of whatever scheduled it (the coordinator: both nodes fenced each other).
 * The built CLI must validate and simulate it at once; before, `simulate` never finished (it is
 * killed after 60 s here, so a regression fails instead of hanging).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';

const cli = join(process.cwd(), 'packages/cli/dist/main.js');
if (!existsSync(cli)) throw new Error(`${cli} is not built: run npm run build (npm test does)`);

test('config validate and simulate with ^(a+)+$ and ids made to trigger backtracking', () => {
  const dir = mkdtempSync(join(tmpdir(), 'paceline-pattern-'));
  try {
    const file = join(dir, 'cluster.yaml');
    const ids = [`${'a'.repeat(29)}-`, `${'a'.repeat(40)}-`, 'a'.repeat(40)];
    writeFileSync(
      file,
      stringify({
        properties: { stonithEnabled: false },
        nodes: [{ name: 'n1' }, { name: 'n2' }],
        resources: ids.map((id) => ({ type: 'primitive', id, agent: 'paceline:dummy' })),
        constraints: [{ type: 'location', id: 'only-as', resourcePattern: '^(a+)+$', node: 'n2', score: 'INFINITY' }],
      }),
    );
    const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 60_000, killSignal: 'SIGKILL' });
    const v = run('config', 'validate', file);
    expect({ status: v.status, signal: v.signal }).toEqual({ status: 0, signal: null });
    const s = run('simulate', '--config', file);
    expect({ status: s.status, signal: s.signal, stderr: s.stderr }).toEqual({ status: 0, signal: null, stderr: '' });
    // only the id that matches goes to n2 (the other two spread)
    expect(s.stdout).toContain(`* Start      ${'a'.repeat(40)} ( n2 )`);
    expect(s.stdout).toContain(`* Start      ${'a'.repeat(29)}- ( n1 )`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 150_000);
