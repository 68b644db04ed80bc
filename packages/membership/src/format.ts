import type { MembershipEvent } from './state.js';

/** One line per event, `type key=value ...`, in a fixed key order (used in logs and scenario traces). */
export function formatEvent(e: MembershipEvent): string {
  const parts: string[] = [e.type];
  for (const [k, v] of Object.entries(e)) {
    if (k === 'type' || v === undefined) continue;
    parts.push(`${k}=${Array.isArray(v) ? v.join(',') : String(v)}`);
  }
  return parts.join(' ');
}
