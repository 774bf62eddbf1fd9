// `export const cc = structOps("tcp_congestion_ops", { ssthresh: (sk) => ..., name: "my_cc" })`: a kernel
// struct of function pointers implemented in TypeScript. Each handler is a `struct_ops/<const>_<member>`
// program whose parameters are the kernel function's arguments (typed from the member's prototype in
// the kernel's BTF; struct pointers are BTF pointers); the struct itself is a variable of SEC(".struct_ops")
// (or ".struct_ops.link" with `{ link: true }`) whose function-pointer members are relocated against
// those programs and whose data members (name, flags) hold the constants given — what the loader reads
// for C objects (src/object/struct-ops.ts).

import ts from "typescript";
import { DiagnosticCode as D } from "../diagnostics.js";
import type { CMember, CompiledStructOps, CType } from "../module.js";
import type { ModuleContext } from "../lower/context.js";
import { Lowerer } from "../lower/function.js";
import { kernelValueType } from "../lower/kfuncs.js";
import { locOf, type LoweredProgram } from "../lower/module.js";
import type { Ty } from "../types.js";
import { TRACING_HELPERS, type ProgramKind } from "./kind.js";

/** The `tsbpf/kernel` function that declares a struct_ops value. */
export const STRUCT_OPS_ENTRY = "structOps";

/** A struct_ops handler program: its arguments are the context's u64 slots. */
export const structOpsHandler: ProgramKind = {
  entry: STRUCT_OPS_ENTRY,
  targets: 1,
  section: ([name]) => `struct_ops/${name}`,
  contextTypes: [],
  context: { k: "args" },
  helpers: TRACING_HELPERS,
  btfPointers: true,
};

/**
 * Arguments the kernel retypes for a struct: tcp_congestion_ops handlers get their `struct sock *` as
 * the `struct tcp_sock` it is (the verifier's bpf_tcp_ca_is_valid_access promotes it).
 */
const PROMOTED: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  tcp_congestion_ops: { sock: "tcp_sock" },
};

const FN_PTR: CType = { kind: "ptr", target: { kind: "func_proto", returns: { kind: "void" }, params: [] } };

/** Lowers one `structOps(type, { ... }, options?)` declaration: its handler programs and the struct value. */
export function lowerStructOps(m: ModuleContext, decl: ts.VariableDeclaration, call: ts.CallExpression): { programs: LoweredProgram[]; value: CompiledStructOps } {
  const varName = (decl.name as ts.Identifier).text;
  const [typeArg, implArg, optArg] = call.arguments;
  if (!typeArg) return m.report(call, D.ProgramDeclaration, "structOps() needs the kernel struct's name, e.g. \"tcp_congestion_ops\"");
  const typeName = m.consts.evaluate(typeArg, "the struct name");
  if (typeof typeName !== "string") return m.report(typeArg, D.ProgramDeclaration, "the struct name is a string constant");
  const btf = m.kernel.btf;
  const sid = m.kernel.find(typeName, "struct");
  if (sid === undefined) return m.report(typeArg, D.KernelType, `struct ${typeName} is not in the kernel BTF`);
  if (btf.find(`bpf_struct_ops_${typeName}`, "struct").length === 0) {
    return m.report(typeArg, D.KernelType, `the kernel cannot take struct ${typeName} from BPF (no struct bpf_struct_ops_${typeName} in its BTF)`);
  }
  const st = btf.type(sid);
  if (st.kind !== "struct") return m.report(typeArg, D.KernelType, `${typeName} is not a struct`);
  if (!implArg || !ts.isObjectLiteralExpression(implArg)) return m.report(implArg ?? call, D.ProgramDeclaration, "structOps() takes an object literal of handlers and data members");
  let link = false;
  if (optArg) {
    const o = m.consts.evaluate(optArg, "the options");
    if (typeof o !== "object" || o === null || Object.keys(o).some((k) => k !== "link")) return m.report(optArg, D.ProgramDeclaration, "structOps options are { link?: boolean }");
    link = (o as { link?: unknown }).link === true;
  }

  const data = new Uint8Array(st.size);
  const members: CMember[] = [];
  const functions: { offset: number; function: string }[] = [];
  const programs: LoweredProgram[] = [];
  const promote = PROMOTED[typeName] ?? {};
  for (const prop of implArg.properties) {
    const key = prop.name && (ts.isIdentifier(prop.name) || ts.isStringLiteral(prop.name)) ? prop.name.text : undefined;
    if (!key || !(ts.isPropertyAssignment(prop) || ts.isMethodDeclaration(prop))) {
      return m.report(prop, D.ProgramDeclaration, "structOps members are `name: value` or `name(args) { ... }`");
    }
    const km = st.members.find((x) => x.name === key);
    if (!km) {
      return m.report(prop.name!, D.KernelType, `struct ${typeName} has no member "${key}"`);
    }
    const offset = km.bitOffset / 8;
    const mid = btf.resolve(km.type);
    const mt = btf.type(mid);
    const fnProto = mt.kind === "ptr" ? btf.type(btf.resolve(mt.type)) : undefined;
    const init = ts.isPropertyAssignment(prop) ? prop.initializer : prop;
    if (fnProto?.kind === "func_proto") {
      if (!(ts.isArrowFunction(init) || ts.isFunctionExpression(init) || ts.isMethodDeclaration(init))) {
        return m.report(init, D.ProgramDeclaration, `${typeName}.${key} is a function: give a handler \`(${fnProto.params.map((p) => p.name || "arg").join(", ")}) => ...\``);
      }
      const args: Ty[] = [];
      for (const p of fnProto.params) {
        const t = kernelValueType(m.kernel, p.type);
        if (typeof t === "string") return m.report(init, D.UnsupportedType, `${typeName}.${key}: argument type ${t} cannot be read by kernel programs yet`);
        args.push(t.ty.k === "kptr" && promote[t.ty.name] ? { ...t.ty, name: promote[t.ty.name]! } : t.ty);
      }
      const name = `${varName}_${key}`;
      const L = new Lowerer(m, structOpsHandler, [name], name, locOf(prop));
      L.lowerHandler(init as ts.ArrowFunction, args);
      programs.push({ name, section: structOpsHandler.section([name]), kind: structOpsHandler, ir: L.b.finish(), loc: locOf(prop) });
      members.push({ name: key, type: FN_PTR, bitOffset: km.bitOffset });
      functions.push({ offset, function: name });
      continue;
    }
    // A data member: an integer, or a string in a char array.
    const v = m.consts.evaluate(init as ts.Expression, `${typeName}.${key}`);
    if (mt.kind === "array") {
      const elem = btf.type(btf.resolve(mt.elemType));
      if (typeof v !== "string" || elem.kind !== "int" || elem.size !== 1) {
        return m.report(init, D.TypeMismatch, `${typeName}.${key} is ${btf.toString(km.type)}: give a string`);
      }
      const bytes = new TextEncoder().encode(v);
      if (bytes.length >= mt.nelems) {
        return m.report(init, D.ConstantRange, `${typeName}.${key} holds at most ${mt.nelems - 1} bytes (NUL-terminated); "${v}" has ${bytes.length}`);
      }
      data.set(bytes, offset);
      members.push({ name: key, type: { kind: "array", element: { kind: "int", name: "char", size: 1, signed: true, char: true }, length: mt.nelems }, bitOffset: km.bitOffset });
      continue;
    }
    if (mt.kind === "int" && !km.bitfieldSize && (typeof v === "number" || typeof v === "bigint" || typeof v === "boolean")) {
      const x = BigInt.asUintN(mt.size * 8, BigInt(v));
      for (let i = 0; i < mt.size; i++) data[offset + i] = Number((x >> BigInt(8 * i)) & 0xffn);
      members.push({ name: key, type: { kind: "int", name: mt.name || `u${mt.size * 8}`, size: mt.size as 1 | 2 | 4 | 8, signed: mt.signed }, bitOffset: km.bitOffset });
      continue;
    }
    return m.report(init, D.TypeMismatch, `${typeName}.${key} is ${btf.toString(km.type)}: give ${mt.kind === "int" ? "an integer constant" : "nothing (only handlers, integers and strings can be set)"}`);
  }
  members.sort((a, b) => a.bitOffset - b.bitOffset);
  const type = { kind: "struct" as const, name: typeName, size: st.size, members };
  return { programs, value: { name: varName, section: link ? ".struct_ops.link" : ".struct_ops", type, data, functions } };
}
