/** What the story reads off the lab besides the client: daemon log lines, action durations, crossover traffic, placement, disk use. */
import { NIC, type Server } from './hardware.js';
import type { Lab } from './lab.js';
import { tryRun } from './sys.js';

/** A daemon log line: time, the bracket, the message. */
interface LogLine {
  readonly at: number;
  readonly tag: string;
  readonly msg: string;
}
export function logLines(text: string): LogLine[] {
  const out: LogLine[] = [];
  for (const l of text.split('\n')) {
    const m = /^(\S+Z) \w+ +\[([^\]]*)\] (.*)$/.exec(l);
    if (m) out.push({ at: Date.parse(m[1]!), tag: m[2]!, msg: m[3]! });
  }
  return out;
}
/** The duration of the first `ACTION RSC ok` a node logged after `since`. */
export function actionMs(lab: Lab, s: Server, rsc: string, action: string, since: number): { at: number; ms: number; reason?: string } | undefined {
  for (const l of logLines(lab.log(s))) {
    if (l.at < since || l.tag !== `${s} ${rsc} ${action}`) continue;
    const m = new RegExp(`^${action} ok durationMs=(\\d+)`).exec(l.msg);
    if (m) return { at: l.at, ms: Number(m[1]), ...(/reason="([^"]*)"/.exec(l.msg) ? { reason: /reason="([^"]*)"/.exec(l.msg)![1]! } : {}) };
  }
  return undefined;
}
export function firstLog(lab: Lab, s: Server, re: RegExp, since: number): number | undefined {
  return logLines(lab.log(s)).find((l) => l.at >= since && re.test(l.msg))?.at;
}

export function crossoverBytes(lab: Lab, s: Server): number {
  const r = tryRun('ip', ['-n', lab.hw.ns[s], '-j', '-s', 'link', 'show', NIC.cx]);
  try {
    const [l] = JSON.parse(r.out) as { stats64?: { rx: { bytes: number }; tx: { bytes: number } } }[];
    return (l?.stats64?.rx.bytes ?? 0) + (l?.stats64?.tx.bytes ?? 0);
  } catch {
    return 0;
  }
}

/** Where every resource runs, as serv1 sees it (a string to compare). */
export async function placement(lab: Lab): Promise<string> {
  const st = await lab.status('serv1');
  return st.resources
    .filter((r) => r.role !== 'Stopped')
    .map((r) => `${r.instance}@${r.node}:${r.role}`)
    .sort()
    .join(' ');
}

export function dirBytes(dir: string): number {
  const r = tryRun('du', ['-sb', dir]);
  return Number(r.out.split(/\s/)[0]) || 0;
}
