/**
 * `paceline:banner` — an example agent. While active on a node it keeps a text file (a login
 * banner, a "this node serves X" marker) with the configured text; stopping removes the file, but
 * only when it is the one this agent wrote. Shows: a zod parameter schema with docs, defaults and
 * a unique parameter; the three required actions; the reloadable and validatable capabilities;
 * two-axis results; and the context's state directory, logger and abort signal.
 */
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { z } from 'zod';
import { defineAgent, failed, notRunning, ok, type ActionResult, type AgentContext } from '@paceline/agent-api';

export const BannerParams = z.object({
  path: z.string().refine(isAbsolute, 'must be an absolute path').describe('The file to keep while active').meta({ unique: true }),
  text: z.string().default('This node is serving the cluster.').describe('What the file says'),
  mode: z.number().int().min(0).max(0o777).default(0o644).describe('File permissions'),
});
export type BannerParams = z.infer<typeof BannerParams>;

/** The marker line that tells our file apart from someone else's. */
const marker = (ctx: AgentContext): string => `# managed by paceline (${ctx.instance})`;
const content = (p: BannerParams, ctx: AgentContext): string => `${marker(ctx)}\n${p.text}\n`;

async function read(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Write via a temporary file and rename, so a reader never sees half a banner. */
async function writeAtomically(p: BannerParams, ctx: AgentContext): Promise<void> {
  const tmp = join(ctx.stateDir, 'banner.tmp');
  await mkdir(ctx.stateDir, { recursive: true });
  await writeFile(tmp, content(p, ctx), { mode: p.mode });
  await rename(tmp, p.path);
}

export const banner = defineAgent({
  meta: {
    name: 'banner',
    version: '1.0.0',
    description: 'Keeps a text file in place while active (example agent)',
    defaultTimeouts: { start: 5000, stop: 5000, monitor: 5000, reload: 5000 },
    defaultMonitorInterval: 30_000,
  },
  params: BannerParams,

  // Deeper checks than the schema can make: run by `paceline agent test` and before starting.
  async validate(p): Promise<ActionResult> {
    const dir = await stat(dirname(p.path)).catch(() => undefined);
    return dir?.isDirectory() ? ok() : failed('misconfigured', `directory ${dirname(p.path)} does not exist`);
  },

  // Idempotent: starting when the file is already ours and current is 'ok'.
  async start(p, ctx): Promise<ActionResult> {
    const existing = await read(p.path);
    if (existing !== undefined && !existing.startsWith(marker(ctx)))
      return failed('generic-error', `${p.path} exists and was not written by ${ctx.instance}; refusing to overwrite it`);
    if (existing !== content(p, ctx)) await writeAtomically(p, ctx);
    ctx.log.info('banner in place', { path: p.path });
    return ok();
  },

  // Idempotent: stopping when nothing is there is 'ok'. Someone else's file is left alone.
  async stop(p, ctx): Promise<ActionResult> {
    const existing = await read(p.path);
    if (existing?.startsWith(marker(ctx))) await rm(p.path, { force: true });
    return ok();
  },

  // 'not-running' rather than throwing; an error outcome when the file is wrong.
  async monitor(p, ctx): Promise<ActionResult> {
    const existing = await read(p.path);
    if (existing === undefined || !existing.startsWith(marker(ctx))) return notRunning();
    return existing === content(p, ctx) ? ok() : failed('generic-error', `${p.path} was changed behind our back`);
  },

  // Apply a new text without a stop/start.
  async reload(p, ctx): Promise<ActionResult> {
    if ((await read(p.path)) === undefined) return ok('not active: nothing to reload');
    await writeAtomically(p, ctx);
    return ok();
  },
});
