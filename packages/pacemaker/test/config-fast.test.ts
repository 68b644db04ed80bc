/**
 * parseImportedConfig (config-fast.ts) must answer exactly as `ClusterConfig.safeParse`: the same
 * configuration, key order included, or the same ConfigError. Checked on every corpus CIB's
 * configuration and on copies of them with one value broken in each of several ways.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClusterConfig, ConfigError, zodIssues } from '@paceline/model';
import { importCib } from '@paceline/pacemaker';
import { parseImportedConfig } from '../src/config-fast.js';
import { corpusNames, requireCorpus } from './corpus.js';

type Obj = Record<string, unknown>;

/** What zod says, as text: the configuration as JSON, or the issues. */
function viaZod(input: Obj): string {
  const r = ClusterConfig.safeParse(input);
  return r.success ? JSON.stringify(r.data) : JSON.stringify(zodIssues(r.error));
}

function viaFast(input: Obj): string {
  try {
    return JSON.stringify(parseImportedConfig(input, undefined));
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return JSON.stringify(e.issues);
  }
}

/** Copies of `config` with one thing broken: what the fast walk must hand to zod. */
function broken(config: Obj): Obj[] {
  const copy = (): Obj => JSON.parse(JSON.stringify(config)) as Obj;
  const out: Obj[] = [];
  const resources = config['resources'] as Obj[];
  if (resources.length > 0) {
    for (const [key, value] of [
      ['id', ''],
      ['id', 'has space'],
      ['agent', 'nothing'],
      ['surplus', 1],
      ['meta', { stickiness: 'lots' }],
      ['meta', { migrationThreshold: -1 }],
      ['ops', [{ name: 'monitor', interval: 'often' }]],
      ['ops', [{ name: 'dance' }]],
      ['utilization', { cpu: 'two' }],
      ['type', 'widget'],
    ] as const) {
      const c = copy();
      ((c['resources'] as Obj[])[resources.length - 1] as Obj)[key] = value;
      out.push(c);
    }
  }
  const nodes = config['nodes'] as Obj[];
  if (nodes.length > 0) {
    const c = copy();
    (c['nodes'] as Obj[])[0]!['standby'] = 'maybe';
    out.push(c);
  }
  const c = copy();
  c['epoch'] = -1;
  c['unknownTop'] = true;
  out.push(c);
  return out;
}

describe('parseImportedConfig answers as ClusterConfig.safeParse', () => {
  const dir = requireCorpus();
  const names = corpusNames(dir);

  it('on every corpus configuration and broken copies of it', () => {
    let compared = 0;
    for (const name of names) {
      let config: Obj;
      try {
        config = importCib(readFileSync(join(dir, `${name}.xml`), 'utf8'), { defaultNow: Date.UTC(2026, 0, 1) }).config as unknown as Obj;
      } catch {
        continue; // a CIB the importer refuses has no configuration to compare
      }
      // The parsed configuration is itself an input (durations then read as seconds, some too long: errors too).
      for (const input of [JSON.parse(JSON.stringify(config)) as Obj, ...broken(config)]) {
        expect(`${name}: ${viaFast(input)}`).toBe(`${name}: ${viaZod(input)}`);
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(names.length * 5);
  });
});
