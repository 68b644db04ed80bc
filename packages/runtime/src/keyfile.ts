/**
 * The cluster key file: 32 random bytes shared by every node, used for HMAC-SHA256 on membership
 * packets. Created by `paceline keygen` (never overwriting an existing key) with mode 0600; a key
 * file that group or others can access, or that another user owns, is refused.
 */
import { randomBytes } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import { PacelineError } from '@paceline/model';
import { MIN_KEY_BYTES } from '@paceline/membership';

export type KeyFileErrorCode = 'KEY_EXISTS' | 'KEY_INSECURE' | 'KEY_INVALID' | 'KEY_UNREADABLE' | 'KEY_WRITE_FAILED';

export class KeyFileError extends PacelineError<KeyFileErrorCode> {
  constructor(
    code: KeyFileErrorCode,
    readonly path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** Bytes in a generated key. */
export const KEY_BYTES = 32;
/** Largest key file accepted. */
export const MAX_KEY_FILE_BYTES = 4096;

const octal = (mode: number): string => `0${(mode & 0o777).toString(8).padStart(3, '0')}`;

/**
 * Writes a new random key to `path` with mode 0600 and returns it. Refuses to overwrite an
 * existing file (every node must share the same key; replacing it splits the cluster).
 */
export async function generateKey(path: string): Promise<Buffer> {
  const key = randomBytes(KEY_BYTES);
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0), 0o600);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST')
      throw new KeyFileError(
        'KEY_EXISTS',
        path,
        `refusing to overwrite the existing key file ${path} (every node must use the same key; remove the file first if you really mean to replace it)`,
        { cause: e },
      );
    throw new KeyFileError('KEY_WRITE_FAILED', path, `cannot create the key file ${path}: ${(e as Error).message}`, { cause: e });
  }
  try {
    await handle.chmod(0o600);
    await handle.writeFile(key);
    await handle.sync();
  } catch (e) {
    await handle.close();
    await fs.rm(path, { force: true });
    throw new KeyFileError('KEY_WRITE_FAILED', path, `cannot write the key file ${path}: ${(e as Error).message}`, { cause: e });
  }
  await handle.close();
  return key;
}

/**
 * Reads the key at `path`. Refuses a file that group or others may read or write (mode & 077), one
 * owned by another user than this process's or root, anything that is not a regular file, and keys shorter than 16 bytes, with an error naming the
 * path and what is wrong.
 */
export async function readKey(path: string): Promise<Buffer> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const hint =
      code === 'ENOENT' ? ' (create one with `paceline keygen` and copy it to every node)' : code === 'ELOOP' ? ' (a symbolic link is not accepted)' : '';
    throw new KeyFileError('KEY_UNREADABLE', path, `cannot read the key file ${path}: ${(e as Error).message}${hint}`, { cause: e });
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new KeyFileError('KEY_INVALID', path, `the key file ${path} is not a regular file`);
    const uid = process.getuid?.();
    if (uid !== undefined && st.uid !== uid && st.uid !== 0)
      throw new KeyFileError(
        'KEY_INSECURE',
        path,
        `the key file ${path} is owned by uid ${st.uid}, not by this user (uid ${uid}) or root: that user could replace the key (run: chown ${uid} ${path})`,
      );
    if ((st.mode & 0o077) !== 0)
      throw new KeyFileError(
        'KEY_INSECURE',
        path,
        `the key file ${path} has mode ${octal(st.mode)}: group and others must have no access (run: chmod 600 ${path})`,
      );
    if (st.size > MAX_KEY_FILE_BYTES)
      throw new KeyFileError('KEY_INVALID', path, `the key file ${path} has ${st.size} bytes; a key has at most ${MAX_KEY_FILE_BYTES}`);
    const key = await handle.readFile();
    if (key.length < MIN_KEY_BYTES)
      throw new KeyFileError(
        'KEY_INVALID',
        path,
        `the key file ${path} has ${key.length} bytes; a key needs at least ${MIN_KEY_BYTES} (create one with \`paceline keygen\`)`,
      );
    return key;
  } finally {
    await handle.close();
  }
}
