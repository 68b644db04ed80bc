/**
 * Walks that look for directories need not list the files of a directory without subdirectories.
 * On filesystems that keep directory link counts, a directory's count is 2 plus its subdirectories:
 * one at 2 has none (GNU find's leaf optimisation). A mail spool's directories hold its millions of
 * files; its directories are a hundredth of them: the tracker's watch setup and a start's gap check
 * then cost a stat per directory instead of a listing of every file.
 */
import { statfsSync } from 'node:fs';

/** ext2/3/4, xfs, tmpfs: link counts kept. Elsewhere (btrfs counts 1; a network filesystem may say anything) every directory is listed. */
const KEEPS_LINK_COUNTS = new Set([0xef53, 0x58465342, 0x01021994]);

/** Does the filesystem holding `root` keep directory link counts (a directory at 2 has no subdirectory)? */
export function linkCountsKept(root: string): boolean {
  try {
    return KEEPS_LINK_COUNTS.has(Number(statfsSync(root).type));
  } catch (e) {
    void e;
    return false;
  }
}
