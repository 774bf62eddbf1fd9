// Nesting depth of kernel program sources. TypeScript's parser and checker, and the compiler's lowering,
// recurse once (or several times) per level of syntax, so a source nested thousands of levels deep
// overflows Node's stack. Sources nested deeper than MAX_NESTING get a located TSBPF1601 instead:
// before parsing (bracket depth, from the token stream) and after parsing (the syntax tree's depth,
// walked without recursion), so the checker never sees them.

import ts from "typescript";
import { DiagnosticCode, diagnosticRange, type Diagnostic } from "./diagnostics.js";

/**
 * Deepest syntax nesting accepted (levels of the syntax tree, from the file down). Measured with
 * Node 20's default stack: TypeScript's parser overflows at about 570 nested brackets (arrow functions
 * in parentheses), its checker at about 400 nested calls of `u32(...)` and 1,000 terms of a `&&` chain;
 * real programs stay below 30. A left-deep chain `a + b + ... ` counts one level per operator.
 */
export const MAX_NESTING = 256;

const OPENERS = new Set([ts.SyntaxKind.OpenParenToken, ts.SyntaxKind.OpenBracketToken, ts.SyntaxKind.OpenBraceToken, ts.SyntaxKind.TemplateHead]);
const CLOSERS = new Set([ts.SyntaxKind.CloseParenToken, ts.SyntaxKind.CloseBracketToken, ts.SyntaxKind.CloseBraceToken]);

function message(levels: number, atLeast: boolean, block = false): string {
  const what = block ? "block" : "expression";
  const fix = block ? "move inner blocks into functions" : "split it into several statements with intermediate variables";
  return `${what} nested too deeply (${atLeast ? "at least " : ""}${levels} levels; the limit is ${MAX_NESTING}): ${fix}`;
}

/** Line and column of `pos` in `text`, and the line itself, without a parsed source file. */
function rangeInText(fileName: string, text: string, start: number, length: number, msg: string): Diagnostic {
  const lineStart = text.lastIndexOf("\n", start - 1) + 1;
  const nl = text.indexOf("\n", start);
  const lineEnd = nl === -1 ? text.length : nl;
  let line = 1;
  for (let i = text.indexOf("\n"); i !== -1 && i < lineStart; i = text.indexOf("\n", i + 1)) line++;
  return { code: DiagnosticCode.Nesting, message: msg, file: fileName, line, column: start - lineStart + 1, start, length, text: text.slice(lineStart, lineEnd).replace(/\r$/, "") };
}

/**
 * Checks the bracket nesting of `text` before it is parsed (the parser recurses once per bracket).
 * Returns a diagnostic for the first group nested deeper than MAX_NESTING: the whole bracketed
 * expression when the depth is within one statement (the run of brackets above the innermost `{`),
 * else the innermost block (deeply nested blocks), each up to its closing bracket.
 */
export function scanNesting(fileName: string, text: string): Diagnostic | undefined {
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, true, ts.LanguageVariant.Standard, text);
  const open: { kind: ts.SyntaxKind; pos: number }[] = [];
  let report: number | undefined; // index in `open` of the reported group
  let at = 0;
  let max = 0;
  for (let k = scanner.scan(); k !== ts.SyntaxKind.EndOfFileToken; k = scanner.scan()) {
    if (k === ts.SyntaxKind.CloseBraceToken && open.length && open[open.length - 1]!.kind === ts.SyntaxKind.TemplateHead) {
      // The end of a `${...}` substitution: the template continues (middle) or ends (tail).
      if (scanner.reScanTemplateToken(false) !== ts.SyntaxKind.TemplateTail) continue;
      k = ts.SyntaxKind.CloseBraceToken;
    }
    if (OPENERS.has(k)) {
      open.push({ kind: k, pos: scanner.getTokenStart() });
      max = Math.max(max, open.length);
      if (report === undefined && open.length > MAX_NESTING) {
        let block = open.length - 1;
        while (block >= 0 && open[block]!.kind !== ts.SyntaxKind.OpenBraceToken) block--;
        report = open.length - block - 1 > MAX_NESTING / 2 || block < 0 ? block + 1 : block;
        at = open[report]!.pos;
      }
    } else if (CLOSERS.has(k)) {
      open.pop();
      if (report !== undefined && open.length <= report) break;
    }
  }
  if (report === undefined) return undefined;
  const end = open.length <= report ? scanner.getTokenEnd() : text.length;
  return rangeInText(fileName, text, at, end - at, message(max, true, text[at] === "{"));
}

/**
 * Checks the depth of a parsed source file without recursion. A node deeper than MAX_NESTING is
 * reported at the outermost expression that contains it (the whole chain or nest), with the depth the
 * file reaches there.
 */
export function checkNesting(sf: ts.SourceFile): Diagnostic | undefined {
  const path = deepestPath(sf, MAX_NESTING + 1);
  if (!path) return undefined;
  return nestingAt(sf, path);
}

/** The diagnostic for a too-deep path: at its outermost enclosing expression, or at the deep node. */
export function nestingAt(sf: ts.SourceFile, path: readonly ts.Node[]): Diagnostic {
  let top = path.length - 1;
  while (top > 0 && ts.isExpression(path[top - 1]!)) top--;
  const expression = ts.isExpression(path[top]!);
  const node = expression ? path[top]! : path[path.length - 1]!;
  const depth = depthBelow(node) + path.indexOf(node);
  const start = node.getStart(sf);
  return diagnosticRange(sf, start, node.getEnd() - start, DiagnosticCode.Nesting, message(depth, false, !expression));
}

/**
 * The root-to-node path of the first node at depth `limit` (the file is depth 0), or of the deepest
 * node when `limit` is undefined; undefined when the file is shallower than `limit`.
 */
export function deepestPath(sf: ts.SourceFile, limit?: number): ts.Node[] | undefined {
  // Explicit stack of (node, its depth); `path[d]` is the current ancestor at depth d.
  const path: ts.Node[] = [];
  let best: ts.Node[] | undefined;
  const stack: [ts.Node, number][] = [[sf, 0]];
  while (stack.length) {
    const [node, d] = stack.pop()!;
    path.length = d;
    path.push(node);
    if (limit !== undefined && d >= limit) return path;
    if (limit === undefined && (!best || d >= best.length)) best = path.slice();
    const kids: ts.Node[] = [];
    ts.forEachChild(node, (c) => { kids.push(c); });
    for (let i = kids.length - 1; i >= 0; i--) stack.push([kids[i]!, d + 1]);
  }
  return limit === undefined ? best : undefined;
}

/** Height of the subtree of `node` (0 for a leaf), without recursion. */
function depthBelow(node: ts.Node): number {
  let max = 0;
  const stack: [ts.Node, number][] = [[node, 0]];
  while (stack.length) {
    const [n, d] = stack.pop()!;
    if (d > max) max = d;
    ts.forEachChild(n, (c) => { stack.push([c, d + 1]); });
  }
  return max;
}

/** Whether `e` is V8's stack overflow (thrown by deep recursion in TypeScript or the compiler). */
export function isStackOverflow(e: unknown): boolean {
  return e instanceof RangeError && /call stack size/i.test(e.message);
}
