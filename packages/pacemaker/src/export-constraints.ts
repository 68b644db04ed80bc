/**
 * The export's constraints section: location (with rules), colocation and order constraints, with
 * resource sets, as Pacemaker 2.1.5 reads them. Ids the model gives (rules, sets) are kept once;
 * everything else gets a readable generated id.
 */
import {
  formatScore,
  type ColocationConstraint,
  type Constraint,
  type LocationConstraint,
  type OrderConstraint,
  type ResourceSet,
  type Rule,
  type RuleExpression,
} from '@paceline/model';
import { el, type Attrs, type Ids } from './cib-text.js';

function expressionXml(e: RuleExpression, base: string, ids: Ids): string[] {
  if (e.kind === 'rule') return ruleXml(e, base, ids, true);
  if (e.kind === 'attribute')
    return el('expression', {
      id: ids.make(`${base}-expr`),
      attribute: e.attribute,
      operation: e.op,
      value: e.value,
      type: e.valueType,
      'value-source': e.valueSource === 'literal' ? undefined : e.valueSource,
    });
  const id = ids.make(`${base}-date`);
  const kids: string[] = [];
  if (e.duration) kids.push(...el('duration', { id: ids.make(`${id}-duration`), ...e.duration }));
  if (e.spec) kids.push(...el('date_spec', { id: ids.make(`${id}-spec`), ...e.spec }));
  return el('date_expression', { id, operation: e.op, start: e.start, end: e.end }, kids);
}

function ruleXml(r: Rule, base: string, ids: Ids, nested: boolean): string[] {
  const id = r.id !== undefined ? ids.claim(r.id) : ids.make(`${base}-rule`);
  return el(
    'rule',
    {
      id,
      score: nested || r.score === undefined ? undefined : formatScore(r.score),
      'score-attribute': nested ? undefined : r.scoreAttribute,
      'boolean-op': r.booleanOp,
      role: r.role,
    },
    r.expressions.flatMap((e) => expressionXml(e, id, ids)),
  );
}

function setXml(s: ResourceSet, base: string, ids: Ids): string[] {
  return el(
    'resource_set',
    {
      id: s.id !== undefined ? ids.claim(s.id) : ids.make(`${base}-set`),
      sequential: s.sequential ? undefined : 'false',
      'require-all': s.requireAll ? undefined : 'false',
      role: s.role,
      action: s.action,
      kind: s.kind,
      score: s.score === undefined ? undefined : formatScore(s.score),
    },
    s.resources.flatMap((r) => el('resource_ref', { id: r })),
  );
}

function locationXml(c: LocationConstraint, ids: Ids): string[] {
  const attrs: Attrs = {
    id: c.id,
    rsc: c.resource,
    'rsc-pattern': c.resourcePattern,
    role: c.role,
    'resource-discovery': c.resourceDiscovery === 'always' ? undefined : c.resourceDiscovery,
  };
  if (c.rules === undefined) return el('rsc_location', { ...attrs, node: c.node, score: formatScore(c.score ?? 0) });
  return el(
    'rsc_location',
    attrs,
    c.rules.flatMap((r) => ruleXml(r, c.id, ids, false)),
  );
}

function colocationXml(c: ColocationConstraint, ids: Ids): string[] {
  const attrs: Attrs = {
    id: c.id,
    score: formatScore(c.score),
    'node-attribute': c.nodeAttribute === '#uname' ? undefined : c.nodeAttribute,
    influence: c.influence,
  };
  if (c.sets)
    return el(
      'rsc_colocation',
      attrs,
      c.sets.flatMap((s) => setXml(s, c.id, ids)),
    );
  return el('rsc_colocation', {
    ...attrs,
    rsc: c.resource,
    'with-rsc': c.withResource,
    'rsc-role': c.resourceRole,
    'with-rsc-role': c.withResourceRole,
  });
}

function orderXml(c: OrderConstraint, ids: Ids): string[] {
  const attrs: Attrs = {
    id: c.id,
    kind: c.kind,
    symmetrical: c.symmetrical,
    'require-all': c.requireAll ? undefined : 'false',
  };
  if (c.sets)
    return el(
      'rsc_order',
      attrs,
      c.sets.flatMap((s) => setXml(s, c.id, ids)),
    );
  return el('rsc_order', { ...attrs, first: c.first, then: c.then, 'first-action': c.firstAction, 'then-action': c.thenAction });
}

export function constraintXml(c: Constraint, ids: Ids): string[] {
  switch (c.type) {
    case 'location':
      return locationXml(c, ids);
    case 'colocation':
      return colocationXml(c, ids);
    case 'order':
      return orderXml(c, ids);
  }
}
