/**
 * Story replay: a scripted sequence of chapters (events at time offsets), each scheduled once and
 * executed in simulation. Used by `paceline demo` to tell the reference cluster's story, and by
 * tests that keep its golden transcript.
 */
import { z } from 'zod';
import { ConfigError, Duration, listPrimitives, zodIssues, type ClusterConfig, type ClusterStatus, type Transition } from '@paceline/model';
import { applyTransition, schedule } from '@paceline/scheduler';
import { applyWhatIf, type WhatIf } from './whatif.js';

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
  readonly before: ClusterStatus;
  readonly transition: Transition;
  readonly after: ClusterStatus;
}

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
  return {
    events: [],
    text: `link ${e.linkDown.link} is down between all nodes: a warning only, the peers still hear each other on the other links`,
  };
}

/** Replays a story from an empty status (every node offline). */
export function replayStory(config: ClusterConfig, story: Story): ChapterResult[] {
  const start = Date.parse(story.start);
  let status: ClusterStatus = { quorum: true, nodes: [] };
  const results: ChapterResult[] = [];
  for (const chapter of story.chapters) {
    const time = start + chapter.at;
    const happenings: string[] = [];
    for (const e of chapter.events) {
      const { events, text } = toWhatIfs(config, e);
      happenings.push(text);
      for (const w of events) status = applyWhatIf(config, status, w, time);
    }
    const before = status;
    const transition = schedule({ config, status, now: time });
    status = applyTransition(config, status, transition, time);
    results.push({ title: chapter.title, time, happenings, before, transition, after: status });
  }
  return results;
}
