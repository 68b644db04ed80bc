/**
 * Makes Cyrus's databases agree with the spool before master starts. A mirror's resynchronisation
 * adds and removes message files (and whole mailboxes) underneath Cyrus, and the node's own
 * configdirectory (mailboxes.db, quotas) may know nothing of mailboxes created on the peer. Cyrus
 * 3.6's own tools repair that, as the Cyrus user, with master down:
 *
 *   1. `reconstruct -P DIR...`  mailboxes.db entries from the cyrus.header of every mailbox found in
 *                               the partitions that mailboxes.db does not list (`ctl_mboxlist -d`):
 *                               a mailbox created on the peer becomes known here;
 *   2. `reconstruct`            every mailbox: index entries of missing files dropped, files not in
 *                               the index added ("found - adding"), an old UID that reappears
 *                               appended under a new UID ("rediscovered - appending");
 *   3. `quota -f`               quota usage recounted from the messages.
 *
 * Afterwards every message file on disk is visible over IMAP exactly once.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, chown, copyFile, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ActionResult, AgentContext } from '@paceline/agent-api';
import { failed } from '@paceline/agent-api';
import { argvAsUser } from '@paceline/agent-api/daemon';

/** Directories under `root` that hold a cyrus.header (mailboxes), sorted; symlinks are not followed. */
export async function mailboxDirs(root: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    if (entries.some((e) => e.isFile() && e.name === 'cyrus.header')) found.push(dir);
    for (const e of entries) if (e.isDirectory()) await walk(join(dir, e.name));
  };
  await walk(root);
  return found.sort();
}

export interface ReconcileSummary {
  readonly mailboxes: number;
  /** Message files the mirror had saved as conflicts, brought back into their mailboxes. */
  readonly refiled: number;
  /** mailboxes.db entries created from headers. */
  readonly registered: number;
  /** Message files added to an index (new, or an old UID appended anew). */
  readonly added: number;
  /** Index entries whose file was gone. */
  readonly missing: number;
  readonly ms: number;
}

/** Counts what reconstruct reported. */
export function summarize(out: string): Pick<ReconcileSummary, 'registered' | 'added' | 'missing'> {
  const count = (re: RegExp): number => out.split('\n').filter((l) => re.test(l)).length;
  return {
    registered: count(/^created mbentry for /),
    added: count(/ uid \d+ (found - adding|rediscovered - appending)/),
    missing: count(/ uid \d+ not found/),
  };
}

export function describeSummary(s: ReconcileSummary): string {
  return (
    `spool reconciled in ${s.ms} ms: ${s.mailboxes} mailbox(es)` +
    (s.registered ? `, ${s.registered} registered from their cyrus.header` : '') +
    (s.refiled ? `, ${s.refiled} message file(s) the mirror kept as conflicts brought back` : '') +
    (s.added ? `, ${s.added} message file(s) added to the index` : '') +
    (s.missing ? `, ${s.missing} missing file(s) dropped from the index` : '')
  );
}

const oneLine = (text: string): string =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-5)
    .join(' | ');

/** Runs one Cyrus tool as `user`; the failure as an ActionResult, or its output (stdout, then stderr). */
async function tool(
  ctx: AgentContext,
  toolsDir: string,
  user: string,
  name: string,
  args: readonly string[],
  stdoutOnly = false,
): Promise<string | ActionResult> {
  const argv = await argvAsUser(ctx, join(toolsDir, name), args, user);
  if ('execution' in argv) return argv;
  const left = Math.max(1000, ctx.deadline - ctx.clock.now() - 2000);
  const r = await ctx.run.run(argv.file, argv.args, { timeoutMs: left, signal: ctx.signal });
  if (r.notFound) return failed('not-installed', `${join(toolsDir, name)} is not installed (cyrus-imapd)`);
  if (r.timedOut) return failed('generic-error', `${name} ${args.join(' ')} did not finish before the start timeout`);
  if (r.exitCode !== 0) return failed('generic-error', `${name} ${args.join(' ')} exited ${r.exitCode ?? r.signal}: ${oneLine(`${r.stdout}\n${r.stderr}`)}`);
  return stdoutOnly ? r.stdout : `${r.stdout}\n${r.stderr}`;
}

/** The unique id a cyrus.header records (`%(T e N NAME I UNIQUEID ...)`; before 3.0: `QUOTAROOT<TAB>UNIQUEID`). */
export function headerUniqueId(text: string): string | undefined {
  const lines = text.split('\n');
  for (const l of lines) {
    const m = /^%\(.*?\bI (\S+)/.exec(l);
    if (m) return m[1]!.replace(/\)+$/, '');
  }
  const legacy = lines[3]?.split('\t')[1]?.trim();
  return legacy || undefined;
}

/** The unique ids of the mailboxes mailboxes.db knows (`ctl_mboxlist -d` prints it as JSON). */
export function knownUniqueIds(dump: string): Set<string> {
  const ids = new Set<string>();
  const text = dump.trim();
  if (!text) return ids;
  for (const entry of Object.values(JSON.parse(text) as Record<string, { uniqueid?: unknown }>))
    if (typeof entry.uniqueid === 'string') ids.add(entry.uniqueid);
  return ids;
}

/** Recovers the databases (ctl_cyrusdb -r), then reconciles them with the spool. */
export async function recoverDatabases(ctx: AgentContext, toolsDir: string, user: string, imapdConf: string): Promise<ActionResult | undefined> {
  const r = await tool(ctx, toolsDir, user, 'ctl_cyrusdb', ['-C', imapdConf, '-r']);
  return typeof r === 'string' ? undefined : r;
}

export async function reconcileSpool(
  ctx: AgentContext,
  o: {
    toolsDir: string;
    user: string;
    imapdConf: string;
    partitions: readonly string[];
    conflicts?: { conflictsDir: string; mirrorPath: string; uid: number; gid: number };
  },
): Promise<ReconcileSummary | ActionResult> {
  const t0 = ctx.clock.now();
  const refiled = o.conflicts ? await refileConflicts(o.conflicts) : [];
  for (const r of refiled) ctx.log.info('brought back a message the mirror kept as a conflict', { conflict: r });
  const dirs = (await Promise.all(o.partitions.map((p) => mailboxDirs(p)))).flat();
  const dump = await tool(ctx, o.toolsDir, o.user, 'ctl_mboxlist', ['-C', o.imapdConf, '-d'], true);
  if (typeof dump !== 'string') return dump;
  let known: Set<string>;
  try {
    known = knownUniqueIds(dump);
  } catch (e) {
    return failed('generic-error', `ctl_mboxlist -d printed something that is not JSON: ${(e as Error).message}`);
  }
  const unknown: string[] = [];
  for (const dir of dirs) {
    const id = headerUniqueId(await readFile(join(dir, 'cyrus.header'), 'latin1'));
    if (!id || !known.has(id)) unknown.push(dir);
  }
  let out = '';
  for (let i = 0; i < unknown.length; i += 200) {
    const r = await tool(ctx, o.toolsDir, o.user, 'reconstruct', ['-C', o.imapdConf, '-P', ...unknown.slice(i, i + 200)]);
    if (typeof r !== 'string') return r;
    out += r;
  }
  const all = await tool(ctx, o.toolsDir, o.user, 'reconstruct', ['-C', o.imapdConf]);
  if (typeof all !== 'string') return all;
  out += all;
  const q = await tool(ctx, o.toolsDir, o.user, 'quota', ['-C', o.imapdConf, '-f']);
  if (typeof q !== 'string') return q;
  return { mailboxes: dirs.length, refiled: refiled.length, ...summarize(out), ms: ctx.clock.now() - t0 };
}

/** A mirror conflict file: `<mailbox dir relative to the mirrored path>/<N>.` + `.<node>.<stamp>`. */
const CONFLICT = /^(\d+)\.\.([^/]+)\.(\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ)$/;

async function sameContentIn(dir: string, file: string): Promise<boolean> {
  const size = (await stat(file)).size;
  const hash = async (f: string): Promise<string> =>
    createHash('sha256')
      .update(await readFile(f))
      .digest('hex');
  let want: string | undefined;
  for (const name of await readdir(dir)) {
    if (!/^\d+\.$/.test(name)) continue;
    const other = join(dir, name);
    if ((await stat(other)).size !== size) continue;
    want ??= await hash(file);
    if ((await hash(other)) === want) return true;
  }
  return false;
}

/**
 * Brings back message files that paceline:mirror saved as conflicts (a message this node received
 * and never mirrored, whose UID the other node had used meanwhile for another message): each is
 * copied into its mailbox directory under the next free number, where `reconstruct` then appends
 * it. A message whose content is already in the mailbox is left alone, so this is idempotent.
 * Other conflict files (cyrus.index, cyrus.header ...) are left to the administrator: reconstruct
 * rebuilds the index from the messages anyway. Returns the files brought back.
 */
export async function refileConflicts(o: { conflictsDir: string; mirrorPath: string; uid: number; gid: number }): Promise<string[]> {
  const back: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(join(o.conflictsDir, rel), { withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const r = rel ? join(rel, e.name) : e.name;
      if (e.isDirectory()) {
        await walk(r);
        continue;
      }
      if (!e.isFile() || !CONFLICT.test(e.name)) continue;
      const box = join(o.mirrorPath, rel);
      const saved = join(o.conflictsDir, r);
      try {
        await stat(join(box, 'cyrus.header'));
      } catch (err) {
        void err; // not a mailbox (any more): leave it to the administrator
        continue;
      }
      if (await sameContentIn(box, saved)) continue;
      const taken = (await readdir(box))
        .map((n) => /^(\d+)\.$/.exec(n)?.[1])
        .filter((x): x is string => x !== undefined)
        .map(Number);
      const target = join(box, `${Math.max(0, ...taken) + 1}.`);
      await copyFile(saved, target, constants.COPYFILE_EXCL);
      if (process.getuid?.() === 0) await chown(target, o.uid, o.gid);
      await chmod(target, 0o600);
      back.push(r);
    }
  };
  await walk('');
  return back;
}
