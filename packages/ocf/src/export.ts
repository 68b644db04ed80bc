/**
 * `exportOcf`: writes a Paceline agent out as an OCF resource agent: a small executable shim
 * that imports the built agent package and runs it through `runOcfShim`, plus its meta-data XML.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve as resolvePath } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { OcfError } from './errors.js';
import { generateOcfMetadata } from './metadata-gen.js';
import { findAgent } from './shim.js';

export interface ExportOcfOptions {
  /**
   * The agent module: a package name (`@paceline/agent-dummy`), a short agent name (`dummy`,
   * meaning `@paceline/agent-dummy`), or a path to a built .js module.
   */
  readonly module: string;
  /**
   * Which agent, when the module has several: an export name or an agent's meta.name. For a short
   * agent name (`dummy`) the name itself is tried first.
   */
  readonly agent?: string;
  readonly outDir: string;
  /** The OCF type name (file name of the shim). Default: the agent's meta.name. */
  readonly name?: string;
  /** Where package names are resolved from (a directory or file). Default: this package's location. */
  readonly resolveFrom?: string;
}

export interface ExportedOcfAgent {
  readonly name: string;
  /** The executable to install as /usr/lib/ocf/resource.d/PROVIDER/NAME. */
  readonly shimPath: string;
  readonly metadataPath: string;
  readonly metadata: string;
}

/** Resolves an agent module reference to an absolute file path. */
export function resolveAgentModule(spec: string, resolveFrom?: string): string {
  const looksLikePath = spec.startsWith('.') || isAbsolute(spec) || spec.endsWith('.js') || spec.endsWith('.mjs');
  if (looksLikePath) {
    const p = resolvePath(spec);
    if (!existsSync(p)) throw new OcfError('OCF_EXPORT', `agent module ${p} does not exist`);
    return p;
  }
  const pkg = /^[a-z0-9][a-z0-9._-]*$/.test(spec) ? `@paceline/agent-${spec}` : spec;
  const from = resolveFrom ?? dirname(fileURLToPath(import.meta.url));
  const entry = findPackageEntry(pkg, existsSync(from) && statSync(from).isDirectory() ? from : dirname(from));
  if (!entry) throw new OcfError('OCF_EXPORT', `cannot find agent package ${pkg} from ${from} (is it installed?)`);
  return entry;
}

/**
 * Node's package lookup, done by hand (node_modules upwards, then exports["."] or main) so that
 * it gives the built file the shim will import, whatever module loader runs this code.
 */
function findPackageEntry(pkg: string, fromDir: string): string | undefined {
  for (let dir = resolvePath(fromDir); ; dir = dirname(dir)) {
    const pj = join(dir, 'node_modules', pkg, 'package.json');
    if (existsSync(pj)) {
      const root = realpathSync(dirname(pj));
      const json = JSON.parse(readFileSync(pj, 'utf8')) as { exports?: unknown; main?: string };
      const dot = typeof json.exports === 'object' && json.exports !== null ? ((json.exports as Record<string, unknown>)['.'] ?? json.exports) : json.exports;
      const target =
        typeof dot === 'string'
          ? dot
          : typeof dot === 'object' && dot !== null
            ? ['import', 'node', 'default'].map((k) => (dot as Record<string, unknown>)[k]).find((v): v is string => typeof v === 'string')
            : undefined;
      return join(root, target ?? json.main ?? 'index.js');
    }
    if (dirname(dir) === dir) return undefined;
  }
}

const OCF_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

export async function exportOcf(options: ExportOcfOptions): Promise<ExportedOcfAgent> {
  const modulePath = resolveAgentModule(options.module, options.resolveFrom);
  if (modulePath.endsWith('.ts')) throw new OcfError('OCF_EXPORT', `${modulePath}: export the built .js module (run npm run build)`);
  // The shim loads only shim.js (not the whole package: no XML parser), to start fast.
  const runtimePath = join(dirname(resolveAgentModule('@paceline/ocf', options.resolveFrom)), 'shim.js');
  if (!existsSync(runtimePath) || runtimePath.endsWith('.ts')) {
    throw new OcfError('OCF_EXPORT', `@paceline/ocf is not built (${runtimePath}); run npm run build`);
  }
  const mod = (await import(pathToFileURL(modulePath).href)) as Record<string, unknown>;
  const short = /^[a-z0-9][a-z0-9._-]*$/.test(options.module);
  let picked: ReturnType<typeof findAgent>;
  try {
    picked = findAgent(mod, options.agent ?? (short ? options.module : undefined), options.module);
  } catch (err) {
    if (options.agent !== undefined || !short) throw err;
    picked = findAgent(mod, undefined, options.module);
  }
  const { agent, exportName } = picked;
  const name = options.name ?? agent.meta.name;
  if (!OCF_NAME.test(name)) throw new OcfError('OCF_EXPORT', `"${name}" is not a valid OCF agent name`);
  const metadata = generateOcfMetadata(agent, name);
  mkdirSync(options.outDir, { recursive: true });
  const shimPath = join(options.outDir, name);
  const metadataPath = join(options.outDir, `${name}.metadata.xml`);
  // Dynamic import() works whether node loads the extensionless file as CommonJS or as a module.
  // meta-data is answered from the embedded XML: fast, and it works for users (ocf-tester runs it as
  // nobody) who cannot read the Paceline tree. Every other action imports the built agent.
  // Dynamic import() works whether node loads the extensionless file as CommonJS or as a module.
  const shim = [
    '#!/usr/bin/env node',
    `// OCF resource agent "${name}": the Paceline agent ${agent.meta.name} ${agent.meta.version} behind an OCF shim.`,
    '// Generated by `paceline agent export-ocf`; regenerate rather than edit.',
    `const metadata = ${JSON.stringify(metadata)};`,
    "if (process.argv[2] === 'meta-data') {",
    '  process.stdout.write(metadata);',
    '} else {',
    `  Promise.all([import(${JSON.stringify(pathToFileURL(runtimePath).href)}), import(${JSON.stringify(pathToFileURL(modulePath).href)})])`,
    `    .then(([ocf, agentModule]) => ocf.runOcfShim(agentModule, ${JSON.stringify(exportName)}, ${JSON.stringify(name)}))`,
    '    .then((rc) => { process.exitCode = rc; }, (err) => { process.stderr.write(`ocf-exit-reason:${err && err.message}\\n`); process.exitCode = 1; });',
    '}',
    '',
  ].join('\n');
  writeFileSync(shimPath, shim);
  chmodSync(shimPath, 0o755);
  writeFileSync(metadataPath, metadata);
  return { name, shimPath, metadataPath, metadata };
}
