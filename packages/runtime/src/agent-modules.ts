/**
 * Loading agent modules named by a configuration (`agents:`): finding the file, deciding whether
 * to trust it, importing it and checking its exports against the agent contract.
 *
 * Where a module is found:
 *   ./x.js, ../x.js, /abs/x.js   a built ES module, relative to the configuration file's folder;
 *                                 a folder means the package in it (its package.json exports or main)
 *   @acme/agents, acme-agents    an npm package: node_modules from the configuration file's folder
 *                                 upwards, then from Paceline's own installation (a global install)
 *
 * Loading a module runs its code with the daemon's privileges, so it is a trust decision, made as
 * for the cluster key file: the module's entry file and every folder above it (both the path as
 * named and the real path behind symbolic links) must be owned by this user or root, and must not
 * be writable by every user (a folder with the sticky bit, such as /tmp, excepted). Otherwise the
 * module is refused with the path and the command that fixes it.
 */
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve as resolvePath } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { resolve as resolveModuleUrl } from 'import-meta-resolve';
import { PacelineError } from '@paceline/model';
import { AgentModuleError, agentsOfModule, type AgentRegistry, type AgentResolver, type AgentScope, type ResourceAgent } from '@paceline/agent-api';

export interface AgentModuleOptions {
  /** Relative paths and package lookups start here: the configuration file's folder. */
  readonly baseDir: string;
  /** The configuration file, named in errors (`agent module ./x.js (agents[0] of FILE)`). */
  readonly source?: string;
}

/** A loaded module and its agents. */
export interface LoadedAgentModule {
  /** As the configuration names it. */
  readonly spec: string;
  /** The entry file imported. */
  readonly path: string;
  readonly agents: readonly ResourceAgent[];
}

/** Why a module specification names no file to import: nothing there, or a source that must be built first. */
export type AgentModulePathCode = 'AGENT_MODULE_NOT_FOUND' | 'AGENT_MODULE_NOT_BUILT';

/** Raised by resolveAgentModulePath: `spec` as the configuration names it, `path` where it was looked for. */
export class AgentModulePathError extends PacelineError<AgentModulePathCode> {
  constructor(
    code: AgentModulePathCode,
    readonly spec: string,
    readonly path: string,
    message: string,
  ) {
    super(code, message);
  }
}

const isPathSpec = (spec: string): boolean => spec.startsWith('./') || spec.startsWith('../') || spec === '.' || spec === '..' || isAbsolute(spec);

/** The entry file of the package in `dir` (exports "." for import/node/default, else main, else index.js). */
function packageEntry(spec: string, dir: string): string {
  const pj = join(dir, 'package.json');
  if (!existsSync(pj))
    throw new AgentModulePathError('AGENT_MODULE_NOT_FOUND', spec, dir, `${dir} is a folder without a package.json: name the built .js file`);
  const json = JSON.parse(readFileSync(pj, 'utf8')) as { exports?: unknown; main?: unknown };
  const pick = (v: unknown): string | undefined => {
    if (typeof v === 'string') return v;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
    const o = v as Record<string, unknown>;
    if ('.' in o) return pick(o['.']);
    for (const k of ['import', 'node', 'default']) {
      const hit = pick(o[k]);
      if (hit !== undefined) return hit;
    }
    return undefined;
  };
  const rel = pick(json.exports) ?? (typeof json.main === 'string' ? json.main : 'index.js');
  return resolvePath(dir, rel);
}

/**
 * The file a module specification names, found as described above. Throws AgentModulePathError
 * saying what was looked for (the caller wraps it in an AgentModuleError naming the module).
 */
export function resolveAgentModulePath(spec: string, baseDir: string): string {
  if (isPathSpec(spec)) {
    const p = resolvePath(baseDir, spec);
    const notFound = (path: string, message: string) => new AgentModulePathError('AGENT_MODULE_NOT_FOUND', spec, path, message);
    if (!existsSync(p)) throw notFound(p, `${p} does not exist${p.endsWith('.ts') ? '' : ' (build the module first?)'}`);
    const file = statSync(p).isDirectory() ? packageEntry(spec, p) : p;
    if (!existsSync(file)) throw notFound(file, `${file} does not exist (build the module first?)`);
    if (file.endsWith('.ts')) throw new AgentModulePathError('AGENT_MODULE_NOT_BUILT', spec, file, `${file} is TypeScript: name the built .js file`);
    return file;
  }
  const tried: string[] = [];
  for (const from of [join(resolvePath(baseDir), 'paceline-config.js'), fileURLToPath(import.meta.url)]) {
    let url: string;
    try {
      url = resolveModuleUrl(spec, pathToFileURL(from).href);
    } catch (e) {
      tried.push(`from ${dirname(from)}: ${(e as Error).message.split('\n')[0]}`);
      continue;
    }
    if (url.startsWith('file:')) return fileURLToPath(url);
    tried.push(`from ${dirname(from)}: ${url} is not a file`);
  }
  throw new AgentModulePathError('AGENT_MODULE_NOT_FOUND', spec, baseDir, `cannot find package ${spec} (is it installed? looked ${tried.join('; ')})`);
}

function ancestors(path: string): string[] {
  const out: string[] = [];
  for (let p = path; ; p = dirname(p)) {
    out.push(p);
    if (dirname(p) === p) return out;
  }
}

const octal = (mode: number): string => `0${(mode & 0o7777).toString(8).padStart(3, '0')}`;

/**
 * Why the file at `path` may not be trusted to run as this user: owned by another user (not
 * root), or writable by every user (the file, or a folder above it that has no sticky bit).
 * Checks the path as named and its real path. Empty: trusted. `uid` defaults to this process's.
 */
export function agentModuleTrustProblems(path: string, uid: number | undefined = process.getuid?.()): string[] {
  if (uid === undefined) return []; // no owners to compare on this platform
  const paths = [...new Set([...ancestors(resolvePath(path)), ...ancestors(realpathSync(path))])];
  const problems: string[] = [];
  for (const p of paths) {
    const st = statSync(p);
    if (st.uid !== uid && st.uid !== 0)
      problems.push(
        `${p} is owned by uid ${st.uid}, not by this user (uid ${uid}) or root: that user could change the code Paceline runs (run: chown ${uid} ${p})`,
      );
    const sticky = st.isDirectory() && (st.mode & 0o1000) !== 0;
    if ((st.mode & 0o002) !== 0 && !sticky)
      problems.push(`${p} is writable by every user (mode ${octal(st.mode)}): anyone could change the code Paceline runs (run: chmod o-w ${p})`);
  }
  return problems;
}

/**
 * Finds, checks and imports one module; returns its agents (checked against the contract by
 * agentsOfModule). Throws AgentModuleError naming the module (and the configuration file): not
 * found, not trusted, failed to import, or exports that break the contract.
 */
export async function loadAgentModule(spec: string, options: AgentModuleOptions, label = spec): Promise<LoadedAgentModule> {
  const where = options.source ? `${label} (in ${options.source})` : label;
  let path: string;
  try {
    path = resolveAgentModulePath(spec, options.baseDir);
  } catch (e) {
    throw new AgentModuleError(where, [(e as Error).message], { cause: e });
  }
  const distrust = agentModuleTrustProblems(path);
  if (distrust.length > 0) throw new AgentModuleError(where, [`not loaded: ${distrust.join('; ')}`]);
  let exports: Record<string, unknown>;
  try {
    exports = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (e) {
    const esm = /Cannot use import statement outside a module|Unexpected token 'export'/.test((e as Error).message)
      ? ' (an agent module is an ES module: "type": "module" in its package.json, or a .mjs file)'
      : '';
    throw new AgentModuleError(where, [`importing ${path} failed: ${(e as Error).message}${esm}`], { cause: e });
  }
  return { spec, path, agents: agentsOfModule(exports, where) };
}

/** One module's agents, or why it could not give them. */
type ModuleLoad = { readonly ok: true; readonly module: LoadedAgentModule } | { readonly ok: false; readonly spec: string; readonly error: AgentModuleError };

/** The agents of a set of modules next to the built-in ones, and the modules that failed. */
export interface ModuleAgents {
  /** Built-in agents and every agent of the modules that loaded. */
  readonly registry: AgentRegistry;
  /** Which module gave each module agent (by agent name). */
  readonly origin: ReadonlyMap<string, string>;
  /** Modules that gave no agents: their place in the list, as named, and why. */
  readonly failures: readonly ModuleFailure[];
}

export interface ModuleFailure {
  readonly index: number;
  readonly spec: string;
  readonly error: AgentModuleError;
}

/**
 * An AgentResolver over the built-in agents (`base`: a registry, with its `ocf:` resolver) and
 * the agent modules a configuration names: `paceline:NAME` not built in is looked up in the
 * modules of the scope (the configuration in force; `modules` when no scope is given), loaded on
 * first use and kept. A module that failed is tried again on the next resolve (it may have been
 * installed since). An agent name that two modules, or a module and a built-in agent, both give
 * is a failure of the later module.
 */
export class ModuleAgentResolver implements AgentResolver {
  private readonly loaded = new Map<string, Promise<LoadedAgentModule>>();

  constructor(
    private readonly base: AgentRegistry,
    private readonly options: AgentModuleOptions & { readonly modules?: readonly string[] },
  ) {}

  /** The modules of `modules` (default: the constructor's), each loaded once; failures are returned, not thrown. */
  async load(modules: readonly string[] = this.options.modules ?? []): Promise<ModuleAgents> {
    const registry = this.base.copy();
    const origin = new Map<string, string>();
    const failures: ModuleFailure[] = [];
    for (const [i, spec] of modules.entries()) {
      const label = `${spec} (agents[${i}]${this.options.source ? ` of ${this.options.source}` : ''})`;
      let p = this.loaded.get(spec);
      if (!p) {
        p = loadAgentModule(spec, { baseDir: this.options.baseDir }, label);
        this.loaded.set(spec, p);
        p.catch(() => this.loaded.delete(spec));
      }
      const r = await p.then(
        (m): ModuleLoad => ({ ok: true, module: m }),
        (e: unknown): ModuleLoad => ({
          ok: false,
          spec,
          error: e instanceof AgentModuleError ? e : new AgentModuleError(label, [(e as Error).message], { cause: e }),
        }),
      );
      if (!r.ok) {
        failures.push({ index: i, spec, error: r.error });
        continue;
      }
      const clashes = r.module.agents.flatMap((a) => {
        const other = origin.get(a.meta.name);
        if (other !== undefined) return [`agent "${a.meta.name}" is also given by agent module ${other}`];
        if (registry.get(a.meta.name)) return [`agent "${a.meta.name}" has the name of a built-in agent (paceline:${a.meta.name}): rename it`];
        return [];
      });
      if (clashes.length > 0) {
        failures.push({ index: i, spec, error: new AgentModuleError(label, clashes) });
        continue;
      }
      for (const a of r.module.agents) {
        registry.register(a);
        origin.set(a.meta.name, spec);
      }
    }
    return { registry, origin, failures };
  }

  /**
   * A built-in agent or `ocf:` reference through `base`; a `paceline:` agent of the scope's modules.
   * When the agent is nowhere and a module of the scope failed to load, rejects with that failure
   * (the executor reports it as the reason the agent is not installed on this node).
   */
  async resolve(ref: string, scope?: AgentScope): Promise<ResourceAgent | undefined> {
    const own = await this.base.resolve(ref);
    if (own || (ref.includes(':') && !ref.startsWith('paceline:'))) return own;
    const { registry, failures } = await this.load(scope?.modules ?? this.options.modules ?? []);
    const hit = registry.get(ref);
    if (hit) return hit;
    if (failures.length > 0)
      throw new AgentModuleError(
        failures.map((f) => f.error.module).join(', '),
        failures.map((f) => f.error.problems.join('; ')),
      );
    return undefined;
  }
}

/** The folder a configuration file's relative module paths start from. */
export function configBaseDir(configFile: string): string {
  return dirname(resolvePath(configFile));
}
