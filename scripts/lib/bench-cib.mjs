// The benches' synthetic CIBs: ../shared/bench/gen-cib.mjs (M nodes, N Dummy primitives, groups,
// clones, constraints; seed 1) written once into .bench-cache/cib-MxN-VARIANT.xml and reused, so
// bench:scheduler, the A/B scripts and import-hash read the very same file for the same input.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const root = resolve(new URL('../..', import.meta.url).pathname);
export const shared = process.env.PACELINE_SHARED ?? resolve(root, '..', 'shared');
export const generator = join(shared, 'bench', 'gen-cib.mjs');
export const cache = join(root, '.bench-cache');

/** The path of the CIB for `nodes` × `resources` in `variant` ('cold', 'fail'), generated if missing. */
export function benchCib(nodes, resources, variant) {
  const file = join(cache, `cib-${nodes}x${resources}-${variant}.xml`);
  if (!existsSync(file)) {
    mkdirSync(cache, { recursive: true });
    const args = ['--nodes', String(nodes), '--resources', String(resources), '--seed', '1', '--variant', variant, '--format', 'xml', '-o', file];
    execFileSync(process.execPath, [generator, ...args]);
  }
  return file;
}
