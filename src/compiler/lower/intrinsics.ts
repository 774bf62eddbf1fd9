// Calls: dispatches `bpf.*` helpers (helpers.ts), map methods (maps.ts) and context methods (the kind's
// own, then its context shape's: `arg`, `ret`, `load`); lowers integer conversions, layout constructors
// and user functions.

import ts from "typescript";
import { HELPER_IDS as H } from "../../sys/helper-ids.js";
import type { AnyLayout } from "../../types/index.js";
import { NOT_CONSTANT } from "../consteval.js";
import { DiagnosticCode as D } from "../diagnostics.js";
import type { VReg } from "../ir.js";
import { PT_REGS_X86, type PacketShape } from "../kinds/kind.js";
import { BOOL, I32, I64, intByName, LIT, showTy, U32, U64, wrap, type IntTy, type Ty } from "../types.js";
import { addressIfZero, arg, callHelper, intArg, stackBuffer } from "./call-args.js";
import { isLayout, tyOfLayout, type Lowerer } from "./function.js";
import { lowerHelper } from "./helpers.js";
import { lowerKfunc } from "./kfuncs.js";
import { LOG_WRAPPERS } from "./log.js";
import { lowerMapMethod } from "./maps.js";
import { imm, reg, type Value } from "./values.js";

/** Lowers a call expression. */
export function lowerCall(L: Lowerer, call: ts.CallExpression, expected: Ty | undefined): Value {
  const callee = call.expression;
  if (call.questionDotToken) L.report(call, D.UnsupportedSyntax, "optional calls are not supported");
  if (ts.isPropertyAccessExpression(callee)) {
    const method = callee.name.text;
    const lib = ts.isIdentifier(callee.expression) ? L.m.consts.libraryName(callee.expression) : undefined;
    if (lib === "bpf") return lowerHelper(L, call, method);
    if (lib === "kfuncs") return lowerKfunc(L, call, method);
    const c = L.m.consts.tryEvaluate(callee.expression);
    if (c !== NOT_CONSTANT && isLayout(c)) return layoutMethod(L, call, c, method);
    const obj = L.expr(callee.expression);
    if (obj.ty.k === "map") return lowerMapMethod(L, call, L.m.mapByName(obj.ty.name), method);
    if (obj.ty.k === "ctx") return contextMethod(L, call, obj, method);
    return L.report(callee.name, D.UnknownHelper, `${showTy(obj.ty)} has no method "${method}"`);
  }
  if (ts.isIdentifier(callee)) {
    const lib = L.m.consts.libraryName(callee);
    const conv = lib ? intByName(lib) ?? (lib === "bool" ? BOOL : undefined) : undefined;
    if (conv) return convert(L, call, conv);
    const sym = L.m.consts.resolveSymbol(callee);
    const decl = sym?.valueDeclaration ?? sym?.declarations?.[0];
    if (decl && ts.isFunctionDeclaration(decl) && !decl.getSourceFile().isDeclarationFile && !lib) return L.inlineCall(decl, call);
    if (!lib && decl?.getSourceFile().isDeclarationFile) {
      if (callee.text === "BigInt") return toBig(L, call);
      if (callee.text === "Number") return toNumber(L, call);
      if (callee.text === "Boolean") return L.boolOf(arg(L, call, 0));
    }
    if (lib && LOG_WRAPPERS.has(lib)) L.report(callee, D.LogArgument, `${lib}() formats a log argument: use it inside a log template, e.g. log.info\`x=\${${lib}(x)}\``);
    if (lib) L.report(callee, D.ProgramDeclaration, `${lib}(...) is only allowed at module level`);
  }
  return L.report(call, D.UnknownHelper, `${callee.getText()} cannot be called from kernel code`);
}

function contextMethod(L: Lowerer, c: ts.CallExpression, ctx: Value, method: string): Value {
  const base = L.b.toReg(ctx.op);
  const own = L.prog.methods;
  if (own && Object.hasOwn(own, method)) return own[method]!(L, c, base);
  const shape = L.prog.context;
  if (method === "arg" || method === "ret") {
    let off: number;
    if (method === "ret") {
      if (shape.k !== "pt_regs") L.report(c, D.UnknownHelper, `ctx.ret() is for kretprobe/uretprobe programs; in ${L.prog.entry} programs use ctx.arg(n)`);
      off = PT_REGS_X86.ret;
    } else {
      const n = L.m.consts.evaluate(arg(L, c, 0), "the argument number");
      if (typeof n !== "number" || !Number.isInteger(n) || n < 0) return L.report(arg(L, c, 0), D.ConstantRange, "argument numbers are non-negative integers");
      if (shape.k === "pt_regs") {
        if (n >= PT_REGS_X86.args.length) L.report(arg(L, c, 0), D.Limit, `only the first ${PT_REGS_X86.args.length} arguments are in registers`);
        off = PT_REGS_X86.args[n]!;
      } else if (shape.k === "args") off = n * 8;
      else return L.report(c, D.UnknownHelper, `ctx.arg() is not available in ${L.prog.entry} programs`);
    }
    const asType = c.typeArguments?.[0];
    return argumentValue(L, base, off, asType ? L.m.typeOfNode(asType) : U64, asType ?? c);
  }
  if (method === "load") {
    const packet = shape.k === "fields" ? shape.packet : undefined;
    if (!packet) return L.report(c, D.UnknownHelper, `ctx.load() is for packet programs`);
    const l = L.m.consts.evaluate(arg(L, c, 0), "the header layout");
    if (!isLayout(l)) return L.report(arg(L, c, 0), D.TypeMismatch, "ctx.load needs a layout (a struct or an integer type)");
    const ty = tyOfLayout(l);
    const resultTy: Ty = ty.k === "mem" ? ty : { k: "ref", to: ty as IntTy };
    const offArg = arg(L, c, 1);
    const offConst = L.m.consts.tryEvaluate(offArg);
    if (packet.direct) return packetLoad(L, base, packet, l, resultTy, offConst, offArg);
    // No direct packet access (socket filters): copy the bytes with bpf_skb_load_bytes.
    const sa = stackBuffer(L, l.size, "packet", l.align);
    const off = typeof offConst === "number" ? imm(offConst) : intArg(L, offArg, U32);
    const rc = callHelper(L, H.skb_load_bytes, [reg(base), off, reg(sa), imm(l.size)], I64);
    return { ty: resultTy, op: addressIfZero(L, rc.op, sa) };
  }
  return L.report(c.expression, D.UnknownHelper, `the context has no method "${method}"`);
}

/**
 * A traced function's argument: the u64 slot at `offset` of the context, as `ty` — an integer keeps its
 * low bits (sign- or zero-extended), a bool its low byte, a kernel struct is the pointer itself.
 */
export function argumentValue(L: Lowerer, ctx: VReg, offset: number, ty: Ty, node: ts.Node): Value {
  const dst = L.b.reg();
  L.b.emit({ op: "load", size: 8, dst, base: ctx, offset });
  if (ty.k === "kptr" || ty.k === "int" && ty.bits === 64) return { ty, op: reg(dst) };
  if (ty.k === "int" || ty.k === "bool") {
    const from = ty.k === "bool" ? 8 : ty.bits as 8 | 16 | 32;
    const out = L.b.reg();
    L.b.emit({ op: "ext", dst: out, src: dst, from, signed: ty.k === "int" && ty.signed });
    return { ty, op: reg(out) };
  }
  return L.report(node, D.UnsupportedType, `an argument cannot be read as ${showTy(ty)}; use an integer type or a kernel struct`);
}

function packetLoad(L: Lowerer, ctx: VReg, packet: PacketShape, l: AnyLayout, ty: Ty, offConst: unknown, offArg: ts.Expression): Value {
  const data = L.b.reg(), end = L.b.reg();
  const size = packet.pointerSize ?? 4;
  L.b.emit({ op: "load", size, dst: data, base: ctx, offset: packet.data, nonNull: true });
  L.b.emit({ op: "load", size, dst: end, base: ctx, offset: packet.dataEnd });
  const p = L.b.reg();
  if (typeof offConst === "number") {
    if (!Number.isInteger(offConst) || offConst < 0 || offConst > 0xffff) L.report(offArg, D.ConstantRange, "packet offsets are 0..65535");
    if (offConst) L.b.emit({ op: "alu", alu: "add", bits: 64, dst: p, a: reg(data), b: imm(offConst) });
    else L.b.mov(p, reg(data));
  } else {
    const o = L.value(L.expr(offArg, U32), offArg);
    const o64 = L.b.reg();
    if (o.ty.k === "int" && o.ty.bits === 64) L.b.mov(o64, o.op);
    else L.b.emit({ op: "ext", dst: o64, src: L.b.toReg(o.op), from: 32, signed: false });
    // Bound the offset so the verifier can track the pointer: it tracks packet ranges only while the
    // largest offset plus the header size stays within 0xffff (MAX_PACKET_OFF).
    const ok = L.b.block(), bad = L.b.block();
    const out = L.b.reg();
    const join = L.b.block();
    L.b.terminate({ op: "br", cond: "gt", bits: 64, a: o64, b: imm(0xffff - l.size), then: bad, else: ok });
    L.b.setBlock(ok);
    L.b.emit({ op: "alu", alu: "add", bits: 64, dst: p, a: reg(data), b: reg(o64) });
    checkEnd(L, p, end, l.size, out, join);
    L.b.setBlock(bad);
    L.b.mov(out, imm(0));
    L.b.jumpTo(join);
    L.b.setBlock(join);
    return { ty, op: reg(out) };
  }
  const out = L.b.reg();
  const join = L.b.block();
  checkEnd(L, p, end, l.size, out, join);
  L.b.setBlock(join);
  return { ty, op: reg(out) };
}

function checkEnd(L: Lowerer, p: VReg, end: VReg, size: number, out: VReg, join: number): void {
  const limit = L.b.reg();
  L.b.emit({ op: "alu", alu: "add", bits: 64, dst: limit, a: reg(p), b: imm(size) });
  const ok = L.b.block(), bad = L.b.block();
  L.b.terminate({ op: "br", cond: "gt", bits: 64, a: limit, b: reg(end), then: bad, else: ok });
  L.b.setBlock(ok);
  L.b.mov(out, reg(p));
  L.b.jumpTo(join);
  L.b.setBlock(bad);
  L.b.mov(out, imm(0));
  L.b.jumpTo(join);
}

function layoutMethod(L: Lowerer, c: ts.CallExpression, layout: AnyLayout, method: string): Value {
  const ty = tyOfLayout(layout);
  if (ty.k !== "mem") return L.report(c, D.UnknownHelper, `${method} on a scalar layout is not supported; use a literal`);
  if (method === "zero") return { ty, op: reg(L.zeroed(layout)) };
  if (method === "from") {
    const a = c.arguments[0];
    if (!a) return { ty, op: reg(L.zeroed(layout)) };
    if (!ts.isObjectLiteralExpression(a)) return L.report(a, D.UnsupportedSyntax, "from() takes an object literal");
    return L.objectLiteral(a, ty);
  }
  return L.report(c.expression, D.UnknownHelper, `layouts have no kernel method "${method}" (use zero() or from({...}))`);
}

function convert(L: Lowerer, c: ts.CallExpression, to: IntTy | { readonly k: "bool" }): Value {
  const e = arg(L, c, 0);
  if (to.k === "bool") return L.boolOf(e);
  const v = L.value(L.expr(e), e);
  if (v.ty.k === "lit") return { ty: to, op: imm(wrap((v.op as { imm: bigint }).imm, to)) };
  if (v.ty.k === "bool") return { ty: to, op: v.op };
  if (v.ty.k !== "int") return L.report(e, D.TypeMismatch, `cannot convert ${showTy(v.ty)} to ${showTy(to)}`);
  const src = L.b.toReg(v.op);
  if (to.bits === 64) {
    if (v.ty.bits === 64) return { ty: to, op: v.op };
    const r = L.b.reg();
    L.b.emit({ op: "ext", dst: r, src, from: 32, signed: v.ty.signed });
    return { ty: to, op: reg(r) };
  }
  if (to.bits === 32) return { ty: to, op: v.op };
  const r = L.b.reg();
  L.b.emit({ op: "ext", dst: r, src, from: to.bits as 8 | 16, signed: to.signed });
  return { ty: to, op: reg(r) };
}

function toBig(L: Lowerer, c: ts.CallExpression): Value {
  const e = arg(L, c, 0);
  const v = L.value(L.expr(e), e);
  if (v.ty.k === "lit") return { ty: { k: "lit", big: true }, op: v.op };
  if (v.ty.k !== "int") return L.report(e, D.TypeMismatch, `BigInt() needs an integer, got ${showTy(v.ty)}`);
  return convert(L, c, v.ty.signed ? I64 : U64);
}

function toNumber(L: Lowerer, c: ts.CallExpression): Value {
  const e = arg(L, c, 0);
  const v = L.value(L.expr(e), e);
  if (v.ty.k === "lit") return { ty: LIT, op: v.op };
  if (v.ty.k !== "int") return L.report(e, D.TypeMismatch, `Number() needs an integer, got ${showTy(v.ty)}`);
  return { ty: v.ty.bits === 64 ? (v.ty.signed ? I32 : U32) : v.ty, op: v.op };
}

