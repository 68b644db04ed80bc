/**
 * `paceline:marker` — a small custom agent. While active on a node it keeps a file named after the
 * resource instance in `dir`, holding the node's name; stop removes it when it is this node's.
 * With `dir` on storage both nodes see (here: one temporary directory), the file says who runs it.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { z } from 'zod';
import { defineAgent, failed, notRunning, ok, type ActionResult, type AgentContext } from '@paceline/agent-api';

export const MarkerParams = z.strictObject({
  dir: z.string().refine(isAbsolute, 'must be an absolute path').describe('The directory that holds the marker file'),
  text: z.string().default('active').describe('What the marker file says after the node name'),
});
export type MarkerParams = z.infer<typeof MarkerParams>;

const file = (p: MarkerParams, ctx: AgentContext): string => join(p.dir, ctx.instance.replace(/[^A-Za-z0-9_.-]/g, '_'));
const content = (p: MarkerParams, ctx: AgentContext): string => `${ctx.node} ${p.text}\n`;

async function read(path: string): Promise<string | undefined> {
  return readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw e;
  });
}

export const markerAgent = defineAgent({
  meta: {
    name: 'marker',
    version: '1.0.0',
    description: 'Keeps a file saying which node runs the resource (library example)',
    defaultTimeouts: { start: 5000, stop: 5000, monitor: 5000 },
    defaultMonitorInterval: 1000,
  },
  params: MarkerParams,

  async start(p, ctx): Promise<ActionResult> {
    const existing = await read(file(p, ctx));
    if (existing !== undefined && !existing.startsWith(`${ctx.node} `))
      return failed('generic-error', `${file(p, ctx)} says another node runs it: ${existing.trim()}`);
    await writeFile(file(p, ctx), content(p, ctx));
    return ok();
  },

  async stop(p, ctx): Promise<ActionResult> {
    const existing = await read(file(p, ctx));
    if (existing?.startsWith(`${ctx.node} `)) await rm(file(p, ctx), { force: true });
    return ok();
  },

  async monitor(p, ctx): Promise<ActionResult> {
    const existing = await read(file(p, ctx));
    if (existing === undefined || !existing.startsWith(`${ctx.node} `)) return notRunning();
    return existing === content(p, ctx) ? ok() : failed('generic-error', `${file(p, ctx)} was changed behind our back`);
  },
});
