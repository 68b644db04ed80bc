/**
 * A start still under way when its node loses the right to run (the simulator's seed 393, here with
 * real daemons, a real agent and a real cut): serv1 is starting `slow` (a `paceline:process` whose
 * start takes several seconds, longer than the `witness` policy's grace) when it loses its LAN and
 * its crossover at once. serv1 can then no longer reach the witness and must stop what it runs —
 * including the start it has not finished — before serv2, which still reaches the witness, takes
 * `slow` over once the grace has passed. The process must never run in both namespaces at once
 * (sampled every 20 ms, by its command line, in each namespace), and it must end on serv2.
 *
 * The lab (test/ns/lab.ts): serv1 and serv2 on a LAN bridge with a client, and a crossover; real
 * `paceline daemon` processes under `ip netns exec`, `--partition-policy witness` with the client as
 * the ping target (`--witness`). Needs root, ip, nft, arping, ping and the built CLI; otherwise
 * skipped with the reason printed. PACELINE_NS_KEEP=DIR keeps the logs of a failed run.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLIENT, IF, Lab, SERVERS, Sampler, labSkipReason, sleep, waitFor, type DaemonSpec } from './ns/lab.js';

const skip = labSkipReason();
if (skip) process.stderr.write(`skipping the in-flight start test: ${skip}\n`);

/** How long `slow`'s start takes: well over the witness grace (40 ticks, 2 s) plus loss detection. */
const START_S = 8;

function slowResource(dir: string, marker: string): Record<string, unknown> {
  // Ready once the start's sleep is over: a file named after the namespace it runs in. The marker is
  // the shell's $0, so it is in the process's command line for as long as the process lives.
  const readyFile = `${dir}/ready-$(ip netns identify)`;
  return {
    type: 'primitive',
    id: 'slow',
    agent: 'paceline:process',
    meta: { targetRole: 'Stopped' },
    params: {
      command: 'sh',
      args: ['-c', `sleep ${START_S}; touch "${readyFile}"; while :; do sleep 1; done`, marker],
      probe: 'command',
      probeCommand: ['sh', '-c', `test -e "${readyFile}"`],
      stopTimeoutMs: 5000,
    },
    ops: [
      { name: 'start', timeout: '60s' },
      { name: 'monitor', interval: '2s' },
    ],
  };
}

(skip ? test.skip : test)(
  'a start under way when serv1 is cut off (witness policy): serv1 gives it up and stops, serv2 starts only afterwards',
  async () => {
    const lab = new Lab({ tag: 'inf' });
    try {
      const marker = `pl-inflight-${process.pid}-${Date.now().toString(36)}`;
      lab.writeConfig([slowResource(lab.dir, marker)], [{ type: 'location', id: 'slow-home', resource: 'slow', node: 'serv1', score: 100 }]);
      const spec: DaemonSpec = { args: ['--partition-policy', 'witness', '--witness', CLIENT] };
      for (const s of SERVERS) lab.startDaemon(s, spec);
      await lab.settled({});
      // Both must have heard from the witness before the cut: a peer lost before any answer counts as
      // lost while the witness was unreachable, and then neither side may take over.
      await waitFor('the witness reachable from both servers', async () => SERVERS.every((s) => lab.log(s).includes('witness reachable')), 20_000, 50);

      // Let it start: the same configuration without target-role Stopped.
      const doc = JSON.parse(readFileSync(lab.configFile, 'utf8')) as { resources: { meta?: Record<string, unknown> }[] };
      delete doc.resources[0]!.meta;
      const started = join(lab.dir, 'started.json');
      writeFileSync(started, JSON.stringify(doc, null, 2));
      const applied = lab.cli('config', 'apply', started, '--state-dir', lab.stateDir('serv1'));
      if (applied.code !== 0) throw new Error(`config apply: ${applied.out}`);
      await waitFor('slow launched on serv1', async () => (await lab.processHolders(marker)).join() === 'serv1', 20_000, 50);

      // Cut serv1 off while its start is under way (ready only START_S seconds after the launch).
      const holders = new Sampler(() => lab.processHolders(marker), 20);
      const cut = Date.now();
      lab.inNs(lab.ns.serv1, 'sh', ['-c', `ip link set ${IF.lan} down; ip link set ${IF.hb} down`]);
      await waitFor('slow running on serv2 alone', async () => (await lab.processHolders(marker)).join() === 'serv2', START_S * 1000 + 30_000, 100).catch(
        (e: Error) => {
          throw new Error(`${e.message}; holders now: [${holders.samples.at(-1)?.value ?? []}]`);
        },
      );
      await sleep(1000);
      const samples = await holders.stop();
      const lastOn1 = samples.filter((x) => x.value.includes('serv1')).at(-1);
      const firstOn2 = samples.find((x) => x.value.includes('serv2'));
      const both = samples.filter((x) => x.value.length > 1);
      process.stderr.write(
        `in-flight start cut off: serv1's process last seen ${lastOn1 ? lastOn1.at - cut : '-'} ms after the cut, ` +
          `serv2's first seen ${firstOn2 ? firstOn2.at - cut : '-'} ms after (start takes ${START_S} s); on both in ${both.length} samples\n`,
      );
      expect(both.map((x) => `${x.at - cut} ms after the cut: [${x.value}]`)).toEqual([]);
      expect(samples.at(-1)?.value).toEqual(['serv2']);
    } catch (e) {
      process.stderr.write(`==== in-flight start test failed: ${(e as Error).message}\n${lab.evidence()}\n`);
      throw e;
    } finally {
      lab.destroy();
    }
  },
  120_000,
);
