/**
 * Where the tests find Pacemaker's scheduler conformance corpus: `PACELINE_CONFORMANCE_DIR`, else
 * `../shared/conformance/pacemaker` beside the repository (as `scripts/conformance.mjs` and the
 * README have it). A missing corpus is an error, never a silent skip: without it the conformance
 * floor would go unchecked.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root folder. */
export const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');

export function corpusDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return env['PACELINE_CONFORMANCE_DIR'] || resolve(REPO_ROOT, '../shared/conformance/pacemaker');
}

/** The corpus folder, or an error that says where it was looked for and how to provide it. */
export function requireCorpus(dir: string = corpusDir()): string {
  if (!existsSync(dir) || !readdirSync(dir).some((f) => f.endsWith('.expected.json')))
    throw new Error(
      `the Pacemaker conformance corpus is not at ${dir}: put it (the shared folder's conformance/pacemaker) ` +
        'at ../shared/conformance/pacemaker beside the repository, or set PACELINE_CONFORMANCE_DIR',
    );
  return dir;
}

/** The corpus's case names (NAME.xml + NAME.expected.json), sorted; throws when the corpus is missing. */
export function corpusNames(dir: string = corpusDir()): string[] {
  return readdirSync(requireCorpus(dir))
    .filter((f) => f.endsWith('.expected.json'))
    .map((f) => f.slice(0, -'.expected.json'.length))
    .sort();
}

/** A file of the corpus by name, e.g. `params-4.xml`. */
export function corpusFile(name: string): string {
  return join(requireCorpus(), name);
}
