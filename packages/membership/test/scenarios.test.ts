/**
 * Scripted membership scenarios (test/scenarios/*.txt), run on the simulated cluster harness.
 * Each file is a sequence of commands with their expected output; `UPDATE_SCENARIOS=1` rewrites
 * the expected outputs (review the diff before committing). Commands:
 *
 *   cluster nodes=a,b links=crossover,lan [twoNode=true] [policy=fence|witness|stop-all]
 *           [fencing=auto|fail|manual] [seed=N] [<any numeric/boolean membership setting>=V]
 *   start a b | kill a | crash a | stop a
 *                                        start (new incarnation), power loss (silence), daemon crash
 *                                        with the host up (packets refused), clean shutdown
 *   tick N [hide=type,type]              run N ticks, print the events (tick node event)
 *   partition LINK a,b|c  / heal LINK|all
 *   drop LINK P%  / delay LINK N
 *   witness NODE reachable|unreachable|none
 *   arbiter NODE reachable|unreachable   (settings arbiter=true: a simulated `paceline witness`)
 *   weights NODE a=N,b=M                 feed NODE the fence-race weights
 *   clone NODE / stop-clone NODE         a second daemon under NODE's name (newer incarnation), stopped cleanly
 *   fence-result BY TARGET ok|fail       (with fencing=manual)
 *   inject ATTACK LINK FROM->TO          forged, truncated, oversized, malformed, replay, wrong-link, stale, unknown-sender
 *   status                               each live node's view
 *   safety                               mayRunResources and peerSafelyDown on each live node
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { explainMayRun, explainPeerSafelyDown, type MembershipNode } from '@paceline/membership';
import { MembershipHarness, parseScript, renderScript, type Attack, type FencingMode } from '@paceline/testkit';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'scenarios');
const update = process.env['UPDATE_SCENARIOS'] === '1';

function kv(args: string[]): Record<string, string> {
  return Object.fromEntries(
    args.map((a) => {
      const i = a.indexOf('=');
      if (i < 0) throw new Error(`expected key=value, got "${a}"`);
      return [a.slice(0, i), a.slice(i + 1)];
    }),
  );
}

function value(v: string): unknown {
  if (v === 'true') return true;
  if (v === 'false') return false;
  if (/^\d+$/.test(v)) return Number(v);
  return v;
}

class Runner {
  h: MembershipHarness | undefined;

  harness(): MembershipHarness {
    if (!this.h) throw new Error('the first command must be "cluster ..."');
    return this.h;
  }

  run(command: string): string[] {
    const [cmd = '', ...args] = command.split(/\s+/);
    switch (cmd) {
      case 'cluster': {
        const o = kv(args);
        const links = (o['links'] ?? 'crossover,lan').split(',');
        const nodes: MembershipNode[] = (o['nodes'] ?? 'serv1,serv2').split(',').map((name) => ({ name, links }));
        const config: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(o)) {
          if (['nodes', 'links', 'seed', 'fencing', 'fenceTicks'].includes(k)) continue;
          config[k === 'policy' ? 'partitionPolicy' : k] = value(v);
        }
        this.h = new MembershipHarness({
          nodes,
          config,
          seed: Number(o['seed'] ?? 1),
          fencing: (o['fencing'] ?? 'auto') as FencingMode,
          fenceTicks: Number(o['fenceTicks'] ?? 1),
        });
        return [];
      }
      case 'start':
        for (const n of args) this.harness().start(n);
        return [];
      case 'kill':
        for (const n of args) this.harness().kill(n);
        return [];
      case 'crash':
        for (const n of args) this.harness().crash(n);
        return [];
      case 'stop': {
        const h = this.harness();
        const from = h.trace.length;
        for (const n of args) h.stop(n);
        return MembershipHarness.format(h.trace.slice(from));
      }
      case 'tick': {
        const n = Number(args[0]);
        const hide = new Set((kv(args.slice(1))['hide'] ?? '').split(',').filter(Boolean));
        const entries = this.harness()
          .run(n)
          .filter((e) => !hide.has(e.event.type));
        return MembershipHarness.format(entries);
      }
      case 'partition': {
        const [link = '', spec = ''] = args;
        this.harness().network.partition(
          link,
          spec.split('|').map((g) => g.split(',')),
        );
        return [];
      }
      case 'heal':
        this.harness().network.heal(args[0] === 'all' ? undefined : args[0]);
        return [];
      case 'drop':
        this.harness().network.setLoss(args[0] ?? '', Number((args[1] ?? '').replace('%', '')) / 100);
        return [];
      case 'delay':
        this.harness().network.setDelay(args[0] ?? '', Number(args[1]));
        return [];
      case 'witness':
        this.harness().setWitness(args[0] ?? '', args[1] === 'none' ? undefined : args[1] === 'reachable');
        return [];
      case 'weights': {
        const w = Object.fromEntries(
          (args[1] ?? '')
            .split(',')
            .map((x) => x.split('='))
            .map(([k = '', v = '0']) => [k, Number(v)]),
        );
        this.harness().feed(args[0] ?? '', { type: 'weights', weights: w });
        return [];
      }
      case 'clone':
        this.harness().startClone(args[0] ?? '');
        return [];
      case 'stop-clone': {
        const h = this.harness();
        const from = h.trace.length;
        h.stopClone(args[0] ?? '');
        return MembershipHarness.format(h.trace.slice(from));
      }
      case 'arbiter':
        this.harness().setArbiterReachable(args[0] ?? '', args[1] === 'reachable');
        return [];
      case 'fence-result': {
        const h = this.harness();
        const from = h.trace.length;
        const [by = '', target = '', ok] = args;
        if (ok === 'ok' && h.alive(target)) h.kill(target);
        h.feed(by, { type: 'fence-result', node: target, ok: ok === 'ok' });
        return MembershipHarness.format(h.trace.slice(from));
      }
      case 'inject': {
        const h = this.harness();
        const from = h.trace.length;
        const [attack = '', link = '', route = ''] = args;
        const [a = '', b = ''] = route.split('->');
        h.inject(attack as Attack, link, a, b);
        return MembershipHarness.format(h.trace.slice(from));
      }
      case 'status':
        return this.harness().describe();
      case 'safety': {
        const h = this.harness();
        return h.aliveNodes().flatMap((n) => {
          const s = h.state(n);
          const may = explainMayRun(s);
          return [
            `${n}: mayRun=${may.yes} (${may.reason})`,
            ...Object.keys(s.peers).map((p) => {
              const a = explainPeerSafelyDown(s, p);
              return `${n}: peerSafelyDown(${p})=${a.yes} (${a.reason})`;
            }),
          ];
        });
      }
      default:
        throw new Error(`unknown command "${cmd}"`);
    }
  }
}

const files = readdirSync(dir)
  .filter((f) => f.endsWith('.txt'))
  .sort();

describe('membership scenarios', () => {
  it.each(files)('%s', (file) => {
    const path = join(dir, file);
    const blocks = parseScript(readFileSync(path, 'utf8'), file);
    const r = new Runner();
    const actual = blocks.map((b) => {
      try {
        return r.run(b.command);
      } catch (e) {
        throw new Error(`${file}:${b.line}: ${b.command}: ${(e as Error).message}`);
      }
    });
    if (update) {
      writeFileSync(path, renderScript(blocks.map((b, i) => ({ ...b, expected: actual[i] ?? [] }))));
      return;
    }
    blocks.forEach((b, i) => {
      expect({ at: `${file}:${b.line} ${b.command}`, output: actual[i] }).toEqual({ at: `${file}:${b.line} ${b.command}`, output: [...b.expected] });
    });
  });
});
