/**
 * The CLI's bundle: the commands bundled.ts names and everything they import, zod included, in a
 * few files instead of some 200 modules, written by `npm run build` (scripts/bundle-cli.mjs) to
 * packages/cli/bundle/. Node 20 loads each ES module separately (resolve, read, compile, link) and
 * has no compile cache for them: the bundle takes about 0.1 s of CPU off every `simulate`,
 * `explain`, `demo` and `--version`, and 0.07 s off `status`, `node` and `resource`. main.ts uses
 * it only when it is current: built after every
 * package it holds was last compiled (stamp.json lists their tsc build-info files), so a `tsc -b`
 * without the bundle step never runs old code; otherwise, or with PACELINE_NO_BUNDLE=1, the
 * modules in dist/ run as before. The bundle sits beside dist/ (same depth), so lookups relative
 * to a module's own URL (the CLI's package.json for the version) find the same files.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import type { CliIo } from './io.js';

/** First arguments the bundle runs (bundled.ts's commands and the version flags; a test keeps them equal). */
export const BUNDLED_FIRST_ARGS: ReadonlySet<string> = new Set(['simulate', 'explain', 'demo', 'status', 'node', 'resource', '-V', '--version']);

export const BUNDLE_DIR = new URL('../bundle/', import.meta.url);

type Run = (argv: readonly string[], io: CliIo) => Promise<number>;

/** Is the bundle in `dir` there and built after every input stamp.json names (paths relative to `dir`)? */
export function bundleIsCurrent(dir: URL = BUNDLE_DIR): boolean {
  const entry = new URL('bundled.js', dir);
  const stamp = new URL('stamp.json', dir);
  if (!existsSync(entry) || !existsSync(stamp)) return false;
  const built = statSync(entry).mtimeMs;
  const { inputs } = JSON.parse(readFileSync(stamp, 'utf8')) as { inputs: string[] };
  // An input that is not there (an installed package ships no build info) cannot be newer.
  return inputs.every((p) => (statSync(new URL(p, dir), { throwIfNoEntry: false })?.mtimeMs ?? 0) <= built);
}

/** The bundle's runBundled when it runs `argv`'s command and is current; undefined otherwise. */
export async function bundledCli(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<Run | undefined> {
  if (!BUNDLED_FIRST_ARGS.has(argv[0] ?? '') || env['PACELINE_NO_BUNDLE'] === '1' || !bundleIsCurrent()) return undefined;
  return ((await import(new URL('bundled.js', BUNDLE_DIR).href)) as { runBundled: Run }).runBundled;
}
