/** The daemon's typed events (the shell publishes; the cores return data). */
import { EventEmitter } from 'eventemitter3';
import type { ActionEvent, ActionFinishedEvent } from '@paceline/executor';
import type { MembershipEvent } from '@paceline/membership';
import type { ClusterDoc } from './messages.js';
import type { TransitionInfo } from './core.js';

export interface DaemonEventMap {
  'node-joined': (e: { node: string; boot: number }) => void;
  'node-lost': (e: { node: string; clean: boolean }) => void;
  'link-down': (e: { node: string; link: string }) => void;
  'link-up': (e: { node: string; link: string }) => void;
  'quorum-changed': (e: { quorate: boolean; reason: string }) => void;
  'coordinator-changed': (e: { coordinator: string; term: number }) => void;
  'action-started': (e: ActionEvent) => void;
  'action-finished': (e: ActionFinishedEvent) => void;
  'transition-done': (e: TransitionInfo) => void;
  'config-changed': (e: { epoch: number; from: string; doc: ClusterDoc }) => void;
  fenced: (e: { node: string; ok: boolean; detail?: string }) => void;
  /** Two daemons run under one node name (`node` may be this node itself). */
  'identity-conflict': (e: { node: string; boots: readonly number[]; detail: string }) => void;
  /** The arbiter's answer changed: this node holds its vote, was refused it, or cannot reach it. */
  'vote-changed': (e: { result: 'granted' | 'refused' | 'unreachable'; holder?: string; detail?: string }) => void;
}

export class DaemonEvents extends EventEmitter<DaemonEventMap> {}

/** Publishes a membership event as the daemon event it is (membership's own bookkeeping events are not published). */
export function publishMembershipEvent(events: DaemonEvents, e: MembershipEvent): void {
  switch (e.type) {
    case 'node-joined':
    case 'node-restarted':
      events.emit('node-joined', { node: e.node, boot: e.boot });
      break;
    case 'node-lost':
    case 'node-left':
      events.emit('node-lost', { node: e.node, clean: e.type === 'node-left' });
      break;
    case 'link-down':
    case 'link-up':
      events.emit(e.type, { node: e.node, link: e.link });
      break;
    case 'quorum-changed':
      events.emit('quorum-changed', { quorate: e.quorate, reason: e.reason });
      break;
    case 'coordinator-changed':
      events.emit('coordinator-changed', { coordinator: e.coordinator, term: e.term });
      break;
    case 'fence-confirmed':
    case 'fence-failed':
      events.emit('fenced', { node: e.node, ok: e.type === 'fence-confirmed', ...(e.type === 'fence-failed' && e.detail ? { detail: e.detail } : {}) });
      break;
    case 'identity-conflict':
      events.emit('identity-conflict', { node: e.node, boots: e.boots, detail: e.detail });
      break;
    case 'vote-changed':
      events.emit('vote-changed', {
        result: e.result,
        ...(e.holder !== undefined ? { holder: e.holder } : {}),
        ...(e.detail !== undefined ? { detail: e.detail } : {}),
      });
      break;
    default:
      break;
  }
}
