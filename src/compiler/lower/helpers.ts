// The `bpf.*` helpers of `tsbpf/kernel`: one table entry per member, with the helper group a program
// kind must have to call it (none: every kind) and its lowering. A unit test checks that every member
// declared in src/kernel/index.ts has an entry here and every entry a declaration.

import type ts from "typescript";
import { HELPER_IDS as H } from "../../sys/helper-ids.js";
import { DiagnosticCode as D } from "../diagnostics.js";
import type { HelperGroup } from "../kinds/index.js";
import { I32, LIT, U32, U64, I64, wrap, type IntTy } from "../types.js";
import { addrArg, arg, callHelper, intArg, memArg, optionalWide, wideArg } from "./call-args.js";
import type { Lowerer } from "./function.js";
import { imm, reg, type Value } from "./values.js";

/** One `bpf.*` member. */
export interface Helper {
  /** The helper group a program kind needs to call it; none: every kind may. */
  readonly group?: HelperGroup;
  lower(L: Lowerer, call: ts.CallExpression): Value;
}

/** The high 32 bits of a 64-bit helper result. */
function high(L: Lowerer, helper: number): Value {
  const v = callHelper(L, helper, [], U64);
  const r = L.b.reg();
  L.b.emit({ op: "alu", alu: "rsh", bits: 64, dst: r, a: v.op, b: imm(32) });
  return { ty: U32, op: reg(r) };
}

/** The low 32 bits of a 64-bit helper result. */
function low(L: Lowerer, helper: number): Value {
  return { ty: U32, op: callHelper(L, helper, [], U64).op };
}

const probeRead = (id: number): Helper => ({
  group: "probe",
  lower: (L, c) => {
    const { addr, size } = memArg(L, arg(L, c, 0), undefined, "destination");
    return callHelper(L, id, [reg(addr), imm(size), addrArg(L, arg(L, c, 1))], I64);
  },
});

const byteSwap = (bits: 16 | 32): Helper => ({
  lower: (L, c) => {
    const ty: IntTy = { k: "int", bits, signed: false };
    const v = L.value(L.expr(arg(L, c, 0), ty), c);
    if ("imm" in v.op) {
      const x = wrap(v.op.imm, ty);
      const swapped = bits === 16 ? ((x & 0xffn) << 8n) | (x >> 8n) : ((x & 0xffn) << 24n) | (((x >> 8n) & 0xffn) << 16n) | (((x >> 16n) & 0xffn) << 8n) | (x >> 24n);
      return { ty: LIT, op: imm(swapped) };
    }
    const dst = L.b.reg();
    L.b.emit({ op: "bswap", dst, src: L.b.toReg(v.op), bits });
    return { ty, op: reg(dst) };
  },
});

/** `bpf.*` by member name. */
export const HELPERS: Readonly<Record<string, Helper>> = {
  pidTgid: { group: "task", lower: (L) => callHelper(L, H.get_current_pid_tgid, [], U64) },
  pid: { group: "task", lower: (L) => high(L, H.get_current_pid_tgid) },
  tid: { group: "task", lower: (L) => low(L, H.get_current_pid_tgid) },
  uidGid: { group: "task", lower: (L) => callHelper(L, H.get_current_uid_gid, [], U64) },
  uid: { group: "task", lower: (L) => low(L, H.get_current_uid_gid) },
  gid: { group: "task", lower: (L) => high(L, H.get_current_uid_gid) },
  ktimeNs: { lower: (L) => callHelper(L, H.ktime_get_ns, [], U64) },
  bootNs: { lower: (L) => callHelper(L, H.ktime_get_boot_ns, [], U64) },
  cpu: { lower: (L) => callHelper(L, H.get_smp_processor_id, [], U32) },
  random: { lower: (L) => callHelper(L, H.get_prandom_u32, [], U32) },
  currentComm: {
    group: "task",
    lower: (L, c) => {
      const { addr, size } = memArg(L, arg(L, c, 0), undefined, "comm");
      return callHelper(L, H.get_current_comm, [reg(addr), imm(size)], I64);
    },
  },
  currentTask: {
    group: "task",
    lower: (L) => {
      // Where the verifier tracks BTF pointers, the BTF-typed task allows direct field loads.
      if (L.prog.btfPointers) return { ty: { k: "kptr", name: "task_struct", btfKind: "struct", btf: true }, op: callHelper(L, H.get_current_task_btf, [], U64).op };
      return { ty: { k: "kptr", name: "task_struct", btfKind: "struct" }, op: callHelper(L, H.get_current_task, [], U64).op };
    },
  },
  probeReadKernel: probeRead(H.probe_read_kernel),
  probeReadUser: probeRead(H.probe_read_user),
  copyFromUser: { ...probeRead(H.copy_from_user), group: "sleepable" },
  probeReadKernelStr: probeRead(H.probe_read_kernel_str),
  probeReadUserStr: probeRead(H.probe_read_user_str),
  printk: {
    lower: (L, c) => {
      const fmt = L.m.consts.tryEvaluate(arg(L, c, 0));
      if (typeof fmt !== "string") return L.report(arg(L, c, 0), D.String, "bpf.printk needs a string literal format");
      if (c.arguments.length > 4) L.report(c.arguments[4]!, D.Limit, "bpf.printk takes at most 3 arguments");
      const args = c.arguments.slice(1).map((a) => wideArg(L, a));
      const off = L.m.rodataString(fmt);
      const f = L.b.reg();
      L.b.emit({ op: "mapValue", dst: f, map: ".rodata", offset: off });
      return callHelper(L, H.trace_printk, [reg(f), imm(Buffer.byteLength(fmt) + 1), ...args], I64);
    },
  },
  redirect: { group: "redirect", lower: (L, c) => callHelper(L, H.redirect, [intArg(L, arg(L, c, 0), U32), optionalWide(L, c, 1)], I32) },
  ntohs: byteSwap(16),
  htons: byteSwap(16),
  ntohl: byteSwap(32),
  htonl: byteSwap(32),
  addressOf: {
    lower: (L, c) => {
      const v = L.expr(arg(L, c, 0));
      if (v.ty.k !== "kptr" && v.ty.k !== "mem" && v.ty.k !== "ref" && v.ty.k !== "ctx") L.report(c, D.TypeMismatch, "bpf.addressOf needs an object or the context");
      return { ty: U64, op: v.op };
    },
  },
};

/** Reports when the program's kind lacks helper group `group`. */
export function requireGroup(L: Lowerer, node: ts.Node, name: string, group: HelperGroup | undefined): void {
  if (!group || L.prog.helpers.includes(group)) return;
  L.report(node, D.HelperNotAllowed, `${name} is not available in ${L.prog.entry} programs (it is a "${group}" helper; the kinds table of docs/language.md lists the helper groups of each kind)`);
}

/** Lowers `bpf.<name>(...)`. */
export function lowerHelper(L: Lowerer, c: ts.CallExpression, name: string): Value {
  const h = Object.hasOwn(HELPERS, name) ? HELPERS[name]! : undefined;
  if (!h) return L.report(c.expression, D.UnknownHelper, `unknown helper bpf.${name}`);
  requireGroup(L, c, `bpf.${name}`, h.group);
  return h.lower(L, c);
}
