import { OcfError } from './errors.js';

/** `ocf:PROVIDER:TYPE`, split. */
export interface OcfRef {
  readonly provider: string;
  readonly type: string;
}

const PART = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

/** Is this text an OCF agent reference (`ocf:heartbeat:IPaddr2`)? */
export function isOcfRef(ref: string): boolean {
  return /^ocf:/i.test(ref);
}

/** Parses `ocf:PROVIDER:TYPE`; rejects path tricks such as `ocf:../x:y`. */
export function parseOcfRef(ref: string): OcfRef {
  const parts = ref.split(':');
  if (parts.length !== 3 || parts[0]!.toLowerCase() !== 'ocf') {
    throw new OcfError('OCF_BAD_REF', `"${ref}" is not an OCF agent reference (write ocf:PROVIDER:TYPE, e.g. ocf:heartbeat:IPaddr2)`);
  }
  const [, provider, type] = parts as [string, string, string];
  for (const [what, v] of [
    ['provider', provider],
    ['type', type],
  ] as const) {
    if (!PART.test(v)) throw new OcfError('OCF_BAD_REF', `"${ref}": the ${what} "${v}" is not a valid OCF name`);
  }
  return { provider, type };
}

export function formatOcfRef(ref: OcfRef): string {
  return `ocf:${ref.provider}:${ref.type}`;
}

/** Prefix an OCF script writes before its one-line exit reason on stderr. */
export const OCF_EXIT_REASON_PREFIX = 'ocf-exit-reason:';
