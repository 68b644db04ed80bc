/**
 * Story replay: a scripted sequence of chapters (events at time offsets). Node and link events go
 * through the real membership state machines (one per node, over a simulated network with the real
 * signed codec); what membership concludes — a node lost, a link down but the peer still a member —
 * becomes the scheduler's input; each chapter is then scheduled once and executed in simulation.
 * Used by `paceline demo` to tell the reference cluster's story, and by tests that keep its golden
 * transcript.
 */
import { z } from 'zod';
import { ConfigError, Duration, listPrimitives, zodIssues, type ClusterConfig, type ClusterStatus, type Transition } from '@paceline/model';
import { applyTransition, applyWhatIf, schedule, type WhatIf } from '@paceline/scheduler';
import { formatEvent, membershipNodes, type MembershipEvent } from '@paceline/membership';
import { MembershipHarness } from '@paceline/testkit';

const StoryEvent = z.union([
  z.strictObject({ nodeUp: z.string(), quarantine: z.string().optional() }),
  z.strictObject({ nodeFail: z.string() }),
  z.strictObject({ clear: z.string() }),
  z.strictObject({ standby: z.string() }),
  z.strictObject({ opFail: z.strictObject({ resource: z.string(), action: z.string(), node: z.string(), rc: z.number().int().optional() }) }),
  z.strictObject({ linkDown: z.strictObject({ link: z.string() }) }),
]);
type StoryEvent = z.infer<typeof StoryEvent>;

export const Story = z.strictObject({
  start: z.iso.datetime({ offset: true }),
  chapters: z.array(z.strictObject({ title: z.string(), at: Duration, events: z.array(StoryEvent).default([]) })).min(1),
});
export type Story = z.infer<typeof Story>;

export function parseStory(input: unknown, source?: string): Story {
  const r = Story.safeParse(input);
  if (!r.success) throw new ConfigError(zodIssues(r.error), source);
  return r.data;
}

export interface ChapterResult {
  readonly title: string;
  readonly time: number;
  /** Events as sentences. */
  readonly happenings: readonly string[];
  /** What the membership layer concluded, e.g. "+0.30 s serv2: node-lost node=serv1". */
  readonly membership: readonly string[];
  /**
   * The transitions the coordinator ran after the chapter's events, in order: after each one
   * completes the scheduler runs again, until it finds nothing to do (as the daemon does).
   */
  readonly rounds: readonly Round[];
  /** Status after the last round. */
  readonly after: ClusterStatus;
}

export interface Round {
  readonly before: ClusterStatus;
  readonly transition: Transition;
  readonly after: ClusterStatus;
}

/** Transitions after one event before the replay gives up on reaching a stable state. */
export const MAX_ROUNDS = 10;

function monitorInterval(config: ClusterConfig, resource: string): number {
  const p = listPrimitives(config).find((e) => e.primitive.id === resource);
  if (!p) throw new ConfigError([{ path: 'story', message: `opFail names resource "${resource}", which is not configured` }]);
  return p.primitive.ops.find((o) => o.name === 'monitor' && o.interval > 0)?.interval ?? 0;
}

function toWhatIfs(config: ClusterConfig, e: StoryEvent): { events: WhatIf[]; text: string } {
  if ('nodeUp' in e)
    return {
      events: [{ type: 'node-up', node: e.nodeUp, ...(e.quarantine ? { standby: e.quarantine } : {}) }],
      text: e.quarantine ? `${e.nodeUp} joins, quarantined in standby: ${e.quarantine}` : `${e.nodeUp} joins the cluster`,
    };
  if ('nodeFail' in e) return { events: [{ type: 'node-fail', node: e.nodeFail }], text: `${e.nodeFail} stops answering on every link: lost` };
  if ('clear' in e) return { events: [{ type: 'standby', node: e.clear, on: false }], text: `administrator: paceline node clear ${e.clear}` };
  if ('standby' in e) return { events: [{ type: 'standby', node: e.standby, on: true }], text: `administrator: paceline node standby ${e.standby}` };
  if ('opFail' in e) {
    const { resource, action, node } = e.opFail;
    const interval = action === 'monitor' ? monitorInterval(config, resource) : 0;
    return {
      events: [{ type: 'op-fail', resource, action, node, interval, ...(e.opFail.rc === undefined ? {} : { rc: e.opFail.rc }) }],
      text: `${action} of ${resource} on ${node} fails`,
    };
  }
  return { events: [], text: `link ${e.linkDown.link} fails between all nodes` };
}

/** Membership events worth telling: changes of who is a member, link health and quorum. */
const TOLD: ReadonlySet<MembershipEvent['type']> = new Set(['node-joined', 'node-lost', 'node-left', 'link-down', 'link-up', 'quorum-changed']);
/** Ticks to let membership settle after an event (at the default 50 ms tick: 5 s of cluster time). */
const SETTLE_TICKS = 100;

/**
 * Replays a story from an empty status (every node offline). Membership runs for real: a node that
 * fails is killed on the simulated network and the scheduler hears of it only when its peers'
 * membership declares it lost; a link that goes down is partitioned, and nothing reaches the
 * scheduler unless membership loses a node.
 */
export function replayStory(config: ClusterConfig, story: Story): ChapterResult[] {
  const start = Date.parse(story.start);
  const nodes = membershipNodes(config.nodes);
  // The configuration's membership section, as the daemon uses it: two nodes run in two-node mode
  // unless it says otherwise (a lone survivor keeps quorum, as corosync's two_node does).
  const harness = new MembershipHarness({ nodes, seed: 1, startMs: start, config: { twoNode: nodes.length === 2, ...config.membership } });
  let status: ClusterStatus = { quorum: true, nodes: [] };
  const results: ChapterResult[] = [];
  for (const chapter of story.chapters) {
    const time = start + chapter.at;
    const happenings: string[] = [];
    const membership: string[] = [];
    const settle = (): string[] => {
      const from = harness.tick;
      const trace = harness.run(SETTLE_TICKS);
      const tickMs = SETTLE_TICKS > 0 ? (harness.clock.now() - start) / Math.max(harness.tick, 1) : 0;
      const told = trace.filter((t) => TOLD.has(t.event.type));
      for (const t of told) membership.push(`+${(((t.tick - from) * tickMs) / 1000).toFixed(2)} s ${t.node}: ${formatEvent(t.event).replace(/ boot=\d+/, '')}`);
      return told.filter((t) => t.event.type === 'node-lost').map((t) => (t.event as { node: string }).node);
    };
    for (const e of chapter.events) {
      const { events, text } = toWhatIfs(config, e);
      happenings.push(text);
      if ('nodeUp' in e) {
        harness.start(e.nodeUp);
        settle();
      } else if ('nodeFail' in e) {
        harness.kill(e.nodeFail);
        // The scheduler learns of the failure only through membership.
        const lost = new Set(settle());
        for (const w of events) if (w.type !== 'node-fail' || lost.has(w.node)) status = applyWhatIf(config, status, w, time);
        continue;
      } else if ('linkDown' in e) {
        harness.network.partition(
          e.linkDown.link,
          harness.aliveNodes().map((n) => [n]),
        );
        for (const node of new Set(settle())) status = applyWhatIf(config, status, { type: 'node-fail', node }, time);
      }
      for (const w of events) status = applyWhatIf(config, status, w, time);
    }
    // The partition's quorum, as membership sees it (every live node agrees once settled).
    const observer = harness.aliveNodes()[0];
    if (observer !== undefined) status = { ...status, quorum: harness.state(observer).quorate };
    const rounds: Round[] = [];
    for (;;) {
      const before = status;
      const transition = schedule({ config, status, now: time });
      status = applyTransition(config, status, transition, time);
      rounds.push({ before, transition, after: status });
      if (transition.summary.length === 0 || rounds.length >= MAX_ROUNDS) break;
    }
    // The last round found nothing to do; it is kept only when it is the only one.
    if (rounds.length > 1 && rounds[rounds.length - 1]!.transition.summary.length === 0) rounds.pop();
    results.push({ title: chapter.title, time, happenings, membership, rounds, after: status });
  }
  return results;
}
