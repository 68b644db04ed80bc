/**
 * `npm run lab [-- OPTIONS]`: the reference cluster, live (see docs/lab.md).
 *
 *   npm run lab                 the whole story, the verdict, then everything removed
 *   npm run lab -- --short      power loss, return, clear (failback) only
 *   npm run lab -- --keep       leave the lab running afterwards (explore it; then `npm run lab -- down`)
 *   npm run lab -- up           build the lab and boot both servers, nothing else (implies --keep)
 *   npm run lab -- down         remove a kept lab (its own namespaces and processes, by name and PID)
 *   --membership KEY=VALUE      a membership setting for both daemons, e.g. deadTicks=30 (1.5 s) on a busy machine
 *
 * Not root: says so and runs the simulated demo (`npm run demo`) instead.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { CLI, Lab, REPO } from './lab.js';
import { labSkipReason } from './preflight.js';
import { ALL_CHAPTERS, SHORT_STORY, Story, formatVerdict, type ChapterName } from './story.js';

const WORK = process.env['PACELINE_LAB_DIR'] ?? '/var/tmp/paceline-lab';
const PREFIX = 'plab';

const args = process.argv.slice(2);
const has = (f: string): boolean => args.includes(f);
const say = (l: string): void => {
  process.stdout.write(`${l}\n`);
};

async function main(): Promise<number> {
  if (args[0] === 'down') {
    const gone = Lab.down(WORK, !has('--keep-files'));
    say(gone.length ? `removed: ${gone.join(', ')}` : `no lab found in ${WORK}`);
    return 0;
  }
  const why = labSkipReason();
  if (why) {
    say(`The live lab cannot run here: ${why}.`);
    say('Running the simulated demo instead (the same story through the real scheduler and membership, nothing real moves):\n');
    const r = spawnSync(process.execPath, [CLI, 'demo', `${REPO}/examples/two-node-mutual-failover`], { stdio: 'inherit' });
    return r.status ?? 1;
  }
  if (existsSync(`${WORK}/lab.json`)) {
    say(`A lab is already there (${WORK}); removing it first.`);
    Lab.down(WORK, true);
  }
  rmSync(WORK, { recursive: true, force: true });
  // --membership KEY=VALUE (repeatable) goes to both daemons, e.g. deadTicks=30 on a loaded machine.
  const membership = args.flatMap((a, i) => (a === '--membership' && args[i + 1] ? ['--membership', args[i + 1]!] : []));
  const lab = new Lab({ prefix: PREFIX, workDir: WORK, log: say, daemonArgs: membership });
  const keep = has('--keep') || args[0] === 'up';
  const cleanup = (): void => {
    if (!keep) Lab.down(WORK, false);
  };
  process.once('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  try {
    say(`Building the lab in ${WORK} (namespaces ${PREFIX}-*) ...`);
    lab.build();
    const chapters: readonly ChapterName[] = args[0] === 'up' ? ['both-up'] : has('--short') ? SHORT_STORY : ALL_CHAPTERS;
    const story = new Story(lab, { chapters, holdMs: Number(process.env['PACELINE_LAB_HOLD_MS'] ?? 8000), log: say });
    const v = await story.run();
    say(`\n${formatVerdict(v)}`);
    say(`\nThe verdict as JSON: ${lab.file('verdict.json')}; the client's record: ${lab.file('client.jsonl')}; logs: ${WORK}/*.log`);
    if (keep) {
      writeFileSync(lab.file('README'), exploreHelp(lab));
      say(`\n${exploreHelp(lab)}`);
    }
    return v.ok ? 0 : 1;
  } catch (e) {
    Lab.down(WORK, false); // a lab that could not even be built is never kept
    throw e;
  } finally {
    cleanup();
  }
}

function exploreHelp(lab: Lab): string {
  const s = (n: 'serv1' | 'serv2'): string => `nsenter --net=/run/netns/${lab.hw.ns[n]} --mount=${lab.hw.mntFile(n)} --uts=${lab.hw.utsFile(n)}`;
  return [
    'The lab is still running. Explore it:',
    `  ${s('serv1')} node ${CLI} status --watch`,
    `  ${s('serv2')} bash                 # a shell on serv2 (its own /srv, /var/spool, /run ...)`,
    `  ip netns exec ${lab.hw.ns.client} bash     # the client: smbclient //192.168.100.11/share -N, curl http://192.168.100.11/ ...`,
    'Remove it: npm run lab -- down',
  ].join('\n');
}

process.exitCode = await main();
