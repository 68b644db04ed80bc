#!/usr/bin/env node
// Writes the CLI's bundle (packages/cli/bundle/, see packages/cli/src/bundle.ts): the commands
// packages/cli/dist/bundled.js names and everything they import, zod included, as ES modules
// with code splitting (what only some runs need, e.g. the agents `simulate --config` checks, stays
// in chunks loaded on demand). stamp.json lists the inputs whose change makes the bundle stale: each
// bundled workspace package's tsc build info (the bundle holds its own copy of zod and commander, so
// a change in node_modules does not make it inconsistent). Run by `npm run build`, after tsc.
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'packages', 'cli');
const outdir = join(cli, 'bundle');
const entry = join(cli, 'dist', 'bundled.js');
if (!existsSync(entry)) {
  console.error('bundle-cli: packages/cli/dist/bundled.js is missing: run tsc -b first (npm run build does)');
  process.exit(1);
}
rmSync(outdir, { recursive: true, force: true });
let esbuild;
try {
  esbuild = await import('esbuild');
} catch (e) {
  // A worktree installed before esbuild joined the dev dependencies: the CLI runs from dist/ (slower
  // to start), the build goes on, and bundle.test.ts fails until `npm ci` installs it.
  console.warn(`bundle-cli: WARNING: no bundle written, esbuild cannot be loaded (run npm ci): ${e.message.split('\n')[0]}`);
  process.exit(0);
}
// zod's namespace exports every locale (`z.locales`, some 360 KB of the bundle's 820 KB of model
// and zod), which Node must parse on every start; Paceline uses English only (zod's default, which
// zod's own schemas module imports directly): `z.locales` holds just `en` in the bundle.
const englishOnly = {
  name: 'zod-english-only',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]v4[\\/](classic|core)$/.test(args.resolveDir)
        ? // The path is only a name (it appears in the bundle): the directory travels in pluginData.
          { path: 'zod/v4/locales/index.js', namespace: 'zod-locales', pluginData: join(args.resolveDir, '..', 'locales') }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: "export { default as en } from './en.js';\n",
      resolveDir: args.pluginData,
    }));
  },
};
const result = await esbuild.build({
  entryPoints: { bundled: entry },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outdir,
  metafile: true,
  // No source maps: they would name files outside the package (node_modules, other workspaces),
  // which its tarball does not ship. For stack traces into the sources, PACELINE_NO_BUNDLE=1.
  sourcemap: false,
  logLevel: 'warning',
  // CommonJS dependencies (commander) call require(); an ES module has none of its own.
  plugins: [englishOnly],
  banner: { js: "import { createRequire as __pacelineCreateRequire } from 'node:module'; const require = __pacelineCreateRequire(import.meta.url);" },
});
// Workspace packages the bundle holds: packages/NAME or agents/NAME, from their dist/ files.
const packages = new Set();
for (const input of Object.keys(result.metafile.inputs)) {
  const parts = relative(root, join(root, input)).split(sep);
  if ((parts[0] === 'packages' || parts[0] === 'agents') && parts[2] === 'dist') packages.add(join(root, parts[0], parts[1]));
}
const inputs = [...packages].sort().map((p) => join(p, 'tsconfig.tsbuildinfo'));
writeFileSync(join(outdir, 'stamp.json'), `${JSON.stringify({ inputs: inputs.map((p) => relative(outdir, p)) }, null, 1)}\n`);
const files = Object.keys(result.metafile.outputs).filter((f) => f.endsWith('.js'));
console.log(`bundle-cli: ${files.length} files, ${packages.size} workspace packages, in packages/cli/bundle/`);
