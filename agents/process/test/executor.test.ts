/**
 * The process agent under the executor, for real: a transition starts two daemons in order; a
 * start whose readiness probe hangs past the operation timeout is reported as a timeout, and the
 * probe's process group and the half-started daemon are both killed.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentRegistry, silentLogger } from '@paceline/agent-api';
import { ClusterConfig, type GraphAction, type Transition } from '@paceline/model';
import { executeTransition, stateDirFor } from '@paceline/executor';
import { ExecaCommandRunner, SystemClock } from '@paceline/runtime';
import { processAgent, procInfo } from '@paceline/agent-process';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), `process-exec-${process.pid}-`));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const act = (id: string, kind: GraphAction['kind'], resource: string): GraphAction => ({
  id,
  kind,
  resource,
  node: 'n1',
  interval: 0,
  reason: 'test',
  runnable: true,
});
const graph = (actions: GraphAction[], edges: [string, string][]): Transition => ({
  current: [],
  placement: [],
  actions,
  edges: edges.map(([before, after]) => ({ before, after, reason: 'test' })),
  summary: [],
  explanation: { scores: [], decisions: [] },
  warnings: [],
});
const gone = async (pid: number): Promise<boolean> => {
  const i = await procInfo(pid);
  return !i || i.state === 'Z';
};
const pidOf = async (instance: string): Promise<number> =>
  (JSON.parse(await readFile(join(stateDirFor(root, 'n1', instance), 'process.json'), 'utf8')) as { pid: number }).pid;

test('starts daemons in order, then stops them; a hanging start times out and leaves nothing running', async () => {
  const marker = join(root, 'probe-started');
  const config = ClusterConfig.parse({
    nodes: [{ name: 'n1' }],
    resources: [
      { type: 'primitive', id: 'first', agent: 'paceline:process', params: { command: 'sleep', args: ['60'] } },
      { type: 'primitive', id: 'second', agent: 'paceline:process', params: { command: 'sleep', args: ['61'] } },
      {
        type: 'primitive',
        id: 'stuck',
        agent: 'paceline:process',
        ops: [{ name: 'start', timeout: '1500ms' }],
        params: { command: 'sleep', args: ['62'], probe: 'command', probeCommand: ['sh', '-c', `echo $$ > ${marker}; exec sleep 30`], probeTimeoutMs: 60_000 },
      },
    ],
  });
  const deps = {
    agents: new AgentRegistry([processAgent]),
    config,
    runner: new ExecaCommandRunner(),
    clock: new SystemClock(),
    logger: silentLogger,
    stateRoot: root,
  };
  const up = await executeTransition(
    graph(
      [act('second_start', 'start', 'second'), act('first_start', 'start', 'first'), act('stuck_start', 'start', 'stuck')],
      [['first_start', 'second_start']],
    ),
    deps,
  );
  const [second, first, stuck] = up.results;
  expect(first!.state).toBe('succeeded');
  expect(second!.state).toBe('succeeded');
  expect(second!.startedAt!).toBeGreaterThanOrEqual(first!.finishedAt!);
  expect(stuck!.result).toMatchObject({ execution: 'timeout' });

  // The probe's process group was killed at the deadline; the agent then cleans up its daemon.
  const probePid = Number((await readFile(marker, 'utf8')).trim());
  for (let i = 0; i < 50 && !(await gone(probePid)); i++) await new Promise((r) => setTimeout(r, 50));
  expect(await gone(probePid)).toBe(true);
  let stuckState = true;
  for (let i = 0; i < 60 && stuckState; i++) {
    stuckState = await readFile(join(stateDirFor(root, 'n1', 'stuck'), 'process.json')).then(
      () => true,
      () => false,
    );
    if (stuckState) await new Promise((r) => setTimeout(r, 50));
  }
  expect(stuckState).toBe(false);

  const pids = [await pidOf('first'), await pidOf('second')];
  const down = await executeTransition(
    graph([act('first_stop', 'stop', 'first'), act('second_stop', 'stop', 'second'), act('stuck_stop', 'stop', 'stuck')], [['second_stop', 'first_stop']]),
    deps,
  );
  expect(down.succeeded).toBe(true);
  for (const pid of pids) expect(await gone(pid)).toBe(true);
});
