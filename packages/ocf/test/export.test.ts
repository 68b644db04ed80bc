/**
 * Paceline agents as OCF resource agents: generated meta-data (valid against ra-api-1.dtd), the
 * shim's action handling, and Debian's ocf-tester on exported agents.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { defineAgent, ok, notRunning } from '@paceline/agent-api';
import type { ResourceAgent } from '@paceline/agent-api';
import { exportOcf, generateOcfMetadata, systemClock, createProcessRunner } from '@paceline/ocf';
import { findAgent, paramsFromEnv, runOcfAction } from '../src/shim.js';
import type { ShimIo } from '../src/shim.js';

const repo = fileURLToPath(new URL('../../..', import.meta.url));
const DTD = '/usr/share/resource-agents/ra-api-1.dtd';
const work = mkdtempSync(join(tmpdir(), 'paceline-export-'));
// ocf-tester runs `meta-data` as user nobody: the shim's folder must be reachable.
chmodSync(work, 0o755);
afterAll(() => rmSync(work, { recursive: true, force: true }));

const running = new Set<string>();
const toy = defineAgent({
  meta: { name: 'toy', version: '1.2.3', description: 'A toy. It has two sentences.', uniqueParams: ['name'], defaultTimeouts: { start: 30_000 } },
  params: z.object({
    name: z.string().describe('The toy <name> & such'),
    size: z.number().int().default(3).describe('How big'),
    loud: z.boolean().default(false).describe('Make noise'),
    colour: z.enum(['red', 'blue']).optional().describe('Colour'),
    tags: z.array(z.string()).default([]).describe('Tags'),
  }),
  start: async (p) => (running.add(p.name), ok()),
  stop: async (p) => (running.delete(p.name), ok()),
  monitor: async (p) => (running.has(p.name) ? ok() : notRunning()),
});

/** Validates like ocf-tester does: xmllint --valid against ra-api-1.dtd, from the DTD's folder. */
function xmllintValid(xml: string): { ok: boolean; out: string } {
  const r = spawnSync('xmllint', ['--noout', '--valid', '-'], { input: xml, cwd: '/usr/share/resource-agents', encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
}
/** Runs a program without blocking the event loop (so concurrent tests overlap). */
function runAsync(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

const haveLint = existsSync(DTD) && spawnSync('xmllint', ['--version']).status === 0;

describe('generateOcfMetadata', () => {
  const xml = generateOcfMetadata(toy as ResourceAgent);
  it('describes every parameter with type, default, required and unique', () => {
    expect(xml).toContain('<parameter name="name" unique="1" required="1">');
    expect(xml).toContain('<longdesc lang="en">The toy &lt;name&gt; &amp; such</longdesc>');
    expect(xml).toContain('<content type="integer" default="3" />');
    expect(xml).toContain('<content type="boolean" default="false" />');
    expect(xml).toContain('Colour One of: red, blue.');
    expect(xml).toContain('<action name="start" timeout="30s" />');
    expect(xml).not.toContain('name="promote"');
  });
  (haveLint ? it : it.skip)('is valid against ra-api-1.dtd', () => {
    const r = xmllintValid(xml);
    expect(r.out).toBe('');
    expect(r.ok).toBe(true);
  });
});

describe('runOcfAction', () => {
  const io = (argv: string[], env: Record<string, string> = {}) => {
    const out: string[] = [];
    const err: string[] = [];
    const shim: ShimIo = {
      argv,
      env: { OCF_RESOURCE_INSTANCE: 'toy1', HA_RSCTMP: work, ...env },
      stdout: (t) => out.push(t),
      stderr: (t) => err.push(t),
      run: createProcessRunner(),
      clock: systemClock,
      signal: new AbortController().signal,
      mkdirp: (d) => mkdirSync(d, { recursive: true }),
      hostname: 'h1',
    };
    return { shim, out, err };
  };
  it('reads typed parameters from OCF_RESKEY_*', () => {
    expect(
      paramsFromEnv(toy as ResourceAgent, {
        OCF_RESKEY_name: 'a',
        OCF_RESKEY_size: '7',
        OCF_RESKEY_loud: 'yes',
        OCF_RESKEY_tags: 'x y',
        OCF_RESKEY_CRM_meta_timeout: '1',
      }),
    ).toEqual({ name: 'a', size: 7, loud: true, tags: ['x', 'y'] });
  });
  it('runs start, monitor and stop with OCF exit codes', async () => {
    const env = { OCF_RESKEY_name: 'ball' };
    expect(await runOcfAction(toy as ResourceAgent, 'toy', io(['monitor'], env).shim)).toBe(7);
    expect(await runOcfAction(toy as ResourceAgent, 'toy', io(['start'], env).shim)).toBe(0);
    expect(await runOcfAction(toy as ResourceAgent, 'toy', io(['status'], env).shim)).toBe(0);
    expect(await runOcfAction(toy as ResourceAgent, 'toy', io(['validate-all'], env).shim)).toBe(0);
    expect(await runOcfAction(toy as ResourceAgent, 'toy', io(['stop'], env).shim)).toBe(0);
  });
  it('rejects bad parameters with OCF_ERR_CONFIGURED and a reason naming resource and parameter', async () => {
    const { shim, err } = io(['start'], { OCF_RESKEY_name: 'b', OCF_RESKEY_size: 'huge' });
    expect(await runOcfAction(toy as ResourceAgent, 'toy', shim)).toBe(6);
    expect(err.join('')).toMatch(/^ocf-exit-reason:resource "toy1": parameter "size" /m);
  });
  it('answers unsupported actions with OCF_ERR_UNIMPLEMENTED', async () => {
    for (const a of ['promote', 'notify', 'reload', 'migrate_to', 'bogus']) {
      expect(await runOcfAction(toy as ResourceAgent, 'toy', io([a], { OCF_RESKEY_name: 'c' }).shim)).toBe(3);
    }
  });
  it('prints meta-data without parameters', async () => {
    const { shim, out } = io(['meta-data']);
    expect(await runOcfAction(toy as ResourceAgent, 'toy', shim)).toBe(0);
    expect(out.join('')).toContain('<resource-agent name="toy"');
  });
  it('finds the agent in a module by export or by name', () => {
    const mod = { toy, other: { ...toy, meta: { ...toy.meta, name: 'other' } }, helper: 3 };
    expect(findAgent(mod, 'other', 'm').exportName).toBe('other');
    expect(findAgent({ x: toy }, undefined, 'm').exportName).toBe('x');
    expect(() => findAgent(mod, undefined, 'm')).toThrow(/several agents \(other, toy\); name one/);
    expect(() => findAgent(mod, 'nope', 'm')).toThrow(/no agent "nope"/);
  });
});

/** Exported agents under Debian's ocf-tester (needs the built packages: npm run build). */
describe('ocf-tester on exported agents', () => {
  const built = (pkg: string) => existsSync(join(repo, pkg, 'dist', 'index.js'));
  const haveTester = existsSync('/usr/sbin/ocf-tester');
  const cases: { module: string; agent?: string; instance: string; params: string[] }[] = [
    { module: 'dummy', instance: 'dummy1', params: [] },
    { module: 'dummy', agent: 'stateful', instance: 'stateful1', params: [] },
    { module: 'process', instance: 'proc1', params: ['command=/bin/sleep', 'args=600'] },
  ];
  for (const c of cases) {
    const dir = c.module === 'process' ? 'agents/process' : 'agents/dummy';
    const why = !haveTester
      ? 'ocf-tester (resource-agents) is not installed'
      : !built('packages/ocf') || !built(dir)
        ? `${dir} or packages/ocf is not built (run npm run build)`
        : undefined;
    const name = `${c.agent ?? c.module}`;
    if (why) {
      it.skip(`${name}: ${why}`, () => undefined);
      console.log(`skipping ocf-tester on ${name}: ${why}`);
      continue;
    }
    // The three run at once: each ocf-tester run is mostly waiting for node to start the shim (a
    // dozen times: over a minute on a machine under load 30, hence 180 s).
    it.concurrent(
      `passes for the exported ${name} agent`,
      async () => {
        const exported = await exportOcf({ module: c.module, ...(c.agent ? { agent: c.agent } : {}), outDir: join(work, 'ra'), resolveFrom: repo });
        if (haveLint) expect(xmllintValid(exported.metadata).out).toBe('');
        const rsc = mkdtempSync(join(work, 'rsc-'));
        const r = await runAsync('ocf-tester', ['-n', c.instance, ...c.params.flatMap((p) => ['-o', p]), exported.shimPath], {
          ...process.env,
          HA_RSCTMP: rsc,
        });
        if (r.status !== 0) console.log(r.stdout, r.stderr);
        expect(r.stdout).toContain('passed all tests');
        expect(r.status).toBe(0);
      },
      180_000,
    );
  }
});
