/**
 * Prometheus metrics of one daemon (prom-client, a registry of its own). The cluster's state —
 * nodes, links, quorum, resources, fail counts — is read from the daemon's status at each scrape,
 * under ha_cluster_exporter's names where a metric means the same thing (docs/operations.md lists
 * every metric); what happens — actions, monitors, transitions, fencing, membership changes — is
 * counted from the daemon's events as they come.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { listPrimitives, type ClusterConfig } from '@paceline/model';
import type { ActionFinishedEvent } from '@paceline/executor';
import type { TransitionInfo } from '@paceline/daemon';
import { docConfig, subscribe, type ObservedDaemon } from './source.js';

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/** What a finished action ended with: the agent's outcome when it ran to the end, else how it ended (timeout, cancelled, ...). */
export function actionResultLabel(e: Pick<ActionFinishedEvent, 'result'>): string {
  return e.result.execution === 'done' ? e.result.outcome : e.result.execution;
}

/** instance ("web", "db:1") → agent ("paceline:dummy", "ocf:heartbeat:IPaddr2"). */
export function agentIndex(config: ClusterConfig | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of config ? listPrimitives(config) : []) out.set(e.primitive.id, e.primitive.agent);
  return out;
}

export interface ClusterMetricsOptions {
  /** Also export Node.js process metrics (CPU, memory, event loop lag; default true). */
  readonly processMetrics?: boolean;
  /** Wall clock in ms (transition durations). */
  readonly now?: () => number;
}

export class ClusterMetrics {
  readonly registry = new Registry();
  private agents = new Map<string, string>();
  private readonly unsubscribe: () => void;
  private readonly now: () => number;

  // state, refreshed from the status at each scrape
  private readonly nodes: Gauge;
  private readonly nodesTotal: Gauge;
  private readonly resources: Gauge;
  private readonly resourcesTotal: Gauge;
  private readonly stonith: Gauge;
  private readonly failCount: Gauge;
  private readonly migrationThreshold: Gauge;
  private readonly quorate: Gauge;
  private readonly ringErrors: Gauge;
  private readonly linkUp: Gauge;
  private readonly quarantined: Gauge;
  private readonly coordinator: Gauge;
  private readonly term: Gauge;
  private readonly mayRun: Gauge;
  private readonly members: Gauge;
  private readonly epoch: Gauge;
  private readonly configChange: Gauge;
  private readonly replicaLag: Gauge;
  private readonly replicaBehindBytes: Gauge;
  private readonly replicaInSync: Gauge;
  private readonly replicaReachable: Gauge;
  private readonly replicaReportTime: Gauge;
  private readonly dropped: Counter;
  private readonly heartbeatsSent: Counter;
  private readonly heartbeatsReceived: Counter;
  private readonly messagesSent: Counter;
  // events, counted as they come
  private readonly actionDuration: Histogram;
  private readonly actions: Counter;
  private readonly monitors: Counter;
  private readonly transitions: Counter;
  private readonly transitionDuration: Histogram;
  private readonly fencing: Counter;
  private readonly nodeEvents: Counter;
  private readonly linkEvents: Counter;

  // size: a table, one metric a line (its name, help and labels beside the field it fills), then the event subscriptions; readonly fields are set here or nowhere
  constructor(
    private readonly daemon: ObservedDaemon,
    options: ClusterMetricsOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    const r = [this.registry];
    const g = (name: string, help: string, labelNames: string[] = []): Gauge => new Gauge({ name, help, labelNames, registers: r });
    const c = (name: string, help: string, labelNames: string[] = []): Counter => new Counter({ name, help, labelNames, registers: r });
    this.registry.setDefaultLabels({ instance_node: daemon.name });

    this.nodes = g('ha_cluster_pacemaker_nodes', 'The nodes in the cluster; one line per name, per status (1, or absent)', ['name', 'status', 'type']);
    this.nodesTotal = g('ha_cluster_pacemaker_nodes_total', 'Total number of configured nodes in the cluster');
    this.resources = g('ha_cluster_pacemaker_resources', 'The resources in the cluster; one line per id, per node (1, or absent)', [
      'id',
      'node',
      'managed',
      'role',
      'status',
    ]);
    this.resourcesTotal = g('ha_cluster_pacemaker_resources_total', 'Total number of resource instances in the cluster');
    this.stonith = g('ha_cluster_pacemaker_stonith_enabled', 'Whether or not stonith is enabled');
    this.failCount = g('ha_cluster_pacemaker_fail_count', 'The fail count per node and resource id', ['node', 'resource']);
    this.migrationThreshold = g('ha_cluster_pacemaker_migration_threshold', 'The migration threshold per node and resource id', ['node', 'resource']);
    this.quorate = g('ha_cluster_corosync_quorate', 'Whether or not the cluster is quorate (as this node sees it)');
    this.ringErrors = g('ha_cluster_corosync_ring_errors', 'Heartbeat links down, counted per peer and link');
    this.linkUp = g('paceline_link_up', 'Whether a heartbeat link to a peer is up (1) or down (0)', ['peer', 'link']);
    this.quarantined = g('paceline_node_quarantined', 'Whether a node is quarantined (held in standby until `paceline node clear`)', ['node']);
    this.coordinator = g('paceline_coordinator', 'The coordinator (Pacemaker: the DC) as this node sees it: 1 on its name', ['node']);
    this.term = g('paceline_membership_term', 'The membership term (raised with every coordinator election)');
    this.mayRun = g('paceline_may_run', 'Whether this node may run resources (quorum, partition policy, arbiter vote)');
    this.members = g('paceline_members', "Nodes in this node's membership");
    this.epoch = g('paceline_config_epoch', 'Epoch of the replicated configuration this node holds');
    this.configChange = g(
      'ha_cluster_pacemaker_config_last_change',
      'The time (Unix s) this node last adopted a configuration: at start, or a new epoch since',
    );
    this.configChange.set(Math.floor(this.now() / 1000));
    const replica = ['resource', 'node', 'source'];
    this.replicaLag = g(
      'paceline_replica_lag_seconds',
      "A replica's lag at its last monitor: at most this many seconds of its source's changes are missing",
      replica,
    );
    this.replicaBehindBytes = g(
      'paceline_replica_behind_bytes',
      "Bytes of its source's changes a replica was known to miss at its last monitor (absent while the source cannot be asked)",
      replica,
    );
    this.replicaInSync = g(
      'paceline_replica_in_sync',
      'Whether a replica was in sync with its source at its last monitor (1), or behind or never synced (0)',
      replica,
    );
    this.replicaReachable = g('paceline_replica_source_reachable', "Whether a replica's source answered its last monitor", replica);
    this.replicaReportTime = g(
      'paceline_replica_report_timestamp_seconds',
      "When a replica's last monitor report was made (Unix s): its age tells how old the other replica figures are",
      replica,
    );
    this.dropped = c('paceline_messages_dropped_total', 'Heartbeats and daemon messages dropped on receipt, by reason', ['reason']);
    this.heartbeatsSent = c('paceline_heartbeats_sent_total', 'Heartbeat packets sent (all links)');
    this.heartbeatsReceived = c('paceline_heartbeats_received_total', 'Heartbeat packets received (all links)');
    this.messagesSent = c('paceline_messages_sent_total', 'Daemon-channel messages (documents, reports, actions, results) sent');

    this.actionDuration = new Histogram({
      name: 'paceline_action_duration_seconds',
      help: 'Time resource actions took on this node, per agent and action',
      labelNames: ['agent', 'action'],
      buckets: DURATION_BUCKETS,
      registers: r,
    });
    this.actions = c('paceline_actions_total', 'Resource actions finished on this node, by agent, action and result', ['agent', 'action', 'result']);
    this.monitors = c('paceline_monitor_results_total', 'Recurring monitor results on this node, per resource', ['resource', 'result']);
    this.transitions = c('paceline_transitions_total', 'Transitions this node ran as coordinator, by how they ended', ['result']);
    this.transitionDuration = new Histogram({
      name: 'paceline_transition_duration_seconds',
      help: 'Time transitions this node ran as coordinator took',
      buckets: DURATION_BUCKETS,
      registers: r,
    });
    this.fencing = c('paceline_fencing_total', 'Fencing operations this node carried out, per target and result', ['node', 'result']);
    this.nodeEvents = c('paceline_node_events_total', 'Membership changes seen by this node (joined, lost, left)', ['node', 'event']);
    this.linkEvents = c('paceline_link_events_total', 'Heartbeat link changes seen by this node (down, up)', ['peer', 'link', 'event']);
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });

    this.agents = agentIndex(docConfig(daemon.document()));
    this.unsubscribe = subscribe(daemon, {
      'config-changed': (e) => {
        this.agents = agentIndex(docConfig(e.doc));
        this.configChange.set(Math.floor(this.now() / 1000));
      },
      'action-finished': (e) => this.onAction(e),
      'transition-done': (t) => this.onTransition(t),
      fenced: (e) => this.fencing.inc({ node: e.node, result: e.ok ? 'ok' : 'failed' }),
      'node-joined': (e) => this.nodeEvents.inc({ node: e.node, event: 'joined' }),
      'node-lost': (e) => this.nodeEvents.inc({ node: e.node, event: e.clean ? 'left' : 'lost' }),
      'link-down': (e) => this.linkEvents.inc({ peer: e.node, link: e.link, event: 'down' }),
      'link-up': (e) => this.linkEvents.inc({ peer: e.node, link: e.link, event: 'up' }),
    });
  }

  private onAction(e: ActionFinishedEvent): void {
    // Each node counts the actions it runs (the coordinator's executor also reports the ones it
    // dispatched to other nodes: those are counted there).
    if (e.node !== this.daemon.name) return;
    const primitive = e.instance.replace(/:\d+$/, '');
    const agent = this.agents.get(primitive) ?? 'unknown';
    const result = actionResultLabel(e);
    const action = e.action === 'monitor' && e.interval === 0 ? 'probe' : e.action;
    this.actions.inc({ agent, action, result });
    if (e.result.durationMs !== undefined) this.actionDuration.observe({ agent, action }, e.result.durationMs / 1000);
    if (e.action === 'monitor' && e.interval > 0) this.monitors.inc({ resource: e.instance, result });
  }

  private onTransition(t: TransitionInfo): void {
    if (t.state === 'running' || t.state === 'idle') return;
    this.transitions.inc({ result: t.state });
    this.transitionDuration.observe(Math.max(0, this.now() - t.at) / 1000);
  }

  /** Reads the daemon's status into the state gauges. */
  refresh(): void {
    const s = this.daemon.status();
    const config = docConfig(this.daemon.document());
    for (const m of [this.nodes, this.resources, this.failCount, this.migrationThreshold, this.linkUp, this.quarantined, this.coordinator]) m.reset();
    for (const m of [this.replicaLag, this.replicaBehindBytes, this.replicaInSync, this.replicaReachable, this.replicaReportTime]) m.reset();
    for (const r of s.replicas ?? []) {
      const labels = { resource: r.instance, node: r.node, source: r.source };
      this.replicaLag.set(labels, r.seconds);
      if (r.bytes !== undefined) this.replicaBehindBytes.set(labels, r.bytes);
      this.replicaInSync.set(labels, r.state === 'in-sync' ? 1 : 0);
      this.replicaReachable.set(labels, r.reachable ? 1 : 0);
      this.replicaReportTime.set(labels, r.at / 1000);
    }
    for (const n of s.nodes) {
      const set = (status: string): void => this.nodes.set({ name: n.name, status, type: 'member' }, 1);
      set(n.state);
      if (n.standby) set('standby');
      if (n.name === s.coordinator) set('dc');
      this.quarantined.set({ node: n.name }, n.quarantine !== undefined ? 1 : 0);
      for (const f of n.failures) this.failCount.set({ node: n.name, resource: f.resource }, f.count);
    }
    this.nodesTotal.set(s.nodes.length);
    let down = 0;
    for (const n of s.nodes)
      for (const [link, st] of Object.entries(n.links)) {
        if (st === 'self') continue;
        this.linkUp.set({ peer: n.name, link }, st === 'up' ? 1 : 0);
        if (st === 'down') down++;
      }
    this.ringErrors.set(down);
    for (const r of s.resources) {
      const role = r.role.toLowerCase();
      this.resources.set(
        {
          id: r.instance,
          node: r.node ?? '',
          managed: String(r.managed),
          role,
          status: r.failed ? 'failed' : r.role === 'Stopped' ? 'stopped' : 'active',
        },
        1,
      );
    }
    this.resourcesTotal.set(s.resources.length);
    if (config) {
      this.stonith.set(config.properties.stonithEnabled ? 1 : 0);
      for (const e of listPrimitives(config)) {
        const t =
          e.primitive.meta.migrationThreshold ??
          e.group?.meta.migrationThreshold ??
          e.clone?.meta.migrationThreshold ??
          config.defaults.resource.migrationThreshold;
        if (t === undefined) continue;
        for (const n of s.nodes) this.migrationThreshold.set({ node: n.name, resource: e.primitive.id }, t);
      }
    }
    this.quorate.set(s.quorate ? 1 : 0);
    if (s.coordinator) this.coordinator.set({ node: s.coordinator }, 1);
    this.term.set(s.term);
    this.mayRun.set(s.mayRun ? 1 : 0);
    this.members.set(s.members.length);
    this.epoch.set(s.epoch);
    this.setCounter(
      this.dropped,
      Object.entries(s.dropped).map(([reason, n]) => [{ reason }, n]),
    );
    const ms = this.daemon.messageStats();
    if (ms?.heartbeats) {
      this.setCounter(this.heartbeatsSent, [[{}, ms.heartbeats.sent]]);
      this.setCounter(this.heartbeatsReceived, [[{}, ms.heartbeats.received]]);
    }
    if (ms?.messages) this.setCounter(this.messagesSent, [[{}, ms.messages.sent]]);
  }

  /** A counter kept by the daemon: its current totals (they only grow while the daemon runs). */
  private setCounter(c: Counter, values: readonly (readonly [Record<string, string>, number])[]): void {
    c.reset();
    for (const [labels, n] of values) if (n > 0) c.inc(labels, n);
  }

  /** The exposition text (refreshed from the status first). */
  async render(): Promise<{ contentType: string; body: string }> {
    this.refresh();
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  dispose(): void {
    this.unsubscribe();
    this.registry.clear();
  }
}
