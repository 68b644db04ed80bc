/** `paceline demo DIR`: replays DIR/story.yaml against DIR/cluster.yaml and prints a timeline. */
import type { Command } from 'commander';
import { join } from 'node:path';
import { listPrimitives, type ClusterConfig, type InstancePlacement, type Transition } from '@paceline/model';
import type { CliIo } from '../io.js';
import { loadConfig, loadDocument } from '../load.js';
import { parseStory, replayStory, type ChapterResult } from '../story.js';
import { renderNodes, summaryText } from '../render.js';

function clock(start: number, t: number): string {
  const s = Math.round((t - start) / 1000);
  const hh = String(Math.floor(s / 3600)).padStart(2, '0');
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return `+${hh}:${mm}:${ss}`;
}

/** "serv1: samba-svc(samba-mac samba-ip samba) mirror-samba[Promoted] httpd ..." per node. */
export function placementByNode(config: ClusterConfig, placement: readonly InstancePlacement[]): string[] {
  const nodes = [...new Set(placement.flatMap((p) => (p.node ? [p.node] : [])).concat(config.nodes.map((n) => n.name)))].sort();
  return nodes.map((node) => {
    const here = placement.filter((p) => p.node === node);
    const parts: string[] = [];
    const seenGroups = new Set<string>();
    for (const p of here) {
      const role = p.role === 'Started' ? '' : `[${p.role}]`;
      if (p.group && !p.clone) {
        if (seenGroups.has(p.group)) continue;
        seenGroups.add(p.group);
        const members = here.filter((q) => q.group === p.group).map((q) => q.resource);
        parts.push(`${p.group}(${members.join(' ')})`);
      } else parts.push(`${p.clone ?? p.resource}${role}`);
    }
    return `${node}: ${parts.length ? parts.join(' ') : '(nothing)'}`;
  });
}

export function renderTimeline(config: ClusterConfig, chapters: readonly ChapterResult[]): string[] {
  const start = chapters[0]?.time ?? 0;
  const lines: string[] = [];
  for (const c of chapters) {
    lines.push(`${clock(start, c.time)}  ${c.title}`);
    for (const h of c.happenings) lines.push(`    event: ${h}`);
    for (const m of c.membership) lines.push(`    membership ${m}`);
    c.rounds.forEach((round, i) => {
      const t = round.transition;
      const label = c.rounds.length > 1 ? `scheduler (transition ${i + 1} of ${c.rounds.length})` : 'scheduler';
      if (t.summary.length === 0) lines.push(`    ${label}: nothing to do`);
      else {
        lines.push(`    ${label}: ${t.summary.length} change${t.summary.length === 1 ? '' : 's'}`);
        for (const s of t.summary) lines.push(`      * ${summaryText(s)}`);
      }
      const order = orderOfWork(config, t);
      if (order.length) lines.push(`      order of work: ${order.join(' -> ')}`);
    });
    const last = c.rounds[c.rounds.length - 1]!.transition;
    for (const l of renderNodes(config, c.after)) lines.push(`    ${l}`);
    for (const l of placementByNode(config, last.placement)) lines.push(`    ${l}`);
    lines.push('');
  }
  return lines;
}

/**
 * The transition's key steps (fencing, stops, demotes, promotes, starts of services) in an order that
 * respects the graph's edges: a readable answer to "what happens first?".
 */
function orderOfWork(config: ClusterConfig, t: Transition): string[] {
  // Copies of plain (non-promotable) clones run everywhere and never move: leave them out.
  const plainCloned = new Set(
    listPrimitives(config)
      .filter((e) => e.clone && !e.clone.promotable)
      .map((e) => e.primitive.id),
  );
  const interesting = t.actions.filter(
    (a) =>
      a.runnable &&
      (a.kind === 'fence' || a.kind === 'promote' || a.kind === 'demote' || ((a.kind === 'start' || a.kind === 'stop') && !plainCloned.has(a.primitive ?? ''))),
  );
  if (interesting.length < 2) return [];
  const ids = new Set(interesting.map((a) => a.id));
  // Topological order over the whole graph, keeping only interesting actions; ties broken by id.
  const indeg = new Map<string, number>(t.actions.map((a) => [a.id, 0]));
  const next = new Map<string, string[]>();
  for (const e of t.edges) {
    if (!indeg.has(e.before) || !indeg.has(e.after)) continue;
    indeg.set(e.after, (indeg.get(e.after) ?? 0) + 1);
    next.set(e.before, [...(next.get(e.before) ?? []), e.after]);
  }
  const ready = [...indeg]
    .filter(([, d]) => d === 0)
    .map(([id]) => id)
    .sort();
  const out: string[] = [];
  while (ready.length) {
    const id = ready.shift()!;
    if (ids.has(id)) {
      const a = t.actions.find((x) => x.id === id)!;
      out.push(a.kind === 'fence' ? `fence ${a.node}` : `${a.kind} ${a.resource} on ${a.node}`);
    }
    for (const n of next.get(id) ?? []) {
      const d = (indeg.get(n) ?? 0) - 1;
      indeg.set(n, d);
      if (d === 0) {
        ready.push(n);
        ready.sort();
      }
    }
  }
  return out;
}

export function registerDemoCommand(program: Command, io: CliIo): void {
  program
    .command('demo <dir>')
    .description('Replay DIR/story.yaml against DIR/cluster.yaml and print the timeline (the reference cluster: examples/two-node-mutual-failover)')
    .action((dir: string) => {
      const config = loadConfig(io, join(dir, 'cluster.yaml'));
      const storyPath = join(dir, 'story.yaml');
      const story = parseStory(loadDocument(io, storyPath), storyPath);
      io.out(`Paceline demo: ${dir} (${config.nodes.length} nodes, ${config.resources.length} top-level resources, ${config.constraints.length} constraints)`);
      io.out('');
      for (const l of renderTimeline(config, replayStory(config, story))) io.out(l);
    });
}
