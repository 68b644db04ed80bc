/**
 * `@paceline/testkit/netns` against the kernel: namespaces, a veth pair between two, the processes
 * inside, killing them and deleting the namespaces. Root only (skipped with the reason otherwise).
 */
import { spawn } from 'node:child_process';
import { addVeth, createNetns, deleteNetns, killNetns, netnsPids, netnsSkipReason, runIn, tryRun, tryRunIn } from '@paceline/testkit/netns';

const skip = netnsSkipReason();
if (skip) process.stderr.write(`skipping the netns helper test: ${skip}\n`);
const maybe = skip ? test.skip : test;

const a = `tk-a-${process.pid}`;
const b = `tk-b-${process.pid}`;
afterAll(() => {
  for (const ns of [a, b]) deleteNetns(ns);
});

maybe('two namespaces joined by a veth pair reach each other; their processes are listed, killed, and the namespaces deleted', async () => {
  createNetns(a);
  createNetns(b);
  expect(runIn(a, 'ip', ['-j', 'link', 'show', 'dev', 'lo'])).toContain('"UP"');
  addVeth(a, 'eth0', b, 'eth0');
  runIn(a, 'ip', ['addr', 'add', '10.233.0.1/24', 'dev', 'eth0']);
  runIn(b, 'ip', ['addr', 'add', '10.233.0.2/24', 'dev', 'eth0']);
  expect(tryRunIn(a, 'ping', ['-c', '1', '-W', '2', '10.233.0.2']).status).toBe(0);
  expect(() => runIn(a, 'ip', ['link', 'show', 'dev', 'nosuch0'])).toThrow(/ip netns exec .* failed \(exit 1\): .*nosuch0/);

  // A stopped process dies too.
  const child = spawn('ip', ['netns', 'exec', b, 'sleep', '60'], { stdio: 'ignore' });
  const exited = new Promise((r) => child.once('exit', r));
  for (let i = 0; i < 100 && netnsPids(b).length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  const [pid] = netnsPids(b);
  expect(pid).toBeDefined();
  process.kill(pid!, 'SIGSTOP');
  killNetns(b);
  await exited;
  expect(netnsPids(b)).toEqual([]);

  deleteNetns(a);
  deleteNetns(b);
  expect(tryRun('ip', ['netns', 'list']).stdout).not.toMatch(new RegExp(`\\b(${a}|${b})\\b`));
  expect(netnsPids(a)).toEqual([]);
  deleteNetns(a); // deleting a missing namespace is fine
});

test('addVeth refuses an interface name the kernel would refuse (over 15 characters)', () => {
  expect(() => addVeth('x', 'a-name-of-16-chr', 'y', 'eth0')).toThrow('interface name a-name-of-16-chr is longer than 15 characters');
});
