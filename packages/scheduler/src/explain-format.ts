/** Text renderings of the explanation for CLIs ("--show-scores", "explain RESOURCE"). */
import type { Transition } from '@paceline/model';
import { formatScore } from '@paceline/model';

/** One line per resource and node: "web on serv1: 100 = location loc-web (100) + stickiness (0)". */
export function formatExplanation(t: Transition): string[] {
  return t.explanation.scores.map((s) => {
    const parts = s.contributions.map((c) => `${c.source} (${formatScore(c.score)})`);
    return `${s.resource} on ${s.node}: ${formatScore(s.total)}${parts.length ? ` = ${parts.join(' + ')}` : ''}`;
  });
}

/** Why a resource is where it is (or is not on a node). */
export function explainResource(t: Transition, resource: string, node?: string): string[] {
  const lines = t.explanation.decisions.filter((d) => d.resource === resource).map((d) => d.text);
  for (const s of t.explanation.scores) {
    if (s.resource !== resource || (node !== undefined && s.node !== node)) continue;
    lines.push(`score on ${s.node}: ${formatScore(s.total)}`);
    for (const c of s.contributions) lines.push(`  ${c.source}: ${formatScore(c.score)}`);
  }
  for (const a of t.actions)
    if (a.resource === resource || a.primitive === resource) lines.push(`action ${a.id}: ${a.reason}${a.runnable ? '' : ' (blocked)'}`);
  return lines;
}
