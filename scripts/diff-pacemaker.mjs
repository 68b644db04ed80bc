#!/usr/bin/env node
// Differential testing against the real Pacemaker scheduler: generates seeded random small
// clusters (2-4 nodes; primitives, a group, an anonymous clone, a promotable clone; location,
// colocation and order constraints; standby / offline / unclean nodes; failed operations),
// exports each to a CIB, runs `crm_simulate -x F -S --output-as=xml` on it and Paceline's
// schedule + applyTransition + toConformanceResult on the same model, and compares the two with
// compareConformance. Prints the agreement rate, the disagreements grouped by class, and each
// disagreement with its seed, first difference and the saved CIB (.bench-cache/diff/) to
// reproduce it with crm_simulate by hand. A measuring tool, not a CI test: always exits 0.
//
//   npm run diff:pacemaker -- [--count N] [--seed S] [--verbose] [--nodes]
//   node scripts/diff-pacemaker.mjs --minimise SEED      shrink one disagreement to a small CIB
//   node scripts/diff-pacemaker.mjs [--cib] FILE.xml...  compare the two schedulers on given CIBs
//   node scripts/diff-pacemaker.mjs --corpus ../shared/conformance/pacemaker   check the export/read-back tools
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { ClusterConfig, ClusterStatus, INFINITY } from '@paceline/model';
import { applyTransition, schedule } from '@paceline/scheduler';
import { compareConformance, crmSimulateResult, describeAction, exportCib, importCib, toConformanceResult } from '@paceline/pacemaker';

const root = new URL('..', import.meta.url).pathname;
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    count: { type: 'string', default: '200' },
    seed: { type: 'string', default: '1' },
    verbose: { type: 'boolean', short: 'v', default: false },
    nodes: { type: 'boolean', default: false },
    basic: { type: 'boolean', default: false },
    minimise: { type: 'string' },
    cib: { type: 'string', multiple: true },
    corpus: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log('usage: node scripts/diff-pacemaker.mjs [--count N] [--seed S] [--verbose] [--nodes] [--minimise SEED]');
  console.log('  --minimise SEED: shrink the disagreement of that seed (drop constraints, resources, nodes, failures, history)');
  console.log('                   while the same class of difference remains; saves .bench-cache/diff/min-SEED.xml');
  console.log('  --basic:         only the basic generator (no sets, rules, asymmetric cluster, on-fail, target-role,');
  console.log('                   unmanaged, failure-timeout, clone-max/interleave/notify, promoted-max 2, pending, shutdown)');
  console.log('  --corpus DIR:    check the tools on a conformance corpus (e.g. ../shared/conformance/pacemaker): crm_simulate');
  console.log('                   read back gives each expected result, and importCib+exportCib keeps the decision of Pacemaker');
  console.log('  --cib FILE:      compare the two schedulers on a CIB file (crm_simulate on the file, Paceline on importCib of it)');
  process.exit(0);
}
if (positionals.length > 0) values.cib = [...(values.cib ?? []), ...positionals];
const count = Number(values.count);
const firstSeed = Number(values.seed);
if (!Number.isInteger(count) || count < 1 || !Number.isInteger(firstSeed)) {
  console.error('diff:pacemaker: --count must be a positive integer and --seed an integer');
  process.exit(2);
}
try {
  execFileSync('crm_simulate', ['--version'], { stdio: 'pipe' });
} catch {
  console.log('diff:pacemaker: crm_simulate is not installed (Debian: pacemaker-cli-utils); nothing to compare against.');
  process.exit(0);
}

const NOW = Date.UTC(2026, 0, 1, 12);
const HOUR = 3_600_000;

// ---- the generator (mirrors packages/scheduler/test/properties.test.ts, with clones and failures) ----
const arbCluster = fc.record({
  nodeCount: fc.integer({ min: 2, max: 4 }),
  nodeStates: fc.array(fc.constantFrom('online', 'online', 'online', 'online', 'standby', 'offline', 'unclean'), { minLength: 4, maxLength: 4 }),
  stonith: fc.boolean(),
  primCount: fc.integer({ min: 0, max: 3 }),
  groupSize: fc.integer({ min: 0, max: 3 }),
  clone: fc.boolean(),
  promotable: fc.boolean(),
  stickiness: fc.constantFrom(0, 0, 50, 200),
  migrationThreshold: fc.constantFrom(0, 0, 1, 3),
  // Where each of up to 8 placeable units runs now: -1 = nowhere, else a node index (clones: a bit mask).
  running: fc.array(fc.integer({ min: -1, max: 3 }), { minLength: 8, maxLength: 8 }),
  cloneMask: fc.integer({ min: 0, max: 15 }),
  promMask: fc.integer({ min: 0, max: 15 }),
  promotedAt: fc.integer({ min: -1, max: 3 }),
  promotionScores: fc.array(fc.constantFrom(undefined, 5, 10, 100), { minLength: 4, maxLength: 4 }),
  failures: fc.array(fc.record({ unit: fc.integer({ min: 0, max: 7 }), kind: fc.constantFrom('monitor', 'start') }), { maxLength: 2 }),
  locations: fc.array(
    fc.record({
      r: fc.integer({ min: 0, max: 7 }),
      n: fc.integer({ min: 0, max: 3 }),
      score: fc.constantFrom(-INFINITY, -100, 10, 50, 100, INFINITY),
      promoted: fc.boolean(),
    }),
    { maxLength: 4 },
  ),
  colocs: fc.array(
    fc.record({
      a: fc.integer({ min: 0, max: 7 }),
      b: fc.integer({ min: 0, max: 7 }),
      score: fc.constantFrom(-INFINITY, 100, INFINITY),
      promoted: fc.boolean(),
    }),
    { maxLength: 3 },
  ),
  orders: fc.array(
    fc.record({ a: fc.integer({ min: 0, max: 7 }), b: fc.integer({ min: 0, max: 7 }), kind: fc.constantFrom('Mandatory', 'Mandatory', 'Optional') }),
    { maxLength: 3 },
  ),
  // Less common features, each present in a minority of cases (off with --basic).
  extras: fc.record({
    asymmetric: fc.nat(7),
    rule: fc.nat(3),
    orderSet: fc.nat(4),
    colocSet: fc.nat(4),
    cloneMax: fc.constantFrom(undefined, undefined, undefined, 1, 2),
    interleave: fc.nat(3),
    notify: fc.nat(3),
    promotedMax2: fc.nat(4),
    onFail: fc.constantFrom(undefined, undefined, undefined, 'block', 'ignore', 'stop', 'restart'),
    targetStopped: fc.integer({ min: -24, max: 7 }),
    unmanaged: fc.integer({ min: -32, max: 7 }),
    failureTimeout: fc.nat(3),
    failCountHigh: fc.nat(2),
    rack: fc.array(fc.constantFrom('1', '2'), { minLength: 4, maxLength: 4 }),
    pending: fc.nat(6),
    shutdown: fc.nat(8),
  }),
});
const NO_EXTRAS = {
  asymmetric: 1,
  rule: 1,
  orderSet: 1,
  colocSet: 1,
  cloneMax: undefined,
  interleave: 1,
  notify: 1,
  promotedMax2: 1,
  onFail: undefined,
  targetStopped: -1,
  unmanaged: -1,
  failureTimeout: 3,
  failCountHigh: 1,
  rack: ['1', '1', '1', '1'],
  pending: 1,
  shutdown: 1,
};

function build(g) {
  const x = values.basic ? NO_EXTRAS : g.extras;
  const nodes = Array.from({ length: g.nodeCount }, (_, i) => `node${i + 1}`);
  const states = nodes.map((_, i) => {
    const s = g.nodeStates[i];
    if (s === 'offline' && x.pending === 0 && g.stonith && i > 0) return 'pending';
    return s === 'unclean' && !g.stonith ? 'offline' : s;
  });
  const monitor = { name: 'monitor', interval: '10s', ...(x.onFail !== undefined ? { onFail: x.onFail } : {}) };
  const prim = (id, agent = 'ocf:pacemaker:Dummy', ops = [monitor]) => ({ type: 'primitive', id, agent, ops });
  /** Placeable units: { id (top-level), kind, primitives } */
  const units = [];
  const resources = [];
  for (let i = 0; i < g.primCount; i++) {
    resources.push(prim(`rsc${i + 1}`));
    units.push({ id: `rsc${i + 1}`, kind: 'primitive', prims: [`rsc${i + 1}`] });
  }
  if (g.groupSize > 0) {
    const members = Array.from({ length: g.groupSize }, (_, i) => prim(`grp-m${i + 1}`));
    resources.push({ type: 'group', id: 'grp', members });
    units.push({ id: 'grp', kind: 'group', prims: members.map((m) => m.id) });
  }
  if (g.clone) {
    const meta = {
      ...(x.cloneMax !== undefined ? { cloneMax: x.cloneMax } : {}),
      ...(x.interleave === 0 ? { interleave: true } : {}),
      ...(x.notify === 0 ? { notify: true } : {}),
    };
    resources.push({ type: 'clone', id: 'cln', meta, child: prim('cln-rsc') });
    units.push({ id: 'cln', kind: 'clone', prims: ['cln-rsc'] });
  }
  if (g.promotable) {
    resources.push({
      type: 'clone',
      id: 'prm',
      promotable: true,
      meta: { promotedMax: x.promotedMax2 === 0 ? 2 : 1, ...(x.interleave === 1 ? { interleave: true } : {}) },
      child: prim('prm-rsc', 'ocf:pacemaker:Stateful', [
        { name: 'monitor', interval: '10s', role: 'Promoted' },
        { name: 'monitor', interval: '11s', role: 'Unpromoted' },
      ]),
    });
    units.push({ id: 'prm', kind: 'promotable', prims: ['prm-rsc'] });
  }
  // With fencing enabled, Pacemaker starts nothing until a fencing device is configured.
  if (g.stonith) resources.unshift({ type: 'primitive', id: 'fencing', agent: 'stonith:fence_dummy', ops: [{ name: 'monitor', interval: '60s' }] });
  if (units.length === 0) {
    resources.push(prim('rsc1'));
    units.push({ id: 'rsc1', kind: 'primitive', prims: ['rsc1'] });
  }
  const unit = (k) => units[k % units.length];
  // target-role=Stopped / is-managed=false on one top-level resource.
  const topMeta = (id, meta) => {
    const r = resources.find((y) => y.id === id);
    if (r) r.meta = { ...(r.meta ?? {}), ...meta };
  };
  if (x.targetStopped >= 0) topMeta(unit(x.targetStopped).id, { targetRole: 'Stopped' });
  if (x.unmanaged >= 0) topMeta(unit(x.unmanaged).id, { isManaged: false });

  const constraints = [];
  g.locations.forEach((l, i) => {
    const u = unit(l.r);
    if (l.n >= nodes.length) return;
    const role = u.kind === 'promotable' && l.promoted ? { role: 'Promoted' } : {};
    constraints.push({ type: 'location', id: `loc${i + 1}`, resource: u.id, node: nodes[l.n], score: l.score, ...role });
  });
  const seenPair = new Set();
  g.colocs.forEach((c, i) => {
    // Only from a later unit to an earlier one: no colocation cycles.
    const a = c.a % units.length;
    const b = c.b % units.length;
    if (b >= a || seenPair.has(`${a}/${b}`)) return;
    seenPair.add(`${a}/${b}`);
    const with_ = units[b];
    const role = with_.kind === 'promotable' && c.promoted ? { withResourceRole: 'Promoted' } : {};
    constraints.push({ type: 'colocation', id: `col${i + 1}`, resource: units[a].id, withResource: with_.id, score: c.score, ...role });
  });
  g.orders.forEach((o, i) => {
    const a = o.a % units.length;
    const b = o.b % units.length;
    if (a >= b) return;
    const first = units[a];
    const action = first.kind === 'promotable' ? { firstAction: 'promote', thenAction: 'start' } : {};
    constraints.push({ type: 'order', id: `ord${i + 1}`, first: first.id, then: units[b].id, kind: o.kind, ...action });
  });

  if (x.rule === 0 || x.asymmetric === 0) {
    const u = unit(g.locations.length);
    constraints.push({
      type: 'location',
      id: 'loc-rule',
      resource: u.id,
      rules: [{ kind: 'rule', score: x.asymmetric === 0 ? 100 : 50, expressions: [{ kind: 'attribute', attribute: 'rack', op: 'eq', value: '1' }] }],
    });
  }
  if (x.asymmetric === 0)
    units.forEach((u, k) => constraints.push({ type: 'location', id: `allow${k + 1}`, resource: u.id, node: nodes[k % nodes.length], score: 10 }));
  if (x.orderSet === 0 && units.length >= 2)
    constraints.push({ type: 'order', id: 'ord-set', sets: [{ resources: [units[0].id] }, { resources: units.slice(1).map((u) => u.id), sequential: false }] });
  if (x.colocSet === 0 && units.length >= 2 && units.every((u) => u.kind !== 'promotable'))
    constraints.push({ type: 'colocation', id: 'col-set', score: 'INFINITY', sets: [{ resources: units.slice(-2).map((u) => u.id) }] });

  const config = ClusterConfig.parse({
    properties: { stonithEnabled: g.stonith, noQuorumPolicy: 'ignore', ...(x.asymmetric === 0 ? { symmetricCluster: false } : {}) },
    defaults: {
      resource: {
        stickiness: g.stickiness,
        ...(g.migrationThreshold > 0 ? { migrationThreshold: g.migrationThreshold } : {}),
        ...(x.failureTimeout === 0 ? { failureTimeout: '30min' } : x.failureTimeout === 1 ? { failureTimeout: '2h' } : {}),
      },
    },
    nodes: nodes.map((name, i) => ({ name, attributes: { rack: x.rack[i] } })),
    resources,
    constraints,
  });

  // ---- status ----
  const lastChange = NOW - HOUR;
  const history = nodes.map(() => new Map());
  const callIds = nodes.map(() => 0);
  const record = (ni, rsc, op) => {
    const list = history[ni].get(rsc) ?? [];
    list.push({ interval: 0, status: 'done', rc: 0, expectedRc: 0, lastRcChange: lastChange, lastRun: lastChange, ...op, callId: ++callIds[ni] });
    history[ni].set(rsc, list);
  };
  const failures = nodes.map(() => []);
  const runningOn = (u, k) => {
    if (u.kind === 'clone') return nodes.map((_, i) => i).filter((i) => (g.cloneMask >> i) & 1);
    if (u.kind === 'promotable') return nodes.map((_, i) => i).filter((i) => (g.promMask >> i) & 1 || i === g.promotedAt);
    const r = g.running[k];
    return r >= 0 && r < nodes.length ? [r] : [];
  };
  const failed = new Map(g.failures.map((f) => [f.unit % units.length, f.kind]));
  units.forEach((u, k) => {
    const where = runningOn(u, k);
    for (let ni = 0; ni < nodes.length; ni++) {
      if (states[ni] === 'offline') continue;
      for (const p of u.prims) {
        record(ni, p, { action: 'monitor', rc: 7, expectedRc: 7 });
        if (!where.includes(ni)) continue;
        const isFirstFailure = failed.has(k) && ni === where[0];
        if (isFirstFailure && failed.get(k) === 'start') {
          record(ni, p, { action: 'start', rc: 1, expectedRc: 0 });
          failures[ni].push({ resource: p, action: 'start', interval: 0, count: INFINITY, lastFailure: lastChange });
          continue;
        }
        record(ni, p, { action: 'start' });
        if (u.kind === 'promotable') {
          if (ni === g.promotedAt) {
            record(ni, p, { action: 'promote' });
            record(ni, p, { action: 'monitor', interval: 10_000, rc: 8, expectedRc: 8 });
          } else record(ni, p, { action: 'monitor', interval: 11_000 });
        } else if (isFirstFailure) {
          record(ni, p, { action: 'monitor', interval: 10_000, rc: 7, expectedRc: 0 });
          failures[ni].push({ resource: p, action: 'monitor', interval: 10_000, count: x.failCountHigh === 0 ? 3 : 1, lastFailure: lastChange });
        } else record(ni, p, { action: 'monitor', interval: 10_000 });
      }
    }
  });
  const status = ClusterStatus.parse({
    quorum: true,
    nodes: nodes.map((name, ni) => {
      const attributes = {};
      if (g.promotable && g.promotionScores[ni] !== undefined) attributes['master-prm-rsc'] = String(g.promotionScores[ni]);
      return {
        name,
        state: states[ni] === 'standby' ? 'online' : states[ni],
        standby: states[ni] === 'standby',
        shutdown: x.shutdown === 0 && ni === 1 && states[ni] === 'online',
        attributes,
        failures: failures[ni],
        history: [...history[ni]].map(([resource, ops]) => ({ resource, ops })),
      };
    }),
  });
  return { config, status, features: describe(config, status, states, x) };
}

function describe(config, status, states, x) {
  const f = new Set();
  if (!config.properties.symmetricCluster) f.add('asymmetric');
  if (config.constraints.some((c) => c.rules)) f.add('rule');
  if (config.constraints.some((c) => c.sets)) f.add('sets');
  if (x.onFail !== undefined) f.add(`on-fail:${x.onFail}`);
  if (listMeta(config).some((m) => m.targetRole === 'Stopped')) f.add('target-stopped');
  if (listMeta(config).some((m) => m.isManaged === false)) f.add('unmanaged');
  if (config.defaults.resource.failureTimeout !== undefined) f.add('failure-timeout');
  if (status.nodes.some((n) => n.shutdown)) f.add('shutdown');
  for (const r of config.resources) f.add(r.type === 'clone' ? (r.promotable ? 'promotable' : 'clone') : r.type);
  for (const c of config.constraints) f.add(c.type);
  for (const s of states) if (s !== 'online') f.add(s);
  if (status.nodes.some((n) => n.failures.length > 0)) f.add('failure');
  if (config.properties.stonithEnabled) f.add('stonith');
  return [...f].sort();
}

function listMeta(config) {
  return config.resources.map((r) => r.meta ?? {});
}

// ---- one comparison ----
function compareOnce(config, status, file, now = NOW, original = undefined) {
  // A given CIB runs through crm_simulate as it is; a generated model is exported first.
  const xml = original ?? exportCib(config, status, { now });
  writeFileSync(file, xml);
  let pacemaker;
  let problem;
  try {
    const shadow = mkdtempSync(join(work, 'shadow-'));
    const out = execFileSync('crm_simulate', ['-x', file, '-S', '--output-as=xml'], {
      env: { ...process.env, LC_ALL: 'C', CIB_shadow_dir: shadow },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    rmSync(shadow, { recursive: true, force: true });
    pacemaker = crmSimulateResult(out);
  } catch (e) {
    problem = `crm_simulate failed: ${
      String(e.stderr ?? e.message)
        .trim()
        .split('\n')
        .slice(-1)[0]
    }`;
  }
  let paceline;
  if (!problem) {
    try {
      const t = schedule({ config, status, now });
      paceline = toConformanceResult(config, applyTransition(config, status, t, now), t);
    } catch (e) {
      problem = `Paceline threw: ${e.message}`;
    }
  }
  const difference = problem ?? compareConformance(pacemaker, paceline, { nodes: values.nodes });
  return { xml, difference, pacemaker, paceline };
}

function classify(d) {
  if (d.startsWith('crm_simulate failed')) return 'crm_simulate error';
  if (d.startsWith('Paceline threw')) return 'Paceline error';
  if (d.startsWith('placement of')) return 'placement';
  const m = /^(missing|unexpected) action: (\S+)/.exec(d);
  if (m) return `${m[1]} ${m[2]}`;
  if (d.startsWith('node ')) return 'node flags';
  return 'other';
}

// ---- shrinking one disagreement ----
const refersTo = (c, ids) =>
  [c.resource, c.withResource, c.first, c.then, ...(c.sets ?? []).flatMap((s) => s.resources)].some((r) => r !== undefined && ids.has(r));
const primIds = (r) => (r.type === 'primitive' ? [r.id] : r.type === 'group' ? r.members.map((m) => m.id) : primIds(r.child));

function* candidates(config, status) {
  for (let i = config.constraints.length - 1; i >= 0; i--) yield { ...config, constraints: config.constraints.filter((_, k) => k !== i) };
  for (let i = config.resources.length - 1; i >= 0; i--) {
    const r = config.resources[i];
    const ids = new Set([r.id, ...primIds(r)]);
    yield [
      { ...config, resources: config.resources.filter((_, k) => k !== i), constraints: config.constraints.filter((c) => !refersTo(c, ids)) },
      {
        ...status,
        nodes: status.nodes.map((n) => ({
          ...n,
          history: n.history.filter((h) => !ids.has(h.resource)),
          failures: n.failures.filter((f) => !ids.has(f.resource)),
        })),
      },
    ];
    if (r.type === 'group' && r.members.length > 1)
      for (let m = r.members.length - 1; m >= 0; m--) {
        const gone = new Set([r.members[m].id]);
        yield [
          { ...config, resources: config.resources.map((x, k) => (k === i ? { ...r, members: r.members.filter((_, j) => j !== m) } : x)) },
          {
            ...status,
            nodes: status.nodes.map((n) => ({
              ...n,
              history: n.history.filter((h) => !gone.has(h.resource)),
              failures: n.failures.filter((f) => !gone.has(f.resource)),
            })),
          },
        ];
      }
  }
  for (const n of config.nodes) {
    if (config.nodes.length <= 1) break;
    yield [
      { ...config, nodes: config.nodes.filter((x) => x.name !== n.name), constraints: config.constraints.filter((c) => c.node !== n.name) },
      { ...status, nodes: status.nodes.filter((x) => x.name !== n.name) },
    ];
  }
  for (const n of status.nodes) {
    for (let f = n.failures.length - 1; f >= 0; f--)
      yield [config, { ...status, nodes: status.nodes.map((x) => (x === n ? { ...n, failures: n.failures.filter((_, k) => k !== f) } : x)) }];
    for (const a of Object.keys(n.attributes)) {
      const { [a]: _gone, ...rest } = n.attributes;
      yield [config, { ...status, nodes: status.nodes.map((x) => (x === n ? { ...n, attributes: rest } : x)) }];
    }
    for (let h = n.history.length - 1; h >= 0; h--)
      yield [config, { ...status, nodes: status.nodes.map((x) => (x === n ? { ...n, history: n.history.filter((_, k) => k !== h) } : x)) }];
  }
  if (config.defaults.resource.stickiness !== undefined) {
    const { stickiness: _s, ...resource } = config.defaults.resource;
    yield { ...config, defaults: { ...config.defaults, resource } };
  }
  if (config.defaults.resource.migrationThreshold !== undefined) {
    const { migrationThreshold: _m, ...resource } = config.defaults.resource;
    yield { ...config, defaults: { ...config.defaults, resource } };
  }
}

function minimise(seed) {
  const [g] = fc.sample(arbCluster, { seed, numRuns: 1 });
  let { config, status } = build(g);
  const file = join(work, 'min.xml');
  const first = compareOnce(config, status, file);
  if (first.difference === null) {
    console.log(`seed ${seed}: Paceline and Pacemaker agree; nothing to shrink`);
    return;
  }
  const cls = classify(first.difference);
  let best = first;
  let steps = 0;
  for (let changed = true; changed && steps < 500;) {
    changed = false;
    for (const cand of candidates(config, status)) {
      const [c, s] = Array.isArray(cand) ? cand : [cand, status];
      steps++;
      const r = compareOnce(c, s, file);
      if (r.difference !== null && classify(r.difference) === cls) {
        config = c;
        status = s;
        best = r;
        changed = true;
        break;
      }
    }
  }
  const saved = join(cacheDir, `min-${seed}.xml`);
  writeFileSync(saved, best.xml);
  console.log(`seed ${seed}: ${best.difference}`);
  console.log(
    `  shrunk in ${steps} tries to ${config.nodes.length} node(s), ${config.resources.length} resource(s), ${config.constraints.length} constraint(s): ${relative(root, saved)}`,
  );
  console.log(
    `  pacemaker: ${
      (best.pacemaker?.actions ?? [])
        .map((a) => describeAction(a))
        .sort()
        .join('; ') || '(none)'
    }`,
  );
  console.log(
    `  paceline:  ${
      (best.paceline?.actions ?? [])
        .map((a) => describeAction(a))
        .sort()
        .join('; ') || '(none)'
    }`,
  );
}

// ---- the tools themselves, on a corpus of Pacemaker cases with expected results ----
function checkCorpus(dir) {
  const names = readdirSync(dir)
    .filter((f) => f.endsWith('.expected.json'))
    .map((f) => f.slice(0, -'.expected.json'.length))
    .sort();
  const simulate = (file, args = []) => {
    const shadow = mkdtempSync(join(work, 'shadow-'));
    try {
      return crmSimulateResult(
        execFileSync('crm_simulate', ['-x', file, '-S', '--output-as=xml', ...args], {
          env: { ...process.env, LC_ALL: 'C', CIB_shadow_dir: shadow },
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
          maxBuffer: 1 << 26,
        }),
      );
    } finally {
      rmSync(shadow, { recursive: true, force: true });
    }
  };
  let readOk = 0;
  let keptOk = 0;
  const readBad = [];
  const keptBad = [];
  for (const n of names) {
    const expected = JSON.parse(readFileSync(join(dir, `${n}.expected.json`), 'utf8'));
    const rawArgs = expected.reference?.crm_simulate_args ?? [];
    const args = Array.isArray(rawArgs) ? rawArgs : String(rawArgs).split(' ').filter(Boolean);
    try {
      const d = compareConformance(expected, simulate(join(dir, `${n}.xml`), args), { nodes: true });
      if (d === null) readOk++;
      else readBad.push(`${n}: ${d}`);
    } catch (e) {
      readBad.push(`${n}: ${e.message.split('\n')[0]}`);
    }
    try {
      const imported = importCib(readFileSync(join(dir, `${n}.xml`), 'utf8'), { source: `${n}.xml` });
      const iso = expected.effective_time?.iso;
      const now = iso !== undefined ? Date.parse(iso) : imported.now;
      const file = join(work, `${n}.xml`);
      writeFileSync(file, exportCib(imported.config, imported.status, now === undefined ? {} : { now }));
      const d = compareConformance(expected, simulate(file));
      if (d === null) keptOk++;
      else keptBad.push(`${n} [tier ${expected.tier}${imported.unsupported.length ? `, ${imported.unsupported.length} unsupported at import` : ''}]: ${d}`);
    } catch (e) {
      keptBad.push(`${n}: ${e.message.split('\n')[0]}`);
    }
  }
  for (const l of readBad) console.log(`read back: ${l}`);
  for (const l of keptBad) console.log(`import+export: ${l}`);
  console.log(`crm_simulate read back as the expected result: ${readOk}/${names.length}`);
  console.log(`importCib + exportCib + crm_simulate gives the expected result: ${keptOk}/${names.length}`);
}

// ---- run ----
const cacheDir = resolve(root, '.bench-cache/diff');
mkdirSync(cacheDir, { recursive: true });
const work = mkdtempSync(join(tmpdir(), `paceline-diff-${process.pid}-`));
const results = [];
const started = Date.now();
try {
  if (values.corpus !== undefined) checkCorpus(resolve(values.corpus));
  else if (values.cib !== undefined)
    for (const f of values.cib) {
      const text = readFileSync(f, 'utf8');
      const imported = importCib(text, { source: f });
      const r = compareOnce(imported.config, imported.status, join(work, 'cib.xml'), imported.now ?? NOW, text);
      console.log(`${f}: ${r.difference ?? 'Paceline and Pacemaker agree'}`);
      console.log(
        `  pacemaker: ${
          (r.pacemaker?.actions ?? [])
            .map((a) => describeAction(a))
            .sort()
            .join('; ') || '(none)'
        }`,
      );
      console.log(
        `  paceline:  ${
          (r.paceline?.actions ?? [])
            .map((a) => describeAction(a))
            .sort()
            .join('; ') || '(none)'
        }`,
      );
    }
  else if (values.minimise !== undefined) minimise(Number(values.minimise));
  else
    for (let seed = firstSeed; seed < firstSeed + count; seed++) {
      const [g] = fc.sample(arbCluster, { seed, numRuns: 1 });
      const { config, status, features } = build(g);
      const { xml, difference, pacemaker, paceline } = compareOnce(config, status, join(work, `seed-${seed}.xml`));
      const r = { seed, features, difference, pacemaker, paceline };
      if (difference !== null) {
        const saved = join(cacheDir, `seed-${seed}.xml`);
        writeFileSync(saved, xml);
        r.saved = relative(root, saved);
      }
      results.push(r);
    }
} finally {
  rmSync(work, { recursive: true, force: true });
}
if (values.minimise !== undefined || values.cib !== undefined || values.corpus !== undefined) process.exit(0);

// ---- report ----
const bad = results.filter((r) => r.difference !== null);
const fmt = (list) =>
  (list ?? [])
    .map((a) => describeAction(a))
    .sort()
    .join('; ') || '(none)';
for (const r of bad) {
  console.log(`seed ${r.seed} [${r.features.join(',')}]: ${r.difference}`);
  console.log(`    reproduce: LC_ALL=C CIB_shadow_dir=$(mktemp -d) crm_simulate -x ${r.saved} -S`);
  if (values.verbose && r.pacemaker && r.paceline) {
    console.log(`    pacemaker: ${fmt(r.pacemaker.actions)}`);
    console.log(`    paceline:  ${fmt(r.paceline.actions)}`);
  }
}
const classes = new Map();
for (const r of bad) {
  const c = classify(r.difference);
  classes.set(c, [...(classes.get(c) ?? []), r.seed]);
}
console.log('');
if (classes.size > 0) {
  console.log('disagreements by class (first difference):');
  for (const [c, seeds] of [...classes].sort((a, b) => b[1].length - a[1].length))
    console.log(`  ${String(seeds.length).padStart(4)}  ${c}  (seeds ${seeds.slice(0, 8).join(', ')}${seeds.length > 8 ? ', ...' : ''})`);
  const byFeature = new Map();
  for (const r of results)
    for (const f of r.features) {
      const e = byFeature.get(f) ?? { total: 0, bad: 0 };
      e.total++;
      if (r.difference !== null) e.bad++;
      byFeature.set(f, e);
    }
  console.log('disagreement rate by feature present:');
  for (const [f, e] of [...byFeature].sort()) console.log(`  ${f.padEnd(12)} ${e.bad}/${e.total}`);
}
const agree = results.length - bad.length;
// Cases crm_simulate itself could not run (it aborts on some inputs) say nothing about Paceline.
const crashed = results.filter((r) => r.difference?.startsWith('crm_simulate failed')).length;
if (crashed > 0) {
  const ran = results.length - crashed;
  console.log(`crm_simulate aborted on ${crashed} case(s); of the ${ran} it ran, ${agree}/${ran} agree (${((100 * agree) / ran).toFixed(1)}%)`);
}
console.log(
  `diff:pacemaker: ${agree}/${results.length} agree (${((100 * agree) / results.length).toFixed(1)}%), seeds ${firstSeed}..${firstSeed + count - 1}` +
    `${values.nodes ? ', node flags compared' : ''}, ${((Date.now() - started) / 1000).toFixed(1)} s`,
);
process.exit(0);
