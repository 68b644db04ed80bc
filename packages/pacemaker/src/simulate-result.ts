/**
 * `crmSimulateResult`: reads `crm_simulate -S --output-as=xml` back into the conformance
 * contract's shape (actions of the Transition Summary, revised placement, node flags), so that a
 * Pacemaker verdict can be compared with Paceline's (`compareConformance`).
 */
import { instanceBase } from './cib-text.js';
import type { ConformanceAction, ConformanceInstance, ConformanceResource, ConformanceResult, ConformanceRole } from './conformance.js';
import { PacemakerError } from './errors.js';
import { child, childrenOf, parseXml, type XmlElement } from './xml.js';

/** The names of the top-level elements of some XML text, for an error message. */
function topLevel(xml: string): string {
  const names = parseXml(xml).map((e) => `<${e.tag}>`);
  return names.length === 0 ? 'none' : names.join(', ');
}

const ROLES: Record<string, ConformanceRole> = {
  Started: 'Started',
  Promoted: 'Promoted',
  Unpromoted: 'Unpromoted',
  Master: 'Promoted',
  Slave: 'Unpromoted',
};

/** One `<rsc_action>` / `<node_action>` of crm_simulate's XML Transition Summary, in the contract's shape. */
function summaryAction(a: XmlElement): ConformanceAction | undefined {
  if (a.tag === 'node_action') {
    const m = /^Fence \((\w+)\)/.exec(a.attrs['task'] ?? '');
    if (!m) return undefined;
    return { action: 'fence', node: a.attrs['node'] ?? '', fence_type: m[1]!, ...(a.attrs['reason'] !== undefined ? { reason: a.attrs['reason'] } : {}) };
  }
  const action = a.attrs['action'] ?? '';
  const instance = a.attrs['resource'] ?? '';
  const node = a.attrs['node'];
  const source = a.attrs['source'];
  const dest = a.attrs['dest'];
  let from: string | null = null;
  let to: string | null = null;
  if (source !== undefined || dest !== undefined) {
    from = source ?? null;
    to = dest ?? source ?? null;
  } else if (node !== undefined) {
    if (action === 'start') to = node;
    else if (action === 'stop') from = node;
    else from = to = node;
  }
  const resource = instanceBase(instance);
  return {
    action,
    resource,
    ...(instance !== resource ? { instance } : {}),
    from,
    to,
    blocked: a.attrs['blocked'] === 'true',
    ...(a.attrs['role'] !== undefined ? { role: a.attrs['role'] } : {}),
    ...(a.attrs['next-role'] !== undefined ? { next_role: a.attrs['next-role'] } : {}),
    ...(a.attrs['reason'] !== undefined ? { reason: a.attrs['reason'] } : {}),
  };
}

type Placement = { group: string | null; clone: string | null; promotable?: boolean; unique?: boolean; orphan?: boolean; instances: ConformanceInstance[] };

/** Where crm_simulate's (revised) cluster status has each resource, by primitive id. */
function placement(revised: XmlElement): Record<string, ConformanceResource> {
  const resources: Record<string, Placement> = {};
  const walk = (e: XmlElement, group: string | null, clone: XmlElement | null): void => {
    for (const c of e.children) {
      if (c.tag === 'group') walk(c, instanceBase(c.attrs['id'] ?? ''), clone);
      else if (c.tag === 'clone') walk(c, group, c);
      else if (c.tag === 'resource') {
        const id = instanceBase(c.attrs['id'] ?? '');
        const entry = (resources[id] ??= {
          group,
          clone: clone?.attrs['id'] ?? null,
          ...(clone ? { promotable: clone.attrs['multi_state'] === 'true', unique: clone.attrs['unique'] === 'true' } : {}),
          ...(c.attrs['orphaned'] === 'true' ? { orphan: true } : {}),
          instances: [],
        });
        const role = ROLES[c.attrs['role'] ?? ''];
        if (role === undefined) continue;
        for (const n of childrenOf(c, 'node'))
          entry.instances.push({
            node: n.attrs['name'] ?? '',
            role,
            ...(clone?.attrs['unique'] === 'true' ? { instance: c.attrs['id'] ?? '' } : {}),
            ...(c.attrs['failed'] === 'true' ? { failed: true } : {}),
            ...(c.attrs['managed'] === 'false' ? { managed: false } : {}),
          });
      }
    }
  };
  const rs = child(revised, 'resources');
  if (rs) walk(rs, null, null);
  for (const r of Object.values(resources))
    r.instances.sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : a.role < b.role ? -1 : a.role > b.role ? 1 : 0));
  return resources as Record<string, ConformanceResource>;
}

/** Each node's flags in crm_simulate's (revised) cluster status. */
function nodeFlags(revised: XmlElement): NonNullable<ConformanceResult['nodes']> {
  const nodes: Record<string, { online: boolean; standby: boolean; maintenance: boolean; unclean: boolean; type?: string }> = {};
  for (const n of childrenOf(child(revised, 'nodes'), 'node')) {
    const type = n.attrs['type'];
    nodes[n.attrs['name'] ?? ''] = {
      online: n.attrs['online'] === 'true',
      standby: n.attrs['standby'] === 'true' || n.attrs['standby_onfail'] === 'true' || n.attrs['pending'] === 'true',
      maintenance: n.attrs['maintenance'] === 'true',
      unclean: n.attrs['unclean'] === 'true',
      ...(type !== undefined && type !== 'member' ? { type } : {}),
    };
  }
  return nodes;
}

/**
 * Reads `crm_simulate -S --output-as=xml` output: the Transition Summary (`<actions>`) and the
 * revised cluster status (resource placement and node flags), in the conformance contract's
 * shape, so `compareConformance` can set it against Paceline's result.
 */
export function crmSimulateResult(xml: string): ConformanceResult {
  const root = parseXml(xml).find((e) => e.tag === 'pacemaker-result');
  if (!root)
    throw new PacemakerError(
      'SIMULATE_OUTPUT',
      `crm_simulate output: no <pacemaker-result> element (top-level elements: ${topLevel(xml)}); was it run with --output-as=xml?`,
    );
  const status = child(root, 'status');
  if (status && status.attrs['code'] !== '0')
    throw new PacemakerError(
      'SIMULATE_FAILED',
      `crm_simulate failed: <pacemaker-result><status code="${status.attrs['code'] ?? ''}"> says ${JSON.stringify(status.attrs['message'] ?? '(no message)')}`,
    );
  const actions = childrenOf(child(root, 'actions'), 'rsc_action', 'node_action')
    .map(summaryAction)
    .filter((a): a is ConformanceAction => a !== undefined);
  const revised = child(root, 'revised_cluster_status') ?? child(root, 'cluster_status') ?? root;
  return { resources: placement(revised), actions, nodes: nodeFlags(revised) };
}
