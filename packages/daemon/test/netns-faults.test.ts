/**
 * Real faults on the reference two-server setup (issue 8), one test per scenario, each on its own
 * lab of network namespaces (test/ns/lab.ts: serv1 and serv2 with a LAN `lan0` on a bridge that
 * also holds the client, and a crossover `hb0`; real `paceline daemon` processes under
 * `ip netns exec`; a `paceline:ip` VIP at home on serv1 with stickiness 0, stonithEnabled false;
 * membership fencing through `--fence-command` to a lab power switch that must be reachable from
 * the caller; a client probing the VIP over UDP every 10 ms, a responder bound to the VIP on each
 * server). With `paceline witness` available, the daemons of scenarios 1 and 5 use one on the
 * client (the recommended setup); scenario 4 needs it.
 *
 * 1. Double activity: serv1 loses its LAN and its crossover at once (`ip link set lan0 down; ip link
 *    set hb0 down` inside serv1; the switch port stays up), cut at several offsets before the VIP's
 *    next 2 s monitor: the VIP never answers from both servers, the client never sees serv1 →
 *    serv2 → serv1, and the VIP ends on serv2.
 * 2. Replays: a captured coordinator `action` ("start web on serv1") and a captured admin `update`
 *    (standby serv1), sent again from the client after serv1 restarted: web never runs twice, serv1
 *    is not put in standby again.
 * 3. Duplicate identity: a clone of serv2 (same name, key and addresses, no state yet; its LAN on the
 *    switch, its crossover going nowhere) starts, runs until serv1 has heard it and 3 s more, and
 *    stops cleanly: serv1 logs an identity conflict,
 *    web (serv2's service) never runs in two places at once (serv1, serv2, the clone), and the
 *    clone's leave is not taken for serv2's while the real serv2 runs.
 * 4. The wrong node shoots first: the power switch is on a management network every server still
 *    reaches; serv1 loses LAN and crossover: serv1 never calls the switch on serv2; serv2, holding
 *    the witness's vote, powers serv1 off and the client is answered by serv2.
 * 5. LAN-only loss: serv1's `lan0` goes down, the crossover stays up: the VIP moves to serv2,
 *    nobody is fenced, serv1's link stays down (the agent does not override an administrator).
 * (Crossover-only loss — nothing moves — is covered by netns.test.ts.)
 *
 * Scenarios whose fix has not landed yet are skipped with the missing fix named (PENDING below);
 * PACELINE_NS_FAULTS_PENDING=1 runs them anyway (to see them fail). PACELINE_NS_KEEP=DIR keeps
 * the logs of a failed scenario. Needs root, ip, nft, arping, ping (and tcpdump for scenario 2),
 * and the built CLI; otherwise skipped with the reason printed.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { FLAG_DEFLATE, Reassembler } from '../src/fragments.js';
import { PEER_LIMITS } from '../src/messages.js';
import { readKey } from '@paceline/runtime';
import { readPcap, replay, startCapture, stopCapture } from './ns/capture.js';
import {
  ADDR,
  IF,
  Lab,
  SERVERS,
  Sampler,
  cli,
  labSkipReason,
  replySpans,
  sleep,
  sleepResource,
  vipResource,
  waitFor,
  where,
  type DaemonSpec,
} from './ns/lab.js';

const skip = labSkipReason();
if (skip) process.stderr.write(`skipping the namespace fault tests: ${skip}\n`);
const runPending = process.env['PACELINE_NS_FAULTS_PENDING'] === '1';

/** Scenario → the fix it still waits for (skipped until it lands on main), or undefined. */
const PENDING: Record<string, string | undefined> = {
  double: undefined,
  replay: undefined,
  identity: undefined,
  shooter: undefined,
  lanOnly: undefined,
};

const helpOf = (...args: string[]): string => spawnSync(process.execPath, [cli, ...args, '--help'], { encoding: 'utf8' }).stdout ?? '';
/** `paceline witness` and `paceline daemon --arbiter` exist in the built CLI: scenarios 1, 4 and 5 then run the recommended setup. */
const haveWitness = !skip && /--listen/.test(helpOf('witness')) && /--arbiter/.test(helpOf('daemon'));

function scenario(id: keyof typeof PENDING, name: string, fn: () => Promise<void>, timeoutMs: number, cannot = skip): void {
  const pending = PENDING[id];
  if (cannot) {
    if (cannot !== skip) process.stderr.write(`skipping the namespace fault test "${name}": ${cannot}\n`);
    return void test.skip(name, fn);
  }
  if (pending && !runPending) {
    process.stderr.write(`namespace fault test "${name}" skipped until ${pending} lands (PACELINE_NS_FAULTS_PENDING=1 runs it)\n`);
    return void test.skip(`${name} [waits for ${pending}]`, fn);
  }
  test(name, fn, timeoutMs);
}

/** Runs `body` on a fresh lab; on failure prints the evidence (log tails, switch calls) and rethrows; always cleans up. */
async function withLab(spec: ConstructorParameters<typeof Lab>[0], body: (lab: Lab) => Promise<void>): Promise<void> {
  const lab = new Lab(spec);
  try {
    await body(lab);
  } catch (e) {
    process.stderr.write(`==== namespace fault scenario ${spec.tag} failed: ${(e as Error).message}\n${lab.evidence()}\n`);
    throw e;
  } finally {
    lab.destroy();
  }
}

/** The client's replies since `since`, as runs of one server (times relative to `since`), with the silences between them. */
function fmtSpans(lab: Lab, since: number): string {
  const out: string[] = [];
  let last = since;
  for (const s of replySpans(
    lab.replies.filter((r) => r.at >= since),
    100,
  )) {
    if (s.first - last > 100) out.push(`(silent ${s.first - last} ms)`);
    out.push(`${s.from} ${s.first - since}..${s.last - since} ms`);
    last = s.last;
  }
  return out.join(' → ') || 'none';
}
/** Any reply from `a` after one from `b`, after a reply from `a`: a → b → a. */
function flipFlop(lab: Lab, since: number): boolean {
  const spans = replySpans(lab.replies.filter((r) => r.at >= since)).map((s) => s.from);
  const i = spans.indexOf('serv2');
  return i >= 0 && spans.slice(i).includes('serv1');
}
const isoOf = (line: string): number => Date.parse(line.slice(0, 24));
const linesSince = (text: string, since: number): string[] => text.split('\n').filter((l) => isoOf(l) >= since);

// ---- 1. double activity ------------------------------------------------------------------------------

/**
 * The window (seen in 4 of 23 trials in the issue): serv1's VIP monitor sees lan0 down after serv2
 * has lost serv1 (0.3 s) but before serv2 fences it (1.3 s); serv1's recovery then brings lan0 up,
 * and a report of serv1's taken mid-recovery ("vip stopped") reaches serv2 just before the
 * heartbeat that makes serv1 a member again; serv2 schedules from it. The monitor runs on a 200 ms
 * grid, 2.2 s apart, so the cut is placed 1.0–1.2 s before its next run; whether the report beats
 * the heartbeat then depends on the daemons' tick phases (about 4 trials in 10 on this machine),
 * so several trials run, each on freshly started daemons.
 */
const DOUBLE_TRIALS = 7;
const DOUBLE_OFFSETS_MS = [1000, 1100, 1200];

scenario(
  'double',
  'double activity: serv1 loses LAN and crossover at once; the VIP never answers from both',
  () =>
    withLab({ tag: 'dbl' }, async (lab) => {
      const t0 = Date.now();
      lab.writeConfig();
      lab.startProber();
      if (haveWitness) lab.startWitness();
      const problems: string[] = [];
      const outcomes: string[] = [];
      for (let t = 1; t <= DOUBLE_TRIALS && Date.now() - t0 < 48_000; t++) {
        await lab.reset();
        lab.startResponders();
        for (const s of SERVERS) lab.startDaemon(s, { witness: haveWitness });
        await lab.settled({ vip: 'serv1' });
        lab.arm();
        await lab.clientSees('serv1', Date.now());
        if (haveWitness && t === 1) await lab.witnessReady();
        // The VIP's recurring monitor on serv1: its last run (logged), then every 2.2 s.
        const runs = [...lab.log('serv1').matchAll(/^(\S+) INFO +\[serv1 vip monitor\] monitor ok/gm)].map((m) => Date.parse(m[1]!));
        const offset = DOUBLE_OFFSETS_MS[(t - 1) % DOUBLE_OFFSETS_MS.length]!;
        let next = (runs.at(-1) ?? Date.now()) - 10;
        while (next - offset < Date.now() + 50) next += 2200;
        await sleep(next - offset - Date.now());
        const holders = new Sampler(() => lab.vipHolders(), 20);
        const cut = Date.now();
        lab.inNs(lab.ns.serv1, 'sh', ['-c', `ip link set ${IF.lan} down; ip link set ${IF.hb} down`]);
        await sleep(offset + 1200);
        let ended = 'serv2';
        await lab.clientSees('serv2', cut, 1000).catch(() => {
          ended = `not serv2 (last replies from ${lab.replies.slice(-3).map((r) => r.from)})`;
        });
        const both = (await holders.stop()).filter((x) => x.value.length > 1);
        const spans = fmtSpans(lab, cut);
        const fences = lab
          .fenceCalls()
          .filter((f) => f.at >= cut)
          .map((f) => `${f.caller}→${f.target} ${f.result} at ${f.at - cut} ms`);
        outcomes.push(
          `trial ${t} (cut ${offset} ms before serv1's VIP monitor): replies ${spans}; VIP on both up LANs in ${both.length} samples; switch: ${fences.join(', ') || 'no calls'}; ended ${ended}`,
        );
        if (flipFlop(lab, cut)) problems.push(`trial ${t}: the client was answered serv1 → serv2 → serv1: ${spans}`);
        if (both.length)
          problems.push(
            `trial ${t}: the VIP was configured on both servers' up lan0 (first ${both[0]!.at - cut} ms after the cut, ${both.length} samples of 20 ms)`,
          );
        if (ended !== 'serv2') problems.push(`trial ${t}: the VIP did not end on serv2, the only server with a LAN: ${ended}`);
      }
      process.stderr.write(`double activity (witness ${haveWitness ? 'on' : 'off'}):\n  ${outcomes.join('\n  ')}\n`);
      expect(outcomes.length).toBeGreaterThanOrEqual(3);
      expect(problems).toEqual([]);
    }),
  90_000,
);

// ---- 2. replays ---------------------------------------------------------------------------------------

const replaySkip = skip ?? labSkipReason([['tcpdump', ['--version'], 'tcpdump']]);

/** What the replay scenario reads of a captured daemon message (any version of the message schema). */
interface Captured {
  readonly type: string;
  readonly from: string;
  readonly key?: string;
  readonly reqId?: string;
  readonly action?: { readonly kind?: string; readonly resource?: string; readonly node?: string };
  readonly request?: { readonly op?: string; readonly node?: string; readonly on?: boolean };
}

/**
 * The messages among captured datagrams, each with the datagram that carried it (all small: one
 * datagram each): signatures and framing checked by the channel's own Reassembler, the JSON read
 * as it is (so that a build with another message version can be examined too). The test picks the
 * ones to replay by their content, with the key; an attacker without it would pick them by size
 * and timing — replaying needs no key.
 */
function decodeAll(key: Buffer, datagrams: readonly { payload: Buffer; at: number }[]): { message: Captured; packet: Buffer }[] {
  const reassembler = new Reassembler(key, PEER_LIMITS);
  const out: { message: Captured; packet: Buffer }[] = [];
  for (const d of datagrams) {
    const f = reassembler.accept(d.payload, d.at);
    if (!f) continue;
    const json = f.flags & FLAG_DEFLATE ? inflateRawSync(f.payload) : f.payload;
    out.push({ message: JSON.parse(json.toString('utf8')) as Captured, packet: d.payload });
  }
  return out;
}

scenario(
  'replay',
  'replays: a captured action and admin update, sent again after serv1 restarted, change nothing',
  () =>
    withLab({ tag: 'rpl' }, async (lab) => {
      lab.writeConfig([sleepResource('web', 1000002)], [{ type: 'location', id: 'web-home', resource: 'web', node: 'serv1', score: 100 }]);
      // Debug: serv1's log then says what it did with the replayed datagrams (dropped, and why).
      const robust: DaemonSpec = { membership: ['deadTicks=20'], logLevel: 'debug' };
      const pcap = join(lab.dir, 'serv1-channel.pcap');
      // Everything sent to serv1's daemon channel over the LAN, seen at serv1's switch port.
      const tcpdump = await startCapture(lab.ns.client, 'port1', `udp and dst host ${ADDR.lan.serv1} and dst port 5406`, pcap);
      for (const s of SERVERS) lab.startDaemon(s, robust);
      await lab.settled({ web: 'serv1' });
      lab.arm();
      const admin = (...args: string[]): void => {
        const r = lab.cli(...args, '--state-dir', lab.stateDir('serv2'));
        if (r.code !== 0) throw new Error(`paceline ${args.join(' ')} on serv2: ${r.out}`);
      };
      // An admin update issued on serv2 travels to the coordinator, serv1.
      expect((await lab.status('serv2')).coordinator).toBe('serv1');
      admin('node', 'standby', 'serv1');
      await lab.settled({ web: 'serv2' });
      admin('node', 'online', 'serv1');
      await lab.settled({ web: 'serv1' });
      // serv1 restarts cleanly: serv2 coordinates from then on and sends serv1 "start web".
      await lab.stopDaemon(lab.daemon('serv1'));
      lab.startDaemon('serv1', robust);
      await lab.settled({ web: 'serv1' });
      expect((await lab.status('serv2')).coordinator).toBe('serv2');
      // web moves away from serv1 for good; serv1 restarts again (its memory of what it ran is gone).
      admin('resource', 'ban', 'web', '--node', 'serv1');
      await lab.settled({ web: 'serv2' });
      await lab.stopDaemon(lab.daemon('serv1'));
      lab.startDaemon('serv1', robust);
      await lab.settled({ web: 'serv2' });
      await stopCapture(tcpdump);

      const key = await readKey(join(lab.dir, 'key'));
      const captured = decodeAll(key, readPcap(pcap));
      const startWeb = captured.filter(
        ({ message: m }) => m.type === 'action' && m.from === 'serv2' && m.action?.kind === 'start' && m.action.resource === 'web',
      );
      const standby = captured.filter(
        ({ message: m }) => m.type === 'update' && m.request?.op === 'standby' && m.request.node === 'serv1' && m.request.on === true,
      );
      expect(startWeb.length).toBeGreaterThan(0);
      expect(standby.length).toBeGreaterThan(0);
      const problems: string[] = [];

      // The action, replayed from the client: web must not start on serv1 (it runs on serv2).
      const sampler = new Sampler(() => lab.processHolders('1000002'), 50);
      const replayedAt = Date.now();
      await replay(lab.ns.client, lab.dir, [startWeb.at(-1)!.packet], ADDR.lan.serv1, 5406);
      await sleep(3000);
      const twice = (await sampler.stop()).filter((s) => s.value.length > 1);
      if (twice.length)
        problems.push(
          `the replayed action ("start web on serv1", key ${startWeb.at(-1)!.message.key}) ran: web on [${twice[0]!.value}] ${twice[0]!.at - replayedAt} ms after the replay, in ${twice.length} samples`,
        );
      const ran = linesSince(lab.log('serv1'), replayedAt).filter((l) => /start web on serv1|\[serv1 web start\]/.test(l));
      if (ran.length) problems.push(`serv1's log after the replay: ${ran.join(' | ')}`);
      await lab.settled({ web: 'serv2' }, SERVERS, 15_000);

      // The admin update, replayed: serv1 must not go into standby again.
      const updateAt = Date.now();
      await replay(lab.ns.client, lab.dir, [standby.at(-1)!.packet], ADDR.lan.serv1, 5406);
      let standbyAgain: string | undefined;
      for (const deadline = Date.now() + 3000; Date.now() < deadline && !standbyAgain; await sleep(100)) {
        const n = (await lab.status('serv2')).nodes.find((x) => x.name === 'serv1');
        if (n?.standby) standbyAgain = `serv1 in standby ${Date.now() - updateAt} ms after the replayed update`;
      }
      if (standbyAgain) problems.push(`the replayed admin update (standby serv1, request ${standby.at(-1)!.message.reqId}) was applied again: ${standbyAgain}`);
      const key1 = startWeb.at(-1)!.message.key ?? '?';
      const req1 = standby.at(-1)!.message.reqId ?? '?';
      const seen = linesSince(lab.log('serv1'), replayedAt).filter((l) => l.includes(key1) || l.includes(req1) || /dropped|stale|replay/i.test(l));
      process.stderr.write(
        `replays: ${captured.length} messages captured to serv1; problems: ${problems.length ? problems.join('; ') : 'none'}; serv1's log about them:\n  ${seen.slice(0, 12).join('\n  ')}\n`,
      );
      expect(problems).toEqual([]);
    }),
  90_000,
  replaySkip,
);

// ---- 3. duplicate identity ----------------------------------------------------------------------------

scenario(
  'identity',
  "duplicate identity: a clone of serv2 starts and stops; serv1 raises a conflict and never runs serv2's service twice",
  () =>
    withLab({ tag: 'dup', clone: true }, async (lab) => {
      lab.writeConfig(
        [vipResource(), sleepResource('web', 1000003)],
        [
          { type: 'location', id: 'vip-home', resource: 'vip', node: 'serv1', score: 100 },
          { type: 'location', id: 'web-home', resource: 'web', node: 'serv2', score: 100 },
        ],
      );
      const robust: DaemonSpec = { membership: ['deadTicks=20'] };
      for (const s of SERVERS) lab.startDaemon(s, robust);
      await lab.settled({ vip: 'serv1', web: 'serv2' });
      lab.arm();
      const sampler = new Sampler(() => lab.processHolders('1000003', ['serv1', 'serv2', 'clone']), 50);
      // The clone: serv2's VM cloned from its template (configuration and key, no state yet), booted on the LAN.
      const cloneState = join(lab.dir, 'serv2-clone');
      lab.inNs(lab.ns.client, 'ip', ['link', 'set', 'port3', 'up']);
      const cloneAt = Date.now();
      const clone = lab.startDaemon('serv2', { ...robust, ns: lab.ns.clone, stateDir: cloneState, log: 'serv2-clone.log' });
      // It runs until serv1 has heard it (its incarnation in serv1's log; a process start can take
      // seconds on a loaded machine), then 3 s more, then stops cleanly.
      const boot = await waitFor('the clone started', () => /daemon started boot=(\d+)/.exec(lab.log('serv2-clone'))?.[1], 20_000);
      await waitFor(`serv1 hearing the clone (incarnation ${boot})`, () => linesSince(lab.log('serv1'), cloneAt).some((l) => l.includes(boot)), 15_000);
      await sleep(3000);
      await lab.stopDaemon(clone, 15_000);
      const stoppedAt = Date.now();
      await sleep(5000);
      const samples = await sampler.stop();
      const problems: string[] = [];
      const twice = samples.filter((s) => s.value.length > 1);
      if (twice.length)
        problems.push(
          `web (serv2's service) ran in ${twice[0]!.value.join(' and ')} at once, ${twice[0]!.at - cloneAt} ms after the clone started (${twice.length} samples of 50 ms)`,
        );
      const s1 = linesSince(lab.log('serv1'), cloneAt);
      if (!s1.some((l) => / ERROR /.test(l) && /identity|two daemons|duplicate/i.test(l))) problems.push('serv1 logged no identity-conflict error');
      // The clone's leave is not serv2's while the real serv2 still runs (it may once serv2 was powered off).
      const fencedAt = lab.fenceCalls().find((f) => f.target === 'serv2' && f.result === 'off')?.at ?? Infinity;
      const left = s1.filter((l) => /serv2 left cleanly/.test(l) && isoOf(l) < fencedAt);
      if (left.length) problems.push(`serv1 took the clone's leave for serv2's while the real serv2 ran: ${left[0]}`);
      process.stderr.write(
        `duplicate identity: the clone ran ${stoppedAt - cloneAt} ms; serv1 after the clone started:\n  ${s1
          .filter((l) => !/packet dropped|message dropped/.test(l))
          .slice(0, 40)
          .join('\n  ')}\n`,
      );
      expect(problems).toEqual([]);
    }),
  60_000,
);

// ---- 4. the wrong node shoots first --------------------------------------------------------------------

scenario(
  'shooter',
  'the wrong node shoots first: serv1, cut off from LAN and crossover, never fences serv2',
  () =>
    withLab({ tag: 'sht', mgmt: true, switchVia: 'mgmt' }, async (lab) => {
      // The witness is the fix: without one the node running more (serv1, with the VIP) wins the fence
      // race by design, and this scenario fails (as it does on a build without `paceline witness`).
      lab.writeConfig();
      lab.startProber();
      if (haveWitness) lab.startWitness();
      lab.startResponders();
      for (const s of SERVERS) lab.startDaemon(s, { witness: haveWitness });
      await lab.settled({ vip: 'serv1' });
      lab.arm();
      await lab.clientSees('serv1', Date.now());
      if (haveWitness) await lab.witnessReady();
      const cut = Date.now();
      lab.inNs(lab.ns.serv1, 'sh', ['-c', `ip link set ${IF.lan} down; ip link set ${IF.hb} down`]);
      const problems: string[] = [];
      await lab
        .clientSees('serv2', cut, 10_000)
        .catch((e: Error) => problems.push(`the client was not answered by serv2 within 10 s: ${e.message}; replies ${fmtSpans(lab, cut)}`));
      await sleep(1000);
      const calls = lab.fenceCalls().filter((f) => f.at >= cut);
      const wrong = calls.filter((f) => f.caller === 'serv1');
      if (wrong.length)
        problems.push(`serv1 (isolated) called the power switch on ${wrong.map((f) => `${f.target} at ${f.at - cut} ms (${f.result})`).join(', ')}`);
      if (!calls.some((f) => f.caller === 'serv2' && f.target === 'serv1' && f.result === 'off'))
        problems.push(`serv2 did not power serv1 off: switch calls ${JSON.stringify(calls)}`);
      process.stderr.write(
        `wrong node shoots first (witness ${haveWitness ? 'on' : 'off'}): switch calls ${calls.map((f) => `${f.caller}→${f.target} ${f.result} at ${f.at - cut} ms`).join(', ') || 'none'}; replies ${fmtSpans(lab, cut)}\n`,
      );
      expect(problems).toEqual([]);
    }),
  60_000,
);

// ---- 5. LAN-only loss ---------------------------------------------------------------------------------

scenario(
  'lanOnly',
  "LAN-only loss: serv1's lan0 goes down, the crossover stays up: the VIP moves to serv2, nobody is fenced",
  () =>
    withLab({ tag: 'lan' }, async (lab) => {
      lab.writeConfig();
      lab.startProber();
      if (haveWitness) lab.startWitness();
      lab.startResponders();
      const spec: DaemonSpec = { witness: haveWitness, membership: ['deadTicks=20'] };
      for (const s of SERVERS) lab.startDaemon(s, spec);
      await lab.settled({ vip: 'serv1' });
      lab.arm();
      await lab.clientSees('serv1', Date.now());
      if (haveWitness) await lab.witnessReady();
      const cut = Date.now();
      lab.inNs(lab.ns.serv1, 'ip', ['link', 'set', IF.lan, 'down']);
      const problems: string[] = [];
      const moved = await lab.clientSees('serv2', cut, 15_000).catch((e: Error) => {
        problems.push(`the VIP did not move to serv2 within 15 s: ${e.message}; replies ${fmtSpans(lab, cut)}`);
        return undefined;
      });
      await sleep(2000);
      const calls = lab.fenceCalls().filter((f) => f.at >= cut);
      if (calls.length) problems.push(`the power switch was called: ${calls.map((f) => `${f.caller}→${f.target} ${f.result} at ${f.at - cut} ms`).join(', ')}`);
      const link = JSON.parse(lab.inNs(lab.ns.serv1, 'ip', ['-j', 'link', 'show', 'dev', IF.lan])) as { flags: string[] }[];
      if (link[0]?.flags.includes('UP')) problems.push("serv1's lan0, set down by the administrator, was set up again");
      const st = await lab.status('serv2');
      if (st.members.join() !== 'serv1,serv2') problems.push(`serv2's members: [${st.members}] (both should stay, the crossover is up)`);
      if (where(st, 'vip').join() !== 'serv2') problems.push(`serv2's view: vip on [${where(st, 'vip')}]`);
      process.stderr.write(
        `LAN-only loss (witness ${haveWitness ? 'on' : 'off'}): ${moved ? `the client answered by serv2 ${moved - cut} ms after the cut` : 'the VIP did not move'}; replies ${fmtSpans(lab, cut)}\n`,
      );
      expect(problems).toEqual([]);
    }),
  60_000,
);
