/**
 * `importCib`: a Pacemaker CIB (XML text) → the Paceline model. Everything the model cannot
 * carry is listed in `unsupported` (it may change decisions) or `ignored` (Pacemaker itself
 * ignores it, or it has no effect on scheduling), each with its place in the CIB.
 */
import { ConfigError, type ClusterConfig, type ClusterStatus } from '@paceline/model';
import { parseImportedConfig } from './config-fast.js';
import { configToInput, importDefaults, importNodes, importProperties, importResources, type ConfigContext } from './config.js';
import { importConstraints, importTags } from './constraints.js';
import { IssueLog, readNvSets, type ImportIssue } from './nvsets.js';
import { importStatus } from './status.js';
import { DigestCheck } from './status-digests.js';
import { OP_READER } from './status-ops.js';
import { XmlSyntaxError, child, childrenOf, indexIds, isTrue, parseXml, type XmlElement } from './xml.js';

export type { ImportIssue } from './nvsets.js';

export interface CibImport {
  readonly config: ClusterConfig;
  readonly status: ClusterStatus;
  /** Epoch ms from the CIB's `execution-date`, when it has one. */
  readonly now?: number;
  /** What the model cannot carry and that may matter for decisions. */
  readonly unsupported: readonly ImportIssue[];
  /** What was skipped on purpose: ignored by Pacemaker too, or bookkeeping with no effect on scheduling. */
  readonly ignored: readonly ImportIssue[];
}

/** Configuration sections with no scheduling meaning in the model. */
const UNMODELLED_SECTIONS: Record<string, string> = {
  'fencing-topology': 'fencing topology (fencing levels) is not modelled',
  alerts: 'alerts are not modelled',
  acls: 'access control lists are not modelled',
};

export interface ImportOptions {
  /** Name of the input, for error messages. */
  readonly source?: string;
  /**
   * The time (epoch ms) at which date rules guarding attribute sets are decided: the "now" the
   * result will be scheduled at. Default: the CIB's execution-date, else `defaultNow`, else such
   * sets are reported as unsupported.
   */
  readonly now?: number;
  readonly defaultNow?: number;
}

/**
 * Node attributes as Pacemaker's rules see them (add_node_attrs): #uname, #id, #kind, #is_dc,
 * #cluster-name, the configured attributes, the transient ones over them, then #site-name.
 */
function nodeAttributeTable(
  cib: XmlElement,
  nodes: readonly Record<string, unknown>[],
  clusterName: string | undefined,
  status: XmlElement | undefined,
  ids: Map<string, XmlElement>,
): Map<string, Record<string, string>> {
  const table = new Map<string, Record<string, string>>();
  const states = childrenOf(status, 'node_state');
  const dc = cib.attrs['dc-uuid'];
  for (const n of nodes) {
    const name = n['name'] as string;
    const id = (n['id'] as string | undefined) ?? name;
    const attrs: Record<string, string> = { '#uname': name, '#id': id, '#kind': 'cluster', '#is_dc': dc === id ? 'true' : 'false' };
    if (clusterName !== undefined) attrs['#cluster-name'] = clusterName;
    Object.assign(attrs, n['attributes'] as Record<string, string>);
    if (n['standby'] !== undefined) attrs['standby'] = n['standby'] ? 'on' : 'off';
    const state = states.find((s) => s.attrs['id'] === id) ?? states.find((s) => s.attrs['uname'] === name);
    for (const ta of childrenOf(state, 'transient_attributes'))
      for (const [k, nv] of readNvSets(ta, ['instance_attributes'], '', ids, new IssueLog(), { overwrite: true })) attrs[k] = nv.value;
    if (attrs['#site-name'] === undefined) {
      const site = attrs['site-name'] ?? clusterName;
      if (site !== undefined) attrs['#site-name'] = site;
    }
    table.set(name, attrs);
  }
  return table;
}

/** The document's `<cib>` element; a ConfigError for text that is not one well-formed CIB. */
function parseCib(xml: string, source: string | undefined): XmlElement {
  let roots: XmlElement[];
  try {
    roots = parseXml(xml, { lrm_rsc_op: OP_READER });
  } catch (e) {
    // `FILE: … line L, column C: …`, as for YAML (model's parseDocumentText).
    if (!(e instanceof XmlSyntaxError)) throw e;
    const what = e.limit ? 'refused' : 'not well-formed XML';
    throw new ConfigError([{ path: `line ${e.line}, column ${e.column}`, message: `${what}: ${e.reason}` }], source, 'PARSE_FAILED');
  }
  // XML has one root element; a second one (two CIBs pasted together, or anything else) is refused, not skipped.
  if (roots.length > 1) {
    const named = `${roots
      .slice(0, 5)
      .map((r) => `<${r.tag}>`)
      .join(', ')}${roots.length > 5 ? ', …' : ''}`;
    const message = `not well-formed XML: a document has one root element, this one has ${roots.length} (${named})`;
    throw new ConfigError([{ path: '', message }], source, 'PARSE_FAILED');
  }
  const cib = roots[0]?.tag === 'cib' ? roots[0] : undefined;
  if (!cib)
    throw new ConfigError(
      [{ path: '', message: `no <cib> element${roots[0] ? ` (the root is <${roots[0].tag}>)` : ''}: this is not a Pacemaker CIB` }],
      source,
      'PARSE_FAILED',
    );
  return cib;
}

/** The configuration section, validated by the model's schema, with what the status import needs of it. */
function importConfiguration(cib: XmlElement, configuration: XmlElement, ctx: ConfigContext, source: string | undefined) {
  const { properties, startupFencing } = importProperties(child(configuration, 'crm_config'), ctx);
  const { defaults, sources } = importDefaults(configuration, ctx);
  const nodes = importNodes(child(configuration, 'nodes'), ctx);
  const nodeAttrs = nodeAttributeTable(cib, nodes.nodes, properties['clusterName'] as string | undefined, child(cib, 'status'), ctx.ids);
  const { resources, index } = importResources(child(configuration, 'resources'), { ...ctx, defaults: sources, nodeAttrs });
  const tags = importTags(configuration);
  const constraints = importConstraints(child(configuration, 'constraints'), ctx, index, tags);
  for (const c of configuration.children) {
    const what = UNMODELLED_SECTIONS[c.tag];
    if (what !== undefined) ctx.log.unsupportedAt(`configuration/${c.tag}`, what);
    else if (!['crm_config', 'rsc_defaults', 'op_defaults', 'nodes', 'resources', 'constraints', 'tags'].includes(c.tag))
      ctx.log.unsupportedAt(`configuration/${c.tag}`, `<${c.tag}> is not modelled`);
  }
  const epoch = Number.parseInt(cib.attrs['epoch'] ?? '0', 10);
  const configInput = configToInput({
    epoch: Number.isFinite(epoch) && epoch >= 0 ? epoch : 0,
    properties,
    defaults,
    nodes: nodes.nodes,
    resources,
    constraints,
  });
  return { config: parseImportedConfig(configInput as Record<string, unknown>, source), nodes, startupFencing };
}

export function importCib(xml: string, options: ImportOptions = {}): CibImport {
  const cib = parseCib(xml, options.source);
  const configuration = child(cib, 'configuration');
  if (!configuration) throw new ConfigError([{ path: 'cib', message: 'the CIB has no <configuration> section' }], options.source, 'PARSE_FAILED');

  const log = new IssueLog();
  const ids = indexIds(configuration);
  const exec = cib.attrs['execution-date'];
  const execSec = exec === undefined ? undefined : Number.parseInt(exec, 10);
  const execMs = execSec !== undefined && Number.isFinite(execSec) ? execSec * 1000 : undefined;
  const ctx = { ids, log, now: options.now ?? execMs ?? options.defaultNow };
  const { config, nodes, startupFencing } = importConfiguration(cib, configuration, ctx, options.source);

  const statusEl = child(cib, 'status');
  const statusNodes = importStatus({
    status: statusEl,
    nodeNames: config.nodes.map((n) => n.name),
    byId: nodes.byId,
    ping: nodes.ping,
    stonithEnabled: config.properties.stonithEnabled,
    startupFencing,
    ids,
    log,
    digests: new DigestCheck(config, cib.attrs['crm_feature_set']),
  });
  for (const c of statusEl?.children ?? [])
    if (c.tag !== 'node_state') log.unsupportedAt(`status/${c.tag}`, `<${c.tag}> in the status section is not modelled`);
  const dcId = cib.attrs['dc-uuid'];
  // Pacemaker reads no-quorum-panic as an integer that defaults to 0 (the partition never had quorum).
  const panic = Number.parseInt(cib.attrs['no-quorum-panic'] ?? '0', 10);
  const status: ClusterStatus = {
    quorum: isTrue(cib.attrs['have-quorum']),
    quorumPanic: Number.isFinite(panic) && panic !== 0,
    nodes: statusNodes,
  };
  if (dcId !== undefined) {
    const dc = nodes.byId.get(dcId) ?? childrenOf(statusEl, 'node_state').find((s) => s.attrs['id'] === dcId)?.attrs['uname'];
    if (dc !== undefined) status.dc = dc;
  }
  return {
    config,
    status,
    unsupported: log.unsupported,
    ignored: log.ignored,
    ...(execMs !== undefined ? { now: execMs } : {}),
  };
}
