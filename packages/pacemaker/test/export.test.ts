/**
 * exportCib: the exported CIB imports back to an equivalent model (the reference cluster with the
 * statuses of its story, and random clusters), crm_verify accepts it (skipped with a printed reason
 * when crm_verify is missing), op digests are Pacemaker's, and crmSimulateResult reads
 * crm_simulate's XML output.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { parse as parseYaml } from 'yaml';
import {
  ClusterConfig,
  ClusterStatus,
  INFINITY,
  listPrimitives,
  parseConfigText,
  type ClusterConfigInput,
  type ClusterStatusInput,
  type Primitive,
  type Resource,
} from '@paceline/model';
import { parseStory, replayStory } from '@paceline/cli';
import { compareConformance, crmSimulateResult, exportCib, importCib, operationDigest, pacemakerAgent, restorePacelineAgents } from '@paceline/pacemaker';
import { corpusNames, requireCorpus } from './corpus.js';

const here = dirname(fileURLToPath(import.meta.url));
const example = join(here, '../../../examples/two-node-mutual-failover');
const NOW = Date.UTC(2026, 0, 5, 8);

const paramText = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v));

/** What the export is expected to keep: the model with what a CIB cannot carry normalised away. */
function normaliseConfig(c: ClusterConfig): ClusterConfig {
  const prim = (p: Primitive): Primitive => ({
    ...p,
    params: Object.fromEntries(Object.entries(p.params).map(([k, v]) => [k, paramText(v)])),
    ops: p.ops.map((o) => {
      const { params: op, ...rest } = o;
      return op && Object.keys(op).length > 0 ? { ...rest, params: Object.fromEntries(Object.entries(op).map(([k, v]) => [k, paramText(v)])) } : rest;
    }),
  });
  const res = (r: Resource): Resource =>
    r.type === 'primitive' ? prim(r) : r.type === 'group' ? { ...r, members: r.members.map(prim) } : { ...r, child: res(r.child) as typeof r.child };
  // Heartbeat timing and the partition policy (the membership section) are corosync's business
  // (totem, quorum), not the CIB's: the export leaves them out.
  const { membership: _corosync, ...rest } = c;
  void _corosync;
  return {
    ...rest,
    properties: { ...c.properties, stonithAction: c.properties.stonithAction === 'poweroff' ? 'off' : c.properties.stonithAction },
    // Heartbeat addresses live in corosync's configuration, not in the CIB.
    nodes: c.nodes.map((n) => ({ ...n, addresses: {} })),
    resources: c.resources.map(res),
  };
}

/** Drops what the import adds by itself (generated ids, computed digests, default keys). */
function normaliseImported(c: ClusterConfig, original: ClusterConfig): ClusterConfig {
  const constraints = c.constraints.map((x, i) => {
    const o = original.constraints[i];
    if (!o || o.type !== x.type) return x;
    if (x.type === 'location' && o.type === 'location' && x.rules && o.rules) {
      const strip = (r: NonNullable<typeof x.rules>[number], orig: NonNullable<typeof o.rules>[number] | undefined): typeof r => ({
        ...r,
        ...(orig?.id === undefined ? { id: undefined } : {}),
        expressions: r.expressions.map((e, k) => {
          const oe = orig?.expressions[k];
          return e.kind === 'rule' && oe?.kind === 'rule' ? strip(e, oe) : e;
        }),
      });
      return { ...x, rules: x.rules.map((r, k) => strip(r, o.rules![k])) };
    }
    if (x.type !== 'location' && o.type !== 'location' && x.sets && o.sets)
      return { ...x, sets: x.sets.map((s, k) => (o.sets![k]?.id === undefined ? { ...s, id: undefined } : s)) };
    return x;
  });
  return JSON.parse(JSON.stringify({ ...c, constraints })) as ClusterConfig;
}

function normaliseStatus(s: ClusterStatus, config: ClusterConfig): unknown {
  const byName = new Map(s.nodes.map((n) => [n.name, n]));
  // A CIB history entry always names its agent: the export fills in the configured one.
  const agents = new Map(listPrimitives(config).map((e) => [e.primitive.id, e.primitive.agent]));
  const agentOf = (r: string): string => agents.get(r) ?? agents.get(r.replace(/:\d+$/, '')) ?? 'ocf:pacemaker:Dummy';
  return {
    quorum: s.quorum,
    quorumPanic: s.quorumPanic ?? true,
    dc: s.dc,
    nodes: config.nodes.map((cn) => {
      const n = byName.get(cn.name) ?? ClusterStatus.parse({ nodes: [{ name: cn.name, state: 'offline' }] }).nodes[0]!;
      const { uncleanReason: _u, ...rest } = n;
      void _u;
      // A fail count names its operation with an interval (or none at all: see legacyFailCounts).
      const mixed = s.nodes.some((x) => x.failures.some((f) => f.action !== undefined));
      return {
        ...rest,
        failures: n.failures.map((f) => (f.action !== undefined || mixed ? { ...f, action: f.action ?? 'start', interval: f.interval ?? 0 } : f)),
        history: n.history.map((h) => ({
          ...h,
          agent: h.agent ?? agentOf(h.resource),
          ops: h.ops.map((o) => {
            const { digest: _d, paramsChange: _p, ...op } = o as typeof o & { paramsChange?: string };
            void _d;
            void _p;
            return {
              ...op,
              key: o.key ?? `${h.resource}_${o.action}_${o.interval}`,
              // An unknown expected rc is written as the one the model assumes.
              expectedRc: o.expectedRc ?? (o.action === 'monitor' && o.interval === 0 ? 7 : 0),
              ...(o.lastRcChange !== undefined ? { lastRcChange: Math.floor(o.lastRcChange / 1000) * 1000 } : {}),
              ...(o.lastRun !== undefined ? { lastRun: Math.floor(o.lastRun / 1000) * 1000 } : {}),
            };
          }),
        })),
      };
    }),
  };
}

function roundTrip(config: ClusterConfig, status: ClusterStatus, now = NOW) {
  const xml = exportCib(config, status, { now });
  const imported = importCib(xml, { source: 'exported.xml' });
  const restored = restorePacelineAgents(imported.config, imported.status);
  return { xml, imported, config: restored.config, status: restored.status! };
}

function expectEquivalent(config: ClusterConfig, status: ClusterStatus, now = NOW): string {
  const rt = roundTrip(config, status, now);
  expect(normaliseImported(rt.config, config)).toEqual(JSON.parse(JSON.stringify(normaliseConfig(config))));
  expect(normaliseStatus(rt.status, config)).toEqual(normaliseStatus(status, config));
  expect(rt.imported.now).toBe(Math.floor(now / 1000) * 1000);
  expect(rt.imported.unsupported).toEqual([]);
  return rt.xml;
}

const reference = parseConfigText(readFileSync(join(example, 'cluster.yaml'), 'utf8'), 'cluster.yaml');
const story = replayStory(reference, parseStory(parseYaml(readFileSync(join(example, 'story.yaml'), 'utf8')), 'story.yaml'));

describe('exportCib round trip', () => {
  it('the reference cluster with every status of its story imports back equivalent', () => {
    for (const c of story) {
      for (const r of c.rounds) expectEquivalent(reference, r.before, c.time);
      expectEquivalent(reference, c.after, c.time);
    }
  });

  it('keeps paceline agents in the description and maps them to Dummy / Stateful', () => {
    const xml = exportCib(reference, story[0]!.after, { now: NOW });
    expect(xml).toContain('<primitive id="samba-data" class="ocf" provider="pacemaker" type="Stateful" description="[paceline:mirror]">');
    expect(xml).toContain('<primitive id="samba" class="ocf" provider="pacemaker" type="Dummy" description="[paceline:samba]">');
    expect(xml).toContain('<lrm_resource id="samba" type="Dummy" class="ocf" provider="pacemaker">');
    expect(pacemakerAgent('stonith:fence_dummy', false)).toEqual({ class: 'stonith', type: 'fence_dummy', substituted: false });
    expect(pacemakerAgent('ocf:heartbeat:IPaddr2', true)).toEqual({ class: 'ocf', provider: 'heartbeat', type: 'IPaddr2', substituted: false });
  });

  it('is deterministic', () => {
    const s = story[3]!.rounds[0]!.before;
    expect(exportCib(reference, s, { now: NOW })).toBe(exportCib(reference, s, { now: NOW }));
  });

  it('carries every constraint form: patterns, roles, nested and date rules, sets with kinds and actions', () => {
    const config = ClusterConfig.parse({
      nodes: [
        { name: 'a', attributes: { rack: '1' } },
        { name: 'b', utilization: { cpu: 4 } },
      ],
      properties: { stonithEnabled: false, nodeHealthStrategy: 'custom', nodeHealthRed: -INFINITY, enableStartupProbes: false, batchLimit: 4 },
      defaults: { resource: { stickiness: 'INFINITY', multipleActive: 'stop_only', failureTimeout: '90s' }, operation: { timeout: '45s' } },
      resources: [
        { type: 'primitive', id: 'web-1', agent: 'paceline:process', params: { port: 80 }, utilization: { cpu: 1 } },
        {
          type: 'primitive',
          id: 'web-2',
          agent: 'ocf:heartbeat:Dummy',
          meta: { priority: 3, critical: false, restartType: 'restart', allowUnhealthyNodes: true },
        },
        {
          type: 'group',
          id: 'g',
          meta: { ordered: false, collocated: true },
          members: [
            { type: 'primitive', id: 'g1', agent: 'ocf:heartbeat:Dummy', ops: [{ name: 'monitor', interval: '10s', startDelay: '5s', timeout: '1min' }] },
          ],
        },
        {
          type: 'clone',
          id: 'ms',
          promotable: true,
          meta: { promotedMax: 1, promotedNodeMax: 1, cloneNodeMax: 1, globallyUnique: true, ordered: true, cloneMin: 1, promoteReplica: 'in-sync' },
          child: { type: 'primitive', id: 'st', agent: 'paceline:mirror' },
        },
      ],
      constraints: [
        { type: 'location', id: 'pat', resourcePattern: '^web-', node: 'a', score: 20, resourceDiscovery: 'never' },
        {
          type: 'location',
          id: 'prom',
          resource: 'ms',
          role: 'Promoted',
          rules: [
            {
              kind: 'rule',
              id: 'prom-rule',
              scoreAttribute: 'rack',
              booleanOp: 'or',
              role: 'Promoted',
              expressions: [
                { kind: 'attribute', attribute: 'rack', op: 'defined' },
                {
                  kind: 'rule',
                  booleanOp: 'and',
                  expressions: [
                    { kind: 'attribute', attribute: '#uname', op: 'ne', value: 'b' },
                    { kind: 'attribute', attribute: 'rack', op: 'lt', value: 'g1', valueSource: 'param' },
                  ],
                },
              ],
            },
          ],
        },
        {
          type: 'location',
          id: 'hours',
          resource: 'g',
          rules: [
            {
              kind: 'rule',
              score: 50,
              expressions: [
                { kind: 'date', op: 'date_spec', spec: { hours: '9-16', weekdays: '1-5' } },
                { kind: 'date', op: 'in_range', start: '2026-01-01T00:00:00.000Z', duration: { months: 2 } },
              ],
            },
          ],
        },
        {
          type: 'colocation',
          id: 'c1',
          resource: 'g',
          withResource: 'ms',
          withResourceRole: 'Promoted',
          resourceRole: 'Started',
          score: 'INFINITY',
          nodeAttribute: 'rack',
          influence: false,
        },
        {
          type: 'colocation',
          id: 'c2',
          score: -50,
          sets: [{ id: 'c2-a', resources: ['web-1', 'web-2'], sequential: false, role: 'Started' }, { resources: ['g'] }],
        },
        { type: 'order', id: 'o1', first: 'ms', firstAction: 'promote', then: 'g', thenAction: 'start', kind: 'Serialize', symmetrical: false },
        {
          type: 'order',
          id: 'o2',
          sets: [
            { resources: ['web-1'], action: 'start', kind: 'Optional' },
            { resources: ['web-2', 'g'], sequential: false, requireAll: false },
          ],
        },
      ],
    });
    const status = ClusterStatus.parse({
      quorum: false,
      quorumPanic: false,
      nodes: [
        {
          name: 'a',
          state: 'online',
          attributes: { 'master-st': '10', '#health-disk': 'red' },
          failures: [
            { resource: 'web-2', count: 2, lastFailure: NOW - 5_000 },
            { resource: 'g1', action: 'migrate_to', count: 1 },
          ],
          history: [
            {
              resource: 'st:0',
              ops: [
                { action: 'start', callId: 3, rc: 0, expectedRc: 0, lastRcChange: NOW },
                { action: 'promote', callId: 4, rc: 0, expectedRc: 0 },
              ],
            },
            {
              resource: 'web-2',
              shutdownLock: NOW - 10_000,
              ops: [
                {
                  action: 'migrate_to',
                  callId: 5,
                  migrateSource: 'a',
                  migrateTarget: 'b',
                  exitReason: 'it "broke" <badly>',
                  rc: 1,
                  expectedRc: 0,
                  status: 'error',
                },
              ],
            },
            {
              resource: 'g1',
              ops: [{ action: 'start', callId: 6, digest: 'abc', restartDigest: 'def', restartParams: ['x', 'y'], secureDigest: 'ghi', secureParams: ['pw'] }],
            },
          ],
        },
        { name: 'b', state: 'offline' },
      ],
    });
    const xml = expectEquivalent(config, status);
    expect(xml).toContain('no-quorum-panic="0"');
    if (noVerify === null) {
      const dir = mkdtempSync(join(tmpdir(), `paceline-forms-${process.pid}-`));
      try {
        writeFileSync(join(dir, 'forms.xml'), xml);
        let out = '';
        try {
          execFileSync('crm_verify', ['-x', join(dir, 'forms.xml')], { env: { ...process.env, LC_ALL: 'C' }, stdio: 'pipe' });
        } catch (e) {
          out = String((e as { stderr?: Buffer }).stderr ?? '');
        }
        expect(out).not.toMatch(/Errors found|did not pass/i);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });

  it('writes node states the way Pacemaker 2.1.5 reads them back', () => {
    for (const stonithEnabled of [true, false]) {
      const config = ClusterConfig.parse({
        properties: { stonithEnabled },
        nodes: ['a', 'b', 'c', 'd', 'e'].map((name) => ({ name })),
        resources: [{ type: 'primitive', id: 'r', agent: 'ocf:pacemaker:Dummy' }],
      });
      const states = ['online', 'offline', 'unclean', ...(stonithEnabled ? ['pending'] : [])];
      const status = ClusterStatus.parse({
        nodes: states.map((state, i) => ({ name: ['a', 'b', 'c', 'd'][i], state, ...(i === 0 ? { shutdown: true, maintenance: true } : {}) })),
      });
      const rt = roundTrip(config, status);
      expect(rt.status.nodes.map((n) => n.state)).toEqual([...states, ...(stonithEnabled ? [] : ['offline']), 'offline']);
      expect(rt.status.nodes[0]).toMatchObject({ shutdown: true, maintenance: true });
    }
  });
});

// ---- random clusters ----
const id = (prefix: string) => fc.integer({ min: 1, max: 99 }).map((n) => `${prefix}${n}`);
const score = fc.constantFrom(-INFINITY, -100, 0, 5, 100, INFINITY);
const meta = fc.record(
  {
    stickiness: score,
    migrationThreshold: fc.integer({ min: 0, max: 5 }),
    failureTimeout: fc.constantFrom(0, 60_000, 90_500),
    targetRole: fc.constantFrom('Started', 'Stopped'),
    priority: fc.integer({ min: -5, max: 5 }),
    isManaged: fc.boolean(),
    requires: fc.constantFrom('nothing', 'quorum', 'fencing'),
    allowMigrate: fc.boolean(),
  },
  { requiredKeys: [] },
);
const params = fc.dictionary(fc.constantFrom('ip', 'port', 'path', 'count', 'flag'), fc.oneof(fc.string({ maxLength: 6 }), fc.integer(), fc.boolean()), {
  maxKeys: 3,
});
// Operations Pacemaker accepts: only monitors recur; on-fail only where it is allowed.
const ops = fc.uniqueArray(
  fc.oneof(
    fc.record(
      {
        name: fc.constant('monitor'),
        interval: fc.constantFrom(0, 10_000, 1_500),
        timeout: fc.constantFrom(20_000, 90_000),
        onFail: fc.constantFrom('restart', 'block', 'ignore', 'stop'),
        enabled: fc.boolean(),
        params: fc.dictionary(fc.constantFrom('depth', 'x'), fc.string({ maxLength: 4 }), { maxKeys: 1 }),
      },
      { requiredKeys: ['name', 'interval'] },
    ),
    fc.record(
      { name: fc.constantFrom('start', 'stop'), interval: fc.constant(0), timeout: fc.constantFrom(20_000, 90_000) },
      { requiredKeys: ['name', 'interval'] },
    ),
  ),
  { maxLength: 3, selector: (o) => `${o.name}/${o.interval}` },
);
const primitive = (pid: string, agents = ['ocf:heartbeat:Dummy', 'paceline:process', 'paceline:ip', 'lsb:foo', 'systemd:bar']) =>
  fc.record({
    type: fc.constant('primitive' as const),
    id: fc.constant(pid),
    agent: fc.constantFrom(...agents),
    description: fc.option(fc.constantFrom('a "quoted" <thing> & more', 'plain'), { nil: undefined }),
    params,
    meta,
    ops,
    utilization: fc.dictionary(fc.constantFrom('cpu', 'mem'), fc.integer({ min: 0, max: 64 }), { maxKeys: 2 }),
  });

const arbCluster = fc
  .record({
    nodeCount: fc.integer({ min: 1, max: 4 }),
    stonithEnabled: fc.boolean(),
    props: fc.record(
      {
        symmetricCluster: fc.boolean(),
        noQuorumPolicy: fc.constantFrom('stop', 'freeze', 'ignore', 'demote'),
        stonithAction: fc.constantFrom('reboot', 'off', 'poweroff'),
        placementStrategy: fc.constantFrom('default', 'utilization', 'balanced'),
        clusterRecheckInterval: fc.constantFrom(900_000, 60_000, 1_500),
        startFailureIsFatal: fc.boolean(),
        clusterName: fc.constantFrom('alpha', 'beta'),
      },
      { requiredKeys: [] },
    ),
    defaults: meta,
    // (on-fail in op_defaults also applies to stop, where Pacemaker allows few values: not generated)
    opDefaults: fc.record({ timeout: fc.constantFrom(20_000, 30_000) }, { requiredKeys: [] }),
    nodeAttrs: fc.array(fc.dictionary(fc.constantFrom('rack', 'site', 'ssd'), fc.constantFrom('1', '2', 'yes'), { maxKeys: 2 }), {
      minLength: 4,
      maxLength: 4,
    }),
    nodeStandby: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
    prims: fc.uniqueArray(id('p'), { maxLength: 3 }).chain((ids) => fc.tuple(...ids.map((pid) => primitive(pid)))),
    group: fc.option(fc.tuple(primitive('g-a'), primitive('g-b')), { nil: undefined }),
    clone: fc.option(
      fc.record({
        promotable: fc.boolean(),
        child: primitive('c-a', ['ocf:pacemaker:Stateful', 'paceline:mirror']),
        cloneMax: fc.integer({ min: 0, max: 4 }),
        interleave: fc.boolean(),
        promotedMax: fc.integer({ min: 0, max: 2 }),
      }),
      { nil: undefined },
    ),
    constraintSeeds: fc.array(fc.tuple(fc.constantFrom('loc', 'rule', 'col', 'colset', 'ord', 'ordset'), fc.nat(), fc.nat(), score, fc.boolean()), {
      maxLength: 5,
    }),
    statusSeeds: fc.array(
      fc.record({
        state: fc.constantFrom('online', 'online', 'offline', 'unclean', 'pending'),
        standby: fc.boolean(),
        attrs: fc.dictionary(fc.constantFrom('master-c-a', 'pingd'), fc.constantFrom('5', '100'), { maxKeys: 2 }),
        fail: fc.option(fc.tuple(fc.nat(), fc.constantFrom(1, 3, INFINITY), fc.boolean()), { nil: undefined }),
        ops: fc.array(
          fc.tuple(
            fc.nat(),
            fc.constantFrom('start', 'stop', 'monitor', 'promote'),
            fc.constantFrom(0, 10_000),
            fc.constantFrom(0, 1, 7, 8),
            fc.constantFrom('done', 'error', 'timeout', 'pending'),
            fc.option(fc.constantFrom(0, 7, 8), { nil: undefined }),
          ),
          { maxLength: 4 },
        ),
      }),
      { minLength: 4, maxLength: 4 },
    ),
    quorum: fc.boolean(),
    quorumPanic: fc.option(fc.boolean(), { nil: undefined }),
  })
  .map((g) => {
    const nodes = Array.from({ length: g.nodeCount }, (_, i) => `n${i + 1}`);
    // Pacemaker refuses to start anything with fencing enabled and no fencing device.
    const resources: unknown[] = [...(g.stonithEnabled ? [{ type: 'primitive', id: 'fence', agent: 'stonith:fence_dummy' }] : []), ...g.prims];
    if (g.group) resources.push({ type: 'group', id: 'grp', members: g.group });
    if (g.clone)
      resources.push({
        type: 'clone',
        id: 'cln',
        promotable: g.clone.promotable,
        child: g.clone.child,
        meta: { cloneMax: g.clone.cloneMax, interleave: g.clone.interleave, ...(g.clone.promotable ? { promotedMax: g.clone.promotedMax } : {}) },
      });
    const top = [...g.prims.map((p) => p.id), ...(g.group ? ['grp'] : []), ...(g.clone ? ['cln'] : [])];
    const constraints: unknown[] = [];
    if (top.length > 0)
      g.constraintSeeds.forEach(([kind, a, b, s, flag], i) => {
        const ra = top[a % top.length]!;
        const rb = top[b % top.length]!;
        const node = nodes[b % nodes.length]!;
        const cid = `c${i}`;
        if (kind === 'loc') constraints.push({ type: 'location', id: cid, resource: ra, node, score: s, ...(flag ? { resourceDiscovery: 'exclusive' } : {}) });
        else if (kind === 'rule')
          constraints.push({
            type: 'location',
            id: cid,
            resource: ra,
            rules: [
              {
                kind: 'rule',
                score: s,
                booleanOp: flag ? 'or' : 'and',
                expressions: [
                  { kind: 'attribute', attribute: '#uname', op: 'eq', value: node },
                  { kind: 'attribute', attribute: 'rack', op: 'gte', value: '2', valueType: 'integer' },
                  ...(flag ? [{ kind: 'rule', booleanOp: 'and', expressions: [{ kind: 'attribute', attribute: 'ssd', op: 'defined' }] }] : []),
                ],
              },
            ],
          });
        else if (kind === 'col' && ra !== rb)
          constraints.push({ type: 'colocation', id: cid, resource: ra, withResource: rb, score: s, ...(flag ? { influence: false } : {}) });
        else if (kind === 'colset' && ra !== rb)
          constraints.push({
            type: 'colocation',
            id: cid,
            score: s,
            sets: [{ resources: [ra] }, { resources: [rb], sequential: !flag, ...(flag ? { id: `${cid}-named` } : {}) }],
          });
        else if (kind === 'ord' && ra !== rb)
          constraints.push({
            type: 'order',
            id: cid,
            first: ra,
            then: rb,
            kind: flag ? 'Optional' : 'Mandatory',
            ...(flag ? { symmetrical: false, thenAction: 'stop' } : {}),
          });
        else if (kind === 'ordset' && ra !== rb)
          constraints.push({ type: 'order', id: cid, sets: [{ resources: [ra] }, { resources: [rb], requireAll: !flag, action: 'start' }] });
      });
    const configInput: ClusterConfigInput = {
      epoch: 7,
      properties: { ...(g.props as object), stonithEnabled: g.stonithEnabled } as ClusterConfigInput['properties'],
      defaults: { resource: g.defaults as never, operation: g.opDefaults as never },
      nodes: nodes.map((name, i) => ({
        name,
        ...(i === 1 ? { id: `uuid-${name}` } : {}),
        attributes: g.nodeAttrs[i]!,
        standby: g.nodeStandby[i]!,
        utilization: (i === 0 ? { cpu: 8 } : {}) as Record<string, number>,
      })),
      resources: resources as never,
      constraints: constraints as never,
    };
    const config = ClusterConfig.parse(configInput);
    const prims = top.length === 0 ? [] : [...g.prims.map((p) => p.id), ...(g.group ? ['g-a', 'g-b'] : []), ...(g.clone ? ['c-a'] : [])];
    const statusInput: ClusterStatusInput = {
      quorum: g.quorum,
      ...(g.quorumPanic !== undefined ? { quorumPanic: g.quorumPanic } : {}),
      dc: nodes[0],
      nodes: nodes.map((name, i) => {
        const sd = g.statusSeeds[i]!;
        const state = sd.state === 'pending' && !g.stonithEnabled ? 'online' : sd.state;
        let call = 0;
        const history = new Map<string, unknown[]>();
        if (prims.length > 0)
          for (const [r, action, interval, rc, st, expectedRc] of sd.ops) {
            const rsc = prims[r % prims.length]!;
            const list = history.get(rsc) ?? [];
            list.push({
              action,
              interval,
              rc,
              status: st,
              callId: st === 'pending' ? -1 : ++call,
              lastRcChange: NOW - 60_000 * (r % 7),
              lastRun: NOW - 1_000,
              ...(expectedRc !== undefined ? { expectedRc } : {}),
            });
            history.set(rsc, list);
          }
        const failures =
          sd.fail && prims.length > 0
            ? [
                {
                  resource: prims[sd.fail[0] % prims.length]!,
                  ...(sd.fail[2] ? { action: 'monitor', interval: 10_000 } : {}),
                  count: sd.fail[1],
                  lastFailure: NOW - 120_000,
                },
              ]
            : [];
        return {
          name,
          state,
          standby: sd.standby,
          attributes: sd.attrs,
          failures,
          history: [...history].map(([resource, ops]) => ({ resource, ops })),
        } as NonNullable<ClusterStatusInput['nodes']>[number];
      }),
    };
    return { config, status: ClusterStatus.parse(statusInput) };
  });

describe('exportCib on random clusters', () => {
  it('imports back equivalent', () => {
    fc.assert(
      fc.property(arbCluster, ({ config, status }) => {
        expectEquivalent(config, status);
      }),
      { numRuns: 150, seed: 20261122 },
    );
  });
});

// ---- Pacemaker's own tools ----
function tool(name: string): string | null {
  try {
    execFileSync(name, ['--version'], { stdio: 'pipe' });
    return null;
  } catch (e) {
    return `${name} is not installed (${(e as Error).message.split('\n')[0]}); install pacemaker-cli-utils`;
  }
}
const noVerify = tool('crm_verify');
if (noVerify !== null) console.log(`export.test: crm_verify checks skipped: ${noVerify}`);
const noSimulate = tool('crm_simulate');
if (noSimulate !== null) console.log(`export.test: crm_simulate checks skipped: ${noSimulate}`);

describe('Pacemaker accepts the exported CIB', () => {
  const work = mkdtempSync(join(tmpdir(), `paceline-export-${process.pid}-`));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const verify = (name: string, xml: string): string => {
    const file = join(work, `${name}.xml`);
    writeFileSync(file, xml);
    try {
      execFileSync('crm_verify', ['-x', file], { env: { ...process.env, LC_ALL: 'C' }, stdio: 'pipe', encoding: 'utf8' });
      return '';
    } catch (e) {
      // Exit 78 with only "Warnings found" means valid (warnings are about the status, e.g. a node to fence).
      const err = e as { stderr?: string; stdout?: string };
      return `${err.stdout ?? ''}${err.stderr ?? ''}`;
    }
  };

  (noVerify === null ? it : it.skip)('crm_verify: the reference cluster at every chapter of its story', () => {
    story.forEach((c, i) => {
      c.rounds.forEach((r, k) => {
        const out = verify(`story-${i}-${k}`, exportCib(reference, r.before, { now: c.time }));
        expect(out).not.toMatch(/Errors found|error:|did not pass/i);
      });
    });
  });

  (noVerify === null ? it : it.skip)('crm_verify: random clusters', () => {
    const samples = fc.sample(arbCluster, { seed: 7, numRuns: 25 });
    const bad = samples.flatMap(({ config, status }, i) => {
      const out = verify(`random-${i}`, exportCib(config, status, { now: NOW }));
      return /Errors found|did not pass/i.test(out) ? [`random-${i}: ${out}`] : [];
    });
    expect(bad).toEqual([]);
  });

  (noSimulate === null ? it : it.skip)('crm_simulate sees no definition change: exported digests are the ones Pacemaker computes', () => {
    const file = join(work, 'settled.xml');
    writeFileSync(file, exportCib(reference, story[0]!.after, { now: story[0]!.time }));
    const out = execFileSync('crm_simulate', ['-x', file, '-S', '--output-as=xml'], {
      env: { ...process.env, LC_ALL: 'C', CIB_shadow_dir: mkdtempSync(join(work, 'shadow-')) },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const result = crmSimulateResult(out);
    expect(result.actions).toEqual([]);
    expect(result.resources['samba-data']?.instances).toEqual([
      { node: 'serv1', role: 'Promoted' },
      { node: 'serv2', role: 'Unpromoted' },
    ]);
    expect(result.nodes?.['serv1']).toEqual({ online: true, standby: false, maintenance: false, unclean: false });
  });
});

(noSimulate === null ? describe : describe.skip)('digests of awkward parameter values', () => {
  it('crm_simulate sees no definition change for values with XML specials, tabs, newlines and non-ASCII text', () => {
    // (Pacemaker 2.1.5 stops escaping at the first non-ASCII character, so `&`, `<` or `"` after one
    // breaks its own CIB: not tested.)
    // Past a non-ASCII character Pacemaker reads tabs and line ends as spaces (see digest.ts).
    const values = ['a "quoted" <tag> & \'apostrophe\'', 'tab\there', 'two\nlines\r\nend', 'café ünïcode', 'café\tthen\r\nlines\n', '{"json":[1,2]}', ''];
    const config = ClusterConfig.parse({
      properties: { stonithEnabled: false },
      nodes: [{ name: 'n1' }],
      resources: values.map((v, i) => ({
        type: 'primitive',
        id: `r${i}`,
        agent: 'ocf:pacemaker:Dummy',
        params: { value: v, other: 'x' },
        ops: [{ name: 'monitor', interval: '10s', params: { depth: v } }],
      })),
    });
    const status = ClusterStatus.parse({
      nodes: [
        {
          name: 'n1',
          state: 'online',
          history: values.map((_, i) => ({
            resource: `r${i}`,
            ops: [
              { action: 'start', callId: 2 * i + 1, rc: 0, expectedRc: 0 },
              { action: 'monitor', interval: 10_000, callId: 2 * i + 2, rc: 0, expectedRc: 0 },
            ],
          })),
        },
      ],
    });
    const dir = mkdtempSync(join(tmpdir(), `paceline-digest-${process.pid}-`));
    try {
      const file = join(dir, 'cib.xml');
      writeFileSync(file, exportCib(config, status, { now: NOW }));
      const out = execFileSync('crm_simulate', ['-x', file, '-S', '--output-as=xml'], {
        env: { ...process.env, LC_ALL: 'C', CIB_shadow_dir: mkdtempSync(join(dir, 'shadow-')) },
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      expect(crmSimulateResult(out).actions).toEqual([]);
      // Recurring monitors whose digest differed would be rescheduled: none are.
      expect(out).not.toMatch(/op="monitor" node="n1"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('operationDigest', () => {
  it('is the MD5 Pacemaker 2.1.5 computes (values from crm_simulate-accepted CIBs)', () => {
    // An empty parameter set, as Pacemaker's Dummy resources without parameters carry.
    expect(operationDigest({})).toBe('f2317cad3d54cec5d7d7aa7d0bf35cf8');
  });
  it('sorts parameter names and escapes values', () => {
    expect(operationDigest({ b: '1', a: '2' })).toBe(operationDigest({ a: '2', b: '1' }));
    expect(operationDigest({ a: 'x"y' })).not.toBe(operationDigest({ a: 'x y' }));
  });
});

// ---- against the Pacemaker conformance corpus (tier 1 and 2) ----
// The corpus is required (a missing one fails these tests, see corpus.ts); crm_simulate is skipped with a reason.
const tier12Cases = (corpus: string): string[] =>
  corpusNames(corpus).filter((n) => [1, 2].includes((JSON.parse(readFileSync(join(corpus, `${n}.expected.json`), 'utf8')) as { tier?: number }).tier ?? 3));

(noSimulate === null ? describe : describe.skip)('on the conformance corpus (tiers 1-2)', () => {
  const work = mkdtempSync(join(tmpdir(), `paceline-corpus-${process.pid}-`));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const simulate = (file: string) =>
    crmSimulateResult(
      execFileSync('crm_simulate', ['-x', file, '-S', '--output-as=xml'], {
        env: { ...process.env, LC_ALL: 'C', CIB_shadow_dir: mkdtempSync(join(work, 'shadow-')) },
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        maxBuffer: 64 * 1024 * 1024,
      }),
    );

  it('crmSimulateResult reads crm_simulate into exactly the expected results (placement, summary, node flags)', () => {
    const corpus = requireCorpus();
    const bad = tier12Cases(corpus).flatMap((n) => {
      const expected = JSON.parse(readFileSync(join(corpus, `${n}.expected.json`), 'utf8'));
      const d = compareConformance(expected, simulate(join(corpus, `${n}.xml`)), { nodes: true });
      return d === null ? [] : [`${n}: ${d}`];
    });
    expect(bad).toEqual([]);
  });

  it('importCib then exportCib keeps what Pacemaker decides', () => {
    const corpus = requireCorpus();
    const bad = tier12Cases(corpus).flatMap((n) => {
      const expected = JSON.parse(readFileSync(join(corpus, `${n}.expected.json`), 'utf8')) as { effective_time?: { iso?: string } | null };
      const imported = importCib(readFileSync(join(corpus, `${n}.xml`), 'utf8'), { source: `${n}.xml` });
      const iso = expected.effective_time?.iso;
      const now = iso !== undefined ? Date.parse(iso) : imported.now;
      const file = join(work, `${n}.xml`);
      writeFileSync(file, exportCib(imported.config, imported.status, now === undefined ? {} : { now }));
      const d = compareConformance(expected as never, simulate(file));
      return d === null ? [] : [`${n}: ${d}`];
    });
    expect(bad).toEqual([]);
  });
});
