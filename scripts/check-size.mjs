#!/usr/bin/env node
// npm run check:size [-- --strict] [-- PATH...]: the size rule of issue #12. Lists every source file
// under packages/*/src and agents/*/src over 400 lines and every function, method, accessor or
// arrow over 80 lines (a nested function counts inside its outer one too, as ESLint's
// max-lines-per-function does), read with the TypeScript compiler API.
//
// An exception is written as one line comment of the form
//
//     // size: <reason, in words>
//
// for a file, in the comment block at the top of the file (before its first statement); for a
// function, in the comments directly above it, or above the statement it starts on (the `const`
// of an arrow, the property that holds it). The report prints each reason beside the figure.
// Without --strict the script only reports and exits 0; with --strict it exits 1 when a file or
// function is over its limit without a reason. PATH arguments (files or folders, relative to the
// repository) narrow the check to those sources.
import { readFileSync, readdirSync, existsSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

const FILE_LIMIT = 400;
const FUNCTION_LIMIT = 80;
const REASON = /^\/\/\s*size:\s*(\S.*)$/;

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const strict = args.includes('--strict');
const only = args.filter((a) => !a.startsWith('--')).map((a) => relative(root, join(process.cwd(), a)));

function* sources(dir) {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* sources(path);
    else if (/\.(ts|mts)$/.test(name) && !name.endsWith('.d.ts')) yield path;
  }
}

function sourceFiles() {
  const found = [];
  for (const group of ['packages', 'agents']) {
    if (!existsSync(join(root, group))) continue;
    for (const pkg of readdirSync(join(root, group)).sort()) {
      const src = join(root, group, pkg, 'src');
      if (existsSync(src)) found.push(...sources(src));
    }
  }
  const wanted = (rel) => only.length === 0 || only.some((o) => rel === o || rel.startsWith(o.endsWith('/') ? o : `${o}/`));
  return found.map((p) => relative(root, p)).filter(wanted);
}

/** The `// size:` reason among comment ranges, or undefined. */
function reasonIn(text, ranges) {
  for (const range of ranges ?? []) {
    if (range.kind !== ts.SyntaxKind.SingleLineCommentTrivia) continue;
    const match = REASON.exec(text.slice(range.pos, range.end).trim());
    if (match) return match[1].trim();
  }
  return undefined;
}

const lineOf = (file, pos) => file.getLineAndCharacterOfPosition(pos).line;

/** The outermost node that starts on the same line as `node`: where its comment is written. */
function anchorOf(file, node) {
  const line = lineOf(file, node.getStart(file));
  let anchor = node;
  for (let p = node.parent; p && !ts.isSourceFile(p) && lineOf(file, p.getStart(file)) === line; p = p.parent) anchor = p;
  return anchor;
}

function nameOf(node) {
  const named = (n) => (n && (ts.isIdentifier(n) || ts.isStringLiteral(n) || ts.isPrivateIdentifier(n)) ? n.text : undefined);
  const owner = (n) => {
    for (let p = n.parent; p; p = p.parent) if (ts.isClassLike(p)) return named(p.name) ?? '(class)';
    return undefined;
  };
  if (ts.isConstructorDeclaration(node)) return `${owner(node)}.constructor`;
  if (ts.isMethodDeclaration(node) || ts.isGetAccessor(node) || ts.isSetAccessor(node)) {
    const cls = ts.isClassLike(node.parent) ? owner(node) : undefined;
    return cls ? `${cls}.${named(node.name) ?? '(computed)'}` : (named(node.name) ?? '(method)');
  }
  if (node.name && named(node.name)) return named(node.name);
  const p = node.parent;
  if (p && (ts.isVariableDeclaration(p) || ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p)) && named(p.name)) return named(p.name);
  if (p && ts.isCallExpression(p)) {
    const callee = ts.isPropertyAccessExpression(p.expression) ? p.expression.name.text : p.expression.getText().replace(/\s+/g, ' ').slice(0, 40);
    return `(callback of ${callee})`;
  }
  return '(anonymous)';
}

const isFunction = (n) =>
  ts.isFunctionDeclaration(n) ||
  ts.isFunctionExpression(n) ||
  ts.isArrowFunction(n) ||
  ts.isMethodDeclaration(n) ||
  ts.isConstructorDeclaration(n) ||
  ts.isGetAccessor(n) ||
  ts.isSetAccessor(n);

function check(rel) {
  const text = readFileSync(join(root, rel), 'utf8');
  const file = ts.createSourceFile(rel, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const lines = text.endsWith('\n') ? text.split('\n').length - 1 : text.split('\n').length;
  const first = file.statements[0];
  const header = first ? ts.getLeadingCommentRanges(text, first.getFullStart()) : ts.getLeadingCommentRanges(text, 0);
  const result = { file: lines > FILE_LIMIT ? { rel, lines, reason: reasonIn(text, header) } : undefined, functions: [] };
  const visit = (node) => {
    if (isFunction(node) && node.body) {
      const start = lineOf(file, node.getStart(file));
      const length = lineOf(file, node.getEnd()) - start + 1;
      if (length > FUNCTION_LIMIT) {
        const anchor = anchorOf(file, node);
        const reason = reasonIn(text, ts.getLeadingCommentRanges(text, anchor.getFullStart()));
        result.functions.push({ rel, line: start + 1, name: nameOf(node), lines: length, reason });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return result;
}

const files = [];
const functions = [];
for (const rel of sourceFiles()) {
  const r = check(rel);
  if (r.file) files.push(r.file);
  functions.push(...r.functions);
}

const mark = (item) => (item.reason ? `  size: ${item.reason}` : '  (no reason)');
console.log(`Files over ${FILE_LIMIT} lines (${files.length}):`);
for (const f of files.sort((a, b) => b.lines - a.lines)) console.log(`  ${String(f.lines).padStart(5)}  ${f.rel}${mark(f)}`);
console.log(`Functions over ${FUNCTION_LIMIT} lines (${functions.length}):`);
for (const f of functions.sort((a, b) => b.lines - a.lines)) console.log(`  ${String(f.lines).padStart(5)}  ${f.rel}:${f.line} ${f.name}${mark(f)}`);
const missing = [...files, ...functions].filter((i) => !i.reason).length;
console.log(`${missing} over the limits without a reason (${files.length + functions.length - missing} with one).`);
if (strict && missing > 0) {
  console.error(`check:size --strict: ${missing} files or functions over the limits have no \`// size: <reason>\` comment (scripts/check-size.mjs).`);
  process.exit(1);
}
