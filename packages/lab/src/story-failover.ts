/**
 * The story's first chapters (all of `--short`): both servers up, serv1's power lost and Samba on
 * serv2, serv1 back in quarantine, and the failback after `paceline node clear`. Each is one step
 * of Story.run, moved here from story.ts as it was.
 */
import type { Server } from './hardware.js';
import { promotedOn, where } from './lab.js';
import { clientOk, MAIL_USER, mailEnabled } from './story-client.js';
import { actionMs, crossoverBytes, dirBytes, firstLog } from './story-probes.js';
import type { Story } from './story.js';
import { sleep, waitFor } from './sys.js';

/** Both servers booted and the cluster settled with every service at home; the client starts. */
export async function bothUp(story: Story): Promise<void> {
  const ch = story.begin('both-up');
  const { lab } = story;
  lab.boot('serv1');
  lab.boot('serv2');
  const mail = mailEnabled();
  await lab.settled(
    {
      'samba-ip': ['serv1'],
      samba: ['serv1'],
      httpd: ['serv1', 'serv2'],
      bind: ['serv1', 'serv2'],
      radius: ['serv1', 'serv2'],
      ...(mail ? { cyrus: ['serv2'], sendmail: ['serv1', 'serv2'] } : {}),
    },
    undefined,
    180_000,
  );
  lab.arm();
  if (mail) {
    await story.clientTool('--mailbox');
    story.note(ch, `mailbox user/${MAIL_USER.user} created on Cyrus (serv2)`);
  } else story.note(ch, 'mail NOT RUN: the cluster configuration does not use paceline:sendmail and paceline:cyrus yet');
  story.note(ch, `settled ${((Date.now() - ch.start) / 1000).toFixed(1)} s after boot; the power switch is armed`);
  story.startClient(Date.now() + 60 * 60_000);
  // The chapter's record starts once the client works (its first operations race the last starts).
  (ch as { start: number }).start = await clientOk(lab, 'smb-write', ch.start, 60_000);
  await sleep(story.o.holdMs);
}

/** serv1 loses power: all its links at once, every process killed. */
export async function powerLoss(story: Story): Promise<void> {
  const ch = story.begin('power-loss');
  const { lab } = story;
  const t0 = Date.now();
  lab.powerOff('serv1');
  story.note(ch, 'serv1 powered off (all links down, every process killed)');
  await waitFor(
    'samba on serv2',
    async () => {
      const st = await lab.status('serv2');
      return where(st, 'samba').join() === 'serv2' && st.lastTransition?.state !== 'running';
    },
    120_000,
    200,
  );
  const back = await clientOk(lab, 'smb-connect', t0, 60_000);
  await clientOk(lab, 'smb-write', t0, 60_000, 1);
  const lost = firstLog(lab, 'serv2', /^serv1 lost on every link/, t0);
  const fenced = firstLog(lab, 'serv2', /^serv1 fenced/, t0);
  const figures: Record<string, number | string> = {};
  if (lost) figures['detection (lost) ms'] = lost - t0;
  if (fenced) figures['fenced ms'] = fenced - t0;
  let ready = 0;
  let addressReady = 0;
  for (const [rsc, action] of [
    ['samba-data', 'promote'],
    ['samba-mac', 'start'],
    ['samba-ip', 'start'],
    ['samba', 'start'],
  ] as const) {
    const a = actionMs(lab, 'serv2', rsc, action, t0);
    if (a) {
      figures[`${action} ${rsc} ms`] = a.ms;
      ready += a.ms;
      if (rsc !== 'samba') addressReady += a.ms;
    }
  }
  if (fenced) {
    figures['lower bound (fenced + start-to-ready) ms'] = fenced - t0 + ready;
    // Samba's users wait for the fencing, the mirror, the MAC, the IP and smbd; the services that
    // already run on serv2 (web, DNS, RADIUS, the mail relay) only for the address.
    ch.bounds = Object.fromEntries([
      ...['smb-connect', 'smb-write', 'smb-read'].map((l) => [l, fenced - t0 + ready] as const),
      ...['http@samba-ip', 'dns@samba-ip', 'radius@samba-ip', 'smtp'].map((l) => [l, fenced - t0 + addressReady] as const),
    ]);
  }
  figures['reference: Pacemaker 2.1.5 + corosync 3 defaults, a VIP alone (docs/daemon.md) ms'] = 7410;
  figures['smb-connect back after ms'] = back - t0;
  ch.figures = figures;
  story.note(
    ch,
    `serv2 saw serv1 lost after ${lost ? lost - t0 : '?'} ms, fenced it after ${fenced ? fenced - t0 : '?'} ms; Samba answers on serv2 ${back - t0} ms after the power loss`,
  );
  await sleep(story.o.holdMs);
}

/** serv1 boots again: it rejoins quarantined; nothing moves back. */
export async function returnServ1(story: Story): Promise<void> {
  const ch = story.begin('return');
  const { lab } = story;
  lab.boot('serv1');
  const q = await waitFor(
    'serv1 back, quarantined',
    async () => {
      const st = await lab.status('serv2');
      const n = st.nodes.find((x) => x.name === 'serv1');
      return st.members.includes('serv1') && n?.quarantine ? n.quarantine : undefined;
    },
    120_000,
    250,
  );
  story.note(ch, `serv1 rejoined in quarantine: ${q}`);
  await sleep(story.o.holdMs);
  const st = await lab.status('serv2');
  story.note(ch, `Samba still on ${where(st, 'samba').join(', ')}`);
}

/** `paceline node clear serv1` on serv2: services stop, data comes back, Samba returns home. */
export async function clear(story: Story): Promise<void> {
  const ch = story.begin('clear');
  const { lab } = story;
  const bytes0 = crossoverBytes(lab, 'serv1');
  const t0 = Date.now();
  const r = lab.paceline('serv2', 'node', 'clear', 'serv1');
  story.note(ch, `paceline node clear serv1 (on serv2): exit ${r.code} ${r.out.trim()}`);
  await waitFor(
    'samba home on serv1',
    async () => {
      const st = await lab.status('serv1');
      return where(st, 'samba').join() === 'serv1' && promotedOn(st, 'samba-data').join() === 'serv1' && st.lastTransition?.state !== 'running';
    },
    300_000,
    250,
  );
  const back = await clientOk(lab, 'smb-connect', t0, 60_000);
  const promote = actionMs(lab, 'serv1', 'samba-data', 'promote', t0);
  const figures: Record<string, number | string> = { 'crossover bytes during failback': crossoverBytes(lab, 'serv1') - bytes0 };
  // The failback's own work: stop on serv2, demote there, resync and promote on serv1, start there.
  const steps: [Server, string, string][] = [
    ['serv2', 'samba', 'stop'],
    ['serv2', 'samba-ip', 'stop'],
    ['serv2', 'samba-mac', 'stop'],
    ['serv2', 'samba-data', 'demote'],
    ['serv1', 'samba-data', 'promote'],
    ['serv1', 'samba-mac', 'start'],
    ['serv1', 'samba-ip', 'start'],
    ['serv1', 'samba', 'start'],
  ];
  const ms = new Map(steps.map(([n, rsc, action]) => [`${action} ${rsc}`, actionMs(lab, n, rsc, action, t0)?.ms ?? 0]));
  const sum = (keys: string[]): number => keys.reduce((a, k) => a + (ms.get(k) ?? 0), 0);
  const addressOut = sum(['stop samba-ip', 'stop samba-mac', 'demote samba-data', 'promote samba-data', 'start samba-mac', 'start samba-ip']);
  ch.bounds = Object.fromEntries([
    ...['smb-connect', 'smb-write', 'smb-read'].map((l) => [l, addressOut + (ms.get('stop samba') ?? 0) + (ms.get('start samba') ?? 0)] as const),
    ...['http@samba-ip', 'dns@samba-ip', 'radius@samba-ip', 'smtp'].map((l) => [l, addressOut] as const),
  ]);
  for (const [k, v] of ms) figures[`${k} ms`] = v;
  if (promote) {
    figures['resync (promote samba-data on serv1) ms'] = promote.ms;
    figures['resync'] = (promote.reason ?? '').replace(/; WARNING.*$/, '').replace(/^Promoted after resynchronising from serv2: /, '');
  }
  figures['data size (/srv/samba on serv1) bytes'] = dirBytes(lab.hw.diskPathOf('serv1', '/srv/samba')!);
  ch.figures = figures;
  story.note(ch, `Samba home on serv1; client back ${back - t0} ms after the clear; resync: ${promote?.reason ?? '?'}`);
  await sleep(story.o.holdMs);
}
