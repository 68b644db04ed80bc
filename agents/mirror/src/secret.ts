/**
 * The shared secret the two rsync daemons of a mirror authenticate each other with. Both nodes
 * derive the same rsync password from a file they both hold — `secretFile`, or else the cluster key
 * the node's daemon runs with (`paceline daemon --key FILE`, passed to agents as AgentContext.keyFile;
 * `/etc/paceline/authkey` by default, written by `paceline keygen` and copied to every node) — so a
 * mirror configured with just `{ path, peers }` authenticates wherever the cluster runs. Without
 * either file the mirror refuses to start (misconfigured) unless `auth: none` says to run without. The password is an HMAC of the file's bytes, never the bytes
 * themselves: the cluster key is not written into rsync's secrets files, and rsync's
 * challenge-response never sends it. The file must be as private as a key: a regular file (not a
 * symbolic link), owned by this user or root, no access for group or others.
 */
import { createHmac } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import type { MirrorParams } from './params.js';

/** The daemon's default key file (packages/cli DEFAULT_KEY): where the key is when no daemon says otherwise. */
export const DEFAULT_KEY_FILE = '/etc/paceline/authkey';
const LABEL = 'paceline:mirror rsync password v1';
const MAX_BYTES = 64 * 1024;

export interface Secret {
  /** The file it was derived from. */
  readonly file: string;
  /** The rsync password (hex). */
  readonly password: string;
}

export class SecretError extends Error {}

const octal = (mode: number): string => `0${(mode & 0o777).toString(8).padStart(3, '0')}`;

/** Reads a secret file with the checks a key gets, and derives the rsync password from its bytes. */
export async function deriveSecret(file: string, what: string): Promise<Secret> {
  let h: fs.FileHandle;
  try {
    h = await fs.open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SecretError(`cannot read ${what} ${file}: ${code === 'ELOOP' ? 'a symbolic link is not accepted' : (e as Error).message}`);
  }
  try {
    const st = await h.stat();
    if (!st.isFile()) throw new SecretError(`${what} ${file} is not a regular file`);
    if ((st.mode & 0o077) !== 0)
      throw new SecretError(`${what} ${file} has mode ${octal(st.mode)}: group and others must have no access (run: chmod 600 ${file})`);
    const uid = process.getuid?.();
    if (uid !== undefined && st.uid !== uid && st.uid !== 0)
      throw new SecretError(`${what} ${file} is owned by uid ${st.uid}: it must belong to this user (uid ${uid}) or root`);
    if (st.size > MAX_BYTES) throw new SecretError(`${what} ${file} has ${st.size} bytes; at most ${MAX_BYTES}`);
    const bytes = await h.readFile();
    if (bytes.toString('utf8').trim() === '') throw new SecretError(`${what} ${file} is empty`);
    return { file, password: createHmac('sha256', bytes).update(LABEL).digest('hex') };
  } finally {
    await h.close();
  }
}

/**
 * The secret this mirror uses: from `secretFile`, else from the cluster key at `keyFile` (the
 * daemon's, AgentContext.keyFile; its default path when unset); `undefined` only with `auth: none`
 * (the daemons then admit the peer's address without a password). Throws SecretError when the file
 * is missing or unusable, naming what was looked for.
 */
export async function resolveSecret(p: MirrorParams, keyFile: string = DEFAULT_KEY_FILE): Promise<Secret | undefined> {
  if (p.auth === 'none') return undefined;
  if (p.secretFile !== undefined) return deriveSecret(p.secretFile, 'secretFile');
  try {
    await fs.lstat(keyFile);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new SecretError(
        `no shared secret for the rsync daemons: no secretFile, and no cluster key at ${keyFile} (install the cluster key there, as on every node — \`paceline keygen\` — or set secretFile; auth: none runs without authentication)`,
      );
    }
    throw e;
  }
  return deriveSecret(keyFile, 'the cluster key');
}

/**
 * Writes a private file (0600) without following a link an attacker may have planted: a fresh
 * temporary file (O_EXCL|O_NOFOLLOW) renamed into place.
 */
export async function writePrivate(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await fs.rm(tmp, { force: true });
  const h = await fs.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    await h.writeFile(text);
  } finally {
    await h.close();
  }
  await fs.rename(tmp, file);
}
