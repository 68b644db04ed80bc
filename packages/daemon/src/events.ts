/** The daemon's typed events (the shell publishes; the cores return data). */
import { EventEmitter } from 'eventemitter3';
import type { ActionEvent, ActionFinishedEvent } from '@paceline/executor';
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
