/**
 * Finding the agent behind a configured reference. TypeScript agents are registered by name and
 * referenced as `paceline:NAME`; other classes (`ocf:PROVIDER:TYPE`, `stonith:`, ...) are resolved
 * by pluggable resolvers (the OCF bridge provides one for `ocf`).
 */
import { PacelineError } from '@paceline/model';
import type { ResourceAgent } from './agent.js';

/** What the executor needs: turn an agent reference into an agent, or undefined when there is none. */
export interface AgentResolver {
  resolve(ref: string): Promise<ResourceAgent | undefined>;
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
    if (!/^[A-Za-z0-9_.-]+$/.test(name))
      throw new PacelineError('AGENT_NAME', `agent name "${name}" may contain only letters, digits and _ . -`);
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

  /** A registered TypeScript agent by "paceline:NAME" or "NAME"; undefined when unknown. */
  get(ref: string): ResourceAgent | undefined {
    const name = ref.startsWith('paceline:') ? ref.slice('paceline:'.length) : ref.includes(':') ? undefined : ref;
    return name === undefined ? undefined : this.agents.get(name);
  }

  /** Like get(), but throws an error naming the known agents. */
  require(ref: string): ResourceAgent {
    const a = this.get(ref);
    if (!a) throw new PacelineError('AGENT_UNKNOWN', `no agent "${ref}" (known: ${this.list().map((x) => `paceline:${x.meta.name}`).join(', ') || 'none'})`);
    return a;
  }

  /** Registered agents sorted by name. */
  list(): ResourceAgent[] {
    return [...this.agents.values()].sort((a, b) => a.meta.name.localeCompare(b.meta.name));
  }

  /** Any reference: `paceline:` from the registered agents, other classes through their resolver. */
  async resolve(ref: string): Promise<ResourceAgent | undefined> {
    const own = this.get(ref);
    if (own || ref.startsWith('paceline:') || !ref.includes(':')) return own;
    const cls = ref.slice(0, ref.indexOf(':'));
    const resolver = this.resolvers.get(cls);
    if (!resolver) return undefined;
    let p = this.cache.get(ref);
    if (!p) {
      p = Promise.resolve(resolver(ref));
      this.cache.set(ref, p);
      p.then((a) => { if (!a) this.cache.delete(ref); }, () => this.cache.delete(ref));
    }
    return p;
  }
}
