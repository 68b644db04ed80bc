/**
 * Issue 16 ("Hardening"): `config validate` warns about a file that would empty a running cluster
 * (item 2) and refuses an epoch that would leave later changes nowhere to go (item 7).
 */
import { runCli, type CliIo } from '@paceline/cli';

function fakeIo(files: Record<string, string>): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    stdout,
    stderr,
    out: (l) => stdout.push(l),
    err: (l) => stderr.push(l),
    readFile: (p) => {
      if (p in files) return files[p]!;
      throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
    },
    now: () => Date.UTC(2026, 10, 22, 10, 0, 0),
  };
}

test('config validate warns that an empty file would take every node and resource out of a cluster (item 2)', async () => {
  const io = fakeIo({ 'empty.yaml': '' });
  expect(await runCli(['config', 'validate', 'empty.yaml'], io)).toBe(0);
  const err = io.stderr.join('\n');
  expect(err).toMatch(/warning: empty\.yaml: nodes: none: .*every node would leave it .*--force/);
  expect(err).toMatch(/warning: empty\.yaml: resources: none: .*--force/);
});

test('config validate refuses an epoch near 2^53 (item 7)', async () => {
  const io = fakeIo({ 'big.yaml': 'epoch: 9007199254740991\nnodes: [{ name: n1 }]\n' });
  expect(await runCli(['config', 'validate', 'big.yaml'], io)).toBe(2);
  expect(io.stderr.join('\n')).toMatch(/epoch: at most 281474976710655, so that later changes can still raise it/);
});

test('config apply takes --force', async () => {
  const io = fakeIo({ 'c.yaml': 'nodes: [{ name: n1 }]\n' });
  // No daemon there: the option is accepted, the request fails to reach it.
  const code = await runCli(['config', 'apply', 'c.yaml', '--force', '--state-dir', '/nonexistent-paceline-state'], io);
  expect(code).not.toBe(0);
  expect(io.stderr.join('\n')).not.toMatch(/unknown option/);
  expect(io.stderr.join('\n')).toMatch(/cannot reach the daemon/);
});
