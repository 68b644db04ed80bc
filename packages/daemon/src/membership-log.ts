/** How the daemon logs membership's events (the membership driver, membership-driver.ts, also acts on some). */
import type { Logger } from '@paceline/agent-api';
import type { MembershipEvent } from '@paceline/membership';

/** Logs one membership event at its level. */
export function logMembershipEvent(log: Logger, e: MembershipEvent): void {
  switch (e.type) {
    case 'node-joined':
    case 'node-restarted':
      log.info(`${e.node} ${e.type === 'node-joined' ? 'joined' : 'restarted'}`, { boot: e.boot });
      break;
    case 'node-lost':
      log.warn(`${e.node} lost on every link`);
      break;
    case 'node-left':
      log.info(`${e.node} left cleanly`);
      break;
    case 'link-down':
      log.warn(`link ${e.link} to ${e.node} is down`, { silentTicks: e.silentTicks });
      break;
    case 'link-up':
      log.info(`link ${e.link} to ${e.node} is up`);
      break;
    case 'link-late':
      log.debug(`link ${e.link} to ${e.node} is late`, { silentTicks: e.silentTicks });
      break;
    case 'quorum-changed':
      log.info(e.quorate ? 'quorum gained' : 'quorum lost', { reason: e.reason });
      break;
    case 'coordinator-changed':
      log.info(`coordinator is ${e.coordinator}`, { term: e.term });
      break;
    case 'fence-pending':
      log.info(`fencing ${e.node} in ${e.delayTicks} ticks unless it returns (fence-race delay)`);
      break;
    case 'peer-daemon-down':
      log.warn(`${e.node}'s daemon is down: its port is closed on every link while its host answers (it cannot fence this node)`);
      break;
    case 'fence-cancelled':
      log.info(`fencing ${e.node} cancelled`, { reason: e.reason });
      break;
    case 'fence-confirmed':
      log.warn(`${e.node} fenced`);
      break;
    case 'fence-failed':
      log.error(`fencing ${e.node} failed`, { detail: e.detail, retryInTicks: e.retryInTicks });
      break;
    case 'may-run-changed':
      log.info(e.mayRun ? 'may run resources' : 'may not run resources', { reason: e.reason });
      break;
    case 'identity-conflict':
      log.error(`identity conflict: two daemons run as ${e.node}`, { boots: e.boots, detail: e.detail });
      break;
    case 'vote-changed': {
      const f = { ...(e.holder !== undefined ? { holder: e.holder } : {}), ...(e.detail !== undefined ? { detail: e.detail } : {}) };
      if (e.result === 'granted') log.info("this node holds the arbiter's vote: it may fence", f);
      else if (e.result === 'refused') log.warn(`the arbiter gave its vote to ${e.holder ?? 'another node'}: this node may not fence nor run resources`, f);
      else log.warn('the arbiter cannot be reached: this node does not fence', f);
      break;
    }
    case 'packet-dropped':
      log.debug('packet dropped', { link: e.link, reason: e.reason, from: e.from, detail: e.detail });
      break;
    default:
      break;
  }
}
