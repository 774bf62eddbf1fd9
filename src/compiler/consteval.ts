// Compile-time evaluation of constant expressions: struct layouts built with tsbpf/types (evaluated
// with the real layout functions, so kernel and userspace agree byte for byte), numbers and strings.

import ts from "typescript";
import * as layouts from "../types/index.js";
import { DiagnosticCode, Diagnosed } from "./diagnostics.js";
import { isLibraryFile } from "./host.js";
import { BTF_MARKER } from "../gen/typescript.js";

/** Reports a diagnostic and aborts the current construct. */
export type Report = (node: ts.Node, code: string, message: string) => never;

/**
 * The `tsbpf/kernel` and `tsbpf/types` values that exist at compile time: layouts and the layout
 * functions, run by the compiler itself. Constants (`BPF_ANY`, `XdpAction.DROP`...) are not listed:
 * their value is their declared literal type, so the declaration is the one place that defines them.
 */
const LIBRARY_VALUES: Record<string, unknown> = {
  struct: layouts.struct, union: layouts.union, array: layouts.array, bytes: layouts.bytes,
  cstring: layouts.cstring, padding: layouts.padding,
  u8: layouts.u8, u16: layouts.u16, u32: layouts.u32, u64: layouts.u64,
  i8: layouts.i8, i16: layouts.i16, i32: layouts.i32, i64: layouts.i64, bool: layouts.bool,
};

/** The value of a literal type (`1`, `-1`, `1n`, `"x"`, `true`), or NOT_CONSTANT. */
function literalValue(t: ts.Type): unknown {
  if (t.isNumberLiteral() || t.isStringLiteral()) return t.value;
  if (t.flags & ts.TypeFlags.BigIntLiteral) {
    const v = (t as ts.BigIntLiteralType).value;
    return (v.negative ? -1n : 1n) * BigInt(v.base10Value);
  }
  if (t.flags & ts.TypeFlags.BooleanLiteral) return (t as ts.Type & { intrinsicName?: string }).intrinsicName === "true";
  return NOT_CONSTANT;
}

/** A value known at compile time that is not a plain number/string (lets callers tell "not constant"). */
export const NOT_CONSTANT: unique symbol = Symbol("not constant");

/** Evaluates expressions at compile time, following identifiers to their `const` declarations. */
export class ConstEvaluator {
  readonly #checker: ts.TypeChecker;
  readonly #report: Report;
  readonly #memo = new Map<ts.Declaration, unknown>();
  readonly #active = new Set<ts.Declaration>();

  readonly #enumerator: ((name: string) => bigint | undefined) | undefined;

  /** `enumerator` gives a kernel enum constant's value in the target kernel's BTF. */
  constructor(checker: ts.TypeChecker, report: Report, enumerator?: (name: string) => bigint | undefined) {
    this.#checker = checker;
    this.#report = report;
    this.#enumerator = enumerator;
  }

  /**
   * A kernel enum constant declared by generated declarations (`/** @btf enum owner [name] = value *\/
   * export declare const NAME: u32;`): its value in the target kernel's BTF, else the declared one.
   * 64-bit constants are bigints.
   */
  #kernelConstant(decl: ts.VariableDeclaration, name: string): unknown {
    const sf = decl.getSourceFile();
    const stmt = decl.parent?.parent;
    const comments = stmt ? ts.getLeadingCommentRanges(sf.text, stmt.pos) ?? [] : [];
    const doc = comments.map((c) => sf.text.slice(c.pos, c.end)).join("\n");
    const m = /@btf enum \S+(?: (\S+))? = (-?\d+)/.exec(doc);
    if (!m) throw NOT_CONSTANT;
    const v = this.#enumerator?.(m[1] ?? name) ?? BigInt(m[2]!);
    const wide = decl.type !== undefined && /^[ui]64$/.test(decl.type.getText());
    return wide ? v : Number(v);
  }

  /**
   * A library constant's value from its declared type: `BPF_ANY: 0`, the member `DROP: 1` of
   * `XdpAction: { readonly DROP: 1; ... }`, or such an object itself (every member a literal).
   */
  #declaredConstant(sym: ts.Symbol, decl: ts.Declaration): unknown {
    if (!ts.isVariableDeclaration(decl) && !ts.isPropertySignature(decl)) return NOT_CONSTANT;
    if (ts.isVariableDeclaration(decl) && !(ts.getCombinedNodeFlags(decl) & ts.NodeFlags.Const)) return NOT_CONSTANT;
    const t = this.#checker.getTypeOfSymbolAtLocation(sym, decl);
    const v = literalValue(t);
    if (v !== NOT_CONSTANT || !(t.flags & ts.TypeFlags.Object) || t.getCallSignatures().length || t.getConstructSignatures().length) return v;
    const props = t.getProperties();
    if (props.length === 0) return NOT_CONSTANT;
    const out: Record<string, unknown> = {};
    for (const p of props) {
      const pv = literalValue(this.#checker.getTypeOfSymbolAtLocation(p, decl));
      if (pv === NOT_CONSTANT) return NOT_CONSTANT;
      out[p.getName()] = pv;
    }
    return out;
  }

  /** The symbol an identifier (or property access) refers to, through imports. */
  resolveSymbol(node: ts.Node): ts.Symbol | undefined {
    let sym = this.#checker.getSymbolAtLocation(node);
    if (sym && sym.flags & ts.SymbolFlags.Alias) sym = this.#checker.getAliasedSymbol(sym);
    return sym;
  }

  /** The name of a tsbpf library export this node refers to, or undefined. */
  libraryName(node: ts.Node): string | undefined {
    const sym = this.resolveSymbol(node);
    const decl = sym?.declarations?.[0];
    if (!sym || !decl || !isLibraryFile(decl.getSourceFile().fileName)) return undefined;
    return sym.getName();
  }

  /** Evaluates `node`, or returns NOT_CONSTANT when it is not a compile-time constant. */
  tryEvaluate(node: ts.Expression): unknown {
    try {
      return this.#eval(node, false);
    } catch (e) {
      if (e === NOT_CONSTANT) return NOT_CONSTANT;
      throw e;
    }
  }

  /** Evaluates `node`, reporting a diagnostic (`what` must be constant) when it is not constant. */
  evaluate(node: ts.Expression, what: string): unknown {
    try {
      return this.#eval(node, true);
    } catch (e) {
      if (e === NOT_CONSTANT) this.#report(node, DiagnosticCode.NotConstant, `${what} must be known at compile time`);
      throw e;
    }
  }

  /** The constant value of a `const` declaration (memoized), or NOT_CONSTANT. */
  declarationValue(decl: ts.Declaration): unknown {
    if (this.#memo.has(decl)) return this.#memo.get(decl);
    if (!ts.isVariableDeclaration(decl) || !decl.initializer || !(ts.getCombinedNodeFlags(decl) & ts.NodeFlags.Const)) return NOT_CONSTANT;
    if (this.#active.has(decl)) return NOT_CONSTANT;
    this.#active.add(decl);
    try {
      const v = this.tryEvaluate(decl.initializer);
      this.#memo.set(decl, v);
      return v;
    } finally {
      this.#active.delete(decl);
    }
  }

  #eval(node: ts.Expression, strict: boolean): unknown {
    if (ts.isParenthesizedExpression(node) || ts.isAsExpression(node) || ts.isSatisfiesExpression(node) || ts.isNonNullExpression(node) || ts.isTypeAssertionExpression(node)) {
      return this.#eval(node.expression, strict);
    }
    if (ts.isNumericLiteral(node)) return Number(node.text);
    if (ts.isBigIntLiteral(node)) return BigInt(node.text.slice(0, -1));
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
    if (node.kind === ts.SyntaxKind.TrueKeyword) return true;
    if (node.kind === ts.SyntaxKind.FalseKeyword) return false;
    if (ts.isPrefixUnaryExpression(node)) {
      const v = this.#eval(node.operand, strict);
      switch (node.operator) {
        case ts.SyntaxKind.MinusToken: if (typeof v === "number" || typeof v === "bigint") return -v; break;
        case ts.SyntaxKind.PlusToken: if (typeof v === "number") return v; break;
        case ts.SyntaxKind.TildeToken: if (typeof v === "number") return ~v; if (typeof v === "bigint") return ~v; break;
        case ts.SyntaxKind.ExclamationToken: return !v;
      }
      throw NOT_CONSTANT;
    }
    if (ts.isBinaryExpression(node)) {
      const a = this.#eval(node.left, strict);
      const b = this.#eval(node.right, strict);
      return binary(node.operatorToken.kind, a, b);
    }
    if (ts.isIdentifier(node) || ts.isPropertyAccessExpression(node)) {
      const sym = this.resolveSymbol(node);
      const decl = sym?.valueDeclaration ?? sym?.declarations?.[0];
      if (sym && decl && ts.isVariableDeclaration(decl) && decl.getSourceFile().text.startsWith(BTF_MARKER)) {
        return this.#kernelConstant(decl, sym.getName());
      }
      if (sym && decl && isLibraryFile(decl.getSourceFile().fileName)) {
        const name = sym.getName();
        const declared = this.#declaredConstant(sym, decl);
        if (declared !== NOT_CONSTANT) return declared;
        if (ts.isPropertyAccessExpression(node)) {
          const obj = this.#eval(node.expression, strict);
          if (obj && typeof obj === "object" && name in obj) return (obj as Record<string, unknown>)[name];
          throw NOT_CONSTANT;
        }
        if (name in LIBRARY_VALUES) return LIBRARY_VALUES[name];
        throw NOT_CONSTANT;
      }
      if (decl) {
        const v = this.declarationValue(decl);
        if (v !== NOT_CONSTANT) return v;
      }
      if (ts.isPropertyAccessExpression(node)) {
        const obj = this.#eval(node.expression, strict);
        if (obj && typeof obj === "object" && Object.hasOwn(obj, node.name.text)) return (obj as Record<string, unknown>)[node.name.text];
      }
      throw NOT_CONSTANT;
    }
    if (ts.isObjectLiteralExpression(node)) {
      const out: Record<string, unknown> = {};
      for (const p of node.properties) {
        if (ts.isPropertyAssignment(p) && (ts.isIdentifier(p.name) || ts.isStringLiteral(p.name) || ts.isNumericLiteral(p.name))) {
          out[p.name.text] = this.#eval(p.initializer, strict);
        } else if (ts.isShorthandPropertyAssignment(p)) {
          out[p.name.text] = this.#eval(p.name, strict);
        } else throw NOT_CONSTANT;
      }
      return out;
    }
    if (ts.isArrayLiteralExpression(node)) return node.elements.map((e) => this.#eval(e, strict));
    if (ts.isCallExpression(node)) {
      const fn = this.#eval(node.expression, strict);
      if (typeof fn !== "function" || !Object.values(LIBRARY_VALUES).includes(fn)) throw NOT_CONSTANT;
      const args = node.arguments.map((a) => this.#eval(a, strict));
      try {
        return (fn as (...a: unknown[]) => unknown)(...args);
      } catch (e) {
        if (e instanceof Diagnosed) throw e;
        this.#report(node, DiagnosticCode.NotConstant, `invalid layout: ${(e as Error).message}`);
      }
    }
    if (ts.isConditionalExpression(node)) {
      return this.#eval(node.condition, strict) ? this.#eval(node.whenTrue, strict) : this.#eval(node.whenFalse, strict);
    }
    throw NOT_CONSTANT;
  }
}

function binary(op: ts.SyntaxKind, a: unknown, b: unknown): unknown {
  if (typeof a === "number" && typeof b === "number") {
    switch (op) {
      case ts.SyntaxKind.PlusToken: return a + b;
      case ts.SyntaxKind.MinusToken: return a - b;
      case ts.SyntaxKind.AsteriskToken: return a * b;
      case ts.SyntaxKind.SlashToken: return b === 0 ? 0 : Math.trunc(a / b);
      case ts.SyntaxKind.PercentToken: return b === 0 ? a : a % b;
      case ts.SyntaxKind.LessThanLessThanToken: return a << b;
      case ts.SyntaxKind.GreaterThanGreaterThanToken: return a >> b;
      case ts.SyntaxKind.GreaterThanGreaterThanGreaterThanToken: return a >>> b;
      case ts.SyntaxKind.BarToken: return a | b;
      case ts.SyntaxKind.AmpersandToken: return a & b;
      case ts.SyntaxKind.CaretToken: return a ^ b;
    }
  }
  if (typeof a === "bigint" && typeof b === "bigint") {
    switch (op) {
      case ts.SyntaxKind.PlusToken: return a + b;
      case ts.SyntaxKind.MinusToken: return a - b;
      case ts.SyntaxKind.AsteriskToken: return a * b;
      case ts.SyntaxKind.SlashToken: return b === 0n ? 0n : a / b;
      case ts.SyntaxKind.PercentToken: return b === 0n ? a : a % b;
      case ts.SyntaxKind.LessThanLessThanToken: return a << b;
      case ts.SyntaxKind.GreaterThanGreaterThanToken: return a >> b;
      case ts.SyntaxKind.BarToken: return a | b;
      case ts.SyntaxKind.AmpersandToken: return a & b;
      case ts.SyntaxKind.CaretToken: return a ^ b;
    }
  }
  if (typeof a === "string" && typeof b === "string" && op === ts.SyntaxKind.PlusToken) return a + b;
  throw NOT_CONSTANT;
}
