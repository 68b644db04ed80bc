/**
 * The web view's memory: a timeline of recent daemon events in words, and the last transitions
 * this node ran as coordinator (with their summaries: why each resource goes where it goes).
 * Bounded ring buffers; fed by the daemon's events.
 */
import type { TransitionInfo } from '@paceline/daemon';
import { actionResultLabel } from './metrics.js';
import { subscribe, type ObservedDaemon } from './source.js';

export interface TimelineEntry {
  readonly seq: number;
  readonly at: number;
  readonly level: 'info' | 'warn' | 'error';
  readonly kind: string;
  readonly text: string;
}

/** A transition as the web view lists it: the daemon's record plus the actions it ran, as they finished. */
export interface TransitionView extends TransitionInfo {
  readonly ran: readonly string[];
}

export interface TimelineOptions {
  readonly now?: () => number;
  /** Entries kept (default 200). */
  readonly size?: number;
  /** Transitions kept (default 20). */
  readonly transitions?: number;
}

export class Timeline {
  private readonly entries: TimelineEntry[] = [];
  private readonly recent: TransitionInfo[] = [];
  /** transition id → its finished actions, in words (the last few transitions only). */
  private readonly ran = new Map<string, string[]>();
  private seq = 0;
  private readonly listeners = new Set<(e: TimelineEntry) => void>();
  private readonly unsubscribe: () => void;
  private readonly now: () => number;
  private readonly size: number;
  private readonly keep: number;

  constructor(daemon: ObservedDaemon, o: TimelineOptions = {}) {
    this.now = o.now ?? Date.now;
    this.size = o.size ?? 200;
    this.keep = o.transitions ?? 20;
    const last = daemon.status().lastTransition;
    if (last && last.state !== 'idle') this.recent.push(last);
    this.unsubscribe = subscribe(daemon, {
      'node-joined': (e) => this.add('info', 'node', `${e.node} joined`),
      'node-lost': (e) => (e.clean ? this.add('info', 'node', `${e.node} left cleanly`) : this.add('error', 'node', `${e.node} lost on every link`)),
      'link-down': (e) => this.add('warn', 'link', `link ${e.link} to ${e.node} is down`),
      'link-up': (e) => this.add('info', 'link', `link ${e.link} to ${e.node} is up`),
      'quorum-changed': (e) => this.add(e.quorate ? 'info' : 'warn', 'quorum', e.quorate ? 'quorum gained' : `quorum lost: ${e.reason}`),
      'coordinator-changed': (e) => this.add('info', 'coordinator', `coordinator is ${e.coordinator} (term ${e.term})`),
      fenced: (e) =>
        e.ok ? this.add('warn', 'fencing', `${e.node} fenced`) : this.add('error', 'fencing', `fencing ${e.node} failed${e.detail ? `: ${e.detail}` : ''}`),
      'action-finished': (e) => {
        if (e.action === 'monitor' && e.interval > 0 && e.succeeded) return; // every few seconds: noise
        const what = e.action === 'monitor' && e.interval === 0 ? 'probe' : e.action;
        const ms = e.result.durationMs !== undefined ? ` (${Math.round(e.result.durationMs)} ms)` : '';
        const reason = !e.succeeded && e.result.reason ? `: ${e.result.reason}` : '';
        const text = `${what} ${e.instance} on ${e.node}: ${actionResultLabel(e)}${ms}${reason}`;
        if (e.transition !== undefined) {
          const key = String(e.transition);
          if (!this.ran.has(key)) this.ran.set(key, []);
          this.ran.get(key)!.push(text);
          while (this.ran.size > this.keep * 2) this.ran.delete(this.ran.keys().next().value!);
        }
        this.add(e.succeeded ? 'info' : 'error', 'action', text);
      },
      'transition-done': (t) => {
        if (t.state === 'running' || t.state === 'idle') return;
        const i = this.recent.findIndex((x) => x.id === t.id);
        if (i >= 0) this.recent.splice(i, 1);
        this.recent.unshift(t);
        this.recent.length = Math.min(this.recent.length, this.keep);
        this.add(
          t.state === 'succeeded' ? 'info' : 'warn',
          'transition',
          `transition ${t.id} ${t.state}${t.summary.length ? `: ${t.summary.join('; ')}` : ''}`,
        );
      },
      'config-changed': (e) => this.add('info', 'config', `configuration epoch ${e.epoch} (from ${e.from})`),
      'identity-conflict': (e) => this.add('error', 'conflict', `two daemons run as ${e.node}: ${e.detail}`),
      'vote-changed': (e) =>
        this.add(
          e.result === 'granted' ? 'info' : 'warn',
          'arbiter',
          `arbiter vote ${e.result}${e.holder ? ` (holder ${e.holder})` : ''}${e.detail ? `: ${e.detail}` : ''}`,
        ),
    });
  }

  private add(level: TimelineEntry['level'], kind: string, text: string): void {
    const e: TimelineEntry = { seq: ++this.seq, at: this.now(), level, kind, text };
    this.entries.push(e);
    if (this.entries.length > this.size) this.entries.shift();
    for (const l of this.listeners) l(e);
  }

  /** Newest last. */
  list(): readonly TimelineEntry[] {
    return [...this.entries];
  }

  /** Newest first. */
  transitions(): readonly TransitionView[] {
    return this.recent.map((t) => ({ ...t, ran: this.ran.get(String(t.id)) ?? [] }));
  }

  onEntry(fn: (e: TimelineEntry) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  dispose(): void {
    this.unsubscribe();
    this.listeners.clear();
  }
}
