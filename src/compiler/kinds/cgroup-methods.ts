// Context methods shared by the cgroup program kinds (sock_ops, sock_addr, sockopt, sysctl...): helpers
// that take the context first, lowered once here and listed by each kind that the kernel allows them.

import type ts from "typescript";
import { HELPER_IDS as H } from "../../sys/helper-ids.js";
import { DiagnosticCode as D } from "../diagnostics.js";
import type { VReg } from "../ir.js";
import { arg, callHelper, intArg, memArg, optionalWide } from "../lower/call-args.js";
import type { Lowerer } from "../lower/function.js";
import { imm, reg, type Value } from "../lower/values.js";
import { I32, I64, U32, showTy } from "../types.js";
import type { ContextMethod } from "./kind.js";

/** Address and size of a destination the helper writes: a struct, array or field in memory, not a copy. */
export function destination(L: Lowerer, e: ts.Expression, method: string): { addr: VReg; size: number } {
  const v = L.expr(e);
  if (v.ty.k === "mem") return { addr: L.b.toReg(v.op), size: v.ty.layout.size };
  if (v.ty.k === "ref") return { addr: L.b.toReg(v.op), size: v.ty.to.k === "bool" ? 1 : v.ty.to.bits / 8 };
  return L.report(e, D.TypeMismatch, `${method} writes into its argument: pass a struct, array or field in memory (e.g. a field of X.zero()), not ${showTy(v.ty)}`);
}

/** `ctx.setsockopt(level, optname, value)`: bpf_setsockopt on the context's socket; 0 or a negative errno. */
export const setsockopt: ContextMethod = (L, c, ctx) => {
  const level = intArg(L, arg(L, c, 0), I32), name = intArg(L, arg(L, c, 1), I32);
  const { addr, size } = memArg(L, arg(L, c, 2), undefined, "option value");
  return callHelper(L, H.setsockopt, [reg(ctx), level, name, reg(addr), imm(size)], I64);
};

/** `ctx.getsockopt(level, optname, dest)`: bpf_getsockopt into `dest`; 0 or a negative errno. */
export const getsockopt: ContextMethod = (L, c, ctx) => {
  const level = intArg(L, arg(L, c, 0), I32), name = intArg(L, arg(L, c, 1), I32);
  const { addr, size } = destination(L, arg(L, c, 2), "ctx.getsockopt");
  return callHelper(L, H.getsockopt, [reg(ctx), level, name, reg(addr), imm(size)], I64);
};

/** `ctx.getRetval()`: bpf_get_retval, the errno the hook's syscall will return (0 = none yet). */
export const getRetval: ContextMethod = (L) => ({ ty: I32, op: callHelper(L, H.get_retval, [], I64).op });

/** `ctx.setRetval(err)`: bpf_set_retval, the errno the syscall returns (e.g. -EACCES instead of -EPERM). */
export const setRetval: ContextMethod = (L, c) => callHelper(L, H.set_retval, [intArg(L, arg(L, c, 0), I32)], I64);

/** The result of a helper that takes the context and a u32 and an optional u64 flags argument. */
export function ctxU32Flags(helper: number): ContextMethod {
  return (L, c, ctx): Value => callHelper(L, helper, [reg(ctx), intArg(L, arg(L, c, 0), U32), optionalWide(L, c, 1)], I64);
}
