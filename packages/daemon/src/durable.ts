/**
 * What this node has saved, and answers that wait for it. The state file is rewritten whenever the
 * document, the fail counts or the peers' incarnations change (writes coalesce: the newest state
 * is the one left on disk); "I hold this document" and "your change is done" are said only once the
 * document is durable here (file and directory synced), so that an acknowledged change survives a
 * power loss of every node. A failing write (a full disk) is logged once per distinct error and
 * tried again at the next change or every few seconds.
 */
import type { Logger } from '@paceline/agent-api';
import { DOC_ACK, type CoreCommand } from './core.js';
import type { ClusterDoc } from './messages.js';
import { StateWriter, type PersistedStateInput } from './store.js';

/** What the keeper needs from the daemon. */
export interface DurableStatePorts {
  readonly node: string;
  readonly stateDir: string;
  readonly log: Logger;
  /** The state to save now; `running` is false only in the last write of a clean shutdown. */
  snapshot(running: boolean): PersistedStateInput;
  /** The key (`docKey`) of a saved document. */
  docKey(doc: ClusterDoc): string;
}

/** The epoch and key of a document saved and synced. */
export interface SavedDoc {
  readonly epoch: number;
  readonly key: string;
}

export class DurableState {
  private readonly writer: StateWriter;
  /** The document in the last state file written and synced. */
  private saved: SavedDoc | undefined;
  /** Why the last state write failed (cleared by the next that succeeds). */
  private error: string | undefined;
  /** The shutdown's final write is under way: later writes of a running state are not made. */
  private final = false;

  constructor(private readonly p: DurableStatePorts) {
    this.writer = new StateWriter(
      p.stateDir,
      (e) => {
        // Said once per distinct error (a full disk fails every retry the same way), debug after.
        if (this.error !== e.message) p.log.error('cannot persist the state', { error: e.message });
        else p.log.debug('cannot persist the state (again)', { error: e.message });
        this.error = e.message;
      },
      (st) => {
        if (this.error !== undefined) p.log.info('the state is saved again');
        this.error = undefined;
        this.saved = { epoch: st.doc.epoch, key: p.docKey(st.doc as ClusterDoc) };
      },
    );
  }

  /** Saves the state as it is now (the daemon is running). */
  persist(): Promise<void> {
    if (this.final) return this.writer.flush();
    return this.writer.save(this.p.snapshot(true));
  }

  /** Saves again when the last write failed (the space may be back). */
  retryIfFailed(): void {
    if (this.error !== undefined) void this.persist();
  }

  /** From now on only the shutdown's last write is made (`saveStopped`). */
  finishing(): void {
    this.final = true;
  }

  /** The last write of a clean shutdown: the state says the daemon is not running. */
  async saveStopped(): Promise<void> {
    await this.writer.save(this.p.snapshot(false));
    await this.writer.flush();
  }

  /** Waits for the writes under way. */
  flush(): Promise<void> {
    return this.writer.flush();
  }

  /**
   * Waits for the state writes under way; undefined when the saved document then satisfies `ok`,
   * else why not (the last write error). Writes again first when the last one failed (the space may
   * be back), so that a retransmitted document is acknowledged once it can be saved.
   */
  async whenDurable(ok: (saved: SavedDoc) => boolean): Promise<string | undefined> {
    this.retryIfFailed();
    await this.writer.flush();
    if (this.saved !== undefined && ok(this.saved)) return undefined;
    return this.error ?? 'it was not saved';
  }

  /**
   * Delivers the core's `reply` once what it confirms is on disk here: a document acknowledgement
   * once that document (or a newer one made from it here meanwhile: the writes coalesce) is saved; a
   * change done once its epoch is; a refusal at once.
   */
  replyWhenDurable(c: Extract<CoreCommand, { type: 'reply' }>, deliver: (ok: boolean, message: string) => void): void {
    if (c.reqId.startsWith(DOC_ACK)) {
      const key = c.reqId.slice(DOC_ACK.length);
      const epoch = Number.parseInt(key, 10);
      void this.whenDurable((d) => d.key === key || d.epoch > epoch).then((error) => deliver(error === undefined, error ?? c.message));
    } else if (c.ok && c.epoch !== undefined) {
      const epoch = c.epoch;
      void this.whenDurable((d) => d.epoch >= epoch).then((error) =>
        deliver(
          error === undefined,
          error === undefined
            ? c.message
            : `${c.message} is in effect, but ${this.p.node} could not save it (${error}): a power loss there would lose it; free the space there, then check \`paceline config show\``,
        ),
      );
    } else deliver(c.ok, c.message);
  }

  /** The epoch and key of the document last saved (for the peer router's acknowledgements). */
  get savedKey(): string | undefined {
    return this.saved?.key;
  }
}
