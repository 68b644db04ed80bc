/**
 * Real-daemon tests of service agents (httpd, bind, samba, cyrus, sendmail, radius), each in a
 * network namespace of its own. The agent runs inside the namespace (`ip netns exec NS node
 * agent-driver.mjs`), so its protocol checks and its view of /proc/net are the namespace's; it
 * runs the *built* agent (npm run build first, as `npm test` does). Also: the daemon's recorded
 * pid, a hand-started daemon, and ocf-tester on the agent exported with `exportOcf`.
 *
 *   const lab = new ServiceLab('web');             // namespaces web<pid>-<name>, deleted by cleanup()
 *   const ns = lab.ns('a', ['10.77.0.1/32']);       // loopback up, with these addresses
 *   const r = await lab.act(ns, 'httpd', 'httpdAgent', 'start', params, { stateDir });
 *   lab.ocfTester(ns, 'httpd', { server: 'nginx', ... }, { rscTmp }) → { passed, output }
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ActionResult, AgentAction } from '@paceline/agent-api';
import { exportOcf } from '@paceline/ocf';
import { netnsPids, netnsSkipReason, tryRunIn } from '@paceline/testkit/netns';
import { NetLab } from './netlab.js';

export const repoRoot = fileURLToPath(new URL('../../../..', import.meta.url));
const DRIVER = fileURLToPath(new URL('./agent-driver.mjs', import.meta.url));

/** The built entry of an agent package (`httpd` → agents/httpd/dist/index.js). */
export const builtAgent = (name: string): string => join(repoRoot, 'agents', name, 'dist', 'index.js');

/**
 * Why the service tests of `agent` cannot run here (not root, no namespaces, a missing program,
 * an unbuilt package), or undefined when they can.
 */
export function serviceSkipReason(agent: string, programs: readonly string[]): string | undefined {
  const ns = netnsSkipReason();
  if (ns) return `${ns} (service tests start real daemons in network namespaces)`;
  for (const p of programs) {
    const found = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'].some((d) => existsSync(join(d, p)));
    if (!found) return `${p} is not installed (scripts/setup.sh installs the services)`;
  }
  for (const f of [builtAgent(agent), join(repoRoot, 'packages/agent-api/dist/index.js'), join(repoRoot, 'packages/ocf/dist/runner.js')])
    if (!existsSync(f)) return `${f} is missing: run npm run build first`;
  return undefined;
}

export interface ActOptions {
  readonly stateDir: string;
  readonly instance?: string;
  readonly timeoutMs?: number;
  readonly interval?: number;
}

export class ServiceLab {
  readonly net: NetLab;
  private readonly dirs: string[] = [];

  constructor(prefix: string) {
    this.net = new NetLab(prefix);
  }

  /** A namespace with loopback up and `addresses` (CIDR) on its loopback (no dummy module needed). */
  ns(name: string, addresses: readonly string[] = []): string {
    const ns = this.net.ns(name);
    for (const a of addresses) this.net.exec(ns, 'ip', ['addr', 'add', a, 'dev', 'lo']);
    return ns;
  }

  /** A new directory (mode 0755, so daemons that drop privileges can read it), removed by cleanup(). */
  dir(tag: string): string {
    const d = mkdtempSync(join(tmpdir(), `paceline-${tag}-`));
    chmodSync(d, 0o755);
    this.dirs.push(d);
    return d;
  }

  /** Runs one action of the built agent `agentExport` from agents/`agent` inside `ns`; its ActionResult. */
  act(ns: string, agent: string, agentExport: string, action: AgentAction, params: unknown, o: ActOptions): Promise<ActionResult> {
    const req = {
      repo: repoRoot,
      module: builtAgent(agent),
      agent: agentExport,
      action,
      params,
      stateDir: o.stateDir,
      instance: o.instance ?? 'svc',
      timeoutMs: o.timeoutMs ?? 30_000,
      interval: o.interval ?? 0,
    };
    return new Promise((resolve, reject) => {
      const child = spawn('ip', ['netns', 'exec', ns, process.execPath, DRIVER, JSON.stringify(req)], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString();
      });
      child.stderr.on('data', (b: Buffer) => {
        err += b.toString();
      });
      child.once('error', reject);
      child.once('close', (code) => {
        const line = out.trim().split('\n').pop() ?? '';
        try {
          resolve(JSON.parse(line) as ActionResult);
        } catch (e) {
          reject(new Error(`agent driver (${action}) exited ${code}: ${err.trim() || out.trim() || (e as Error).message}`));
        }
      });
    });
  }

  /** Runs a program in `ns`: status and output. */
  run(ns: string, file: string, args: readonly string[], timeoutMs = 30_000): { status: number | null; stdout: string; stderr: string } {
    return tryRunIn(ns, file, args, timeoutMs);
  }

  /**
   * Exports agents/`agent` as an OCF agent and runs ocf-tester on it inside `ns` with `params`
   * (as -o name=value; arrays and objects as JSON). The shim keeps its state under `rscTmp`.
   */
  async ocfTester(ns: string, agent: string, params: Readonly<Record<string, unknown>>, rscTmp: string): Promise<{ passed: boolean; output: string }> {
    const out = this.dir(`${agent}-ocf`);
    const { shimPath } = await exportOcf({ module: agent, outDir: out, resolveFrom: repoRoot });
    const opts = Object.entries(params).flatMap(([k, v]) => ['-o', `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`]);
    const r = spawnSync('ip', ['netns', 'exec', ns, 'ocf-tester', '-n', `${agent}-ocf`, ...opts, shimPath], {
      encoding: 'utf8',
      env: { ...process.env, HA_RSCTMP: rscTmp },
      timeout: 180_000,
    });
    const output = `${r.stdout ?? ''}${r.stderr ?? ''}`;
    return { passed: r.status === 0 && output.includes('passed all tests'), output };
  }

  /** The pid recorded in the agent's state directory (`daemon.json` by default). */
  static recordedPid(stateDir: string, file = 'daemon.json'): number {
    return (JSON.parse(readFileSync(join(stateDir, file), 'utf8')) as { pid: number }).pid;
  }

  /** The live (non-zombie) processes inside `ns`, with their command names. */
  processes(ns: string): { pid: number; comm: string }[] {
    const out: { pid: number; comm: string }[] = [];
    for (const pid of netnsPids(ns)) {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        if (stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z') continue;
        out.push({ pid, comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) });
      } catch (e) {
        void e; // gone meanwhile
      }
    }
    return out;
  }

  /** Kills whatever still runs in the namespaces (stopped daemons too), deletes them and the directories. */
  cleanup(): void {
    this.net.cleanup();
    for (const d of this.dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  }
}
