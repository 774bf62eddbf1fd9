// User functions compiled as bpf-to-bpf subprograms instead of being inlined: which calls become a
// `callFn` (the JSDoc tags `@noinline`/`@inline`, else a size-and-uses rule), and the lowering of each
// subprogram (once per program kind that calls it; static, in .text, so libbpf-style loaders append
// one copy to each program that calls it).

import ts from "typescript";
import type { SourceLocation } from "../../asm/instruction.js";
import { DiagnosticCode as D, Diagnosed, type Diagnostic } from "../diagnostics.js";
import type { IrFunction } from "../ir.js";
import type { ProgramKind } from "../kinds/index.js";
import type { CType } from "../module.js";
import { cInt, cTypeOf, type Ty } from "../types.js";
import { Lowerer } from "./function.js";

/**
 * The default rule: a function without a tag is compiled as a subprogram when it is called from at
 * least {@link AUTO_MIN_CALLS} places in the module's files and its body has at least
 * {@link AUTO_MIN_STATEMENTS} statements (nested ones included), and its signature allows it.
 * When such a function does not compile as a subprogram (it needs a constant argument, say), it is
 * inlined instead, silently; `@noinline` makes that an error.
 */
export const AUTO_MIN_CALLS = 2;
export const AUTO_MIN_STATEMENTS = 16;
/** eBPF passes at most five arguments, in r1..r5. */
export const MAX_SUBPROGRAM_ARGS = 5;

/** One lowered subprogram. */
export interface LoweredSubprogram {
  readonly name: string;
  readonly ir: IrFunction;
  readonly proto: CType & { readonly kind: "func_proto" };
  readonly loc: SourceLocation;
}

interface Entry {
  readonly name: string;
  state: "lowering" | "done" | "inline";
}

/** How a function is marked: `@noinline`, `@inline` or neither. */
export function inlineTag(decl: ts.FunctionDeclaration): "noinline" | "inline" | undefined {
  const tags = ts.getJSDocTags(decl).map((t) => t.tagName.text);
  if (tags.includes("noinline")) return "noinline";
  if (tags.includes("inline")) return "inline";
  return undefined;
}

/** Statements in a function body, nested ones included. */
export function statementCount(body: ts.Node): number {
  let n = 0;
  const visit = (node: ts.Node): void => {
    if (node.kind >= ts.SyntaxKind.FirstStatement && node.kind <= ts.SyntaxKind.LastStatement) n++;
    if (!ts.isFunctionLike(node)) ts.forEachChild(node, visit);
  };
  ts.forEachChild(body, visit);
  return n;
}

/** The module's subprograms: decides, lowers on first call, and lists them for code generation. */
export class Subprograms {
  readonly lowered: LoweredSubprogram[] = [];
  readonly #entries = new Map<ts.FunctionDeclaration, Map<ProgramKind, Entry>>();
  readonly #names = new Set<string>();
  readonly #files: readonly ts.SourceFile[];
  readonly #diagnostics: Diagnostic[];
  #callSites: Map<string, number> | undefined;

  /** `files`: the user's source files (call sites are counted there); `diagnostics`: the module's list. */
  constructor(files: readonly ts.SourceFile[], diagnostics: Diagnostic[], taken: Iterable<string>) {
    this.#files = files;
    this.#diagnostics = diagnostics;
    for (const n of taken) this.#names.add(n);
  }

  /**
   * The subprogram a call of `decl` from `L`'s program goes to, lowering it on first use, or
   * undefined when the call is to be inlined. Reports (at the call) a `@noinline` function that
   * cannot be a subprogram.
   */
  target(L: Lowerer, decl: ts.FunctionDeclaration, call: ts.CallExpression, result: Ty): { readonly name: string } | undefined {
    const tag = inlineTag(decl);
    if (tag === "inline") return undefined;
    const byKind = this.#entries.get(decl) ?? new Map<ProgramKind, Entry>();
    this.#entries.set(decl, byKind);
    const have = byKind.get(L.prog);
    if (have) return have.state === "inline" ? undefined : have;
    const explicit = tag === "noinline";
    const fname = decl.name?.text ?? "function";
    if (!explicit && (this.#calls(decl) < AUTO_MIN_CALLS || statementCount(decl.body!) < AUTO_MIN_STATEMENTS)) return undefined;
    const before = this.#diagnostics.length;
    // The signature: integers and booleans by value, structs, kernel objects and the context by pointer.
    let params: Ty[];
    try {
      if (decl.parameters.length > MAX_SUBPROGRAM_ARGS) L.report(decl.parameters[MAX_SUBPROGRAM_ARGS]!, D.Limit, `${fname} is @noinline and has ${decl.parameters.length} parameters; a BPF subprogram takes at most ${MAX_SUBPROGRAM_ARGS} (pass a struct instead)`);
      params = decl.parameters.map((p) => {
        if (!p.type) return L.report(p, D.UnsizedType, `annotate the type of parameter ${p.name.getText()}`);
        const t = L.m.typeOfNode(p.type);
        if (t.k !== "int" && t.k !== "bool" && t.k !== "mem" && t.k !== "kptr" && t.k !== "ctx") {
          return L.report(p, D.UnsupportedType, `parameter ${p.name.getText()} of @noinline ${fname} is ${t.k === "ref" ? "a map value reference" : `a ${t.k}`}; a BPF subprogram takes integers, booleans, structs (by pointer), kernel objects and the context`);
        }
        return t;
      });
      if (result.k !== "int" && result.k !== "bool" && result.k !== "void") L.report(decl.type ?? decl, D.UnsupportedType, `@noinline ${fname} returns a ${result.k}; a BPF subprogram returns an integer or a boolean`);
    } catch (e) {
      if (!(e instanceof Diagnosed) || explicit) throw e;
      this.#diagnostics.length = before;
      byKind.set(L.prog, { name: fname, state: "inline" });
      return undefined;
    }
    const name = this.#freshName(fname);
    const entry: Entry = { name, state: "lowering" };
    byKind.set(L.prog, entry);
    const loc = locOf(decl);
    const sub = new Lowerer(L.m, L.prog, L.targets, name, loc, { params: params.length, result });
    try {
      sub.lowerSubprogram(decl, params);
    } catch (e) {
      if (!(e instanceof Diagnosed)) throw e;
    }
    if (!explicit && this.#diagnostics.length > before) {
      // Not expressible as a subprogram (a constant argument needed, say): inline it after all.
      this.#diagnostics.length = before;
      entry.state = "inline";
      this.#names.delete(name);
      return undefined;
    }
    entry.state = "done";
    const proto: CType & { kind: "func_proto" } = {
      kind: "func_proto",
      returns: result.k === "void" ? { kind: "int", name: "int", size: 4, signed: true } : cInt(result as Extract<Ty, { k: "int" | "bool" }>),
      params: decl.parameters.map((p, i) => ({ name: p.name.getText(), type: paramCType(params[i]!) })),
    };
    this.lowered.push({ name, ir: sub.b.finish(), proto, loc });
    return entry;
  }

  #freshName(base: string): string {
    let name = base;
    for (let i = 2; this.#names.has(name); i++) name = `${base}_${i}`;
    this.#names.add(name);
    return name;
  }

  /** Call sites of `decl` in the user's files (calls by its name). */
  #calls(decl: ts.FunctionDeclaration): number {
    if (!this.#callSites) {
      const counts = new Map<string, number>();
      const visit = (n: ts.Node): void => {
        if (ts.isCallExpression(n) && ts.isIdentifier(n.expression)) counts.set(n.expression.text, (counts.get(n.expression.text) ?? 0) + 1);
        ts.forEachChild(n, visit);
      };
      for (const f of this.#files) visit(f);
      this.#callSites = counts;
    }
    return decl.name ? this.#callSites.get(decl.name.text) ?? 0 : 0;
  }
}

function paramCType(t: Ty): CType {
  if (t.k === "int" || t.k === "bool") return cInt(t);
  if (t.k === "mem") return { kind: "ptr", target: cTypeOf(t) };
  return { kind: "ptr", target: { kind: "void" } };
}

function locOf(node: ts.Node): SourceLocation {
  const sf = node.getSourceFile();
  const { line, character } = sf.getLineAndCharacterOfPosition(node.getStart(sf));
  return { file: sf.fileName, line: line + 1, column: character + 1 };
}
