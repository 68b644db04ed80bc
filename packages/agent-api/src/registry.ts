/**
 * Finding the agent behind a configured reference. TypeScript agents are registered by name and
 * referenced as `paceline:NAME`; other classes (`ocf:PROVIDER:TYPE`, `stonith:`, ...) are resolved
 * by pluggable resolvers (the OCF bridge provides one for `ocf`).
 */
import { PacelineError } from '@paceline/model';
import type { ResourceAgent } from './agent.js';
import type { ActionResult } from './result.js';

/**
 * Where a reference is resolved: the agent modules the configuration in force names (its
 * `agents:`), so that a resolver that loads modules loads those of the current configuration.
 */
export interface AgentScope {
  readonly modules?: readonly string[];
}

/**
 * What the executor needs: turn an agent reference into an agent, or undefined when there is none.
 * May reject with an error that says why the agent is not available (e.g. its module failed to
 * load); the executor reports that reason with the `not-installed` result.
 */
export interface AgentResolver {
  resolve(ref: string, scope?: AgentScope): Promise<ResourceAgent | undefined>;
}

/**
 * Resolves `ref` for an action on `node`: the agent, or the `not-installed` result to report
 * (with the resolver's reason when it gave one, e.g. a module that failed to load there).
 */
export async function resolveForAction(
  resolver: AgentResolver,
  ref: string,
  scope: AgentScope,
  node: string,
): Promise<{ readonly agent: ResourceAgent } | { readonly agent?: undefined; readonly result: ActionResult }> {
  let why = '';
  const agent = await resolver.resolve(ref, scope).catch((e: unknown) => {
    why = `: ${e instanceof Error ? e.message : String(e)}`;
    return undefined;
  });
  if (agent) return { agent };
  return { result: { execution: 'not-installed', outcome: 'not-installed', reason: `agent ${ref} is not available on ${node}${why}` } };
}

/** Resolves references of one class (the text before the first ':'), e.g. every `ocf:` reference. */
export type AgentRefResolver = (ref: string) => Promise<ResourceAgent | undefined> | ResourceAgent | undefined;

export class AgentRegistry implements AgentResolver {
  private readonly agents = new Map<string, ResourceAgent>();
  private readonly resolvers = new Map<string, AgentRefResolver>();
  private readonly cache = new Map<string, Promise<ResourceAgent | undefined>>();

  constructor(agents: readonly ResourceAgent[] = []) {
    for (const a of agents) this.register(a);
  }

  /** Adds an agent under `paceline:<meta.name>`. Throws when the name is taken by another agent. */
  register(agent: ResourceAgent): this {
    const name = agent.meta.name;
    if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new PacelineError('AGENT_NAME', `agent name "${name}" may contain only letters, digits and _ . -`);
    const existing = this.agents.get(name);
    if (existing && existing !== agent) throw new PacelineError('AGENT_DUPLICATE', `an agent named "${name}" is already registered`);
    this.agents.set(name, agent);
    return this;
  }

  /** Resolves every reference of class `cls` (e.g. "ocf") with `resolver`; results are cached per reference. */
  addResolver(cls: string, resolver: AgentRefResolver): this {
    if (cls === 'paceline') throw new PacelineError('AGENT_RESOLVER', '"paceline:" references are resolved by register()');
    this.resolvers.set(cls, resolver);
    for (const key of [...this.cache.keys()]) if (key.startsWith(`${cls}:`)) this.cache.delete(key);
    return this;
  }

  /** A new registry with the same agents and resolvers, to which more agents can be added. */
  copy(): AgentRegistry {
    const r = new AgentRegistry(this.list());
    for (const [cls, resolver] of this.resolvers) r.resolvers.set(cls, resolver);
    return r;
  }

  /** A registered TypeScript agent by "paceline:NAME" or "NAME"; undefined when unknown. */
  get(ref: string): ResourceAgent | undefined {
    const name = ref.startsWith('paceline:') ? ref.slice('paceline:'.length) : ref.includes(':') ? undefined : ref;
    return name === undefined ? undefined : this.agents.get(name);
  }

  /** Like get(), but throws an error naming the known agents. */
  require(ref: string): ResourceAgent {
    const a = this.get(ref);
    if (!a)
      throw new PacelineError(
        'AGENT_UNKNOWN',
        `no agent "${ref}" (known: ${
          this.list()
            .map((x) => `paceline:${x.meta.name}`)
            .join(', ') || 'none'
        })`,
      );
    return a;
  }

  /** Registered agents sorted by name. */
  list(): ResourceAgent[] {
    return [...this.agents.values()].sort((a, b) => a.meta.name.localeCompare(b.meta.name));
  }

  /** Any reference: `paceline:` from the registered agents, other classes through their resolver. The scope is not used: a registry loads no modules. */
  async resolve(ref: string, _scope?: AgentScope): Promise<ResourceAgent | undefined> {
    const own = this.get(ref);
    if (own || ref.startsWith('paceline:') || !ref.includes(':')) return own;
    const cls = ref.slice(0, ref.indexOf(':'));
    const resolver = this.resolvers.get(cls);
    if (!resolver) return undefined;
    let p = this.cache.get(ref);
    if (!p) {
      p = Promise.resolve(resolver(ref));
      this.cache.set(ref, p);
      p.then(
        (a) => {
          if (!a) this.cache.delete(ref);
        },
        () => this.cache.delete(ref),
      );
    }
    return p;
  }
}
