// `kprobe("fn", ...)` / `kretprobe("fn", ...)`: SEC("kprobe/<fn>"), SEC("kretprobe/<fn>"). The context is
// struct pt_regs: `ctx.arg(n)` by the calling convention; in a kprobe, `ctx.args.<name>` names the first
// six arguments from the function's prototype in the kernel declarations (each read from its register,
// kernel pointers with probe reads); in a kretprobe, `ctx.ret()` is typed by the function's return type.

import ts from "typescript";
import { DiagnosticCode as D } from "../diagnostics.js";
import { argumentValue } from "../lower/intrinsics.js";
import { U64 } from "../types.js";
import { PT_REGS_X86, TRACING_HELPERS, type ContextMethod, type ProgramKind } from "./kind.js";

const probe = (entry: string, contextTypes: readonly string[]): ProgramKind => ({
  entry,
  targets: 1,
  section: ([t]) => (t ? `${entry}/${t}` : entry),
  contextTypes: [...contextTypes, "ProbeContext", "ArgsContext"],
  context: { k: "pt_regs" },
  helpers: TRACING_HELPERS,
});

/**
 * `ctx.ret()` of a kretprobe: register ax, typed by the traced function's return type in the kernel
 * declarations (`KernelFunctions[N]["ret"]`, found through the context's type `KretprobeContext<N>`), or
 * u64 when the function is not declared.
 */
const typedReturn: ContextMethod = (L, call, ctx) => {
  const ret = declaredReturn(L.checker, call);
  if (ret?.kind === ts.SyntaxKind.VoidKeyword) return L.report(call, D.KernelType, "the traced function returns void; there is no return value to read");
  return argumentValue(L, ctx, PT_REGS_X86.ret, ret ? L.m.typeOfNode(ret) : U64, ret ?? call);
};

/**
 * The `ret` type node of the kernel function `N` whose kretprobe context (`KretprobeContext<N>`) `ctx.ret()`
 * is called on: from `GeneratedFunctions` (files of `tsbpf gen vmlinux --functions`), else the shipped
 * `KernelFunctions`, as the declaration's types look it up.
 */
function declaredReturn(checker: ts.TypeChecker, call: ts.CallExpression): ts.TypeNode | undefined {
  if (!ts.isPropertyAccessExpression(call.expression)) return undefined;
  const ctxType = checker.getTypeAtLocation(call.expression.expression);
  const sym = ctxType.getSymbol();
  const n = sym?.getName() === "KretprobeContext" ? checker.getTypeArguments(ctxType as ts.TypeReference)[0] : undefined;
  const where = sym?.declarations?.[0];
  if (!n?.isStringLiteral() || !where) return undefined;
  const scope = checker.getSymbolsInScope(where, ts.SymbolFlags.Interface | ts.SymbolFlags.Alias);
  for (const table of ["GeneratedFunctions", "KernelFunctions"]) {
    let t = scope.find((s) => s.name === table);
    if (t && t.flags & ts.SymbolFlags.Alias) t = checker.getAliasedSymbol(t);
    const entry = t && checker.getDeclaredTypeOfSymbol(t).getProperty(n.value)?.declarations?.[0];
    const literal = entry && ts.isPropertySignature(entry) ? entry.type : undefined;
    if (!literal || !ts.isTypeLiteralNode(literal)) continue;
    return literal.members.find((m): m is ts.PropertySignature => ts.isPropertySignature(m) && m.name.getText() === "ret")?.type;
  }
  return undefined;
}

export const kprobe = probe("kprobe", ["KprobeContext"]);
export const kretprobe: ProgramKind = { ...probe("kretprobe", ["KretprobeContext"]), methods: { ret: typedReturn } };
