// `usdt("binary:provider:name", (ctx) => ...)`: SEC("usdt/<binary>:<provider>:<name>") (SEC("usdt") with
// an empty target: binary and probe given at attach time). A uprobe at each probe site of the binary's
// .note.stapsdt; the context is struct pt_regs. The arguments are fetched as libbpf's usdt.bpf.h does:
// the loader (src/runtime/links/usdt.ts) writes each site's argument specs into `__bpf_usdt_specs`
// under a spec id and attaches with that id as the BPF cookie; the program looks the spec up by cookie
// (or, on kernels without cookies, by instruction pointer in `__bpf_usdt_ip_to_spec_id`) and decodes
// the argument: a constant, a register, memory at register + offset, or base + index << scale + offset.

import ts from "typescript";
import { HELPER_IDS as H } from "../../sys/helper-ids.js";
import { DiagnosticCode as D } from "../diagnostics.js";
import type { VReg } from "../ir.js";
import type { CompiledMap, CType } from "../module.js";
import { I32, I64, U64, type Ty } from "../types.js";
import { arg, callHelper, mapFd, stackBuffer } from "../lower/call-args.js";
import type { Lowerer } from "../lower/function.js";
import { imm, reg, type Value } from "../lower/values.js";
import { TRACING_HELPERS, type ContextMethod, type ProgramKind } from "./kind.js";

/** BPF_USDT_MAX_ARG_CNT of usdt.bpf.h. */
const MAX_ARGS = 12;
/** Spec ids the loader may hand out (BPF_USDT_MAX_SPEC_CNT) and IPs in the fallback map. */
const MAX_SPECS = 256;
/** Byte layout of struct __bpf_usdt_spec: 12 arg specs of 16 bytes, the user cookie, the count. */
const SPEC = { argSize: 16, cookie: 192, count: 200, size: 208 } as const;
/** Offsets inside struct __bpf_usdt_arg_spec: val_off, the type word (type, index reg, scale), reg_off, signed, bitshift. */
const ARG = { valOff: 0, type: 8, regOff: 12, signed: 14, bitshift: 15 } as const;
const ARG_TYPE = { const: 0, reg: 1, deref: 2, sib: 3 } as const;
/** x86-64 struct pt_regs offset of the instruction pointer (PT_REGS_IP). */
const PT_REGS_IP_X86 = 128;

const int = (name: string, size: 1 | 2 | 4 | 8, signed: boolean, extra: object = {}): CType => ({ kind: "int", name, size, signed, ...extra });
const argSpecType: CType = {
  kind: "struct", name: "__bpf_usdt_arg_spec", size: 16, members: [
    { name: "val_off", type: int("unsigned long long", 8, false), bitOffset: 0 },
    { name: "arg_type", type: int("unsigned int", 4, false), bitOffset: 64 },
    { name: "reg_off", type: int("short", 2, true), bitOffset: 96 },
    { name: "arg_signed", type: int("_Bool", 1, false, { bool: true }), bitOffset: 112 },
    { name: "arg_bitshift", type: int("char", 1, true, { char: true }), bitOffset: 120 },
  ],
};
const specType: CType = {
  kind: "struct", name: "__bpf_usdt_spec", size: SPEC.size, members: [
    { name: "args", type: { kind: "array", element: argSpecType, length: MAX_ARGS }, bitOffset: 0 },
    { name: "usdt_cookie", type: int("unsigned long long", 8, false), bitOffset: SPEC.cookie * 8 },
    { name: "arg_cnt", type: int("short", 2, true), bitOffset: SPEC.count * 8 },
  ],
};

/** libbpf's maps, by the names its loader and ours look for. */
const SPECS_MAP: CompiledMap = { name: "__bpf_usdt_specs", type: "array", key: int("int", 4, true), value: specType, maxEntries: MAX_SPECS };
const IP_MAP: CompiledMap = { name: "__bpf_usdt_ip_to_spec_id", type: "hash", key: int("long", 8, true), value: int("unsigned int", 4, false), maxEntries: 4 * MAX_SPECS };

/** `enum bpf_func_id` holding BPF_FUNC_get_attach_cookie: a CO-RE "enum value exists" check of the kernel. */
const FUNC_ID_ENUM: CType = { kind: "enum", name: "bpf_func_id", size: 4, signed: false, values: [{ name: "BPF_FUNC_get_attach_cookie", value: BigInt(H.get_attach_cookie) }] };

/**
 * The address of this probe site's struct __bpf_usdt_spec, or 0: the spec id is the BPF cookie where the
 * kernel has bpf_get_attach_cookie (a CO-RE check resolved at load time), else the value stored for the
 * instruction pointer in __bpf_usdt_ip_to_spec_id.
 */
function specOf(L: Lowerer, ctx: VReg): VReg {
  const key = stackBuffer(L, 8, "usdt_key");
  const spec = L.b.reg();
  const hasCookie = L.b.reg();
  L.b.emit({ op: "coreValue", dst: hasCookie, core: { kind: "enumval_exists", root: FUNC_ID_ENUM, access: "0" }, value: 1n });
  const byCookie = L.b.block(), byIp = L.b.block(), lookup = L.b.block(), none = L.b.block(), join = L.b.block();
  L.b.terminate({ op: "br", cond: "ne", bits: 64, a: hasCookie, b: imm(0), then: byCookie, else: byIp });

  L.b.setBlock(byCookie);
  const cookie = callHelper(L, H.get_attach_cookie, [reg(ctx)], U64);
  L.b.emit({ op: "store", size: 4, base: key, offset: 0, value: cookie.op });
  L.b.jumpTo(lookup);

  L.b.setBlock(byIp);
  const ip = L.b.reg();
  L.b.emit({ op: "load", size: 8, dst: ip, base: ctx, offset: PT_REGS_IP_X86 });
  L.b.emit({ op: "store", size: 8, base: key, offset: 0, value: reg(ip) });
  const id = callHelper(L, H.map_lookup_elem, [mapFd(L, L.m.mapByName(IP_MAP.name)), reg(key)], U64);
  const found = L.b.block();
  L.b.terminate({ op: "br", cond: "eq", bits: 64, a: L.b.toReg(id.op), b: imm(0), then: none, else: found });
  L.b.setBlock(found);
  const idValue = L.b.reg();
  L.b.emit({ op: "load", size: 4, dst: idValue, base: L.b.toReg(id.op), offset: 0 });
  L.b.emit({ op: "store", size: 4, base: key, offset: 0, value: reg(idValue) });
  L.b.jumpTo(lookup);

  L.b.setBlock(lookup);
  const p = callHelper(L, H.map_lookup_elem, [mapFd(L, L.m.mapByName(SPECS_MAP.name)), reg(key)], U64);
  L.b.mov(spec, p.op);
  L.b.jumpTo(join);

  L.b.setBlock(none);
  L.b.mov(spec, imm(0));
  L.b.jumpTo(join);
  L.b.setBlock(join);
  return spec;
}

/** Runs `body` with the spec address when there is one; the result is `body`'s value, else `otherwise`. */
function withSpec(L: Lowerer, ctx: VReg, otherwise: bigint, body: (spec: VReg, out: VReg, join: number) => void): VReg {
  const spec = specOf(L, ctx);
  const out = L.b.reg();
  const have = L.b.block(), missing = L.b.block(), join = L.b.block();
  L.b.terminate({ op: "br", cond: "eq", bits: 64, a: spec, b: imm(0), then: missing, else: have });
  L.b.setBlock(missing);
  L.b.mov(out, imm(otherwise));
  L.b.jumpTo(join);
  L.b.setBlock(have);
  body(spec, out, join);
  L.b.jumpTo(join);
  L.b.setBlock(join);
  return out;
}

/** `dst` = the 8 bytes at kernel address `src` (probe read; 0 when it faults). */
function readKernel(L: Lowerer, buf: VReg, src: VReg, dst: VReg, user = false): void {
  callHelper(L, user ? H.probe_read_user : H.probe_read_kernel, [reg(buf), imm(8), reg(src)], I64);
  L.b.emit({ op: "load", size: 8, dst, base: buf, offset: 0 });
}

/** ctx + the pt_regs offset held (signed or not) in `off`. */
function regAddress(L: Lowerer, ctx: VReg, off: VReg): VReg {
  const addr = L.b.reg();
  L.b.emit({ op: "alu", alu: "add", bits: 64, dst: addr, a: reg(ctx), b: reg(off) });
  return addr;
}

/** The argument as the type the program asked for (`ctx.arg<i32>(0)` keeps the low 32 bits). */
function asType(L: Lowerer, v: VReg, ty: Ty, node: ts.Node): Value {
  if (ty.k === "int" && ty.bits === 64) return { ty, op: reg(v) };
  if (ty.k === "int" || ty.k === "bool") {
    const out = L.b.reg();
    L.b.emit({ op: "ext", dst: out, src: v, from: ty.k === "bool" ? 8 : ty.bits as 8 | 16 | 32, signed: ty.k === "int" && ty.signed });
    return { ty, op: reg(out) };
  }
  return L.report(node, D.UnsupportedType, "a USDT argument is an integer; read it as i64 (the default), u64 or a narrower integer type");
}

/** `ctx.arg(n)`: argument n of the probe as its note describes it (0 when the probe has fewer). */
const argMethod: ContextMethod = (L, c, ctx) => {
  const nArg = arg(L, c, 0);
  const n = L.m.consts.evaluate(nArg, "the argument number");
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n >= MAX_ARGS) {
    return L.report(nArg, D.ConstantRange, `USDT argument numbers are constants 0..${MAX_ARGS - 1} (usdt.bpf.h's BPF_USDT_MAX_ARG_CNT)`);
  }
  const asTy = c.typeArguments?.[0] ? L.m.typeOfNode(c.typeArguments[0]) : I64;
  const v = withSpec(L, ctx, 0n, (spec, out, join) => {
    // n < arg_cnt, else 0.
    const count = L.b.reg();
    L.b.emit({ op: "load", size: 2, dst: count, base: spec, offset: SPEC.count });
    const countS = L.b.reg();
    L.b.emit({ op: "ext", dst: countS, src: count, from: 16, signed: true });
    const inRange = L.b.block(), outOfRange = L.b.block();
    L.b.terminate({ op: "br", cond: "sgt", bits: 64, a: countS, b: imm(n), then: inRange, else: outOfRange });
    L.b.setBlock(outOfRange);
    L.b.mov(out, imm(0));
    L.b.jumpTo(join);
    L.b.setBlock(inRange);

    const base = n * SPEC.argSize;
    const valOff = L.b.reg(), typeWord = L.b.reg(), regOff16 = L.b.reg(), regOff = L.b.reg(), signed = L.b.reg(), shift = L.b.reg();
    L.b.emit({ op: "load", size: 8, dst: valOff, base: spec, offset: base + ARG.valOff });
    L.b.emit({ op: "load", size: 4, dst: typeWord, base: spec, offset: base + ARG.type });
    L.b.emit({ op: "load", size: 2, dst: regOff16, base: spec, offset: base + ARG.regOff });
    L.b.emit({ op: "ext", dst: regOff, src: regOff16, from: 16, signed: true });
    L.b.emit({ op: "load", size: 1, dst: signed, base: spec, offset: base + ARG.signed });
    L.b.emit({ op: "load", size: 1, dst: shift, base: spec, offset: base + ARG.bitshift });
    const kind = L.b.reg();
    L.b.emit({ op: "alu", alu: "and", bits: 64, dst: kind, a: reg(typeWord), b: imm(0xff) });

    const buf = stackBuffer(L, 8, "usdt_arg");
    const val = L.b.reg();
    const isConst = L.b.block(), notConst = L.b.block(), isReg = L.b.block(), notReg = L.b.block(), isDeref = L.b.block(), notDeref = L.b.block();
    const isSib = L.b.block(), unknown = L.b.block(), cast = L.b.block();
    L.b.terminate({ op: "br", cond: "eq", bits: 64, a: kind, b: imm(ARG_TYPE.const), then: isConst, else: notConst });
    L.b.setBlock(isConst);
    L.b.mov(val, reg(valOff));
    L.b.jumpTo(cast);

    L.b.setBlock(notConst);
    L.b.terminate({ op: "br", cond: "eq", bits: 64, a: kind, b: imm(ARG_TYPE.reg), then: isReg, else: notReg });
    L.b.setBlock(isReg);
    readKernel(L, buf, regAddress(L, ctx, regOff), val);
    L.b.jumpTo(cast);

    L.b.setBlock(notReg);
    L.b.terminate({ op: "br", cond: "eq", bits: 64, a: kind, b: imm(ARG_TYPE.deref), then: isDeref, else: notDeref });
    L.b.setBlock(isDeref);
    const ptr = L.b.reg();
    readKernel(L, buf, regAddress(L, ctx, regOff), ptr);
    const at = L.b.reg();
    L.b.emit({ op: "alu", alu: "add", bits: 64, dst: at, a: reg(ptr), b: reg(valOff) });
    readKernel(L, buf, at, val, true);
    L.b.jumpTo(cast);

    L.b.setBlock(notDeref);
    L.b.terminate({ op: "br", cond: "eq", bits: 64, a: kind, b: imm(ARG_TYPE.sib), then: isSib, else: unknown });
    L.b.setBlock(isSib);
    // base + (index << scale) + val_off; the index register's pt_regs offset is bits 8..19 of the
    // type word, the scale's shift bits 20..23.
    const baseReg = L.b.reg(), idxOff = L.b.reg(), idx = L.b.reg(), scale = L.b.reg(), scaled = L.b.reg(), sum = L.b.reg(), addr = L.b.reg();
    readKernel(L, buf, regAddress(L, ctx, regOff), baseReg);
    L.b.emit({ op: "alu", alu: "rsh", bits: 64, dst: idxOff, a: reg(typeWord), b: imm(8) });
    L.b.emit({ op: "alu", alu: "and", bits: 64, dst: idxOff, a: reg(idxOff), b: imm(0xfff) });
    readKernel(L, buf, regAddress(L, ctx, idxOff), idx);
    L.b.emit({ op: "alu", alu: "rsh", bits: 64, dst: scale, a: reg(typeWord), b: imm(20) });
    L.b.emit({ op: "alu", alu: "and", bits: 64, dst: scale, a: reg(scale), b: imm(0xf) });
    L.b.emit({ op: "alu", alu: "lsh", bits: 64, dst: scaled, a: reg(idx), b: reg(scale) });
    L.b.emit({ op: "alu", alu: "add", bits: 64, dst: sum, a: reg(baseReg), b: reg(scaled) });
    L.b.emit({ op: "alu", alu: "add", bits: 64, dst: addr, a: reg(sum), b: reg(valOff) });
    readKernel(L, buf, addr, val, true);
    L.b.jumpTo(cast);

    L.b.setBlock(unknown);
    L.b.mov(out, imm(0));
    L.b.jumpTo(join);

    // Keep the argument's own size: clear (or sign-fill) the bits above it.
    L.b.setBlock(cast);
    const shifted = L.b.reg();
    const sh = L.b.reg();
    L.b.emit({ op: "alu", alu: "and", bits: 64, dst: sh, a: reg(shift), b: imm(63) });
    L.b.emit({ op: "alu", alu: "lsh", bits: 64, dst: shifted, a: reg(val), b: reg(sh) });
    const isSigned = L.b.block(), isUnsigned = L.b.block();
    L.b.terminate({ op: "br", cond: "ne", bits: 64, a: signed, b: imm(0), then: isSigned, else: isUnsigned });
    L.b.setBlock(isSigned);
    L.b.emit({ op: "alu", alu: "arsh", bits: 64, dst: out, a: reg(shifted), b: reg(sh) });
    L.b.jumpTo(join);
    L.b.setBlock(isUnsigned);
    L.b.emit({ op: "alu", alu: "rsh", bits: 64, dst: out, a: reg(shifted), b: reg(sh) });
  });
  return asType(L, v, asTy, c);
};

/** `ctx.argCount()`: the probe's argument count (-ESRCH when the site has no spec). */
const argCount: ContextMethod = (L, _c, ctx) => {
  const v = withSpec(L, ctx, -3n, (spec, out) => {
    const raw = L.b.reg();
    L.b.emit({ op: "load", size: 2, dst: raw, base: spec, offset: SPEC.count });
    L.b.emit({ op: "ext", dst: out, src: raw, from: 16, signed: true });
  });
  return { ty: I32, op: reg(v) };
};

/** `ctx.cookie()`: the cookie given at attach time (0 when the site has no spec). */
const cookie: ContextMethod = (L, _c, ctx) => {
  const v = withSpec(L, ctx, 0n, (spec, out) => {
    L.b.emit({ op: "load", size: 8, dst: out, base: spec, offset: SPEC.cookie });
  });
  return { ty: U64, op: reg(v) };
};

export const usdt: ProgramKind = {
  entry: "usdt",
  targets: 1,
  section: ([t]) => (t ? `usdt/${t}` : "usdt"),
  contextTypes: ["UsdtContext"],
  context: { k: "pt_regs" },
  helpers: TRACING_HELPERS,
  methods: { arg: argMethod, argCount, cookie },
  maps: [SPECS_MAP, IP_MAP],
};
