/**
 * The one loader for configuration and status text (YAML, or JSON, which is YAML): every command
 * and the daemon read files through it, so malformed input gets the same answer everywhere — a
 * ConfigError with code PARSE_FAILED whose issues say `line L, column C` and what is wrong.
 *
 * Hostile text is refused before it can cost much: control characters (a NUL byte is a binary
 * file, not a configuration), alias expansions beyond a small budget (a "billion laughs" bomb),
 * nesting deeper than any configuration needs, and NUL characters written as escapes (they would
 * end up in agent parameters, environment variables or file names).
 */
import { createRequire } from 'node:module';
import type { Document, LineCounter } from 'yaml';
import { ConfigError, formatPath, type ConfigIssue } from './errors.js';

/**
 * The yaml library, loaded the first time text is parsed: this module is part of the model's
 * entry point, and a program that never reads YAML (simulate --cib, a library user) should not pay
 * for loading it. It is CommonJS, so it can be loaded synchronously here.
 */
let yamlLib: typeof import('yaml') | undefined;
const yaml = (): typeof import('yaml') => (yamlLib ??= createRequire(import.meta.url)('yaml') as typeof import('yaml'));

/** Alias expansions allowed in one document (the yaml library's default, named here). */
export const MAX_ALIAS_COUNT = 100;
/** Deepest nesting of maps and lists accepted; a configuration needs fewer than ten. */
export const MAX_DOCUMENT_DEPTH = 64;
/** YAML syntax errors listed before "… and N more". */
const MAX_SYNTAX_ISSUES = 10;

/** C0 control characters other than tab, line feed and carriage return, and DEL: never in YAML. */
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

const at = (pos: { line: number; col: number } | undefined): string => (pos ? `line ${pos.line}, column ${pos.col}` : '');

function controlCharacter(text: string): ConfigIssue | undefined {
  const m = CONTROL.exec(text);
  if (!m) return undefined;
  const before = text.slice(0, m.index);
  const line = before.split('\n').length;
  const col = m.index - before.lastIndexOf('\n');
  const code = m[0].charCodeAt(0);
  const name = code === 0 ? 'a NUL byte' : `the control character U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  return { path: `line ${line}, column ${col}`, message: `${name} is not allowed in a configuration file (is it a binary file?)` };
}

/** The yaml library's message without its own position suffix and excerpt (the path says where). */
function syntaxMessage(message: string): string {
  const first = message.split('\n')[0] ?? message;
  const text = first.replace(/ at line \d+, column \d+:?$/, '');
  return /Maximum call stack size exceeded/.test(text) ? `nested too deeply (more than ${MAX_DOCUMENT_DEPTH} levels are never needed)` : text;
}

function syntaxIssues(doc: Document.Parsed): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const e of doc.errors) {
    const issue = { path: at(e.linePos?.[0]), message: syntaxMessage(e.message) };
    // A stack overflow is reported once per nesting level; one line says it.
    if (issues.some((i) => i.message === issue.message && issue.message.startsWith('nested too deeply'))) continue;
    issues.push(issue);
  }
  if (issues.length > MAX_SYNTAX_ISSUES)
    return [
      ...issues.slice(0, MAX_SYNTAX_ISSUES),
      { path: issues[MAX_SYNTAX_ISSUES]!.path, message: `… and ${issues.length - MAX_SYNTAX_ISSUES} more syntax errors` },
    ];
  return issues;
}

/** Where the alias named in `message` (or the first alias) is, for errors raised while expanding. */
function aliasPosition(doc: Document.Parsed, lines: LineCounter, message: string): string {
  const named = /: (\S+)$/.exec(message)?.[1];
  let found: number | undefined;
  const { visit } = yaml();
  visit(doc, {
    Alias(_key, node) {
      if (found === undefined && (named === undefined || node.source === named)) found = node.range?.[0];
      return found === undefined ? undefined : visit.BREAK;
    },
  });
  return found === undefined ? '' : at(lines.linePos(found));
}

/** Depth and NUL checks over the parsed value, iteratively (no recursion on untrusted depth). */
function valueIssues(value: unknown): ConfigIssue[] {
  const stack: { v: unknown; path: (string | number)[] }[] = [{ v: value, path: [] }];
  const issues: ConfigIssue[] = [];
  while (stack.length > 0 && issues.length < MAX_SYNTAX_ISSUES) {
    const { v, path } = stack.pop()!;
    if (typeof v === 'string') {
      if (v.includes('\u0000')) issues.push({ path: formatPath(path), message: 'contains a NUL character (\\0), which no field accepts' });
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (path.length >= MAX_DOCUMENT_DEPTH) {
      issues.push({ path: formatPath(path), message: `nested too deeply (more than ${MAX_DOCUMENT_DEPTH} levels are never needed)` });
      continue;
    }
    if (Array.isArray(v)) v.forEach((x, i) => stack.push({ v: x, path: [...path, i] }));
    else
      for (const [k, x] of Object.entries(v)) {
        if (k.includes('\u0000')) issues.push({ path: formatPath([...path, k.replace(/\u0000/g, '\\0')]), message: 'a key contains a NUL character (\\0)' });
        stack.push({ v: x, path: [...path, k] });
      }
  }
  return issues;
}

/**
 * Parses YAML or JSON text into plain data (an empty document is `{}`). Throws ConfigError
 * (PARSE_FAILED, naming `source`) listing each problem with its line and column.
 */
export function parseDocumentText(text: string, source?: string): unknown {
  const fail = (issues: ConfigIssue[]): never => {
    throw new ConfigError(issues, source, 'PARSE_FAILED');
  };
  const control = controlCharacter(text);
  if (control) fail([control]);
  const { LineCounter, parseDocument } = yaml();
  const lines = new LineCounter();
  let doc: Document.Parsed;
  try {
    doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  } catch (e) {
    // The parser reports problems as errors on the document; anything thrown is a limit it hit.
    return fail([{ path: '', message: syntaxMessage((e as Error).message) }]);
  }
  if (doc.errors.length > 0) fail(syntaxIssues(doc));
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    const message = (e as Error).message;
    if (/Excessive alias count/.test(message))
      fail([
        {
          path: aliasPosition(doc, lines, ''),
          message: `aliases expand to too much (more than ${MAX_ALIAS_COUNT} expansions): refused as a possible alias bomb`,
        },
      ]);
    if (/Unresolved alias/.test(message)) fail([{ path: aliasPosition(doc, lines, message), message: syntaxMessage(message) }]);
    fail([{ path: '', message: syntaxMessage(message) }]);
  }
  const issues = valueIssues(value);
  if (issues.length > 0) fail(issues);
  return value ?? {};
}
