import { isIP } from 'node:net';

/** Canonical text of an address, so `2001:db8:0::1` and `2001:db8::1` compare equal. */
export function canonicalAddress(address: string): string {
  if (isIP(address) === 6) return new URL(`http://[${address}]/`).hostname.slice(1, -1);
  return address;
}

export function ipFamily(address: string): 4 | 6 | 0 {
  const f = isIP(address);
  return f === 4 || f === 6 ? f : 0;
}
