/**
 * The `monitoring` section of the cluster configuration: what each daemon offers an operator —
 * Prometheus metrics, a live web view, and alerts run on cluster events (Pacemaker's `<alerts>`).
 * It is replicated like the rest of the document, so every node has the same alerts and the same
 * listeners; a node may override its own listen address on `paceline daemon`'s command line
 * (`--metrics-listen`, `--web-listen`): the address it binds to is a per-node fact.
 */
import { z } from 'zod';
import { Duration } from './duration.js';

/**
 * Where a listener binds: `127.0.0.1` (the default), any IP address, or `link:NAME` for this
 * node's own address on heartbeat link NAME (so one cluster-wide setting binds each node to its
 * own LAN address).
 */
export const ListenAddress = z
  .string()
  .min(1)
  .refine((s) => /^link:[A-Za-z0-9_.-]+$/.test(s) || /^[0-9.]+$/.test(s) || /^[0-9a-fA-F:]+$/.test(s) || s === 'localhost', {
    message: "write an IP address (e.g. 127.0.0.1, 0.0.0.0, ::1), localhost, or link:NAME for this node's address on a heartbeat link",
  });

export const Listener = z.strictObject({
  /** TCP port. */
  port: z.number().int().min(1).max(65535),
  address: ListenAddress.default('127.0.0.1'),
});
export type Listener = z.infer<typeof Listener>;

export const WebListener = Listener.extend({
  /**
   * A file holding the token that allows actions (clear a quarantine, clean up a resource, standby).
   * Without it the view is read-only. Each node reads its own copy of the file.
   */
  tokenFile: z.string().min(1).optional(),
});
export type WebListener = z.infer<typeof WebListener>;

/** The kinds of alert Pacemaker has (select_nodes, select_fencing, select_resources), plus links. */
export const AlertKind = z.enum(['node', 'fencing', 'resource', 'link']);
export type AlertKind = z.infer<typeof AlertKind>;

const AlertBase = {
  id: z
    .string()
    .min(1)
    .regex(/^[A-Za-z0-9_.:@+-]+$/, 'an id may contain only letters, digits and _ . : @ + -'),
  /** Which kinds of event it runs on (default: all). */
  select: z.array(AlertKind).min(1).optional(),
  /** How long one run may take before it is killed / abandoned (Pacemaker's default: 30 s). */
  timeout: Duration.default(30_000),
  /** CRM_alert_timestamp's format (strftime with %N for fractions of a second; Pacemaker's default). */
  timestampFormat: z.string().min(1).default('%H:%M:%S.%06N'),
};

/**
 * An alert agent run as a program (argument array, never a shell string) once per recipient,
 * with Pacemaker's CRM_alert_* environment, so existing alert agents work unchanged.
 */
export const CommandAlert = z.strictObject({
  ...AlertBase,
  /** The program (an absolute path, as Pacemaker's `path`). */
  path: z
    .string()
    .min(1)
    .refine((p) => p.startsWith('/'), { message: "give the alert agent's absolute path" }),
  /** Extra arguments after the program. */
  args: z.array(z.string()).default([]),
  /** Each recipient runs the agent once, with CRM_alert_recipient set to it (none: one run, without it). */
  recipients: z.array(z.string().min(1)).default([]),
  /** Extra environment variables (Pacemaker's instance attributes of an alert). */
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name'), z.string()).default({}),
});
export type CommandAlert = z.infer<typeof CommandAlert>;

/** A webhook: the event is POSTed as JSON (the same fields as the CRM_alert_* variables). */
export const WebhookAlert = z.strictObject({
  ...AlertBase,
  url: z.url({ protocol: /^https?$/, error: 'write an http:// or https:// URL' }),
  /** Extra request headers (e.g. an Authorization header). */
  headers: z.record(z.string(), z.string()).default({}),
});
export type WebhookAlert = z.infer<typeof WebhookAlert>;

export const Alert = z.union([CommandAlert, WebhookAlert]);
export type Alert = z.infer<typeof Alert>;

export const Monitoring = z
  .strictObject({
    /** Prometheus metrics on http://ADDRESS:PORT/metrics (off when absent). */
    metrics: Listener.optional(),
    /** The live web view (off when absent). */
    web: WebListener.optional(),
    alerts: z.array(Alert).default([]),
    /** Alert runs at once, at most (the rest wait in the queue). */
    alertConcurrency: z.number().int().min(1).max(64).default(4),
    /** Alert runs waiting, at most: beyond it new ones are dropped (and counted). */
    alertQueue: z.number().int().min(1).max(10_000).default(100),
  })
  .superRefine((m, ctx) => {
    const seen = new Set<string>();
    m.alerts.forEach((a, i) => {
      if (seen.has(a.id)) ctx.addIssue({ code: 'custom', path: ['alerts', i, 'id'], message: `alert id "${a.id}" is used twice` });
      seen.add(a.id);
    });
  });
export type Monitoring = z.infer<typeof Monitoring>;
export type MonitoringInput = z.input<typeof Monitoring>;
