/**
 * The servers' fencing hook: `paceline daemon --fence-command "node fence.js HOST:PORT"` runs it as
 * `node fence.js HOST:PORT NODE`; it asks the lab's power switch on the LAN to power NODE off,
 * signing the request with the cluster key (/etc/paceline/authkey, or PACELINE_FENCE_KEY).
 * Exit 0 only when the switch answered "off".
 */
import { readFileSync } from 'node:fs';
import { fenceMac } from './switch.js';

const [at, node] = process.argv.slice(2);
if (!at || !node) {
  console.error('usage: fence.js HOST:PORT NODE');
  process.exit(2);
}
const key = readFileSync(process.env['PACELINE_FENCE_KEY'] ?? '/etc/paceline/authkey');
const now = Date.now();
try {
  const res = await fetch(`http://${at}/off`, {
    method: 'POST',
    body: JSON.stringify({ node, at: now, mac: fenceMac(key, node, now) }),
    signal: AbortSignal.timeout(5000),
  });
  const text = (await res.text()).trim();
  if (res.status !== 200) {
    console.error(`the power switch at ${at} refused to power ${node} off: ${res.status} ${text}`);
    process.exit(1);
  }
} catch (e) {
  console.error(`the power switch at ${at} cannot be reached: ${(e as Error).message}`);
  process.exit(1);
}
