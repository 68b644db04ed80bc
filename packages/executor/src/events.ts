/** Typed events published by the executor and the recurring monitors (the shell; the core returns data). */
import { EventEmitter } from 'eventemitter3';
import type { ActionResult } from '@paceline/agent-api';
import type { PendingRecord } from './record.js';

export interface ActionEvent {
  /** Graph action id, or "INSTANCE_monitor_INTERVAL NODE" for recurring monitors. */
  readonly id: string;
  readonly node: string;
  readonly instance: string;
  /** OCF action name (a probe is "monitor" with interval 0). */
  readonly action: string;
  readonly interval: number;
  readonly at: number;
  readonly transition?: string | number;
}

export interface ActionFinishedEvent extends ActionEvent {
  readonly result: ActionResult;
  /** The action did what was expected (e.g. a probe found nothing, a monitor found it running). */
  readonly succeeded: boolean;
  /** What to write into the status (absent when nothing ran). */
  readonly record?: PendingRecord;
}

export interface MonitorFailedEvent extends ActionFinishedEvent {
  /** The primitive the instance belongs to. */
  readonly primitive: string;
}

export interface ExecutorEventMap {
  'action-started': (e: ActionEvent) => void;
  'action-finished': (e: ActionFinishedEvent) => void;
  /** A recurring monitor found the resource not in the state it should be in; the scheduler should run again. */
  'monitor-failed': (e: MonitorFailedEvent) => void;
}

export class ExecutorEvents extends EventEmitter<ExecutorEventMap> {}
