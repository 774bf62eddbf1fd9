// Data inside kernel structs that is not one aligned scalar: integer arrays (`task.comm`,
// `in6_u.u6_addr32`), read whole or by index, and bitfields (`sk_protocol` on some kernels), read with
// CO-RE bitfield relocations (libbpf's BPF_CORE_READ_BITFIELD scheme).

import type ts from "typescript";
import { HELPER_IDS } from "../../sys/helper-ids.js";
import type { AnyLayout } from "../../types/index.js";
import { DiagnosticCode as D } from "../diagnostics.js";
import type { VReg } from "../ir.js";
import { BOOL, showTy, type IntTy, type KernelArrayTy } from "../types.js";
import type { Lowerer } from "./function.js";
import type { KernelMember } from "./kernel.js";
import { imm, reg, type Place, type Value } from "./values.js";

/**
 * `parent.member` where the member is an integer array: its CO-RE-relocated kernel address, typed as
 * a kernel array (read by index or copied whole later).
 */
export function kernelArray(L: Lowerer, base: VReg, rootId: number, mem: KernelMember, elem: IntTy, count: number, btf: boolean): Value {
  const addr = L.kernelFieldAddress(base, rootId, mem.path, mem.offset);
  // The offset in the compile-time kernel's layout says how aligned the array is (its element alignment
  // at least, on every kernel).
  const esize = elem.bits / 8;
  const align = Math.max(([8, 4, 2, 1] as const).find((n) => mem.offset % n === 0)!, Math.min(esize, 8)) as 1 | 2 | 4 | 8;
  const ty: KernelArrayTy = { k: "karray", elem, count, size: mem.size, align, ...(btf ? { btf: true as const } : {}) };
  return { ty, op: reg(addr) };
}

/** Whether a kernel array of type `a` can be copied into memory of `layout`, or why not. */
function fitMessage(a: KernelArrayTy, layout: AnyLayout, info: { element: AnyLayout; length: number } | undefined): string | undefined {
  const esize = a.elem.bits / 8;
  if (!info || info.element.size !== esize) {
    return `${showTy(a)} cannot be copied into ${layout.kind === "struct" || layout.kind === "union" ? "a struct" : `${layout.kind} (${layout.size} bytes)`}; the destination must be an array of ${esize}-byte elements (a cstring or bytes field for char arrays)`;
  }
  if (info.length < a.count) return `${showTy(a)} does not fit in ${info.length} elements; make the destination at least ${a.count} long`;
  return undefined;
}

/**
 * Copies the kernel array `v` into memory at `dst` of `layout` (a stack slot, a map value, a ring
 * buffer record field), zero-filling the rest of a longer destination. `dstAlign`: the destination's
 * known alignment. BTF pointers are read with direct loads (the verifier allows loads anywhere inside
 * the array member), other kernel addresses with one bpf_probe_read_kernel.
 */
export function copyKernelArray(L: Lowerer, dst: VReg, layout: AnyLayout, dstAlign: number, v: Value, node: ts.Node, info: { element: AnyLayout; length: number } | undefined): void {
  const a = v.ty as KernelArrayTy;
  const why = fitMessage(a, layout, info);
  if (why) L.report(node, D.TypeMismatch, why);
  const src = L.b.toReg(v.op);
  if (a.btf) L.copy(dst, src, a.size, 0, Math.min(a.align, dstAlign));
  else L.b.emit({ op: "call", helper: HELPER_IDS.probe_read_kernel, args: [reg(dst), imm(a.size), reg(src)] });
  if (layout.size > a.size) {
    const rest = L.b.reg();
    L.b.emit({ op: "alu", alu: "add", bits: 64, dst: rest, a: reg(dst), b: imm(a.size) });
    for (let off = 0; off < layout.size - a.size; off++) L.b.emit({ op: "store", size: 1, base: rest, offset: off, value: imm(0) });
  }
}

/**
 * Element `idx` of kernel array `v`. A constant index is checked at compile time and read at a constant
 * offset (a direct load through a BTF pointer); a run-time index is bounded: in range it reads the
 * element with bpf_probe_read_kernel, out of range it reads 0 (the helper's result for address 0).
 */
export function kernelArrayElement(L: Lowerer, e: ts.ElementAccessExpression, v: Value, idx: Value): Place {
  const a = v.ty as KernelArrayTy;
  const esize = a.elem.bits / 8;
  const base = L.b.toReg(v.op);
  const what = `${e.expression.getText()}[${e.argumentExpression.getText()}]`;
  if ("imm" in idx.op) {
    const i = Number(idx.op.imm);
    if (i < 0 || i >= a.count) L.report(e.argumentExpression, D.ConstantRange, `index ${i} is out of bounds (length ${a.count})`);
    if (a.btf) return { k: "mem", base, offset: i * esize, ty: a.elem, what, readonly: true };
    return { k: "kmem", base, offset: i * esize, size: esize, ty: a.elem, what };
  }
  const it = L.intOf(idx, e.argumentExpression);
  const i64 = L.b.reg();
  if (it.bits === 64) L.b.mov(i64, idx.op);
  else L.b.emit({ op: "ext", dst: i64, src: L.b.toReg(idx.op), from: 32, signed: false });
  const ok = L.b.block(), bad = L.b.block(), join = L.b.block();
  const addr = L.b.reg();
  L.b.terminate({ op: "br", cond: "lt", bits: 64, a: i64, b: imm(a.count), then: ok, else: bad });
  L.b.setBlock(ok);
  const off = L.b.reg();
  L.b.emit({ op: "alu", alu: "mul", bits: 64, dst: off, a: reg(i64), b: imm(esize) });
  L.b.emit({ op: "alu", alu: "add", bits: 64, dst: addr, a: reg(base), b: reg(off) });
  L.b.jumpTo(join);
  L.b.setBlock(bad);
  L.b.mov(addr, imm(0));
  L.b.jumpTo(join);
  L.b.setBlock(join);
  return { k: "kmem", base: addr, offset: 0, size: esize, ty: a.elem, what };
}

/**
 * The bits of bitfield `mem` of kernel type `rootId` at `base`, as libbpf's BPF_CORE_READ_BITFIELD
 * reads them: the loader fills in the byte offset and size of the smallest aligned load that covers
 * the field, and the left and right shifts that isolate it in a u64 (arithmetic right shift when the
 * field is signed), each from a CO-RE relocation on the target kernel. The instructions' own values
 * are the compile-time kernel's, computed as the loader computes them from the object's BTF.
 */
export function kernelBitfield(L: Lowerer, node: ts.Node, base: VReg, rootId: number, mem: KernelMember, btf: boolean, what: string): Value {
  const kind = mem.kind;
  if (kind.k !== "int" && kind.k !== "bool") return L.report(node, D.KernelType, `${what} is a bitfield of a type kernel programs cannot read`);
  const ty: IntTy | typeof BOOL = kind.k === "int" ? kind.ty : BOOL;
  const signed = kind.k === "int" && kind.ty.signed;
  let byteSize = kind.k === "int" ? kind.ty.bits / 8 : 1;
  let byteOff = Math.floor(mem.bitOffset / 8 / byteSize) * byteSize;
  while (mem.bitOffset + mem.bitSize - byteOff * 8 > byteSize * 8) {
    if (byteSize >= 8) return L.report(node, D.KernelType, `${what} straddles a 64-bit boundary; one load cannot read it`);
    byteSize *= 2;
    byteOff = Math.floor(mem.bitOffset / 8 / byteSize) * byteSize;
  }
  const lshift = 64 - (mem.bitOffset + mem.bitSize - byteOff * 8);
  const rshift = 64 - mem.bitSize;
  const K = L.m.kernel;
  const core = (kind: "field_byte_offset" | "field_byte_size" | "field_lshift_u64" | "field_rshift_u64" | "field_signed", value: number): VReg => {
    const r = L.b.reg();
    L.b.emit({ op: "coreValue", dst: r, core: K.coreAccess(kind, rootId, mem.path), value: BigInt(value) });
    return r;
  };
  const addr = L.b.reg();
  L.b.emit({ op: "alu", alu: "add", bits: 64, dst: addr, a: reg(base), b: reg(core("field_byte_offset", byteOff)) });
  const size = core("field_byte_size", byteSize);
  const val = L.b.reg();
  if (btf) {
    // A BTF pointer: a direct load of the relocated size (the verifier follows only the branch the
    // relocated constant takes).
    const join = L.b.block();
    for (const n of [1, 2, 4] as const) {
      const load = L.b.block(), next = L.b.block();
      L.b.terminate({ op: "br", cond: "eq", bits: 64, a: size, b: imm(n), then: load, else: next });
      L.b.setBlock(load);
      L.b.emit({ op: "load", size: n, dst: val, base: addr, offset: 0 });
      L.b.jumpTo(join);
      L.b.setBlock(next);
    }
    L.b.emit({ op: "load", size: 8, dst: val, base: addr, offset: 0 });
    L.b.jumpTo(join);
    L.b.setBlock(join);
  } else {
    const slot = L.b.slot(8, 8, "bitfield");
    const buf = L.b.reg();
    L.b.emit({ op: "stackAddr", dst: buf, slot, offset: 0 });
    L.b.emit({ op: "store", size: 8, base: buf, offset: 0, value: imm(0) });
    L.b.emit({ op: "call", helper: HELPER_IDS.probe_read_kernel, args: [reg(buf), reg(size), reg(addr)] });
    L.b.emit({ op: "load", size: 8, dst: val, base: buf, offset: 0 });
  }
  const shifted = L.b.reg();
  L.b.emit({ op: "alu", alu: "lsh", bits: 64, dst: shifted, a: reg(val), b: reg(core("field_lshift_u64", lshift)) });
  const rs = core("field_rshift_u64", rshift);
  const out = L.b.reg();
  const isSigned = core("field_signed", signed ? 1 : 0);
  const sgn = L.b.block(), uns = L.b.block(), done = L.b.block();
  L.b.terminate({ op: "br", cond: "ne", bits: 64, a: isSigned, b: imm(0), then: sgn, else: uns });
  L.b.setBlock(sgn);
  L.b.emit({ op: "alu", alu: "arsh", bits: 64, dst: out, a: reg(shifted), b: reg(rs) });
  L.b.jumpTo(done);
  L.b.setBlock(uns);
  L.b.emit({ op: "alu", alu: "rsh", bits: 64, dst: out, a: reg(shifted), b: reg(rs) });
  L.b.jumpTo(done);
  L.b.setBlock(done);
  return { ty, op: reg(out) };
}
