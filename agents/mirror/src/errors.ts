/**
 * What the mirror's own processes (the replica worker and the change tracker) refuse, by code, so
 * that a caller or a test can tell a usage error from a broken layout or a broken invariant.
 * The agent's actions report failures as outcomes instead (outcome.ts); a secret file that fails
 * its checks is a `SecretError` (secret.ts).
 */
export type MirrorErrorCode =
  /** A worker or tracker started without its configuration file. */
  | 'USAGE'
  /** The parameters give no usable layout on this node (its message says which parameter). */
  | 'LAYOUT'
  /** The mirrored path is not a directory. */
  | 'NOT_A_DIRECTORY'
  /** A state the code rules out was reached: a bug, reported instead of going on. */
  | 'INVARIANT';

export class MirrorError extends Error {
  constructor(
    readonly code: MirrorErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'MirrorError';
  }
}
