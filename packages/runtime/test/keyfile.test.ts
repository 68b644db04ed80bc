import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyFileError, generateKey, readKey } from '@paceline/runtime';

describe('key file', () => {
  const dir = mkdtempSync(join(tmpdir(), `paceline-key-${process.pid}-`));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const path = (name: string): string => join(dir, name);

  it('generates 32 random bytes with mode 0600 and reads them back', async () => {
    const key = await generateKey(path('a.key'));
    expect(key).toHaveLength(32);
    expect(statSync(path('a.key')).mode & 0o777).toBe(0o600);
    expect(readFileSync(path('a.key'))).toEqual(key);
    expect(await readKey(path('a.key'))).toEqual(key);
    const other = await generateKey(path('b.key'));
    expect(other.equals(key)).toBe(false);
  });

  it('refuses to overwrite an existing key', async () => {
    await generateKey(path('c.key'));
    const before = readFileSync(path('c.key'));
    await expect(generateKey(path('c.key'))).rejects.toMatchObject({ code: 'KEY_EXISTS', message: expect.stringContaining(path('c.key')) });
    expect(readFileSync(path('c.key'))).toEqual(before);
  });

  it.each([0o640, 0o604, 0o644, 0o660, 0o620])('refuses a key file with mode %o, naming the path and the mode', async (mode) => {
    const p = path(`m${mode.toString(8)}.key`);
    writeFileSync(p, Buffer.alloc(32, 1));
    chmodSync(p, mode);
    const err = (await readKey(p).catch((e: unknown) => e)) as KeyFileError;
    expect(err).toBeInstanceOf(KeyFileError);
    expect(err.code).toBe('KEY_INSECURE');
    expect(err.message).toContain(p);
    expect(err.message).toContain(`0${mode.toString(8)}`);
    expect(err.message).toContain('chmod 600');
  });

  // Needs root to give the file away; CI runs as root.
  const asRoot = process.getuid?.() === 0 ? it : it.skip;
  if (process.getuid?.() !== 0) process.stderr.write('skipping the key-owner test: it needs root to chown a file to another user\n');
  asRoot('refuses a 0600 key owned by another user, naming the owner (issue 16, item 12)', async () => {
    const p = path('nobody.key');
    writeFileSync(p, Buffer.alloc(32, 3), { mode: 0o600 });
    chownSync(p, 65534, 65534);
    const err = (await readKey(p).catch((e: unknown) => e)) as KeyFileError;
    expect(err).toBeInstanceOf(KeyFileError);
    expect(err.code).toBe('KEY_INSECURE');
    expect(err.message).toContain(p);
    expect(err.message).toContain('uid 65534');
    // Root's own key (this process is root) stays accepted.
    chownSync(p, 0, 0);
    expect(await readKey(p)).toHaveLength(32);
  });

  it('accepts 0400', async () => {
    const p = path('ro.key');
    writeFileSync(p, Buffer.alloc(32, 2));
    chmodSync(p, 0o400);
    expect(await readKey(p)).toHaveLength(32);
  });

  it.each<[string, () => string, string]>([
    ['a missing file', () => path('missing.key'), 'KEY_UNREADABLE'],
    [
      'a short key',
      () => {
        const p = path('short.key');
        writeFileSync(p, 'abc', { mode: 0o600 });
        return p;
      },
      'KEY_INVALID',
    ],
    ['a directory', () => path(''), 'KEY_INVALID'],
    [
      'a symbolic link',
      () => {
        const p = path('link.key');
        symlinkSync(path('a.key'), p);
        return p;
      },
      'KEY_UNREADABLE',
    ],
  ])('refuses %s', async (_n, make, code) => {
    const p = make();
    await expect(readKey(p)).rejects.toMatchObject({ code, message: expect.stringContaining(p) });
  });

  it('reports a missing directory when generating', async () => {
    await expect(generateKey(path('no/such/dir.key'))).rejects.toMatchObject({ code: 'KEY_WRITE_FAILED' });
  });
});
