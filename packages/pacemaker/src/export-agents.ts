/**
 * Agents in an exported CIB. `paceline:NAME` agents have no Pacemaker counterpart: they are written
 * as `ocf:pacemaker:Dummy` (`ocf:pacemaker:Stateful` inside promotable clones) with the original
 * agent kept at the start of the description, `[paceline:NAME]`; `restorePacelineAgents` undoes
 * that after `importCib`.
 */
import type { ClusterConfig, ClusterStatus, Clone, Primitive, Resource } from '@paceline/model';
import { instanceBase } from './cib-text.js';

/** The Pacemaker agent a model agent reference is written as. */
export function pacemakerAgent(agent: string, promotable: boolean): { class: string; provider?: string; type: string; substituted: boolean } {
  const parts = agent.split(':');
  const cls = parts[0] ?? '';
  if (cls === 'paceline') return { class: 'ocf', provider: 'pacemaker', type: promotable ? 'Stateful' : 'Dummy', substituted: true };
  if (cls === 'ocf') return { class: 'ocf', provider: parts[1] ?? '', type: parts.slice(2).join(':'), substituted: false };
  return { class: cls, type: parts.slice(1).join(':'), substituted: false };
}

const SUBSTITUTE = /^\[(paceline:[A-Za-z0-9_.-]+)\](?: (.*))?$/s;

/**
 * Undoes the agent substitution of `exportCib` on an imported configuration: primitives whose
 * description starts with `[paceline:NAME]` get that agent (and the rest of the description)
 * back, and so do their history records. Everything else is returned unchanged.
 */
export function restorePacelineAgents(config: ClusterConfig, status?: ClusterStatus): { config: ClusterConfig; status?: ClusterStatus } {
  const restored = new Map<string, { from: string; to: string }>();
  const fix = (p: Primitive): Primitive => {
    const m = p.description === undefined ? null : SUBSTITUTE.exec(p.description);
    if (!m || !p.agent.startsWith('ocf:pacemaker:')) return p;
    const { description: _d, ...rest } = p;
    void _d;
    restored.set(p.id, { from: p.agent, to: m[1]! });
    return { ...rest, agent: m[1]!, ...(m[2] !== undefined ? { description: m[2] } : {}) };
  };
  const visit = (r: Resource): Resource =>
    r.type === 'primitive' ? fix(r) : r.type === 'group' ? { ...r, members: r.members.map(fix) } : { ...r, child: visit(r.child) as Clone['child'] };
  const out: { config: ClusterConfig; status?: ClusterStatus } = { config: { ...config, resources: config.resources.map(visit) } };
  if (status !== undefined) {
    out.status = {
      ...status,
      nodes: status.nodes.map((n) => ({
        ...n,
        history: n.history.map((h) => {
          const r = restored.get(h.resource) ?? restored.get(instanceBase(h.resource));
          return r && h.agent === r.from ? { ...h, agent: r.to } : h;
        }),
      })),
    };
  }
  return out;
}
