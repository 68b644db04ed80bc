import type { AgentRefResolver } from '@paceline/agent-api';
import { OcfError } from './errors.js';
import { loadOcfAgent } from './agent.js';
import type { OcfAgent, OcfAgentOptions } from './agent.js';
import { formatOcfRef, isOcfRef, parseOcfRef } from './ref.js';

/**
 * Resolves `ocf:PROVIDER:TYPE` references for the agent registry. Each agent's meta-data is read
 * once and cached; a failed load is not cached, so installing the agent later works.
 */
export interface OcfResolver {
  /** Does this resolver handle the reference (does it start with `ocf:`)? */
  canResolve(ref: string): boolean;
  resolve(ref: string): Promise<OcfAgent>;
}

export function createOcfResolver(options: OcfAgentOptions): OcfResolver {
  const cache = new Map<string, Promise<OcfAgent>>();
  return {
    canResolve: isOcfRef,
    resolve(ref: string): Promise<OcfAgent> {
      if (!isOcfRef(ref)) return Promise.reject(new OcfError('OCF_BAD_REF', `"${ref}" is not an ocf: reference`));
      const key = formatOcfRef(parseOcfRef(ref));
      let p = cache.get(key);
      if (!p) {
        p = loadOcfAgent(key, options);
        cache.set(key, p);
        p.catch(() => cache.delete(key));
      }
      return p;
    },
  };
}

/** The resolver in the shape AgentRegistry.addResolver('ocf', ...) takes. */
export function ocfRefResolver(options: OcfAgentOptions): AgentRefResolver {
  const r = createOcfResolver(options);
  return (ref) => r.resolve(ref);
}
