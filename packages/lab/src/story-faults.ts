/**
 * The story's fault chapters: Samba killed until migration-threshold moves it, the crossover cut,
 * serv2's LAN lost, and a file changed on both sides. Each is one step of Story.run, moved here
 * from story.ts as it was.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from './errors.js';
import { NIC } from './hardware.js';
import { promotedOn, where } from './lab.js';
import { clientOk } from './story-client.js';
import { actionMs, placement } from './story-probes.js';
import type { Story } from './story.js';
import { sleep, waitFor } from './sys.js';

/** Samba killed (kill -9 of every smbd) three times on serv1: recovered twice in place, then migration-threshold moves it; a cleanup brings it home. */
// size: one chapter of the story, a linear script (three kills, each awaited and judged, then the cleanup); moved as it was
export async function sambaFails(story: Story): Promise<void> {
  const ch = story.begin('samba-fails');
  const { lab } = story;
  const fails = async (): Promise<number> =>
    ((await lab.status('serv1')).nodes.find((n) => n.name === 'serv1')?.failures ?? []).filter((f) => f.resource === 'samba').reduce((a, f) => a + f.count, 0);
  for (let i = 1; i <= 3; i++) {
    const before = await fails();
    const t0 = Date.now();
    const pids = lab.processes('serv1', 'smbd');
    for (const p of pids) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    const n = await waitFor(
      `samba failure ${i} counted`,
      async () => {
        const f = await fails();
        return f > before ? f : undefined;
      },
      60_000,
      250,
    );
    // Settled: the same single node in two views 3 s apart with no transition running (a recovery
    // whose start fails shows serv1 for a moment before Samba moves).
    let last: string | undefined;
    const on = await waitFor(
      'samba running again',
      async () => {
        const st = await lab.status('serv1');
        const w = where(st, 'samba');
        const now = w.length === 1 && st.lastTransition?.state !== 'running' ? w[0] : undefined;
        const stable = now !== undefined && now === last;
        last = now;
        return stable ? now : undefined;
      },
      120_000,
      3000,
    );
    const back = await clientOk(lab, 'smb-connect', t0, 60_000);
    story.note(
      ch,
      `kill -9 of smbd on serv1 (${pids.length} processes): fail count ${n >= 1_000_000 ? 'INFINITY (a start failed)' : n}; Samba answers again on ${on} after ${back - t0} ms`,
    );
    if (n >= 1_000_000 && on === 'serv1') {
      ch.notes.push(`UNEXPECTED: a recovery's start of Samba failed after kill ${i} (fail count INFINITY), yet Samba runs on serv1 again`);
      story.note(ch, 'a start failed (fail count INFINITY): no more kills');
      break;
    }
    if (on === 'serv2') {
      if (i < 3) {
        const why = (await lab.status('serv1')).nodes
          .find((x) => x.name === 'serv1')
          ?.failures.filter((f) => f.resource === 'samba')
          .map((f) => `${f.action ?? '?'} ${f.count}`)
          .join(', ');
        story.note(ch, `moved to serv2 after ${i} kill(s), before migration-threshold: a recovery's start failed (start failures are fatal: ${why})`);
        ch.notes.push('UNEXPECTED: Samba left serv1 before its third failure');
      } else story.note(ch, 'migration-threshold (3) reached: Samba moved to serv2 with its address and its data');
      break;
    }
    if (i === 3) throw new LabError('STORY_FAILED', 'Samba failed three times on serv1 and is still there (migration-threshold 3)');
  }
  await sleep(story.o.holdMs);
  const t1 = Date.now();
  const r = lab.paceline('serv1', 'resource', 'cleanup', 'samba');
  story.note(ch, `paceline resource cleanup samba: exit ${r.code} ${r.out.trim()}`);
  await waitFor(
    'samba home on serv1',
    async () => {
      const st = await lab.status('serv1');
      return where(st, 'samba').join() === 'serv1' && st.lastTransition?.state !== 'running';
    },
    120_000,
    250,
  );
  const back = await clientOk(lab, 'smb-connect', t1, 60_000);
  story.note(ch, `Samba home on serv1 again ${back - t1} ms after the cleanup`);
  await sleep(story.o.holdMs);
}

/** The crossover cable pulled: a warning on both nodes, nothing moves, nobody is fenced. */
export async function crossoverCut(story: Story): Promise<void> {
  const ch = story.begin('crossover-cut');
  const { lab } = story;
  const calls = lab.switchCalls().length;
  const before = await placement(lab);
  lab.hw.link('serv1', NIC.cx, false);
  story.note(ch, "crossover cut (serv1's cx0 down: no carrier on either end)");
  await waitFor(
    'the crossover seen down',
    async () => {
      const st = await lab.status('serv1');
      return st.nodes.find((n) => n.name === 'serv2')?.links['crossover'] === 'down';
    },
    30_000,
    200,
  );
  await sleep(Math.max(story.o.holdMs, 8000));
  const st = await lab.status('serv2');
  const after = await placement(lab);
  story.note(
    ch,
    `after ${Math.max(story.o.holdMs, 8000) / 1000} s: members [${st.members}], links of serv1 ${JSON.stringify(st.nodes.find((n) => n.name === 'serv1')?.links)}; ` +
      `placement ${before === after ? 'unchanged' : `CHANGED: ${before} -> ${after}`}; power switch calls: ${lab.switchCalls().length - calls}`,
  );
  if (st.members.length !== 2) throw new LabError('STORY_FAILED', `a node was lost over a crossover cut: members [${st.members}]`);
  if (lab.switchCalls().length !== calls) throw new LabError('STORY_FAILED', 'somebody was fenced over a crossover cut');
  lab.hw.link('serv1', NIC.cx, true);
  await waitFor('the crossover back', async () => (await lab.status('serv1')).nodes.find((n) => n.name === 'serv2')?.links['crossover'] === 'up', 30_000, 200);
  story.note(ch, 'crossover back');
}

/** serv2's LAN cables pulled at the switch (LAN and spare NIC): Cyrus's address moves to serv1; serv2 stays a member over the crossover; nobody is fenced. */
export async function serv2LanLost(story: Story): Promise<void> {
  const ch = story.begin('serv2-lan-lost');
  const { lab } = story;
  const calls = lab.switchCalls().length;
  const t0 = Date.now();
  lab.hw.switchPort('serv2', 'lan', false);
  lab.hw.switchPort('serv2', 'spare', false);
  story.note(ch, "serv2's LAN and spare NIC unplugged at the switch");
  await waitFor(
    'cyrus-ip on serv1',
    async () => {
      const st = await lab.status('serv1');
      return where(st, 'cyrus-ip').join() === 'serv1' && st.lastTransition?.state !== 'running';
    },
    120_000,
    250,
  );
  const st = await lab.status('serv1');
  story.note(
    ch,
    `Cyrus's group on serv1 after ${Date.now() - t0} ms (cyrus-mac on ${where(st, 'cyrus-mac')}, cyrus-ip on ${where(st, 'cyrus-ip')}, cyrus on ${where(st, 'cyrus').join() || 'nowhere'}); ` +
      `members [${st.members}]; power switch calls: ${lab.switchCalls().length - calls}`,
  );
  if (st.members.length !== 2) throw new LabError('STORY_FAILED', `serv2 was lost although the crossover carried its heartbeats: members [${st.members}]`);
  if (lab.switchCalls().length !== calls) throw new LabError('STORY_FAILED', 'somebody was fenced when serv2 lost only its LAN');
  await sleep(story.o.holdMs);
  lab.hw.switchPort('serv2', 'lan', true);
  lab.hw.switchPort('serv2', 'spare', true);
  story.note(ch, "serv2's LAN plugged back");
  await sleep(story.o.holdMs);
}

/**
 * A file changed on both sides while they could not mirror: written (and mirrored), then with the
 * crossover cut rewritten on serv1, serv1 loses power, rewritten on serv2; serv1 returns, is cleared:
 * serv2's version (the last the client saw acknowledged) stays in place, serv1's is kept under
 * conflicts/ and reported.
 */
export async function divergence(story: Story): Promise<void> {
  const ch = story.begin('divergence');
  const { lab } = story;
  const file = 'divergent.txt';
  await story.put(file, 1);
  await sleep(5000); // the replica pulls every 2 s
  lab.hw.link('serv1', NIC.cx, false);
  await story.put(file, 2);
  story.note(ch, `${file} v1 written and mirrored; crossover cut; v2 written on serv1 (not mirrored)`);
  const t0 = Date.now();
  lab.powerOff('serv1');
  await waitFor(
    'samba on serv2',
    async () => {
      const st = await lab.status('serv2');
      return where(st, 'samba').join() === 'serv2' && st.lastTransition?.state !== 'running';
    },
    120_000,
    200,
  );
  await clientOk(lab, 'smb-connect', t0, 60_000);
  await story.put(file, 3);
  story.note(ch, `serv1 powered off; Samba on serv2; v3 written on serv2`);
  lab.boot('serv1');
  await waitFor(
    'serv1 back, quarantined',
    async () => {
      const st = await lab.status('serv2');
      return st.members.includes('serv1') && st.nodes.find((x) => x.name === 'serv1')?.quarantine ? true : undefined;
    },
    120_000,
    250,
  );
  const r = lab.paceline('serv2', 'node', 'clear', 'serv1');
  story.note(ch, `serv1 back (quarantined), cleared: exit ${r.code}`);
  const t1 = Date.now();
  await waitFor(
    'samba home on serv1',
    async () => {
      const st = await lab.status('serv1');
      return where(st, 'samba').join() === 'serv1' && promotedOn(st, 'samba-data').join() === 'serv1' && st.lastTransition?.state !== 'running';
    },
    300_000,
    250,
  );
  const promote = actionMs(lab, 'serv1', 'samba-data', 'promote', t1);
  story.note(ch, `resync: ${promote?.reason ?? '?'}`);
  const conflicts = join(lab.hw.diskPathOf('serv1', '/srv/samba.mirror')!, 'conflicts', 'CONFLICTS.log');
  const kept = existsSync(conflicts) && readFileSync(conflicts, 'utf8').includes(`share/${file}`);
  story.note(ch, kept ? `the conflict on ${file} is reported in CONFLICTS.log, serv1's version kept under conflicts/` : `NO CONFLICT REPORTED for ${file}`);
  if (!kept) throw new LabError('STORY_FAILED', `the divergent ${file} was not reported as a conflict`);
  await sleep(story.o.holdMs);
}
