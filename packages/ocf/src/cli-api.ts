/**
 * What `paceline agent export-ocf` and `paceline agent meta-data` need, by agent reference:
 *   NAME | paceline:NAME   a built-in agent (package @paceline/agent-NAME, or any built-in
 *                          package that has an agent of that name, e.g. `stateful` in agent-dummy)
 *   MODULE#AGENT           an agent of a package or built .js file, by export or agent name
 *   ocf:PROVIDER:TYPE      (meta-data only) an installed OCF script
 */
import { exportOcf, resolveAgentModule } from './export.js';
import type { ExportedOcfAgent } from './export.js';
import { OcfError } from './errors.js';
import { DEFAULT_OCF_ROOT, loadOcfAgent } from './agent.js';
import { isOcfRef } from './ref.js';
import { createProcessRunner } from './runner.js';
import { findAgent } from './shim.js';
import { generateOcfMetadata } from './metadata-gen.js';
import { pathToFileURL } from 'node:url';

/** Agent packages searched for a bare agent name that is not itself a package. */
export const BUILTIN_AGENT_PACKAGES = [
  '@paceline/agent-dummy',
  '@paceline/agent-process',
  '@paceline/agent-ip',
  '@paceline/agent-mac',
  '@paceline/agent-mirror',
];

interface AgentSpec {
  readonly module: string;
  readonly agent?: string;
}

function candidates(spec: string): AgentSpec[] {
  const s = spec.startsWith('paceline:') ? spec.slice('paceline:'.length) : spec;
  const hash = s.lastIndexOf('#');
  if (hash > 0) return [{ module: s.slice(0, hash), agent: s.slice(hash + 1) }];
  if (/^[a-z0-9][a-z0-9._-]*$/.test(s)) return [{ module: s, agent: s }, { module: s }, ...BUILTIN_AGENT_PACKAGES.map((m) => ({ module: m, agent: s }))];
  return [{ module: s }];
}

async function firstThatWorks<T>(spec: string, fn: (c: AgentSpec) => Promise<T>): Promise<T> {
  const errors: string[] = [];
  for (const c of candidates(spec)) {
    try {
      return await fn(c);
    } catch (err) {
      if (!(err instanceof OcfError)) throw err;
      errors.push(err.message);
    }
  }
  throw new OcfError('OCF_EXPORT', `no agent "${spec}": ${errors[0] ?? 'not found'}`);
}

/** `paceline agent export-ocf AGENT --out DIR [--name NAME]`. */
export function exportOcfAgent(spec: string, outDir: string, name?: string): Promise<ExportedOcfAgent> {
  return firstThatWorks(spec, (c) => exportOcf({ module: c.module, ...(c.agent ? { agent: c.agent } : {}), outDir, ...(name ? { name } : {}) }));
}

/** `paceline agent meta-data AGENT`: generated for Paceline agents, the script's own for ocf: refs. */
export async function agentMetadataXml(spec: string, ocfRoot: string = DEFAULT_OCF_ROOT): Promise<string> {
  if (isOcfRef(spec)) {
    const agent = await loadOcfAgent(spec, { run: createProcessRunner(), ocfRoot });
    const r = await createProcessRunner().run(agent.path, ['meta-data'], { env: { OCF_ROOT: ocfRoot }, timeoutMs: 10_000 });
    return r.stdout;
  }
  return firstThatWorks(spec, async (c) => {
    const mod = (await import(pathToFileURL(resolveAgentModule(c.module)).href)) as Record<string, unknown>;
    return generateOcfMetadata(findAgent(mod, c.agent, c.module).agent);
  });
}

/** The functions the CLI's OCF commands call (injected, so the CLI command file stays thin). */
export const ocfCliApi = { exportOcfAgent, agentMetadataXml };
export type OcfCliApi = typeof ocfCliApi;
