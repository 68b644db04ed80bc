/**
 * `paceline daemon` under systemd (`Type=notify`, packaging/systemd/paceline.service): READY=1 once
 * the daemon runs and its listeners are open, WATCHDOG=1 pings at half the unit's WatchdogSec (each
 * one reads the daemon's status: a daemon whose event loop is stuck stops pinging and systemd
 * restarts it), STATUS= lines an operator sees in `systemctl status`, STOPPING=1 on shutdown.
 */
import type { Daemon } from '@paceline/daemon';
import { systemdNotifier } from '@paceline/runtime';
import type { Logger } from '@paceline/agent-api';

/** One line for `systemctl status`. */
export function statusLine(daemon: Pick<Daemon, 'name' | 'status'>): string {
  const s = daemon.status();
  const here = s.resources.filter((r) => r.node === daemon.name && r.role !== 'Stopped').length;
  const q = s.nodes.find((n) => n.name === daemon.name)?.quarantine;
  return `${s.coordinator === daemon.name ? 'coordinator' : `coordinator ${s.coordinator || 'none'}`}, ${s.members.length}/${s.nodes.length} nodes, ${s.quorate ? 'quorate' : 'no quorum'}, ${here} resource${here === 1 ? '' : 's'} here${q !== undefined ? ', QUARANTINED (paceline node clear)' : ''}`;
}

/** Tells systemd the daemon is ready and keeps the watchdog fed; returns what to call when stopping. */
export async function announceToSystemd(daemon: Pick<Daemon, 'name' | 'status'>, logger: Logger): Promise<{ stopping(): Promise<void> }> {
  const sd = systemdNotifier();
  if (sd === undefined) return { stopping: async () => undefined };
  const ok = await sd.notify({ READY: 1, MAINPID: process.pid, STATUS: statusLine(daemon) });
  if (!ok)
    logger.warn(
      `systemd: cannot send READY=1 to NOTIFY_SOCKET (via ${sd.via})${sd.via === 'systemd-notify' ? ': the unit needs NotifyAccess=all for this fallback' : ''}`,
    );
  else logger.info(`systemd: ready${sd.watchdogIntervalMs !== undefined ? `, watchdog ping every ${sd.watchdogIntervalMs} ms` : ''} (via ${sd.via})`);
  let timer: NodeJS.Timeout | undefined;
  if (sd.watchdogIntervalMs !== undefined) {
    timer = setInterval(() => {
      let status: string;
      try {
        status = statusLine(daemon);
      } catch (e) {
        logger.error('systemd: the daemon cannot give its status: no watchdog ping', { error: (e as Error).message });
        return;
      }
      void sd.notify({ WATCHDOG: 1, STATUS: status });
    }, sd.watchdogIntervalMs);
  }
  return {
    stopping: async () => {
      clearInterval(timer);
      await sd.notify({ STOPPING: 1, STATUS: 'stopping: moving resources off this node' });
      sd.dispose();
    },
  };
}
