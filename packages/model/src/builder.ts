/**
 * A typed builder for library users who write clusters in TypeScript rather than YAML:
 *
 *   const config = clusterBuilder()
 *     .properties({ stonithEnabled: false })
 *     .node('serv1').node('serv2')
 *     .primitive('web-ip', 'paceline:ip', { params: { address: '10.0.0.10', cidrNetmask: 24 } })
 *     .location('web-ip-home', 'web-ip', 'serv1', 100)
 *     .build();
 *
 * `stonithEnabled: false` because the example has no fencing device: with fencing enabled (the
 * default) and none configured, every resource is left unmanaged and nothing starts (validation
 * warns). A cluster whose nodes share data keeps fencing on and adds a device instead, e.g.
 * `.primitive('fence-serv1', 'stonith:fence_ipmilan', { params: { ip: '10.0.1.1' } })`.
 *
 * Every method takes the same input types as the YAML schema (`z.input`), and `build()` runs the
 * same validation as a file, so a builder can never produce a config a file could not.
 */
import type { z } from 'zod';
import type {
  ClusterConfigInput,
  ClusterProperties,
  ColocationConstraint,
  Defaults,
  LocationConstraint,
  NodeConfig,
  OrderConstraint,
  Clone,
  Group,
  Primitive,
} from './config.js';
import { parseConfig, validateConfig, type ValidationResult } from './validate.js';
import type { ClusterConfig } from './config.js';

type In<T extends z.ZodType> = z.input<T>;
type PrimitiveInput = Omit<In<typeof Primitive>, 'type' | 'id' | 'agent'>;
type ScoreInput = number | 'INFINITY' | '+INFINITY' | '-INFINITY';

export class ClusterBuilder {
  private readonly doc: {
    properties: In<typeof ClusterProperties>;
    defaults: In<typeof Defaults>;
    nodes: In<typeof NodeConfig>[];
    resources: (In<typeof Primitive> | In<typeof Group> | In<typeof Clone>)[];
    constraints: (In<typeof LocationConstraint> | In<typeof ColocationConstraint> | In<typeof OrderConstraint>)[];
  } = { properties: {}, defaults: {}, nodes: [], resources: [], constraints: [] };

  properties(p: In<typeof ClusterProperties>): this {
    Object.assign(this.doc.properties, p);
    return this;
  }

  defaults(d: In<typeof Defaults>): this {
    Object.assign(this.doc.defaults, d);
    return this;
  }

  node(name: string, options: Omit<In<typeof NodeConfig>, 'name'> = {}): this {
    this.doc.nodes.push({ name, ...options });
    return this;
  }

  primitive(id: string, agent: string, options: PrimitiveInput = {}): this {
    this.doc.resources.push(primitive(id, agent, options));
    return this;
  }

  /** A group of primitives (built with the `primitive()` helper), started in order. */
  group(id: string, members: In<typeof Primitive>[], meta: In<typeof Group>['meta'] = {}): this {
    this.doc.resources.push({ type: 'group', id, members, meta });
    return this;
  }

  clone(id: string, child: In<typeof Primitive> | In<typeof Group>, options: Omit<In<typeof Clone>, 'type' | 'id' | 'child'> = {}): this {
    this.doc.resources.push({ type: 'clone', id, child, ...options });
    return this;
  }

  location(
    id: string,
    resource: string,
    node: string,
    score: ScoreInput,
    options: Omit<In<typeof LocationConstraint>, 'type' | 'id' | 'resource' | 'node' | 'score'> = {},
  ): this {
    this.doc.constraints.push({ type: 'location', id, resource, node, score, ...options });
    return this;
  }

  /** Place `resource` where `withResource` is (INFINITY: must; -INFINITY: never; finite: prefer). */
  colocate(
    id: string,
    resource: string,
    withResource: string,
    score: ScoreInput,
    options: Omit<In<typeof ColocationConstraint>, 'type' | 'id' | 'resource' | 'withResource' | 'score'> = {},
  ): this {
    this.doc.constraints.push({ type: 'colocation', id, resource, withResource, score, ...options });
    return this;
  }

  /** Do `then` after `first` (start by default). */
  order(id: string, first: string, then: string, options: Omit<In<typeof OrderConstraint>, 'type' | 'id' | 'first' | 'then'> = {}): this {
    this.doc.constraints.push({ type: 'order', id, first, then, ...options });
    return this;
  }

  /** The plain document (what a YAML file would hold). */
  toInput(): ClusterConfigInput {
    return structuredClone(this.doc) as ClusterConfigInput;
  }

  /** Every problem at once, without throwing. */
  validate(): ValidationResult {
    return validateConfig(this.toInput());
  }

  /** The validated configuration; throws ConfigError listing every problem. */
  build(): ClusterConfig {
    return parseConfig(this.toInput(), 'builder');
  }
}

export function clusterBuilder(): ClusterBuilder {
  return new ClusterBuilder();
}

/** A primitive, for groups and clones: `primitive('ip', 'paceline:ip', { params: {...} })`. */
export function primitive(id: string, agent: string, options: PrimitiveInput = {}): In<typeof Primitive> {
  return { type: 'primitive', id, agent, ...options };
}
