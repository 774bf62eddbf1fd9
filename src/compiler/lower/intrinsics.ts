// Calls: kernel helpers (`bpf.*`), map methods, context methods, integer conversions, layout
// constructors and user functions. Each helper lists the program families allowed to call it.

import ts from "typescript";
import { HELPER_IDS } from "../../sys/helper-ids.js";
import type { AnyLayout } from "../../types/index.js";
import { NOT_CONSTANT } from "../consteval.js";
import { DiagnosticCode as D } from "../diagnostics.js";
import type { Operand, VReg } from "../ir.js";
import { ALL, PT_REGS_X86, TRACING, type HelperFamily } from "../programs.js";
import { BOOL, I32, I64, intByName, LIT, showTy, U32, U64, VOID, wrap, type IntTy, type Ty } from "../types.js";
import type { MapInfo } from "./context.js";
import { isLayout, tyOfLayout, type Lowerer } from "./function.js";
import { imm, reg, type Value } from "./values.js";

const H = HELPER_IDS;

const BPF_F_CURRENT_CPU = 0xffffffffn;

/** Lowers a call expression. */
export function lowerCall(L: Lowerer, call: ts.CallExpression, expected: Ty | undefined): Value {
  const callee = call.expression;
  if (call.questionDotToken) L.report(call, D.UnsupportedSyntax, "optional calls are not supported");
  if (ts.isPropertyAccessExpression(callee)) {
    const method = callee.name.text;
    const lib = ts.isIdentifier(callee.expression) ? L.m.consts.libraryName(callee.expression) : undefined;
    if (lib === "bpf") return helper(L, call, method);
    const c = L.m.consts.tryEvaluate(callee.expression);
    if (c !== NOT_CONSTANT && isLayout(c)) return layoutMethod(L, call, c, method);
    const obj = L.expr(callee.expression);
    if (obj.ty.k === "map") return mapMethod(L, call, L.m.mapByName(obj.ty.name), method);
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
    if (lib) L.report(callee, D.ProgramDeclaration, `${lib}(...) is only allowed at module level`);
  }
  return L.report(call, D.UnknownHelper, `${callee.getText()} cannot be called from kernel code`);
}

function arg(L: Lowerer, call: ts.CallExpression, i: number): ts.Expression {
  const a = call.arguments[i];
  if (!a) return L.report(call, D.TypeMismatch, `missing argument ${i + 1}`);
  if (ts.isSpreadElement(a)) return L.report(a, D.UnsupportedSyntax, "spread arguments are not supported");
  return a;
}

function allow(L: Lowerer, node: ts.Node, name: string, families: readonly HelperFamily[]): void {
  if (!families.includes(L.prog.family)) {
    L.report(node, D.HelperNotAllowed, `${name} is not available in ${L.prog.entry} programs (allowed in: ${families.join(", ")})`);
  }
}

function call(L: Lowerer, helper: number, args: Operand[], ty: Ty): Value {
  const dst = L.b.reg();
  L.b.emit({ op: "call", helper, args, dst });
  return { ty, op: reg(dst) };
}

/** Integer value of an argument (references loaded). */
function intArg(L: Lowerer, e: ts.Expression, ty: IntTy): Operand {
  return L.operandOf(L.coerce(L.value(L.expr(e, ty), e), ty, e), e);
}

/** A 64-bit operand of an integer argument of any width (zero/sign-extended as its type says). */
function wideArg(L: Lowerer, e: ts.Expression): Operand {
  const v = L.value(L.expr(e), e);
  if (v.ty.k === "lit") return v.op;
  if (v.ty.k === "int" && v.ty.bits < 64) {
    const r = L.b.reg();
    L.b.emit({ op: "ext", dst: r, src: L.b.toReg(v.op), from: 32, signed: v.ty.signed });
    return reg(r);
  }
  return L.operandOf(v, e);
}

/** Address and size of a memory argument; scalars are spilled to a new stack slot. */
function memArg(L: Lowerer, e: ts.Expression, ty: Ty | undefined, what: string): { addr: VReg; size: number } {
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

/** A kernel address argument: a u64, a kernel object, or an embedded array's address. */
function addrArg(L: Lowerer, e: ts.Expression): Operand {
  const v = L.value(L.expr(e), e);
  if (v.ty.k === "kptr" || v.ty.k === "mem") return v.op;
  if (v.ty.k === "int" && v.ty.bits === 64) return v.op;
  if (v.ty.k === "lit") return v.op;
  return L.report(e, D.TypeMismatch, `expected a kernel address (u64 or kernel object), got ${showTy(v.ty)}`);
}

function helper(L: Lowerer, c: ts.CallExpression, name: string): Value {
  const n = `bpf.${name}`;
  switch (name) {
    case "pidTgid":
      allow(L, c, n, TRACING);
      return call(L, H.get_current_pid_tgid, [], U64);
    case "pid": {
      allow(L, c, n, TRACING);
      const v = call(L, H.get_current_pid_tgid, [], U64);
      const r = L.b.reg();
      L.b.emit({ op: "alu", alu: "rsh", bits: 64, dst: r, a: v.op, b: imm(32) });
      return { ty: U32, op: reg(r) };
    }
    case "tid":
      allow(L, c, n, TRACING);
      return { ty: U32, op: call(L, H.get_current_pid_tgid, [], U64).op };
    case "uidGid":
      allow(L, c, n, TRACING);
      return call(L, H.get_current_uid_gid, [], U64);
    case "uid":
      allow(L, c, n, TRACING);
      return { ty: U32, op: call(L, H.get_current_uid_gid, [], U64).op };
    case "gid": {
      allow(L, c, n, TRACING);
      const v = call(L, H.get_current_uid_gid, [], U64);
      const r = L.b.reg();
      L.b.emit({ op: "alu", alu: "rsh", bits: 64, dst: r, a: v.op, b: imm(32) });
      return { ty: U32, op: reg(r) };
    }
    case "ktimeNs":
      return call(L, H.ktime_get_ns, [], U64);
    case "bootNs":
      return call(L, H.ktime_get_boot_ns, [], U64);
    case "cpu":
      return call(L, H.get_smp_processor_id, [], U32);
    case "random":
      return call(L, H.get_prandom_u32, [], U32);
    case "currentComm": {
      allow(L, c, n, TRACING);
      const { addr, size } = memArg(L, arg(L, c, 0), undefined, "comm");
      return call(L, H.get_current_comm, [reg(addr), imm(size)], I64);
    }
    case "currentTask":
      allow(L, c, n, TRACING);
      // Where the verifier tracks BTF pointers, the BTF-typed task allows direct field loads.
      if (L.prog.btfPointers) return { ty: { k: "kptr", name: "task_struct", btfKind: "struct", btf: true }, op: call(L, H.get_current_task_btf, [], U64).op };
      return { ty: { k: "kptr", name: "task_struct", btfKind: "struct" }, op: call(L, H.get_current_task, [], U64).op };
    case "probeReadKernel":
    case "probeReadUser":
    case "probeReadKernelStr":
    case "probeReadUserStr": {
      allow(L, c, n, TRACING);
      const { addr, size } = memArg(L, arg(L, c, 0), undefined, "destination");
      const src = addrArg(L, arg(L, c, 1));
      const id = { probeReadKernel: H.probe_read_kernel, probeReadUser: H.probe_read_user, probeReadKernelStr: H.probe_read_kernel_str, probeReadUserStr: H.probe_read_user_str }[name];
      return call(L, id, [reg(addr), imm(size), src], I64);
    }
    case "printk": {
      allow(L, c, n, ALL);
      const fmt = L.m.consts.tryEvaluate(arg(L, c, 0));
      if (typeof fmt !== "string") L.report(arg(L, c, 0), D.String, "bpf.printk needs a string literal format");
      if (c.arguments.length > 4) L.report(c.arguments[4]!, D.Limit, "bpf.printk takes at most 3 arguments");
      const args = c.arguments.slice(1).map((a) => wideArg(L, a));
      const off = L.m.rodataString(fmt);
      const f = L.b.reg();
      L.b.emit({ op: "mapValue", dst: f, map: ".rodata", offset: off });
      return call(L, H.trace_printk, [reg(f), imm(Buffer.byteLength(fmt) + 1), ...args], I64);
    }
    case "redirect":
      allow(L, c, n, ["xdp", "tc"]);
      return call(L, H.redirect, [intArg(L, arg(L, c, 0), U32), c.arguments[1] ? wideArg(L, c.arguments[1]) : imm(0)], I64);
    case "ntohs":
    case "htons":
    case "ntohl":
    case "htonl": {
      const bits = name.endsWith("s") ? 16 : 32;
      const v = L.value(L.expr(arg(L, c, 0), bits === 16 ? { k: "int", bits: 16, signed: false } : U32), c);
      const ty: IntTy = { k: "int", bits, signed: false };
      if ("imm" in v.op) {
        const x = wrap(v.op.imm, ty);
        const swapped = bits === 16 ? ((x & 0xffn) << 8n) | (x >> 8n) : ((x & 0xffn) << 24n) | (((x >> 8n) & 0xffn) << 16n) | (((x >> 16n) & 0xffn) << 8n) | (x >> 24n);
        return { ty: LIT, op: imm(swapped) };
      }
      const dst = L.b.reg();
      L.b.emit({ op: "bswap", dst, src: L.b.toReg(v.op), bits });
      return { ty, op: reg(dst) };
    }
    case "addressOf": {
      const v = L.expr(arg(L, c, 0));
      if (v.ty.k !== "kptr" && v.ty.k !== "mem" && v.ty.k !== "ref" && v.ty.k !== "ctx") L.report(c, D.TypeMismatch, "bpf.addressOf needs an object or the context");
      return { ty: U64, op: v.op };
    }
  }
  return L.report(c.expression, D.UnknownHelper, `unknown helper bpf.${name}`);
}

function mapFd(L: Lowerer, map: MapInfo): Operand {
  const r = L.b.reg();
  L.b.emit({ op: "mapFd", dst: r, map: map.name });
  return reg(r);
}

function resultOfValue(map: MapInfo): Ty {
  const v = map.value;
  if (!v) return U64;
  if (v.k === "int" || v.k === "bool") return { k: "ref", to: v };
  return v;
}

function mapMethod(L: Lowerer, c: ts.CallExpression, map: MapInfo, method: string): Value {
  const cls = map.className;
  const keyed = ["HashMap", "LruHashMap", "PerCpuHashMap", "LruPerCpuHashMap", "ArrayMap", "PerCpuArrayMap", "LpmTrieMap"].includes(cls);
  const unknown = (): never => L.report(c.expression, D.UnknownHelper, `${cls} has no method "${method}"`);
  if (keyed) {
    switch (method) {
      case "lookup": {
        const k = memArg(L, arg(L, c, 0), map.key, "key");
        return call(L, H.map_lookup_elem, [mapFd(L, map), reg(k.addr)], resultOfValue(map));
      }
      case "update": {
        const k = memArg(L, arg(L, c, 0), map.key, "key");
        const v = memArg(L, arg(L, c, 1), map.value, "value");
        const flags = c.arguments[2] ? wideArg(L, c.arguments[2]) : imm(0);
        return call(L, H.map_update_elem, [mapFd(L, map), reg(k.addr), reg(v.addr), flags], I64);
      }
      case "delete": {
        const k = memArg(L, arg(L, c, 0), map.key, "key");
        return call(L, H.map_delete_elem, [mapFd(L, map), reg(k.addr)], I64);
      }
      case "increment": {
        const vt = map.value;
        if (!vt || vt.k !== "int") return L.report(c, D.TypeMismatch, `increment needs an integer value type, ${map.name} holds ${vt ? showTy(vt) : "nothing"}`);
        const k = memArg(L, arg(L, c, 0), map.key, "key");
        const by = c.arguments[1] ? L.operandOf(L.coerce(L.value(L.expr(c.arguments[1], vt), c.arguments[1]), vt, c.arguments[1]), c.arguments[1]) : imm(1);
        const p = call(L, H.map_lookup_elem, [mapFd(L, map), reg(k.addr)], U64);
        // Every entry of an array exists: a failed lookup is an index out of range, which the creating
        // update (BPF_NOEXIST) would refuse as well, so arrays have no creating branch.
        const array = cls === "ArrayMap" || cls === "PerCpuArrayMap";
        const found = L.b.block(), missing = array ? undefined : L.b.block(), done = L.b.block();
        const pr = L.b.toReg(p.op);
        L.b.terminate({ op: "br", cond: "ne", bits: 64, a: pr, b: imm(0), then: found, else: missing ?? done });
        L.b.setBlock(found);
        if (vt.bits >= 32) {
          L.b.emit({ op: "atomic", rmw: "add", size: (vt.bits / 8) as 4 | 8, base: pr, offset: 0, value: L.b.toReg(by) });
        } else {
          const cur = L.read({ k: "mem", base: pr, offset: 0, ty: vt, what: "value" }, c);
          const next = L.arith("add", cur, { ty: vt, op: by }, c);
          L.write({ k: "mem", base: pr, offset: 0, ty: vt, what: "value" }, next, c);
        }
        L.b.jumpTo(done);
        if (missing !== undefined) {
          L.b.setBlock(missing);
          const slot = L.b.slot(8, 8, "init");
          const sa = L.b.reg();
          L.b.emit({ op: "stackAddr", dst: sa, slot, offset: 0 });
          L.b.emit({ op: "store", size: 8, base: sa, offset: 0, value: imm(0) });
          L.write({ k: "mem", base: sa, offset: 0, ty: vt, what: "value" }, { ty: vt, op: by }, c);
          L.b.emit({ op: "call", helper: H.map_update_elem, args: [mapFd(L, map), reg(k.addr), reg(sa), imm(1)] });
          L.b.jumpTo(done);
        }
        L.b.setBlock(done);
        return { ty: VOID, op: imm(0) };
      }
    }
    return unknown();
  }
  switch (cls) {
    case "QueueMap":
    case "StackMap": {
      if (method === "push") {
        const v = memArg(L, arg(L, c, 0), map.value, "value");
        const flags = c.arguments[1] ? wideArg(L, c.arguments[1]) : imm(0);
        return call(L, H.map_push_elem, [mapFd(L, map), reg(v.addr), flags], I64);
      }
      if (method === "pop" || method === "peek") {
        const vt = map.value ?? U64;
        const size = vt.k === "mem" ? vt.layout.size : vt.k === "int" ? vt.bits / 8 : 1;
        const slot = L.b.slot(size, 8, "popped");
        const sa = L.b.reg();
        L.b.emit({ op: "stackAddr", dst: sa, slot, offset: 0 });
        const rc = call(L, method === "pop" ? H.map_pop_elem : H.map_peek_elem, [mapFd(L, map), reg(sa)], I64);
        const ok = L.b.block(), bad = L.b.block(), join = L.b.block();
        const out = L.b.reg();
        L.b.terminate({ op: "br", cond: "eq", bits: 64, a: L.b.toReg(rc.op), b: imm(0), then: ok, else: bad });
        L.b.setBlock(ok);
        L.b.mov(out, reg(sa));
        L.b.jumpTo(join);
        L.b.setBlock(bad);
        L.b.mov(out, imm(0));
        L.b.jumpTo(join);
        L.b.setBlock(join);
        return { ty: vt.k === "int" || vt.k === "bool" ? { k: "ref", to: vt } : vt, op: reg(out) };
      }
      return unknown();
    }
    case "RingBuf": {
      if (method === "reserve") {
        const l = L.m.consts.evaluate(arg(L, c, 0), "the record layout");
        if (!isLayout(l)) return L.report(arg(L, c, 0), D.TypeMismatch, "reserve needs a struct layout");
        const ty = tyOfLayout(l);
        return call(L, H.ringbuf_reserve, [mapFd(L, map), imm(l.size), imm(0)], ty.k === "mem" ? ty : { k: "ref", to: ty as IntTy });
      }
      if (method === "submit" || method === "discard") {
        const rec = L.expr(arg(L, c, 0));
        if (rec.ty.k !== "mem" && rec.ty.k !== "ref") L.report(c, D.TypeMismatch, `${method} needs a record from reserve()`);
        const flags = c.arguments[1] ? wideArg(L, c.arguments[1]) : imm(0);
        L.b.emit({ op: "call", helper: method === "submit" ? H.ringbuf_submit : H.ringbuf_discard, args: [rec.op, flags] });
        L.consume(arg(L, c, 0), c);
        return { ty: VOID, op: imm(0) };
      }
      if (method === "output") {
        const v = memArg(L, arg(L, c, 0), undefined, "record");
        const flags = c.arguments[1] ? wideArg(L, c.arguments[1]) : imm(0);
        return call(L, H.ringbuf_output, [mapFd(L, map), reg(v.addr), imm(v.size), flags], I64);
      }
      return unknown();
    }
    case "PerfEventArray": {
      if (method !== "output") return unknown();
      const ctx = L.expr(arg(L, c, 0));
      if (ctx.ty.k !== "ctx") L.report(arg(L, c, 0), D.TypeMismatch, "the first argument of output is the program's context");
      const v = memArg(L, arg(L, c, 1), undefined, "record");
      return call(L, H.perf_event_output, [ctx.op, mapFd(L, map), imm(BPF_F_CURRENT_CPU), reg(v.addr), imm(v.size)], I64);
    }
    case "ProgArray": {
      if (method !== "tailCall") return unknown();
      const ctx = L.expr(arg(L, c, 0));
      if (ctx.ty.k !== "ctx") L.report(arg(L, c, 0), D.TypeMismatch, "the first argument of tailCall is the program's context");
      const idx = intArg(L, arg(L, c, 1), U32);
      L.b.emit({ op: "call", helper: H.tail_call, args: [ctx.op, mapFd(L, map), idx] });
      return { ty: VOID, op: imm(0) };
    }
    case "StackTraceMap": {
      if (method !== "getStackId") return unknown();
      allow(L, c, "getStackId", TRACING);
      const ctx = L.expr(arg(L, c, 0));
      if (ctx.ty.k !== "ctx") L.report(arg(L, c, 0), D.TypeMismatch, "the first argument of getStackId is the program's context");
      const flags = c.arguments[1] ? wideArg(L, c.arguments[1]) : imm(0);
      return call(L, H.get_stackid, [ctx.op, mapFd(L, map), flags], I64);
    }
  }
  return unknown();
}

function contextMethod(L: Lowerer, c: ts.CallExpression, ctx: Value, method: string): Value {
  const base = L.b.toReg(ctx.op);
  const kind = L.prog.context;
  if (method === "arg" || method === "ret") {
    let off: number;
    if (method === "ret") {
      if (kind !== "pt_regs") L.report(c, D.UnknownHelper, `ctx.ret() is for kretprobe/uretprobe programs; in ${L.prog.entry} programs use ctx.arg(n)`);
      off = PT_REGS_X86.ret;
    } else {
      const n = L.m.consts.evaluate(arg(L, c, 0), "the argument number");
      if (typeof n !== "number" || !Number.isInteger(n) || n < 0) return L.report(arg(L, c, 0), D.ConstantRange, "argument numbers are non-negative integers");
      if (kind === "pt_regs") {
        if (n >= PT_REGS_X86.args.length) L.report(arg(L, c, 0), D.Limit, `only the first ${PT_REGS_X86.args.length} arguments are in registers`);
        off = PT_REGS_X86.args[n]!;
      } else if (kind === "args") off = n * 8;
      else return L.report(c, D.UnknownHelper, `ctx.arg() is not available in ${L.prog.entry} programs`);
    }
    const asType = c.typeArguments?.[0];
    return argumentValue(L, base, off, asType ? L.m.typeOfNode(asType) : U64, asType ?? c);
  }
  if (method === "load") {
    if (kind !== "xdp" && kind !== "skb") L.report(c, D.UnknownHelper, `ctx.load() is for packet programs`);
    const l = L.m.consts.evaluate(arg(L, c, 0), "the header layout");
    if (!isLayout(l)) return L.report(arg(L, c, 0), D.TypeMismatch, "ctx.load needs a layout (a struct or an integer type)");
    const ty = tyOfLayout(l);
    const resultTy: Ty = ty.k === "mem" ? ty : { k: "ref", to: ty as IntTy };
    const offArg = arg(L, c, 1);
    const offConst = L.m.consts.tryEvaluate(offArg);
    if (L.prog.directPacket) return packetLoad(L, base, kind, l, resultTy, offConst, offArg);
    // No direct packet access (socket filters): copy the bytes with bpf_skb_load_bytes.
    const slot = L.b.slot(l.size, l.align, "packet");
    const sa = L.b.reg();
    L.b.emit({ op: "stackAddr", dst: sa, slot, offset: 0 });
    const off = typeof offConst === "number" ? imm(offConst) : intArg(L, offArg, U32);
    const rc = call(L, H.skb_load_bytes, [reg(base), off, reg(sa), imm(l.size)], I64);
    const out = L.b.reg();
    const ok = L.b.block(), bad = L.b.block(), join = L.b.block();
    L.b.terminate({ op: "br", cond: "eq", bits: 64, a: L.b.toReg(rc.op), b: imm(0), then: ok, else: bad });
    L.b.setBlock(ok);
    L.b.mov(out, reg(sa));
    L.b.jumpTo(join);
    L.b.setBlock(bad);
    L.b.mov(out, imm(0));
    L.b.jumpTo(join);
    L.b.setBlock(join);
    return { ty: resultTy, op: reg(out) };
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

function packetLoad(L: Lowerer, ctx: VReg, kind: string, l: AnyLayout, ty: Ty, offConst: unknown, offArg: ts.Expression): Value {
  const [dataOff, endOff] = kind === "xdp" ? [0, 4] : [76, 80];
  const data = L.b.reg(), end = L.b.reg();
  L.b.emit({ op: "load", size: 4, dst: data, base: ctx, offset: dataOff, nonNull: true });
  L.b.emit({ op: "load", size: 4, dst: end, base: ctx, offset: endOff });
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
    // Bound the offset so the verifier can track the pointer.
    const ok = L.b.block(), bad = L.b.block();
    const out = L.b.reg();
    const join = L.b.block();
    L.b.terminate({ op: "br", cond: "gt", bits: 64, a: o64, b: imm(0xffff), then: bad, else: ok });
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

