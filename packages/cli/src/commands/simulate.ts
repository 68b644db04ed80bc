/** `paceline simulate` and `paceline explain`: what-if scheduling, with every decision explained. */
import type { Command } from 'commander';
import { listPrimitives, type ClusterConfig, type ClusterStatus } from '@paceline/model';
import { graphFencing, parseOpFail, schedule, simulate, type WhatIf } from '@paceline/scheduler';
import { importCib, renderSimulation, toConformanceResult } from '@paceline/pacemaker';
import { ExitError, type CliIo } from '../io.js';
import { loadConfig, loadStatus, parseNow, readOrThrow } from '../load.js';
import { renderDot, renderNodes, renderPlacement, renderScores, renderSummary } from '../render.js';

const collect = (v: string, acc: string[]): string[] => [...acc, v];

interface SimulateOptions {
  config?: string;
  cib?: string;
  status?: string;
  now?: string;
  nodeFail: string[];
  nodeUp: string[];
  standby: string[];
  opFail: string[];
  showScores?: boolean;
  format: string;
  dot?: boolean;
}

/** The what-if options as events; `--op-fail web:monitor:serv1` takes web's configured monitor interval. */
function whatIfs(o: SimulateOptions): WhatIf[] {
  return [
    ...o.nodeFail.map((node): WhatIf => ({ type: 'node-fail', node })),
    ...o.nodeUp.map((node): WhatIf => ({ type: 'node-up', node })),
    ...o.standby.map((node): WhatIf => ({ type: 'standby', node, on: true })),
    ...o.opFail.map(parseOpFail),
  ];
}

/**
 * The agent modules the configuration names are loaded and the parameters of `paceline:` agents
 * are checked as `config validate` does (a misspelt one is an error, not a silently different
 * plan). The agents are loaded only when the file uses one or names modules, so planning an
 * OCF-only or CIB configuration stays light.
 */
async function checkParams(config: ClusterConfig, source: string): Promise<void> {
  if (!config.agents?.length && !listPrimitives(config).some((e) => e.primitive.agent.startsWith('paceline:'))) return;
  const { loadConfigAgents } = await import('../agents.js');
  const { assertAgentParams } = await import('../agent-params-check.js');
  assertAgentParams(config, await loadConfigAgents(source, config), source);
}

/** The configuration, status and time to plan from: a CIB, or a configuration (and status) file. */
async function planningInput(o: SimulateOptions, io: CliIo): Promise<{ config: ClusterConfig; status: ClusterStatus; now: number }> {
  if (o.cib) {
    // Date rules in the CIB are decided at "now": --now, else the CIB's execution-date, else the clock.
    const given = o.now === undefined ? undefined : parseNow(o.now, 0);
    const imported = importCib(readOrThrow(io, o.cib), { source: o.cib, defaultNow: io.now(), ...(given === undefined ? {} : { now: given }) });
    // Nothing is dropped silently: what the model cannot carry, and what was skipped on purpose.
    for (const u of imported.unsupported) io.err(`warning: ${o.cib}: ${u.path}: unsupported: ${u.what}`);
    for (const u of imported.ignored) io.err(`note: ${o.cib}: ${u.path}: ignored: ${u.what}`);
    return { config: imported.config, status: imported.status, now: given ?? imported.now ?? io.now() };
  }
  if (!o.config) throw new ExitError(1, 'error: give --config FILE (or --cib FILE.xml)');
  const config = loadConfig(io, o.config);
  await checkParams(config, o.config);
  return { config, status: loadStatus(io, config, o.status), now: parseNow(o.now, io.now()) };
}

/** `paceline simulate`: plan once, then print the plan in the format asked for. */
async function runSimulate(o: SimulateOptions, io: CliIo): Promise<void> {
  const { config, status: before, now } = await planningInput(o, io);
  const simulation = simulate({ config, status: before, now, whatIf: whatIfs(o) });
  const status = simulation.status;
  const { transition } = simulation;
  if (o.dot) {
    io.out(renderDot(transition));
    return;
  }
  if (o.format === 'json') {
    // A CIB's result needs the transition only (node flags read the same before and after it), and of
    // its graph only the fencing actions (the rest is not built).
    const out = o.cib ? toConformanceResult(config, status, transition, graphFencing(transition)) : { transition, revisedStatus: simulation.revisedStatus };
    io.out(JSON.stringify(out, null, 1));
    return;
  }
  const revised = simulation.revisedStatus;
  if (o.format !== 'text') throw new ExitError(1, `error: --format must be text or json, not "${o.format}"`);
  if (o.cib && !o.showScores) {
    // A Pacemaker CIB gets crm_simulate's own layout, which its users know.
    io.out(renderSimulation({ config, status, transition, after: revised }).replace(/\n$/, ''));
    for (const w of transition.warnings) io.err(`warning: ${w}`);
    return;
  }
  io.out('Current cluster status:');
  for (const l of [...renderNodes(config, status), ...renderPlacement(config, transition.current)]) io.out(`  ${l}`);
  io.out('');
  if (o.showScores) {
    io.out('Scores:');
    for (const l of renderScores(transition)) io.out(`  ${l}`);
    io.out('');
  }
  for (const l of renderSummary(transition)) io.out(l);
  for (const w of transition.warnings) io.err(`warning: ${w}`);
  io.out('');
  io.out('Revised cluster status:');
  for (const l of [...renderNodes(config, revised), ...renderPlacement(config, transition.placement)]) io.out(`  ${l}`);
}

interface ExplainOptions {
  config: string;
  status?: string;
  node?: string;
  now?: string;
}

/** `paceline explain RESOURCE`: its placement, scores with their contributions, decisions and actions. */
async function runExplain(resource: string, o: ExplainOptions, io: CliIo): Promise<void> {
  const config = loadConfig(io, o.config);
  await checkParams(config, o.config);
  const status = loadStatus(io, config, o.status);
  const transition = schedule({ config, status, now: parseNow(o.now, io.now()) });
  // The resource may be a primitive, a group or a clone: explain it and everything inside it.
  const entries = listPrimitives(config).filter((e) => e.primitive.id === resource || e.group?.id === resource || e.clone?.id === resource);
  if (entries.length === 0) throw new ExitError(1, `error: resource "${resource}" is not configured in ${o.config}`);
  const ids = new Set([resource, ...entries.flatMap((e) => [e.primitive.id, ...(e.group ? [e.group.id] : [])])]);
  const matches = (id: string): boolean => ids.has(id) || ids.has(id.replace(/:\d+$/, ''));
  for (const p of transition.placement.filter((p) => matches(p.resource) || matches(p.instance)))
    io.out(`${p.instance}: ${p.node ? `${p.role} on ${p.node}` : 'stopped'}`);
  io.out('');
  io.out('Scores:');
  for (const s of transition.explanation.scores) {
    if (!matches(s.resource) || (o.node && s.node !== o.node)) continue;
    for (const l of renderScores({ ...transition, explanation: { ...transition.explanation, scores: [s] } })) io.out(`  ${l}`);
  }
  const decisions = transition.explanation.decisions.filter((d) => matches(d.resource));
  if (decisions.length) {
    io.out('');
    io.out('Decisions:');
    for (const d of decisions) io.out(`  ${d.text}`); // the text names its resource
  }
  const actions = transition.actions.filter((a) => (a.primitive && matches(a.primitive)) || (a.resource && matches(a.resource)));
  if (actions.length) {
    io.out('');
    io.out('Actions:');
    for (const a of actions) io.out(`  ${a.id}: ${a.reason}${a.runnable ? '' : ' (blocked)'}`);
  }
}

export function registerSimulateCommands(program: Command, io: CliIo): void {
  program
    .command('simulate')
    .description('Schedule once for a configuration and status (optionally after what-if events) and show what would happen')
    .option('-c, --config <file>', 'cluster configuration (YAML or JSON)')
    .option('--cib <file>', 'a Pacemaker CIB (configuration + status) instead of --config/--status')
    .option('-s, --status <file>', 'cluster status (YAML or JSON); default: every node online, nothing running')
    .option('--now <iso-8601>', 'the current time (default: the CIB execution-date, else the clock)')
    .option('--node-fail <node>', 'the node is lost (repeatable)', collect, [])
    .option('--node-up <node>', 'the node comes up (repeatable)', collect, [])
    .option('--standby <node>', 'put the node in standby (repeatable)', collect, [])
    .option('--op-fail <rsc:action:node[:interval_ms[:rc]]>', 'an operation failed (repeatable)', collect, [])
    .option('--show-scores', 'print every score with its contributions')
    .option('--format <text|json>', 'output format', 'text')
    .option('--dot', 'print the action graph in Graphviz dot syntax')
    .action((o: SimulateOptions) => runSimulate(o, io));

  program
    .command('explain <resource>')
    .description('Why is RESOURCE where it is (or not on --node)? Prints its scores with their contributions and the decisions about it')
    .requiredOption('-c, --config <file>', 'cluster configuration (YAML or JSON)')
    .option('-s, --status <file>', 'cluster status (YAML or JSON)')
    .option('--node <node>', 'only this node')
    .option('--now <iso-8601>', 'the current time')
    .action((resource: string, o: ExplainOptions) => runExplain(resource, o, io));
}
