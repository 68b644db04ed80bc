/** OCF exit codes, shared by the scheduler (reading history) and agents (reporting results). */
export const OcfRc = {
  SUCCESS: 0,
  ERR_GENERIC: 1,
  ERR_ARGS: 2,
  ERR_UNIMPLEMENTED: 3,
  ERR_PERM: 4,
  ERR_INSTALLED: 5,
  ERR_CONFIGURED: 6,
  NOT_RUNNING: 7,
  RUNNING_PROMOTED: 8,
  FAILED_PROMOTED: 9,
  DEGRADED: 190,
  DEGRADED_PROMOTED: 191,
} as const;
export type OcfRcName = keyof typeof OcfRc;
export type OcfRcCode = (typeof OcfRc)[OcfRcName];

const NAMES = new Map<number, OcfRcName>(Object.entries(OcfRc).map(([k, v]) => [v, k as OcfRcName]));

/** "NOT_RUNNING (7)" for display. */
export function describeRc(rc: number): string {
  const name = NAMES.get(rc);
  return name ? `${name.toLowerCase().replace(/_/g, ' ')} (${rc})` : `unknown exit code ${rc}`;
}
