/**
 * Replays every scenario in ./scenarios (see its README) and compares the rendered result with the
 * reviewed NAME.expected.txt. UPDATE_SCENARIOS=1 rewrites the expected files.
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { formatScore, parseConfig, parseStatus, type Transition } from '@paceline/model';
import { schedule } from '@paceline/scheduler';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'scenarios');
const names = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => f.slice(0, -5))
  .sort();

function render(description: string, t: Transition): string {
  const lines = [`# ${description}`, '', 'Summary:'];
  for (const s of t.summary)
    lines.push(
      `  ${s.action} ${s.action === 'fence' ? s.node : (s.instance ?? s.resource)} ${s.from ?? '-'} -> ${s.to ?? '-'}${s.blocked ? ' (blocked)' : ''}${s.reason ? ` due to ${s.reason}` : ''}`,
    );
  if (t.summary.length === 0) lines.push('  (nothing to do)');
  lines.push('', 'Placement after the transition:');
  for (const p of [...t.placement].sort((a, b) => a.instance.localeCompare(b.instance) || String(a.node).localeCompare(String(b.node))))
    lines.push(`  ${p.instance}: ${p.node ? `${p.role} on ${p.node}` : 'Stopped'}`);
  lines.push('', 'Actions (runnable unless marked):');
  for (const a of [...t.actions].sort((x, y) => x.id.localeCompare(y.id))) lines.push(`  ${a.id}${a.runnable ? '' : ' [blocked]'}: ${a.reason}`);
  lines.push('', 'Ordering edges:');
  for (const e of [...t.edges].sort((x, y) => x.before.localeCompare(y.before) || x.after.localeCompare(y.after)))
    lines.push(`  ${e.before} -> ${e.after} (${e.reason})`);
  lines.push('', 'Scores:');
  for (const s of t.explanation.scores) {
    lines.push(`  ${s.resource} on ${s.node}: ${formatScore(s.total)}`);
    for (const c of s.contributions) lines.push(`      ${formatScore(c.score)}  ${c.source}${c.detail ? ` (${c.detail})` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

describe.each(names)('scenario %s', (name) => {
  const doc = parseYaml(readFileSync(join(dir, `${name}.yaml`), 'utf8')) as { description: string; now: string; config: unknown; status: unknown };
  const input = { config: parseConfig(doc.config, `${name}.yaml config`), status: parseStatus(doc.status, `${name}.yaml status`), now: Date.parse(doc.now) };

  it('matches the reviewed expected output', () => {
    const text = render(doc.description, schedule(input));
    const file = join(dir, `${name}.expected.txt`);
    if (process.env.UPDATE_SCENARIOS === '1' || !existsSync(file)) writeFileSync(file, text);
    expect(text).toBe(readFileSync(file, 'utf8'));
  });

  it('is deterministic', () => {
    expect(JSON.stringify(schedule(input))).toBe(JSON.stringify(schedule(input)));
  });
});
