#!/usr/bin/env node
// npm run format:check [-- FILE... | --added]: Prettier (.prettierrc.json) on every tracked
// TypeScript and JavaScript file, or on the files named, or with --added only on the files this
// branch adds (relative to its merge base with main). `--write` formats the same files instead of
// checking them. Part of `npm test`'s pretest: the whole repository was reformatted in one commit
// (listed in .git-blame-ignore-revs, so `git blame` looks through it).
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import * as prettier from 'prettier';

const args = process.argv.slice(2);
const write = args.includes('--write');
const added = args.includes('--added');
const named = args.filter((a) => !a.startsWith('--'));
const git = (...a) => execFileSync('git', a, { encoding: 'utf8' }).split('\n').filter(Boolean);
const SOURCE = /\.(ts|mts|mjs|js)$/;

function addedOnBranch() {
  for (const base of ['main', 'origin/main']) {
    let mergeBase;
    try {
      [mergeBase] = git('merge-base', 'HEAD', base);
    } catch (e) {
      void e; // no such branch here
      continue;
    }
    return [...new Set([...git('diff', '--name-only', '--diff-filter=A', mergeBase), ...git('ls-files', '--others', '--exclude-standard')])];
  }
  return [];
}

const files = (named.length > 0 ? named : added ? addedOnBranch() : git('ls-files')).filter((f) => SOURCE.test(f) && existsSync(f));
const bad = [];
for (const file of files) {
  const info = await prettier.getFileInfo(file, { ignorePath: '.prettierignore' });
  if (info.ignored) continue;
  const options = { ...(await prettier.resolveConfig(file)), filepath: file };
  const text = readFileSync(file, 'utf8');
  if (await prettier.check(text, options)) continue;
  if (write) writeFileSync(file, await prettier.format(text, options));
  bad.push(file);
}
if (write) {
  console.log(`format: ${bad.length} of ${files.length} file(s) reformatted${bad.length ? `: ${bad.join(', ')}` : ''}`);
} else if (bad.length > 0) {
  console.error(
    `format:check: ${bad.length} of ${files.length} file(s) differ from Prettier's format (npm run format:check -- --write ${bad.join(' ')}):\n${bad.map((f) => `  - ${f}`).join('\n')}`,
  );
  process.exit(1);
} else {
  console.log(`format:check: ${files.length} file(s) checked${added ? ' (added on this branch)' : ''}, all formatted`);
}
