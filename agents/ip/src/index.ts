/**
 * `paceline:ip` — a virtual IP address that moves between nodes.
 *
 * start: fail when the link is down (administratively, no carrier, not operational): the agent
 *        never overrides an administrator's (or a fault's) link state, so the failed start moves
 *        the address to a node whose link works — unless `bringLinkUp`, which sets an
 *        administratively down link up first. Then refuse when another host already answers for
 *        the address (duplicate-address detection: `arping -D` for IPv4, the kernel's DAD for
 *        IPv6) unless `allowDuplicate`; add it with `ip addr add` (labelled); announce it
 *        (gratuitous ARP with `arping -U` and/or `-A`; for IPv6 the kernel sends an unsolicited
 *        neighbour advertisement once DAD completes, enabled per interface with the `ndisc_notify`
 *        sysctl).
 * stop:  `ip addr del`; idempotent (a missing address or interface is already stopped); works
 *        whatever the link's state.
 * monitor: the address is on the interface, not failed DAD, and the link is up; an address on a
 *        link that is down is a failure (generic error), with the link's state in the reason.
 * Every command is an argument array through the injected runner.
 */
import { z } from 'zod';
import { defineAgent, failed, notRunning, ok, runInBackground } from '@paceline/agent-api';
import type { ActionResult, AgentContext } from '@paceline/agent-api';
import { canonicalAddress, ipFamily } from './address.js';
import { describeLinkState, linkState, queryLink } from './iproute.js';
import type { AddrInfo, LinkInfo } from './iproute.js';

export { canonicalAddress, ipFamily } from './address.js';
export { describeLinkState, linkIsUp, linkState, queryLink } from './iproute.js';
export type { AddrInfo, LinkInfo, LinkQuery, LinkState } from './iproute.js';

const IFNAME = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,14}$/;

export const ipParams = z
  .object({
    address: z
      .string()
      .refine((a) => ipFamily(a) !== 0, { message: 'must be an IPv4 or IPv6 address' })
      .describe('The virtual IPv4 or IPv6 address, e.g. 192.0.2.10 or 2001:db8::10.'),
    cidrNetmask: z.number().int().min(1).max(128).optional().describe('Prefix length of the address (default 32 for IPv4, 128 for IPv6).'),
    interface: z
      .string()
      .regex(IFNAME, 'must be a network interface name (1-15 characters)')
      .describe('The network interface that carries the address, e.g. eth0.'),
    label: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/, 'may contain only letters, digits, _ and -')
      .optional()
      .describe('IPv4 only: label the address INTERFACE:LABEL (at most 15 characters in all), as ifconfig shows it.'),
    arpCount: z.number().int().min(0).max(100).default(5).describe('How many gratuitous ARP packets to send after adding an IPv4 address (0: none).'),
    arpInterval: z.number().int().min(10).max(10_000).default(200).describe('Milliseconds between gratuitous ARP packets.'),
    arpMode: z
      .enum(['unsolicited', 'reply', 'both'])
      .default('unsolicited')
      .describe('Gratuitous ARP as unsolicited requests (arping -U), as replies (arping -A), or both.'),
    dadTimeout: z
      .number()
      .int()
      .min(0)
      .max(30_000)
      .optional()
      .describe(
        'Milliseconds to wait for another host to answer for the address before starting (0: no check). Default: IPv4 0 ' +
          '(in a cluster, membership and fencing already prove the previous holder stopped, and arping -D waits whole ' +
          'seconds, so a check adds at least 1 s to every failover; set it where foreign hosts may claim the address); ' +
          "IPv6 1000 (the kernel's DAD, after which it announces the address).",
      ),
    allowDuplicate: z.boolean().default(false).describe('Start even when another host already answers for the address.'),
    bringLinkUp: z
      .boolean()
      .default(false)
      .describe(
        'Start: set an administratively down interface up (ip link set dev INTERFACE up) instead of failing. Off by ' +
          "default: the agent never overrides an administrator's link state, and a start on a down link fails so the " +
          'address moves to another node. A link with no carrier fails the start either way.',
      ),
    ipv6Notify: z
      .boolean()
      .default(true)
      .describe('IPv6: set net.ipv6.conf.INTERFACE.ndisc_notify=1 so the kernel advertises the address to neighbours once added.'),
  })
  .strict()
  .superRefine((p, ctx) => {
    const family = ipFamily(p.address);
    if (family === 4 && p.cidrNetmask !== undefined && p.cidrNetmask > 32) {
      ctx.addIssue({ code: 'custom', path: ['cidrNetmask'], message: 'must be at most 32 for an IPv4 address' });
    }
    if (p.label !== undefined) {
      if (family === 6) ctx.addIssue({ code: 'custom', path: ['label'], message: 'labels exist only for IPv4 addresses' });
      else if (`${p.interface}:${p.label}`.length > 15) {
        ctx.addIssue({ code: 'custom', path: ['label'], message: `"${p.interface}:${p.label}" is longer than 15 characters` });
      }
    }
  });

export type IpParams = z.infer<typeof ipParams>;

function prefixOf(p: IpParams): number {
  return p.cidrNetmask ?? (ipFamily(p.address) === 6 ? 128 : 32);
}

function findAddress(link: LinkInfo, address: string): AddrInfo | undefined {
  const want = canonicalAddress(address);
  return link.addr_info?.find((a) => (a.family === 'inet' || a.family === 'inet6') && canonicalAddress(a.local) === want);
}

/** Runs `ip` with arguments; a failure becomes an ActionResult. */
async function ip(ctx: AgentContext, args: readonly string[]): Promise<{ ok: true } | { ok: false; stderr: string; result: ActionResult }> {
  const r = await ctx.run.run('ip', args, { signal: ctx.signal });
  if (r.notFound) return { ok: false, stderr: '', result: failed('not-installed', 'the ip command (iproute2) is not installed') };
  if (r.exitCode === 0) return { ok: true };
  const stderr = r.stderr.trim();
  return { ok: false, stderr, result: failed('generic-error', `ip ${args.join(' ')}: ${stderr || `exit ${r.exitCode ?? r.signal}`}`) };
}

/** The duplicate-address wait for a family (see the parameter's description for the defaults). */
function dadTimeoutOf(p: IpParams, family: 4 | 6): number {
  return p.dadTimeout ?? (family === 4 ? 0 : 1000);
}

/** IPv4 duplicate-address detection: does another host answer ARP for the address? */
async function someoneElseAnswers(p: IpParams, ctx: AgentContext): Promise<ActionResult | undefined> {
  const seconds = Math.max(1, Math.ceil(dadTimeoutOf(p, 4) / 1000));
  const r = await ctx.run.run('arping', ['-D', '-q', '-c', '2', '-w', String(seconds), '-I', p.interface, p.address], { signal: ctx.signal });
  if (r.notFound) return failed('not-installed', 'arping (iputils-arping) is not installed: cannot check for a duplicate address');
  if (r.exitCode === 1) {
    return failed('generic-error', `another host already answers for ${p.address} on ${p.interface}; not starting (set allowDuplicate to override)`);
  }
  if (r.exitCode !== 0) ctx.log.warn('duplicate-address check failed to run', { stderr: r.stderr.trim(), exitCode: r.exitCode });
  return undefined;
}

/**
 * Sends gratuitous ARP: one arping per packet, spaced by arpInterval (arping's own interval is whole
 * seconds). Start does not wait for the series: each arping sends at once but then waits a second
 * for replies, so start returns once the first round is on the wire (after a short settle of at
 * most 100 ms) and the rest of the series repeats it in the background (for clients that missed a
 * packet); a dependent service starts ~1 s sooner. The series ends by itself, or when the address
 * is stopped (`ctx.background`: its arping is killed, no packet follows).
 */
async function announceV4(p: IpParams, ctx: AgentContext): Promise<void> {
  if (p.arpCount === 0) return;
  const modes = p.arpMode === 'both' ? ['-U', '-A'] : p.arpMode === 'reply' ? ['-A'] : ['-U'];
  let missing = false;
  const round = (signal: AbortSignal): Promise<unknown> =>
    Promise.all(
      modes.map((m) =>
        ctx.run.run('arping', [m, '-q', '-c', '1', '-w', '1', '-I', p.interface, p.address], { signal }).then(
          (r) => {
            if (r.notFound && !missing) {
              missing = true;
              ctx.log.warn('arping is not installed: no gratuitous ARP sent');
            }
          },
          () => undefined,
        ),
      ),
    );
  runInBackground(ctx, 'gratuitous ARP', async (signal) => {
    await round(signal);
    for (let i = 1; i < p.arpCount && !signal.aborted; i++) {
      await ctx.clock.sleep(p.arpInterval, signal);
      await round(signal);
    }
  });
  await ctx.clock.sleep(Math.min(p.arpInterval, 100), ctx.signal).catch(() => undefined);
}

/** How long start waits for carrier after `bringLinkUp` set a link up (a NIC's autonegotiation takes seconds). */
const LINK_UP_WAIT_MS = 5000;

/**
 * Start's link check. A link that is up: undefined (go on). A link that is down: a generic error
 * naming the interface, its state and the way out — unless `bringLinkUp` and the link is only
 * administratively down: then it is set up and waited for (carrier and operational state).
 */
async function requireLinkUp(p: IpParams, ctx: AgentContext, link: LinkInfo): Promise<ActionResult | undefined> {
  const state = linkState(link);
  if (state.up) return undefined;
  const what = describeLinkState(p.interface, state);
  if (state.why !== 'admin-down') {
    return failed('generic-error', `not starting ${p.address}: ${what}; it can run only where the link works`);
  }
  if (!p.bringLinkUp) {
    return failed(
      'generic-error',
      `not starting ${p.address}: ${what}; the agent does not override an administrator's link state. Bring it up ` +
        `(ip link set dev ${p.interface} up) and clear the failure, or set bringLinkUp: true to let start do it`,
    );
  }
  ctx.log.info('setting the link up (bringLinkUp)', { interface: p.interface, operstate: state.operstate });
  const up = await ip(ctx, ['link', 'set', 'dev', p.interface, 'up']);
  if (!up.ok) return up.result;
  const until = Math.min(ctx.deadline - 500, ctx.clock.now() + LINK_UP_WAIT_MS);
  for (;;) {
    const q = await queryLink(ctx.run, p.interface, ctx.signal);
    if (q.kind !== 'ok') return failed('generic-error', `${p.interface} vanished while its link was being set up`);
    const now = linkState(q.link);
    if (now.up) return undefined;
    if (ctx.clock.now() >= until || ctx.signal.aborted) {
      return failed('generic-error', `not starting ${p.address}: set ${p.interface} up (bringLinkUp), but ${describeLinkState(p.interface, now)}`);
    }
    await ctx.clock.sleep(100, ctx.signal);
  }
}

/** IPv6: wait until the kernel's DAD finishes; report a duplicate. */
async function waitForDad(p: IpParams, ctx: AgentContext): Promise<ActionResult | undefined> {
  const until = Math.min(ctx.deadline - 500, ctx.clock.now() + Math.max(dadTimeoutOf(p, 6), 3000));
  for (;;) {
    const q = await queryLink(ctx.run, p.interface, ctx.signal);
    const a = q.kind === 'ok' ? findAddress(q.link, p.address) : undefined;
    if (!a) return failed('generic-error', `${p.address} vanished from ${p.interface} while starting`);
    if (a.dadfailed) {
      await ip(ctx, ['-6', 'addr', 'del', `${p.address}/${a.prefixlen}`, 'dev', p.interface]);
      return failed('generic-error', `another host already uses ${p.address} on ${p.interface} (IPv6 duplicate address detection failed)`);
    }
    if (!a.tentative) return undefined;
    if (ctx.clock.now() >= until || ctx.signal.aborted) {
      ctx.log.warn('IPv6 duplicate address detection still running; continuing', { address: p.address });
      return undefined;
    }
    await ctx.clock.sleep(100, ctx.signal);
  }
}

async function monitor(p: IpParams, ctx: AgentContext): Promise<ActionResult> {
  const q = await queryLink(ctx.run, p.interface, ctx.signal);
  switch (q.kind) {
    case 'not-installed':
      return failed('not-installed', 'the ip command (iproute2) is not installed');
    case 'missing':
      return notRunning(`interface ${p.interface} does not exist`);
    case 'error':
      return failed('generic-error', q.message);
    case 'ok':
      break;
  }
  const a = findAddress(q.link, p.address);
  if (!a) return notRunning();
  if (a.dadfailed) return failed('generic-error', `${p.address} failed duplicate address detection on ${p.interface}`);
  const state = linkState(q.link);
  if (!state.up) return failed('generic-error', `${p.address} is on ${p.interface} but the link is down: ${describeLinkState(p.interface, state)}`);
  return ok();
}

async function start(p: IpParams, ctx: AgentContext): Promise<ActionResult> {
  const q = await queryLink(ctx.run, p.interface, ctx.signal);
  if (q.kind === 'not-installed') return failed('not-installed', 'the ip command (iproute2) is not installed');
  if (q.kind === 'missing') return failed('misconfigured', `interface ${p.interface} does not exist on ${ctx.node}`);
  if (q.kind === 'error') return failed('generic-error', q.message);
  const down = await requireLinkUp(p, ctx, q.link);
  if (down) return down;
  const family = ipFamily(p.address);
  const present = findAddress(q.link, p.address);
  if (present && !present.dadfailed) {
    return monitor(p, ctx);
  }
  const cidr = `${p.address}/${prefixOf(p)}`;
  if (family === 4) {
    if (!p.allowDuplicate && dadTimeoutOf(p, 4) > 0) {
      const dup = await someoneElseAnswers(p, ctx);
      if (dup) return dup;
    }
    const label = p.label !== undefined ? ['label', `${p.interface}:${p.label}`] : [];
    const broadcast = prefixOf(p) < 31 ? ['broadcast', '+'] : [];
    const add = await ip(ctx, ['-4', 'addr', 'add', cidr, ...broadcast, 'dev', p.interface, ...label]);
    if (!add.ok && !/File exists/i.test(add.stderr)) return add.result;
    await announceV4(p, ctx);
  } else {
    if (p.ipv6Notify) {
      const key = `net/ipv6/conf/${p.interface}/ndisc_notify=1`;
      const r = await ctx.run.run('sysctl', ['-q', '-w', key], { signal: ctx.signal });
      if (r.exitCode !== 0) ctx.log.warn('could not enable ndisc_notify: no unsolicited neighbour advertisement', { stderr: r.stderr.trim() });
    }
    const add = await ip(ctx, ['-6', 'addr', 'add', cidr, 'dev', p.interface, ...(p.allowDuplicate || dadTimeoutOf(p, 6) === 0 ? ['nodad'] : [])]);
    if (!add.ok && !/File exists/i.test(add.stderr)) return add.result;
    if (!p.allowDuplicate && dadTimeoutOf(p, 6) > 0) {
      const dup = await waitForDad(p, ctx);
      if (dup) return dup;
    }
  }
  return monitor(p, ctx);
}

async function stop(p: IpParams, ctx: AgentContext): Promise<ActionResult> {
  const q = await queryLink(ctx.run, p.interface, ctx.signal);
  if (q.kind === 'missing') return ok(`interface ${p.interface} does not exist: nothing to remove`);
  if (q.kind === 'not-installed') return failed('not-installed', 'the ip command (iproute2) is not installed');
  if (q.kind === 'error') return failed('generic-error', q.message);
  const a = findAddress(q.link, p.address);
  if (!a) return ok();
  const del = await ip(ctx, [a.family === 'inet6' ? '-6' : '-4', 'addr', 'del', `${a.local}/${a.prefixlen}`, 'dev', p.interface]);
  if (!del.ok && !/Cannot assign requested address|not found/i.test(del.stderr)) return del.result;
  return ok();
}

async function validate(p: IpParams, ctx: AgentContext): Promise<ActionResult> {
  const q = await queryLink(ctx.run, p.interface, ctx.signal);
  if (q.kind === 'not-installed') return failed('not-installed', 'the ip command (iproute2) is not installed');
  if (q.kind === 'missing') return failed('misconfigured', `interface ${p.interface} does not exist on ${ctx.node}`);
  if (q.kind === 'error') return failed('generic-error', q.message);
  return ok();
}

export const ipAgent = defineAgent({
  meta: {
    name: 'ip',
    version: '0.1.0',
    description:
      'A virtual IPv4 or IPv6 address that moves between nodes: added with ip, announced with gratuitous ARP, refused when another host already answers for it.',
    uniqueParams: ['address'],
    defaultTimeouts: { start: 20_000, stop: 20_000, monitor: 20_000 },
    defaultMonitorInterval: 10_000,
  },
  params: ipParams,
  start,
  stop,
  monitor,
  validate,
});
