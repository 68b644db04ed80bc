/**
 * The scheduler's one trust boundary: `schedule()` is typed for parsed values (defaults applied),
 * but a JavaScript caller can hand it anything. A configuration or status that is not in the
 * parsed shape is parsed here with the model's schemas (the same checks as `config validate`),
 * so raw input either works or fails with a ConfigError naming every problem and its path, never
 * with a TypeError from deep inside a stage. Parsed input (what the builder, validateConfig and
 * the loaders return) is recognised by its shape and passed through without the cost of a parse.
 */
import { ClusterStatus, ConfigError, PacelineError, listPrimitives, validateConfig, zodIssues, type ClusterConfig } from '@paceline/model';

export interface ScheduleInput {
  readonly config: ClusterConfig;
  readonly status: ClusterStatus;
  /** Epoch milliseconds. */
  readonly now: number;
}

/** Input that is neither parsed nor parsable as what `schedule()` takes (not an object, no `now`). */
export class ScheduleInputError extends PacelineError<'SCHEDULE_INPUT'> {}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Has every default the schema applies: what ClusterConfig.parse returns, and what the builder builds. */
function isParsedConfig(c: Record<string, unknown>): c is ClusterConfig {
  const props = c['properties'];
  const defaults = c['defaults'];
  if (typeof c['epoch'] !== 'number' || !isObject(props) || typeof props['stonithEnabled'] !== 'boolean' || typeof props['symmetricCluster'] !== 'boolean')
    return false;
  if (!isObject(defaults) || !isObject(defaults['resource']) || !isObject(defaults['operation'])) return false;
  if (!Array.isArray(c['nodes']) || !Array.isArray(c['resources']) || !Array.isArray(c['constraints'])) return false;
  if (!(c['nodes'] as unknown[]).every((n) => isObject(n) && isObject(n['attributes']) && typeof n['standby'] === 'boolean')) return false;
  try {
    return listPrimitives(c as ClusterConfig).every(
      ({ primitive: p }) => isObject(p.params) && isObject(p.meta) && Array.isArray(p.ops) && isObject(p.utilization),
    );
  } catch (e) {
    void e; // a resource tree the walker cannot read is not parsed: the schema will say what is wrong
    return false;
  }
}

function isParsedStatus(s: Record<string, unknown>): s is ClusterStatus {
  return (
    typeof s['quorum'] === 'boolean' &&
    Array.isArray(s['nodes']) &&
    (s['nodes'] as unknown[]).every((n) => isObject(n) && Array.isArray(n['history']) && Array.isArray(n['failures']) && isObject(n['attributes']))
  );
}

/**
 * `input` as parsed values: passed through when it already is, parsed otherwise. Throws
 * ScheduleInputError when it is not `{ config, status, now }` at all, ConfigError (every problem
 * with its path, the source named `schedule() config` or `schedule() status`) when a part is invalid.
 */
export function scheduleInput(input: unknown): ScheduleInput {
  if (!isObject(input))
    throw new ScheduleInputError('SCHEDULE_INPUT', `schedule() takes { config, status, now }, not ${input === null ? 'null' : typeof input}`);
  const { config, status, now } = input;
  if (typeof now !== 'number' || !Number.isFinite(now))
    throw new ScheduleInputError(
      'SCHEDULE_INPUT',
      `schedule(): now must be the time in epoch milliseconds (a number), not ${now === undefined ? 'missing' : JSON.stringify(now)}`,
    );
  if (!isObject(config))
    throw new ScheduleInputError(
      'SCHEDULE_INPUT',
      `schedule(): config must be a configuration object, not ${config === undefined ? 'missing' : JSON.stringify(config)}`,
    );
  if (!isObject(status))
    throw new ScheduleInputError(
      'SCHEDULE_INPUT',
      `schedule(): status must be a status object (e.g. { nodes: [{ name: "serv1", state: "online" }] }), not ${status === undefined ? 'missing' : JSON.stringify(status)}`,
    );
  let parsedConfig: ClusterConfig;
  if (isParsedConfig(config)) parsedConfig = config;
  else {
    const r = validateConfig(config);
    if (!r.config) throw new ConfigError(r.issues, 'schedule() config');
    parsedConfig = r.config;
  }
  let parsedStatus: ClusterStatus;
  if (isParsedStatus(status)) parsedStatus = status;
  else {
    const r = ClusterStatus.safeParse(status);
    if (!r.success) throw new ConfigError(zodIssues(r.error), 'schedule() status', 'STATUS_INVALID');
    parsedStatus = r.data;
  }
  return { config: parsedConfig, status: parsedStatus, now };
}
