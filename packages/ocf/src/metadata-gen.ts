/** OCF meta-data XML (valid against ra-api-1.dtd) generated from a Paceline agent's zod schema. */
import { capabilitiesOf, describeAgentParams } from '@paceline/agent-api';
import type { ParamDescription, ResourceAgent } from '@paceline/agent-api';

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function ocfType(p: ParamDescription): 'string' | 'integer' | 'boolean' {
  return p.type === 'integer' ? 'integer' : p.type === 'boolean' ? 'boolean' : 'string';
}

function defaultText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v) && v.every((x) => typeof x === 'string' || typeof x === 'number')) return v.join(' ');
  return JSON.stringify(v);
}

function secs(ms: number): string {
  return `${Math.max(1, Math.ceil(ms / 1000))}s`;
}

/** The first sentence (or first 80 characters) of a description, for <shortdesc>. */
function short(text: string, fallback: string): string {
  const t = text.trim();
  if (!t) return fallback;
  const first = t.split(/(?<=\.)\s|\n/)[0]!.replace(/\.$/, '');
  return first.length > 80 ? `${first.slice(0, 77)}...` : first;
}

/** meta-data XML for an agent; `name` is the name it is exported under. */
export function generateOcfMetadata(agent: ResourceAgent, name: string = agent.meta.name): string {
  const params = describeAgentParams(agent);
  const caps = new Set(capabilitiesOf(agent));
  const t = agent.meta.defaultTimeouts ?? {};
  const timeout = (a: keyof typeof t): string => secs(t[a] ?? 20_000);
  const interval = secs(agent.meta.defaultMonitorInterval ?? 10_000);
  const lines: string[] = [
    '<?xml version="1.0"?>',
    '<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">',
    `<resource-agent name="${esc(name)}" version="${esc(agent.meta.version)}">`,
    '<version>1.0</version>',
    `<longdesc lang="en">${esc(agent.meta.description)} (Paceline agent ${esc(agent.meta.name)} ${esc(agent.meta.version)}, run through an OCF shim.)</longdesc>`,
    `<shortdesc lang="en">${esc(short(agent.meta.description, name))}</shortdesc>`,
    '<parameters>',
  ];
  for (const p of params) {
    let desc = p.description || p.name;
    if (p.values) desc += ` One of: ${p.values.join(', ')}.`;
    if (p.type === 'array') desc += ' A list: a JSON array, or values separated by spaces.';
    if (p.type === 'object') desc += ' A JSON object.';
    lines.push(
      `<parameter name="${esc(p.name)}" unique="${p.unique ? 1 : 0}" required="${p.required ? 1 : 0}">`,
      `<longdesc lang="en">${esc(desc)}</longdesc>`,
      `<shortdesc lang="en">${esc(short(p.description, p.name))}</shortdesc>`,
      `<content type="${ocfType(p)}"${p.default !== undefined ? ` default="${esc(defaultText(p.default))}"` : ''} />`,
      '</parameter>',
    );
  }
  lines.push('</parameters>', '<actions>');
  lines.push(`<action name="start" timeout="${timeout('start')}" />`);
  lines.push(`<action name="stop" timeout="${timeout('stop')}" />`);
  if (caps.has('promotable')) {
    lines.push(`<action name="monitor" timeout="${timeout('monitor')}" interval="${interval}" depth="0" role="Unpromoted" />`);
    const promoted = secs(Math.max(1000, (agent.meta.defaultMonitorInterval ?? 10_000) - 1000));
    lines.push(`<action name="monitor" timeout="${timeout('monitor')}" interval="${promoted}" depth="0" role="Promoted" />`);
    lines.push(`<action name="promote" timeout="${timeout('promote')}" />`, `<action name="demote" timeout="${timeout('demote')}" />`);
  } else {
    lines.push(`<action name="monitor" timeout="${timeout('monitor')}" interval="${interval}" depth="0" />`);
  }
  if (caps.has('reloadable')) lines.push(`<action name="reload" timeout="${timeout('reload')}" />`);
  if (caps.has('migratable')) {
    lines.push(`<action name="migrate_to" timeout="${timeout('migrate_to')}" />`, `<action name="migrate_from" timeout="${timeout('migrate_from')}" />`);
  }
  if (caps.has('notifiable')) lines.push('<action name="notify" timeout="20s" />');
  lines.push('<action name="meta-data" timeout="5s" />', '<action name="validate-all" timeout="20s" />', '</actions>', '</resource-agent>', '');
  return lines.join('\n');
}
