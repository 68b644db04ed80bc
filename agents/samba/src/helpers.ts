/**
 * samba-dcerpcd and its rpcd_* workers: smbd starts them on demand (for a share listing, say)
 * and they daemonize, leaving smbd's process group and session, so stopping smbd's group does
 * not stop them (they linger about 30 s after smbd is gone). They are found by their
 * `--configfile=` argument, which smbd passes on, and by sharing our network namespace (two nodes
 * on one host may run the same config file in two namespaces).
 */
import { readFile, readlink } from 'node:fs/promises';
import { allPids, procInfo, signalProcess } from '@paceline/agent-api/daemon';
import type { AgentContext } from '@paceline/agent-api';

const HELPER = /^(samba-dcerpcd|rpcd_[a-z_]+)$/;

async function cmdline(pid: number): Promise<string[] | undefined> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter(Boolean);
  } catch (e) {
    void e; // gone
    return undefined;
  }
}

const netnsOf = (pid: number | 'self'): Promise<string | undefined> => readlink(`/proc/${pid}/ns/net`).catch(() => undefined);

/** The config file a Samba process was started with (`-s FILE`, `--configfile=FILE`), or Samba's default. */
export async function configOfProcess(pid: number): Promise<string | undefined> {
  const argv = await cmdline(pid);
  if (!argv) return undefined;
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if ((a === '-s' || a === '--configfile') && argv[i + 1]) return argv[i + 1];
    if (a.startsWith('--configfile=')) return a.slice('--configfile='.length);
    if (a.startsWith('-s') && a.length > 2) return a.slice(2);
  }
  return '/etc/samba/smb.conf';
}

/** The live samba-dcerpcd / rpcd_* processes of `config` in our network namespace. */
export async function helpersOf(config: string): Promise<{ pid: number; comm: string; pgid: number }[]> {
  const ours = await netnsOf('self');
  const out: { pid: number; comm: string; pgid: number }[] = [];
  for (const pid of await allPids()) {
    const info = await procInfo(pid).catch(() => undefined);
    if (!info || info.state === 'Z' || !HELPER.test(info.comm)) continue;
    const argv = await cmdline(pid);
    if (!argv?.includes(`--configfile=${config}`)) continue;
    if ((await netnsOf(pid)) !== ours) continue;
    out.push({ pid, comm: info.comm, pgid: info.pgid });
  }
  return out;
}

/**
 * Stops the helpers of `config`: SIGTERM to each helper group (samba-dcerpcd leads its workers'),
 * up to `graceMs`, then SIGKILL. Returns the pids still alive after that (normally none).
 */
export async function stopHelpers(ctx: Pick<AgentContext, 'clock' | 'log'>, config: string, graceMs: number): Promise<number[]> {
  let left = await helpersOf(config);
  if (left.length === 0) return [];
  ctx.log.info('stopping samba-dcerpcd helpers', { pids: left.map((h) => h.pid) });
  for (const h of left) signalProcess(h.pid, 'SIGTERM', h.pgid === h.pid);
  const until = ctx.clock.now() + graceMs;
  while (left.length > 0 && ctx.clock.now() < until) {
    await ctx.clock.sleep(50).catch(() => undefined);
    left = await helpersOf(config);
  }
  for (const h of left) signalProcess(h.pid, 'SIGKILL', h.pgid === h.pid);
  for (let i = 0; i < 40 && left.length > 0; i++) {
    await ctx.clock.sleep(25).catch(() => undefined);
    left = await helpersOf(config);
  }
  return left.map((h) => h.pid);
}
