/**
 * Real OCF scripts through the bridge: Debian's ocf:heartbeat:Dummy, a fake agent that records
 * its environment and misbehaves on purpose, and the agent-api test kit on the bridged Dummy.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { capabilitiesOf, hasCapability, testAgent, formatReport, validateParams, AgentRegistry, silentLogger } from '@paceline/agent-api';
import { OcfError, createOcfResolver, createProcessRunner, loadOcfAgent, ocfRefResolver, systemClock } from '@paceline/ocf';
import { act } from './helpers/netlab.js';

const run = createProcessRunner();
const haveDummy = existsSync('/usr/lib/ocf/resource.d/heartbeat/Dummy');
const itDummy = haveDummy ? it : it.skip;
if (!haveDummy) console.log('skipping ocf:heartbeat:Dummy tests: resource-agents is not installed');

const FAKE_META = `<?xml version="1.0"?>
<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">
<resource-agent name="Fake">
<version>1.0</version>
<longdesc lang="en">test agent</longdesc><shortdesc lang="en">test</shortdesc>
<parameters>
<parameter name="dir" required="1"><longdesc lang="en">d</longdesc><shortdesc lang="en">d</shortdesc><content type="string"/></parameter>
<parameter name="rc"><longdesc lang="en">r</longdesc><shortdesc lang="en">r</shortdesc><content type="integer" default="7"/></parameter>
</parameters>
<actions>
<action name="start" timeout="20s"/><action name="stop" timeout="20s"/>
<action name="monitor" timeout="20s" interval="10s"/>
<action name="promote" timeout="20s"/><action name="demote" timeout="20s"/>
<action name="notify" timeout="20s"/><action name="meta-data" timeout="5s"/>
</actions>
</resource-agent>`;

const FAKE = `#!/bin/sh
case "$1" in
meta-data) cat "$(dirname "$0")/meta.xml"; exit 0 ;;
start) env > "$OCF_RESKEY_dir/env"; exit 0 ;;
monitor) exit "\${OCF_RESKEY_rc:-7}" ;;
stop) echo "some noise" >&2; echo "ocf-exit-reason:the disk is on fire" >&2; exit 1 ;;
promote) sleep 300 & echo $! > "$OCF_RESKEY_dir/child.pid"; sleep 300 ;;
notify) env > "$OCF_RESKEY_dir/notify-env"; exit 0 ;;
*) exit 3 ;;
esac
`;

describe('the OCF bridge', () => {
  let root: string;
  let work: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'paceline-ocfroot-'));
    work = mkdtempSync(join(tmpdir(), 'paceline-ocfwork-'));
    mkdirSync(join(root, 'resource.d', 'test'), { recursive: true });
    writeFileSync(join(root, 'resource.d', 'test', 'meta.xml'), FAKE_META);
    writeFileSync(join(root, 'resource.d', 'test', 'Fake'), FAKE);
    chmodSync(join(root, 'resource.d', 'test', 'Fake'), 0o755);
  });
  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  itDummy('runs ocf:heartbeat:Dummy through start, monitor, stop', async () => {
    const dummy = await loadOcfAgent('ocf:heartbeat:Dummy', { run, rscTmp: work });
    expect(capabilitiesOf(dummy)).toEqual(['migratable', 'reloadable', 'validatable']);
    expect(dummy.meta.uniqueParams).toEqual(['state']);
    const outcome = async (action: 'start' | 'stop' | 'monitor') => (await act(dummy, action, {}, run, { instance: 'd1' })).outcome;
    expect(await outcome('monitor')).toBe('not-running');
    expect(await outcome('start')).toBe('ok');
    expect(existsSync(join(work, 'Dummy-d1.state'))).toBe(true);
    expect(await outcome('monitor')).toBe('ok');
    expect(await outcome('stop')).toBe('ok');
    expect(await outcome('stop')).toBe('ok');
    expect(await outcome('monitor')).toBe('not-running');
  });

  itDummy('passes the agent test kit on ocf:heartbeat:Dummy', async () => {
    const dummy = await loadOcfAgent('ocf:heartbeat:Dummy', { run, rscTmp: work });
    const report = await testAgent(dummy, {}, { runner: run, instance: 'kit', badParams: [{ nosuch: 1 }] });
    if (!report.passed) console.log(formatReport(report));
    expect(report.passed).toBe(true);
  });

  it('catches bad parameters before the script runs, naming resource and parameter', async () => {
    const fake = await loadOcfAgent('ocf:test:Fake', { run, ocfRoot: root });
    const r = await act(fake, 'start', { rc: 'x' }, run, { instance: 'web', unparsed: true });
    expect(r).toMatchObject({ execution: 'done', outcome: 'misconfigured' });
    // Worded as for every agent: the resource and agent, then each parameter.
    expect(r.reason).toBe('resource "web" (ocf:test:Fake): parameter "dir": is required but missing; parameter "rc": must be an integer, got "x"');
    expect(existsSync(join(work, 'env'))).toBe(false);
    expect(() => fake.parseParams({ dri: '/tmp' }, 'web')).toThrow(OcfError);
    expect(() => fake.parseParams({ dri: '/tmp' }, 'web')).toThrow(
      'resource "web" (ocf:test:Fake): parameter "dir": is required but missing; parameter "dri": unknown parameter (did you mean "dir"?)',
    );
    // The executor's check (validateParams) says the same for an OCF agent as for a native one.
    const v = validateParams(fake, { dir: '/tmp', rx: '7' }, 'web');
    expect(v.ok ? '' : v.message).toBe('resource "web" (ocf:test:Fake): parameter "rx": unknown parameter (did you mean "rc"?)');
  });

  it("gives the script Pacemaker's environment", async () => {
    const fake = await loadOcfAgent('ocf:test:Fake', { run, ocfRoot: root, rscTmp: work });
    const r = await fake.start(
      { dir: work },
      {
        node: 'alpha',
        instance: 'web:1',
        stateDir: work,
        run,
        log: silentLogger,
        clock: systemClock,
        signal: new AbortController().signal,
        deadline: Date.now() + 15_000,
        op: { name: 'start', interval: 0, timeout: 15_000 },
        meta: { 'clone-max': '2', notify: 'true' },
      },
    );
    expect(r.outcome).toBe('ok');
    const env = Object.fromEntries(
      readFileSync(join(work, 'env'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    expect(env).toMatchObject({
      OCF_ROOT: root,
      OCF_RA_VERSION_MAJOR: '1',
      OCF_RESOURCE_INSTANCE: 'web:1',
      OCF_RESOURCE_TYPE: 'Fake',
      OCF_RESOURCE_PROVIDER: 'test',
      OCF_RESKEY_dir: work,
      OCF_RESKEY_CRM_meta_timeout: '15000',
      OCF_RESKEY_CRM_meta_interval: '0',
      OCF_RESKEY_CRM_meta_name: 'start',
      OCF_RESKEY_CRM_meta_on_node: 'alpha',
      OCF_EXIT_REASON_PREFIX: 'ocf-exit-reason:',
      HA_RSCTMP: work,
      OCF_RESKEY_CRM_meta_clone_max: '2',
      OCF_RESKEY_CRM_meta_notify: 'true',
    });
    expect(env['OCF_RESKEY_rc']).toBeUndefined();
  });

  it.each([
    [0, 'ok'],
    [7, 'not-running'],
    [8, 'running-promoted'],
    [9, 'failed-promoted'],
    [6, 'misconfigured'],
    [190, 'degraded'],
    [42, 'generic-error'],
  ])('maps exit code %i to %s', async (rc, outcome) => {
    const fake = await loadOcfAgent('ocf:test:Fake', { run, ocfRoot: root });
    expect(await act(fake, 'monitor', { dir: work, rc }, run)).toMatchObject({ execution: 'done', outcome });
  });

  it('takes the exit reason from stderr', async () => {
    const fake = await loadOcfAgent('ocf:test:Fake', { run, ocfRoot: root });
    expect(await act(fake, 'stop', { dir: work }, run)).toMatchObject({ outcome: 'generic-error', reason: 'the disk is on fire' });
  });

  it('derives capabilities from the advertised actions', async () => {
    const fake = await loadOcfAgent('ocf:test:Fake', { run, ocfRoot: root });
    expect(capabilitiesOf(fake)).toEqual(['notifiable', 'promotable']);
  });

  it('passes notification data as CRM_meta_notify_*', async () => {
    const fake = await loadOcfAgent('ocf:test:Fake', { run, ocfRoot: root });
    const ctxExtra = {
      notification: { type: 'pre' as const, operation: 'start' as const, active: ['a'], starting: ['b', 'c'], stopping: [], promoting: [], demoting: [] },
    };
    if (!hasCapability(fake, 'notifiable')) throw new Error('the fake agent advertises notify');
    const r = await fake.notify(
      { dir: work },
      {
        node: 'a',
        instance: 'x',
        stateDir: work,
        run,
        log: {
          debug() {},
          info() {},
          warn() {},
          error() {},
          child() {
            return this;
          },
        },
        clock: { now: () => Date.now(), sleep: async () => undefined },
        signal: new AbortController().signal,
        deadline: Date.now() + 10_000,
        op: { name: 'notify', interval: 0, timeout: 10_000 },
        ...ctxExtra,
      },
    );
    expect(r.outcome).toBe('ok');
    const env = readFileSync(join(work, 'notify-env'), 'utf8');
    expect(env).toContain('OCF_RESKEY_CRM_meta_notify_type=pre');
    expect(env).toContain('OCF_RESKEY_CRM_meta_notify_start_uname=b c');
  });

  it('kills the whole process group on timeout', async () => {
    const fake = await loadOcfAgent('ocf:test:Fake', { run, ocfRoot: root });
    const r = await act(fake, 'promote', { dir: work }, run, { timeoutMs: 800 });
    expect(r.execution).toBe('timeout');
    const pid = Number(readFileSync(join(work, 'child.pid'), 'utf8'));
    // The background child of the script must be gone too (give the kernel a moment to reap).
    let alive = true;
    for (let i = 0; i < 50 && alive; i++) {
      try {
        process.kill(pid, 0);
        await new Promise((r) => setTimeout(r, 100));
      } catch {
        alive = false;
      }
    }
    expect(alive).toBe(false);
  });

  it('reports a missing agent clearly', async () => {
    await expect(loadOcfAgent('ocf:test:Nope', { run, ocfRoot: root })).rejects.toThrow(/ocf:test:Nope: no executable agent at .*resource.d\/test\/Nope/);
  });

  it('resolves ocf: references for the agent registry, once each', async () => {
    const resolver = createOcfResolver({ run, ocfRoot: root });
    expect(resolver.canResolve('ocf:test:Fake')).toBe(true);
    expect(resolver.canResolve('paceline:ip')).toBe(false);
    const a = await resolver.resolve('ocf:test:Fake');
    expect(await resolver.resolve('ocf:test:Fake')).toBe(a);
    const registry = new AgentRegistry().addResolver('ocf', ocfRefResolver({ run, ocfRoot: root }));
    expect((await registry.resolve('ocf:test:Fake'))?.meta.name).toBe('ocf:test:Fake');
  });
});
