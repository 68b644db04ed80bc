/**
 * `paceline:mac` — MAC address takeover, for peers that cache a MAC (or license to one).
 *
 * mode `spare-nic`: a spare NIC on this node takes over the failed node's MAC. start remembers the
 *   NIC's own MAC in the instance state directory (once), takes the link down, sets the MAC,
 *   brings it up; stop puts the original MAC back the same way. Idempotent both ways.
 * mode `macvlan`: a macvlan interface with the virtual MAC is created on a parent interface;
 *   stop deletes it.
 * monitor: the interface exists, carries the MAC, and is up.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { defineAgent, failed, notRunning, ok } from '@paceline/agent-api';
import type { ActionResult, AgentContext, CommandRunner } from '@paceline/agent-api';

const IFNAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

export const macParams = z
  .object({
    mode: z.enum(['spare-nic', 'macvlan']).describe('spare-nic: set a spare NIC to the MAC; macvlan: create a macvlan interface with the MAC.'),
    mac: z
      .string()
      .transform((m) => m.toLowerCase())
      .refine((m) => MAC.test(m), { message: 'must be a MAC address like 52:54:00:12:34:56' })
      .refine((m) => (parseInt(m.slice(0, 2), 16) & 1) === 0, { message: 'must be a unicast MAC (the first octet must be even)' })
      .describe('The MAC address to take over, e.g. 52:54:00:12:34:56.'),
    interface: z
      .string()
      .regex(IFNAME, 'must be a network interface name (1-15 characters)')
      .describe('spare-nic: the spare NIC whose MAC is changed; macvlan: the name of the macvlan interface to create.'),
    parent: z.string().regex(IFNAME, 'must be a network interface name (1-15 characters)').optional().describe('macvlan: the parent interface.'),
    macvlanMode: z.enum(['bridge', 'private', 'vepa', 'passthru']).default('bridge').describe('macvlan: the macvlan mode.'),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.mode === 'macvlan' && p.parent === undefined) ctx.addIssue({ code: 'custom', path: ['parent'], message: 'is required in macvlan mode' });
    if (p.mode === 'macvlan' && p.parent === p.interface) ctx.addIssue({ code: 'custom', path: ['interface'], message: 'must differ from parent' });
  });

export type MacParams = z.infer<typeof macParams>;

interface Link {
  readonly ifname: string;
  readonly flags: readonly string[];
  readonly operstate?: string;
  readonly address?: string;
  readonly linkinfo?: { readonly info_kind?: string };
}

type Query = { kind: 'ok'; link: Link } | { kind: 'missing' } | { kind: 'fail'; result: ActionResult };

async function query(run: CommandRunner, ifname: string, signal: AbortSignal): Promise<Query> {
  const r = await run.run('ip', ['-j', '-d', 'link', 'show', 'dev', ifname], { signal });
  if (r.notFound) return { kind: 'fail', result: failed('not-installed', 'the ip command (iproute2) is not installed') };
  if (r.exitCode !== 0) {
    if (/does not exist|Cannot find device/i.test(r.stderr)) return { kind: 'missing' };
    return { kind: 'fail', result: failed('generic-error', r.stderr.trim() || `ip exited with ${r.exitCode ?? r.signal}`) };
  }
  try {
    const link = (JSON.parse(r.stdout || '[]') as Link[])[0];
    return link ? { kind: 'ok', link } : { kind: 'missing' };
  } catch (err) {
    return { kind: 'fail', result: failed('generic-error', `cannot parse ip -j output: ${(err as Error).message}`) };
  }
}

async function ip(ctx: AgentContext, args: readonly string[]): Promise<ActionResult | undefined> {
  const r = await ctx.run.run('ip', args, { signal: ctx.signal });
  if (r.notFound) return failed('not-installed', 'the ip command (iproute2) is not installed');
  if (r.exitCode !== 0) return failed('generic-error', `ip ${args.join(' ')}: ${r.stderr.trim() || `exit ${r.exitCode ?? r.signal}`}`);
  return undefined;
}

function isUp(link: Link): boolean {
  const s = (link.operstate ?? 'UNKNOWN').toUpperCase();
  return link.flags.includes('UP') && (s === 'UP' || s === 'UNKNOWN');
}

/** The file that remembers the spare NIC's own MAC while it carries the virtual one. */
export function originalMacFile(stateDir: string, ifname: string): string {
  return join(stateDir, `original-mac-${ifname}`);
}

async function readOriginal(ctx: AgentContext, ifname: string): Promise<string | undefined> {
  try {
    return (await readFile(originalMacFile(ctx.stateDir, ifname), 'utf8')).trim() || undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Link down, set the MAC, link up (many drivers refuse a MAC change on a running link). */
async function setMac(ctx: AgentContext, ifname: string, mac: string): Promise<ActionResult | undefined> {
  return (
    (await ip(ctx, ['link', 'set', 'dev', ifname, 'down'])) ??
    (await ip(ctx, ['link', 'set', 'dev', ifname, 'address', mac])) ??
    (await ip(ctx, ['link', 'set', 'dev', ifname, 'up']))
  );
}

async function monitor(p: MacParams, ctx: AgentContext): Promise<ActionResult> {
  const q = await query(ctx.run, p.interface, ctx.signal);
  if (q.kind === 'fail') return q.result;
  if (q.kind === 'missing') return notRunning(`interface ${p.interface} does not exist`);
  if (p.mode === 'macvlan' && q.link.linkinfo?.info_kind !== 'macvlan') {
    return notRunning(`${p.interface} exists but is not a macvlan interface`);
  }
  if ((q.link.address ?? '').toLowerCase() !== p.mac) return notRunning(`${p.interface} has MAC ${q.link.address ?? 'none'}, not ${p.mac}`);
  if (!isUp(q.link)) return failed('generic-error', `${p.interface} carries ${p.mac} but the link is down (${q.link.operstate ?? 'no state'})`);
  return ok();
}

async function start(p: MacParams, ctx: AgentContext): Promise<ActionResult> {
  if (p.mode === 'macvlan') {
    const parent = await query(ctx.run, p.parent!, ctx.signal);
    if (parent.kind === 'fail') return parent.result;
    if (parent.kind === 'missing') return failed('misconfigured', `parent interface ${p.parent!} does not exist on ${ctx.node}`);
    const q = await query(ctx.run, p.interface, ctx.signal);
    if (q.kind === 'fail') return q.result;
    if (q.kind === 'ok') {
      if (q.link.linkinfo?.info_kind !== 'macvlan') return failed('misconfigured', `${p.interface} already exists and is not a macvlan interface`);
      if ((q.link.address ?? '').toLowerCase() !== p.mac) {
        const e = await setMac(ctx, p.interface, p.mac);
        if (e) return e;
      }
    } else {
      const e = await ip(ctx, ['link', 'add', 'link', p.parent!, 'name', p.interface, 'address', p.mac, 'type', 'macvlan', 'mode', p.macvlanMode]);
      if (e) return e;
    }
    const up = await ip(ctx, ['link', 'set', 'dev', p.interface, 'up']);
    return up ?? monitor(p, ctx);
  }
  const q = await query(ctx.run, p.interface, ctx.signal);
  if (q.kind === 'fail') return q.result;
  if (q.kind === 'missing') return failed('misconfigured', `interface ${p.interface} does not exist on ${ctx.node}`);
  const current = (q.link.address ?? '').toLowerCase();
  if (current === p.mac) {
    if (!q.link.flags.includes('UP')) {
      const e = await ip(ctx, ['link', 'set', 'dev', p.interface, 'up']);
      if (e) return e;
    }
    return monitor(p, ctx);
  }
  // Remember the NIC's own MAC only the first time: a second start must not overwrite it.
  if ((await readOriginal(ctx, p.interface)) === undefined) {
    await writeFile(originalMacFile(ctx.stateDir, p.interface), `${current}\n`);
  }
  const e = await setMac(ctx, p.interface, p.mac);
  if (e) return e;
  ctx.log.info('took over MAC', { interface: p.interface, mac: p.mac, original: current });
  return monitor(p, ctx);
}

async function stop(p: MacParams, ctx: AgentContext): Promise<ActionResult> {
  const q = await query(ctx.run, p.interface, ctx.signal);
  if (q.kind === 'fail') return q.result;
  if (p.mode === 'macvlan') {
    if (q.kind === 'missing') return ok();
    if (q.link.linkinfo?.info_kind !== 'macvlan') return ok(`${p.interface} is not a macvlan interface: left alone`);
    return (await ip(ctx, ['link', 'del', 'dev', p.interface])) ?? ok();
  }
  const original = await readOriginal(ctx, p.interface);
  if (q.kind === 'missing') return ok(`interface ${p.interface} does not exist`);
  if (original === undefined) {
    // Nothing remembered: either never started here, or already restored.
    return (q.link.address ?? '').toLowerCase() === p.mac
      ? failed('generic-error', `${p.interface} carries ${p.mac} but its original MAC is not known (no ${originalMacFile(ctx.stateDir, p.interface)})`)
      : ok();
  }
  if ((q.link.address ?? '').toLowerCase() !== original) {
    const e = await setMac(ctx, p.interface, original);
    if (e) return e;
  }
  await rm(originalMacFile(ctx.stateDir, p.interface), { force: true });
  ctx.log.info('restored MAC', { interface: p.interface, mac: original });
  return ok();
}

async function validate(p: MacParams, ctx: AgentContext): Promise<ActionResult> {
  const name = p.mode === 'macvlan' ? p.parent! : p.interface;
  const q = await query(ctx.run, name, ctx.signal);
  if (q.kind === 'fail') return q.result;
  if (q.kind === 'missing') return failed('misconfigured', `interface ${name} does not exist on ${ctx.node}`);
  return ok();
}

export const macAgent = defineAgent({
  meta: {
    name: 'mac',
    version: '0.1.0',
    description: "MAC address takeover: a spare NIC takes the failed node's MAC (restored on stop), or a macvlan interface carries a virtual MAC.",
    uniqueParams: ['mac'],
    defaultTimeouts: { start: 20_000, stop: 20_000, monitor: 20_000 },
    defaultMonitorInterval: 10_000,
  },
  params: macParams,
  start,
  stop,
  monitor,
  validate,
});
