/**
 * Small pieces for writing CIB text: elements as indented lines, attribute escaping, unique ids,
 * durations and times as Pacemaker reads them, and the primitive behind a clone instance's name.
 * The export's writers (export-config.ts, export-constraints.ts, export-status.ts) share them.
 */

export type Attrs = Record<string, string | number | boolean | undefined>;

/** One element; `children` are already-rendered lines. */
export function el(tag: string, attrs: Attrs, children: readonly string[] = []): string[] {
  const a = Object.entries(attrs)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${escapeAttr(String(v))}"`)
    .join('');
  if (children.length === 0) return [`<${tag}${a}/>`];
  return [`<${tag}${a}>`, ...children.map((l) => `  ${l}`), `</${tag}>`];
}

function escapeAttr(v: string): string {
  return v
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/\t/g, '&#9;')
    .replace(/\n/g, '&#10;')
    .replace(/\r/g, '&#13;');
}

/** Hands out unique XML ids derived from a readable base. */
export class Ids {
  private readonly used = new Set<string>();
  private readonly written = new Set<string>();
  reserve(id: string): void {
    this.used.add(id);
  }
  /** A model-given id (rule, resource set), once; a repeat (e.g. a rule shared through id-ref) gets a fresh id. */
  claim(id: string): string {
    if (this.written.has(id) || !/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(id)) return this.make(id);
    this.written.add(id);
    return id;
  }
  make(base: string): string {
    let b = base.replace(/[^A-Za-z0-9_.-]/g, '_');
    if (!/^[A-Za-z_]/.test(b)) b = `x${b}`;
    let id = b;
    for (let i = 2; this.used.has(id); i++) id = `${b}-${i}`;
    this.used.add(id);
    return id;
  }
}

/** Milliseconds as a Pacemaker duration: whole seconds when exact, else milliseconds. */
export function duration(ms: number): string {
  if (ms === 0) return '0';
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** An attribute set (`instance_attributes`, `meta_attributes`, `utilization` …) of name/value pairs; nothing when there are none. */
export function nvset(tag: string, id: string, pairs: readonly (readonly [string, string])[], ids: Ids): string[] {
  if (pairs.length === 0) return [];
  const setId = ids.make(id);
  return el(
    tag,
    { id: setId },
    pairs.flatMap(([name, value]) => el('nvpair', { id: ids.make(`${setId}-${name}`), name, value })),
  );
}

/** Epoch ms as the whole seconds the CIB's times are written in. */
export const secs = (ms: number): number => Math.floor(ms / 1000);

/** The primitive behind a history entry or instance name: `db:1` → `db` (other names unchanged). */
export function instanceBase(id: string): string {
  const i = id.lastIndexOf(':');
  return i > 0 && /^\d+$/.test(id.slice(i + 1)) ? id.slice(0, i) : id;
}
