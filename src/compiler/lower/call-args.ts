// Arguments of calls to intrinsics (helpers, map methods, context methods): the shared ways an argument
// becomes an operand, and the helper call itself. Used by helpers.ts, maps.ts and the kind files.

import ts from "typescript";
import { DiagnosticCode as D } from "../diagnostics.js";
import type { Operand, VReg } from "../ir.js";
import { showTy, U32, U64, type IntTy, type Ty } from "../types.js";
import type { MapInfo } from "./context.js";
import type { Lowerer } from "./function.js";
import { imm, reg, type Value } from "./values.js";

/** Argument `i` of `call` (reported when missing or spread). */
export function arg(L: Lowerer, call: ts.CallExpression, i: number): ts.Expression {
  const a = call.arguments[i];
  if (!a) return L.report(call, D.TypeMismatch, `missing argument ${i + 1}`);
  if (ts.isSpreadElement(a)) return L.report(a, D.UnsupportedSyntax, "spread arguments are not supported");
  return a;
}

/** Emits a helper call and returns its result as `ty`. */
export function callHelper(L: Lowerer, helper: number, args: Operand[], ty: Ty): Value {
  const dst = L.b.reg();
  L.b.emit({ op: "call", helper, args, dst });
  return { ty, op: reg(dst) };
}

/** Integer value of an argument (references loaded), converted to `ty`. */
export function intArg(L: Lowerer, e: ts.Expression, ty: IntTy): Operand {
  return L.operandOf(L.coerce(L.value(L.expr(e, ty), e), ty, e), e);
}

/** A 64-bit operand of an integer argument of any width (zero/sign-extended as its type says). */
export function wideArg(L: Lowerer, e: ts.Expression): Operand {
  const v = L.value(L.expr(e), e);
  if (v.ty.k === "lit") return v.op;
  if (v.ty.k === "int" && v.ty.bits < 64) {
    const r = L.b.reg();
    L.b.emit({ op: "ext", dst: r, src: L.b.toReg(v.op), from: 32, signed: v.ty.signed });
    return reg(r);
  }
  return L.operandOf(v, e);
}

/** Optional argument `i` as a 64-bit operand, or `dflt`. */
export function optionalWide(L: Lowerer, call: ts.CallExpression, i: number, dflt = 0): Operand {
  const a = call.arguments[i];
  return a ? wideArg(L, a) : imm(dflt);
}

/** Address and size of a memory argument; scalars are spilled to a new stack slot. */
export function memArg(L: Lowerer, e: ts.Expression, ty: Ty | undefined, what: string): { addr: VReg; size: number } {
  const v = L.expr(e, ty);
  if (v.ty.k === "mem") return { addr: L.b.toReg(v.op), size: v.ty.layout.size };
  if (v.ty.k === "ref") {
    const size = v.ty.to.k === "bool" ? 1 : v.ty.to.bits / 8;
    return { addr: L.b.toReg(v.op), size };
  }
  const target: Ty | undefined = ty ?? (v.ty.k === "lit" ? (v.ty.big ? U64 : U32) : v.ty);
  if (target && (target.k === "int" || target.k === "bool")) {
    const size = target.k === "bool" ? 1 : target.bits / 8;
    const slot = L.b.slot(8, 8, what);
    const addr = L.b.reg();
    L.b.emit({ op: "stackAddr", dst: addr, slot, offset: 0 });
    L.write({ k: "mem", base: addr, offset: 0, ty: target, what }, v, e);
    return { addr, size };
  }
  if (target?.k === "mem") {
    const c = L.coerce(v, target, e);
    return { addr: L.b.toReg(c.op), size: target.layout.size };
  }
  return L.report(e, D.TypeMismatch, `${what}: expected a value in memory or an integer, got ${showTy(v.ty)}`);
}

/**
 * A memory argument whose size the program fixed: a struct, or an integer of a declared width (spilled
 * to the stack). A bare number has no width and is refused (for helpers that write packet bytes).
 */
export function sizedMemArg(L: Lowerer, e: ts.Expression, what: string): { addr: VReg; size: number } {
  const v = L.expr(e);
  if (v.ty.k === "mem") return { addr: L.b.toReg(v.op), size: v.ty.layout.size };
  if (v.ty.k === "ref") return { addr: L.b.toReg(v.op), size: v.ty.to.k === "bool" ? 1 : v.ty.to.bits / 8 };
  if (v.ty.k !== "int" && v.ty.k !== "bool") {
    return L.report(e, D.TypeMismatch, `${what}: give the value a width (u8(...), u16(...), u32(...), u64(...)) or pass a struct; got ${showTy(v.ty)}`);
  }
  const size = v.ty.k === "bool" ? 1 : v.ty.bits / 8;
  const slot = L.b.slot(8, 8, what);
  const addr = L.b.reg();
  L.b.emit({ op: "stackAddr", dst: addr, slot, offset: 0 });
  L.write({ k: "mem", base: addr, offset: 0, ty: v.ty, what }, v, e);
  return { addr, size };
}

/** A kernel address argument: a u64, a kernel object, or an embedded array's address. */
export function addrArg(L: Lowerer, e: ts.Expression): Operand {
  const v = L.value(L.expr(e), e);
  if (v.ty.k === "kptr" || v.ty.k === "mem" || v.ty.k === "karray") return v.op;
  if (v.ty.k === "int" && v.ty.bits === 64) return v.op;
  if (v.ty.k === "lit") return v.op;
  return L.report(e, D.TypeMismatch, `expected a kernel address (u64 or kernel object), got ${showTy(v.ty)}`);
}

/** The program's context as argument `i` (helpers that take `ctx` first). */
export function ctxArg(L: Lowerer, call: ts.CallExpression, i: number, method: string): Operand {
  const ctx = L.expr(arg(L, call, i));
  if (ctx.ty.k !== "ctx") L.report(arg(L, call, i), D.TypeMismatch, `the first argument of ${method} is the program's context`);
  return ctx.op;
}

/** A map's fd (a relocated ld_imm64). */
export function mapFd(L: Lowerer, map: MapInfo): Operand {
  const r = L.b.reg();
  L.b.emit({ op: "mapFd", dst: r, map: map.name });
  return reg(r);
}

/**
 * Branches on helper result `rc` (0 = success): the result is `addr` on success, null (0) otherwise.
 * For helpers that fill a stack buffer (pop, skb_load_bytes...) and return 0 or a negative errno.
 */
export function addressIfZero(L: Lowerer, rc: Operand, addr: VReg): Operand {
  const out = L.b.reg();
  const ok = L.b.block(), bad = L.b.block(), join = L.b.block();
  L.b.terminate({ op: "br", cond: "eq", bits: 64, a: L.b.toReg(rc), b: imm(0), then: ok, else: bad });
  L.b.setBlock(ok);
  L.b.mov(out, reg(addr));
  L.b.jumpTo(join);
  L.b.setBlock(bad);
  L.b.mov(out, imm(0));
  L.b.jumpTo(join);
  L.b.setBlock(join);
  return reg(out);
}

/** A new stack buffer of `size` bytes (8-aligned unless `align` says otherwise) and its address. */
export function stackBuffer(L: Lowerer, size: number, what: string, align = 8): VReg {
  const slot = L.b.slot(size, align, what);
  const addr = L.b.reg();
  L.b.emit({ op: "stackAddr", dst: addr, slot, offset: 0 });
  return addr;
}
