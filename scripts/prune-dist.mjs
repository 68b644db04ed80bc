#!/usr/bin/env node
// Removes build outputs whose source is gone (dist/foo.js, .d.ts and their maps after src/foo.ts
// was moved or deleted). `tsc -b` never deletes them, and `npm pack` would publish them: a module
// that no longer exists, with maps that point at a missing source. Run by `npm run build`.
import { existsSync, readdirSync, rmSync, rmdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const OUTPUT = /\.(d\.ts\.map|d\.ts|js\.map|js)$/;
const removed = [];

function prune(dist, src) {
  for (const name of readdirSync(dist)) {
    const path = join(dist, name);
    if (statSync(path).isDirectory()) {
      prune(path, join(src, name));
      if (readdirSync(path).length === 0) rmdirSync(path);
      continue;
    }
    if (!OUTPUT.test(name)) continue;
    const base = join(src, name.replace(OUTPUT, ''));
    if (!['.ts', '.mts', '.tsx'].some((ext) => existsSync(base + ext))) {
      rmSync(path);
      removed.push(relative(root, path));
    }
  }
}

for (const top of ['packages', 'agents']) {
  for (const name of readdirSync(join(root, top))) {
    const dir = join(root, top, name);
    if (existsSync(join(dir, 'dist')) && existsSync(join(dir, 'src'))) prune(join(dir, 'dist'), join(dir, 'src'));
  }
}
if (removed.length) console.log(`prune-dist: removed ${removed.length} stale build output(s): ${removed.join(', ')}`);
