/**
 * Paceline's schemas are zod 4 schemas, and zod is a peer dependency (`^4.1.0`, ZOD_PEER_RANGE):
 * the program's own zod is used. npm refuses to install Paceline next to zod 3 unless
 * `--legacy-peer-deps` or `--force` skipped that check; then the schemas below would fail to load
 * with an obscure TypeError. This module, imported first, says what is wrong instead.
 */
import { createRequire } from 'node:module';
import * as z from 'zod';
import { PacelineError, type ModelErrorCode } from './errors.js';

/** The zod versions Paceline works with (4.0.x lacks types the declarations use). */
export const ZOD_PEER_RANGE = '^4.1.0';

/** Whether `schema` was made by zod 4 (zod 3 schemas have `_def` but no `_zod`). */
export function isZod4Schema(schema: unknown): boolean {
  return typeof schema === 'object' && schema !== null && '_zod' in schema;
}

function loadedZod(): string {
  try {
    const require = createRequire(import.meta.url);
    const file = require.resolve('zod/package.json');
    return `zod ${(require(file) as { version?: string }).version ?? '(unknown version)'} from ${file.replace(/\/package\.json$/, '')}`;
  } catch {
    return 'a zod that is not zod 4';
  }
}

if (typeof z.string !== 'function' || !isZod4Schema(z.string()))
  throw new PacelineError<ModelErrorCode>(
    'ZOD_VERSION',
    `Paceline needs zod 4 ("zod": "${ZOD_PEER_RANGE}", a peer dependency), but this program loads ${loadedZod()}. ` +
      `Install zod@${ZOD_PEER_RANGE} (npm says so too, unless --legacy-peer-deps or --force skipped its peer dependency check).`,
  );
