// Kernel function calls (`kfuncs.<name>(...)`): typed from the function's prototype in the kernel's BTF,
// emitted as a BPF_PSEUDO_KFUNC_CALL to a `.ksyms` extern the loader resolves to the kernel's BTF id
// (as C objects do with `extern ... __ksym`). Arguments: kernel pointers (BTF pointers the program was
// given) and integers of the parameter's width; the result is an integer, a BTF pointer or void.

import type ts from "typescript";
import { DiagnosticCode as D } from "../diagnostics.js";
import type { Operand } from "../ir.js";
import type { CType } from "../module.js";
import { showTy, VOID, type IntTy, type Ty } from "../types.js";
import { arg, intArg } from "./call-args.js";
import type { Lowerer } from "./function.js";
import type { KernelTypes } from "./kernel.js";
import { reg, type Value } from "./values.js";

const VOID_C: CType = { kind: "void" };

/**
 * The compiler type and the object-BTF type of kernel type `id` (an argument or result of a kernel
 * function), or the type's name when programs cannot pass it. Struct pointers are BTF pointers.
 */
export function kernelValueType(kernel: KernelTypes, id: number): { ty: Ty; c: CType } | string {
  if (id === 0) return { ty: VOID, c: VOID_C };
  const k = kernel.typeKind(id);
  if (k.k === "int") return { ty: k.ty, c: { kind: "int", name: `${k.ty.signed ? "" : "unsigned "}${{ 8: "char", 16: "short", 32: "int", 64: "long long" }[k.ty.bits]}`, size: (k.ty.bits / 8) as 1 | 2 | 4 | 8, signed: k.ty.signed } };
  if (k.k === "bool") return { ty: { k: "int", bits: 8, signed: false }, c: { kind: "int", name: "_Bool", size: 1, signed: false, bool: true } };
  if (k.k === "ptr" && k.target) {
    const sid = kernel.find(k.target.name, k.target.btfKind);
    const target: CType = sid !== undefined ? kernel.local(sid) : { kind: "fwd", name: k.target.name, ...(k.target.btfKind === "union" ? { union: true } : {}) };
    return { ty: { k: "kptr", name: k.target.name, btfKind: k.target.btfKind, btf: true }, c: { kind: "ptr", target } };
  }
  return kernel.btf.toString(id);
}

/** Lowers `kfuncs.<name>(args)`. */
export function lowerKfunc(L: Lowerer, call: ts.CallExpression, name: string): Value {
  const btf = L.m.kernel.btf;
  const fid = btf.find(name, "func")[0];
  if (fid === undefined) return L.report(call.expression, D.KernelType, `kfunc ${name}: the kernel's BTF has no function of that name`);
  const fn = btf.type(fid);
  const proto = fn.kind === "func" ? btf.type(fn.type) : undefined;
  if (proto?.kind !== "func_proto") return L.report(call.expression, D.KernelType, `kfunc ${name}: no prototype in the kernel's BTF`);
  if (call.arguments.length !== proto.params.length) {
    return L.report(call, D.TypeMismatch, `kfunc ${name} takes ${proto.params.length} argument${proto.params.length === 1 ? "" : "s"}, got ${call.arguments.length}`);
  }
  const args: Operand[] = [];
  const params: { name: string; type: CType }[] = [];
  proto.params.forEach((p, i) => {
    const t = kernelValueType(L.m.kernel, p.type);
    if (typeof t === "string") return L.report(arg(L, call, i), D.UnsupportedType, `kfunc ${name}: parameter ${p.name || i + 1} has type ${t}, which kernel programs cannot pass yet`);
    params.push({ name: p.name || `arg${i}`, type: t.c });
    if (t.ty.k === "int") {
      args.push(intArg(L, arg(L, call, i), t.ty as IntTy));
      return;
    }
    const v = L.value(L.expr(arg(L, call, i)), arg(L, call, i));
    if (v.ty.k !== "kptr" || t.ty.k !== "kptr") return L.report(arg(L, call, i), D.TypeMismatch, `kfunc ${name}: parameter ${p.name || i + 1} is a ${showTy(t.ty)} pointer, got ${showTy(v.ty)}`);
    args.push(v.op);
  });
  const ret = kernelValueType(L.m.kernel, proto.returnType);
  if (typeof ret === "string") return L.report(call, D.UnsupportedType, `kfunc ${name} returns ${ret}, which kernel programs cannot use yet`);
  L.m.kfunc(name, { kind: "func_proto", returns: ret.c, params });
  if (ret.ty.k === "void") {
    L.b.emit({ op: "callKfunc", kfunc: name, args });
    return { ty: VOID, op: { imm: 0n } };
  }
  const dst = L.b.reg();
  L.b.emit({ op: "callKfunc", kfunc: name, args, dst });
  return { ty: ret.ty, op: reg(dst) };
}
