// Formats of the kernel's bprintf family (bpf_seq_printf, bpf_snprintf): checked at compile time by the
// rules the kernel's format preparation applies at load/run time, and the u64 argument array the helpers
// take, built on the stack.

import type ts from "typescript";
import { DiagnosticCode as D } from "../diagnostics.js";
import type { Operand, VReg } from "../ir.js";
import { showTy } from "../types.js";
import { stackBuffer, wideArg } from "./call-args.js";
import type { Lowerer } from "./function.js";
import { imm, reg } from "./values.js";

/** The most arguments one bprintf call takes (the kernel's MAX_BPRINTF_VARARGS). */
export const MAX_BPRINTF_ARGS = 12;

/** What a conversion consumes: an integer, or an address the kernel reads (a string, an IP address). */
export type ConversionArg = "int" | "addr";

/**
 * The conversions of `fmt`, in order, or a message saying what the kernel would refuse. Accepted, as the
 * kernel accepts them: `%%`; flags `-+ 0` and a width (no precision); `%d %i %u %x %X` with `l`/`ll`;
 * `%c`; `%s`; `%p` and `%pK %px %ps %pS %pB`, `%pks %pus` (kernel/user strings), `%pi4 %pI4 %pi6 %pI6`.
 * A string conversion must be followed by the end, whitespace or punctuation.
 */
export function parseBprintf(fmt: string): ConversionArg[] | string {
  const out: ConversionArg[] = [];
  for (let i = 0; i < fmt.length; i++) {
    const c = fmt.charCodeAt(i);
    if (c > 0x7e || (c < 0x20 && !/\s/.test(fmt[i]!))) return `the format has a character the kernel refuses at offset ${i} (only printable ASCII and whitespace)`;
    if (fmt[i] !== "%") continue;
    if (fmt[i + 1] === "%") { i++; continue; }
    i++;
    while (fmt[i] === "-" || fmt[i] === "+" || fmt[i] === " " || fmt[i] === "0") i++;
    while (fmt[i] !== undefined && /[0-9]/.test(fmt[i]!)) i++;
    const at = fmt[i];
    if (at === "p") {
      const n = fmt[i + 1] ?? "";
      if (n === "" || /[\s\p{P}\p{S}]/u.test(n)) { out.push("int"); continue; }
      if (n === "K" || n === "x" || n === "s" || n === "S" || n === "B") { i++; out.push("int"); continue; }
      if ((n === "k" || n === "u") && fmt[i + 2] === "s") {
        i += 2;
        if (!endsString(fmt, i)) return stringEnd(fmt, i);
        out.push("addr");
        continue;
      }
      if ((n === "i" || n === "I") && (fmt[i + 2] === "4" || fmt[i + 2] === "6")) { i += 2; out.push("addr"); continue; }
      return `"%p${n}" is not a pointer format the kernel supports (%p, %pK, %px, %ps, %pS, %pB, %pks, %pus, %pi4, %pI4, %pi6, %pI6)`;
    }
    if (at === "s") {
      if (!endsString(fmt, i)) return stringEnd(fmt, i);
      out.push("addr");
      continue;
    }
    if (at === "c") { out.push("int"); continue; }
    if (fmt[i] === "l") i++;
    if (fmt[i] === "l") i++;
    const conv = fmt[i];
    if (conv === undefined || !"diuxX".includes(conv)) {
      return `"%${fmt.slice(fmt.lastIndexOf("%", i) + 1, i + 1)}" is not a conversion the kernel supports (use %d %i %u %x %X with l/ll, %c, %s, %p...)`;
    }
    out.push("int");
  }
  if (out.length > MAX_BPRINTF_ARGS) return `the format has ${out.length} conversions; the kernel takes at most ${MAX_BPRINTF_ARGS}`;
  return out;
}

/** Whether the string conversion ending at `i` is followed by the end, whitespace or punctuation. */
function endsString(fmt: string, i: number): boolean {
  const n = fmt[i + 1];
  return n === undefined || /[\s\p{P}\p{S}]/u.test(n);
}

function stringEnd(fmt: string, i: number): string {
  return `a string conversion must be followed by whitespace, punctuation or the end of the format (offset ${i + 1}: "${fmt[i + 1]}")`;
}

/**
 * Lowers the format and arguments of a bprintf call (`args` the expressions after the format): the
 * format's `.rodata` address and size (NUL included), and the argument array (a u64 per argument, on
 * the stack) with its byte size; no arguments give a null array of size 0.
 */
export function bprintfArgs(L: Lowerer, call: ts.CallExpression, fmtNode: ts.Expression, args: readonly ts.Expression[], what: string): { fmt: Operand; fmtSize: number; data: Operand; dataSize: number } {
  const fmt = L.m.consts.tryEvaluate(fmtNode);
  if (typeof fmt !== "string") return L.report(fmtNode, D.String, `${what} needs a string literal format`);
  const convs = parseBprintf(fmt);
  if (typeof convs === "string") return L.report(fmtNode, D.String, `${what}: ${convs}`);
  if (args.length !== convs.length) {
    return L.report(args.length > convs.length ? args[convs.length]! : call, D.TypeMismatch, `${what}: the format has ${convs.length} conversion${convs.length === 1 ? "" : "s"} but ${args.length} argument${args.length === 1 ? " is" : "s are"} given`);
  }
  const f = L.b.reg();
  L.b.emit({ op: "mapValue", dst: f, map: ".rodata", offset: L.m.rodataString(fmt) });
  if (args.length === 0) return { fmt: reg(f), fmtSize: Buffer.byteLength(fmt) + 1, data: imm(0), dataSize: 0 };
  const ops = args.map((a, i) => convs[i] === "addr" ? addressOperand(L, a, what) : wideArg(L, a));
  const buf: VReg = stackBuffer(L, ops.length * 8, "printf arguments");
  ops.forEach((op, i) => L.b.emit({ op: "store", size: 8, base: buf, offset: i * 8, value: "imm" in op && (op.imm > 0x7fffffffn || op.imm < -0x80000000n) ? reg(L.b.toReg(op)) : op }));
  return { fmt: reg(f), fmtSize: Buffer.byteLength(fmt) + 1, data: reg(buf), dataSize: ops.length * 8 };
}

/** An argument the kernel reads memory at (%s, %pks, %pI4...): a string literal, memory, or a kernel address. */
function addressOperand(L: Lowerer, e: ts.Expression, what: string): Operand {
  const v = L.expr(e);
  if (v.ty.k === "str") {
    const r = L.b.reg();
    L.b.emit({ op: "mapValue", dst: r, map: ".rodata", offset: L.m.rodataString(v.ty.value) });
    return reg(r);
  }
  if (v.ty.k === "mem" || v.ty.k === "kptr" || v.ty.k === "karray") return v.op;
  const s = L.value(v, e);
  if (s.ty.k === "int" && s.ty.bits === 64) return L.operandOf(s, e);
  return L.report(e, D.TypeMismatch, `${what}: %s and %p string/address conversions take a string, memory or a kernel address (u64), not ${showTy(s.ty)}`);
}
