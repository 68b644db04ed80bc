/**
 * The witness arbiter of the simulated cluster: the real decision (`arbiterStep` of
 * @paceline/membership) on the simulated clock, reached directly by each host's client — when the
 * host can reach the witness on the LAN (the harness decides; a cut-off node gets "unreachable", as
 * a real client's timeout would give it). Requests carry the daemon's incarnation and a sequence
 * number per client, as the UDP client's do; a request the arbiter drops (e.g. from an older
 * incarnation of the name, a clone's sibling) gets no answer, which the client reports as
 * unreachable. The arbiter may restart (its start-up hold applies).
 */
import { arbiterStep, initialArbiterState, resolveArbiterConfig, type ArbiterEvent, type ArbiterRequest, type VoteAnswer } from '@paceline/membership';
import type { DaemonArbiter } from '@paceline/daemon';
import type { Prng } from '@paceline/testkit';

export class SimArbiter {
  private readonly config;
  private state;

  constructor(
    nodes: readonly string[],
    private readonly now: () => number,
    private readonly prng: Prng,
    private readonly onEvent: (e: ArbiterEvent) => void,
  ) {
    this.config = resolveArbiterConfig({ nodes: [...nodes] });
    // Up long before the cluster started: no start-up hold at first.
    this.state = initialArbiterState(this.config, now() - this.config.startupHoldMs - 1);
  }

  /** The arbiter process restarts: it forgets the holder and the requests seen (start-up hold). */
  restart(): void {
    this.state = initialArbiterState(this.config, this.now());
  }

  /** A client for one daemon: `boot` is its incarnation, `reachable` whether its host reaches the witness now. */
  client(node: string, boot: () => number, reachable: () => boolean): DaemonArbiter {
    let seq = 0;
    const ask = (type: 'claim' | 'release', lost: readonly string[]): ReturnType<DaemonArbiter['claim']> => {
      if (!reachable()) return Promise.resolve({ vote: 'unreachable', detail: 'the witness does not answer (this node cannot reach it on the LAN)' });
      const nonce = Array.from({ length: 4 }, () => this.prng.nextUint32().toString(16).padStart(8, '0')).join('');
      const base = { v: 1 as const, node, boot: boot(), seq: ++seq, sentAt: Math.floor(this.now()), nonce };
      const request: ArbiterRequest = type === 'claim' ? { ...base, type, lost: [...lost] } : { ...base, type };
      const r = arbiterStep(this.state, { request, now: this.now() });
      this.state = r.state;
      this.onEvent(r.event);
      const reply = r.reply;
      if (reply === undefined)
        return Promise.resolve({
          vote: 'unreachable',
          detail: `no answer (the witness dropped the request: ${r.event.type === 'dropped' ? r.event.reason : r.event.type})`,
        });
      const answer: VoteAnswer =
        reply.vote === 'granted'
          ? { vote: 'granted', holder: node, leaseMs: reply.leaseMs }
          : reply.vote === 'refused'
            ? { vote: 'refused', holder: reply.holder, leaseMs: reply.leaseMs }
            : reply.vote === 'unavailable'
              ? { vote: 'unreachable', detail: `the witness restarted recently (${reply.retryInMs} ms)` }
              : { vote: 'unreachable', detail: 'released' };
      return Promise.resolve(answer);
    };
    return {
      claim: (lost) => ask('claim', lost),
      release: async () => {
        await ask('release', []);
      },
      dispose: async () => undefined,
    };
  }
}
