// `ksyscall("name", ...)` / `kretsyscall("name", ...)`: SEC("ksyscall/<name>"), SEC("kretsyscall/<name>");
// the loader resolves the syscall's kernel function (`__x64_sys_<name>`). A kprobe on it: on x86-64 the
// syscall wrapper's only argument (di) is the *user* struct pt_regs, so `ctx.arg(n)` reads syscall
// argument n from there with a probe read, by the syscall calling convention (di, si, dx, r10, r8, r9:
// the fourth is r10, not cx). `ctx.ret()` in a kretsyscall is the syscall's return value.

import { HELPER_IDS as H } from "../../sys/helper-ids.js";
import { DiagnosticCode as D } from "../diagnostics.js";
import { arg, callHelper, stackBuffer } from "../lower/call-args.js";
import { argumentValue } from "../lower/intrinsics.js";
import { imm, reg } from "../lower/values.js";
import { I64, U64 } from "../types.js";
import { PT_REGS_X86, TRACING_HELPERS, type ContextMethod, type ProgramKind } from "./kind.js";

/** struct pt_regs offsets of the x86-64 syscall argument registers: di, si, dx, r10, r8, r9. */
const SYSCALL_ARGS_X86 = [112, 104, 96, 56, 72, 64] as const;

/** `ctx.arg<T>(n)`: syscall argument `n` from the user registers the wrapper got (a probe read). */
const syscallArg: ContextMethod = (L, c, ctx) => {
  const n = L.m.consts.evaluate(arg(L, c, 0), "the argument number");
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0) return L.report(arg(L, c, 0), D.ConstantRange, "argument numbers are non-negative integers");
  if (n >= SYSCALL_ARGS_X86.length) return L.report(arg(L, c, 0), D.Limit, `system calls have at most ${SYSCALL_ARGS_X86.length} arguments`);
  const user = L.b.reg();
  L.b.emit({ op: "load", size: 8, dst: user, base: ctx, offset: PT_REGS_X86.args[0] });
  // bpf_probe_read_kernel fills the buffer (with zeros when the read faults).
  const buf = stackBuffer(L, 8, "syscall argument");
  const src = L.b.reg();
  L.b.emit({ op: "alu", alu: "add", bits: 64, dst: src, a: reg(user), b: imm(SYSCALL_ARGS_X86[n]!) });
  callHelper(L, H.probe_read_kernel, [reg(buf), imm(8), reg(src)], I64);
  const asType = c.typeArguments?.[0];
  return argumentValue(L, buf, 0, asType ? L.m.typeOfNode(asType) : U64, asType ?? c);
};

const probe = (entry: string, contextTypes: readonly string[], methods?: ProgramKind["methods"]): ProgramKind => ({
  entry,
  targets: 1,
  section: ([t]) => `${entry}/${t}`,
  contextTypes,
  context: { k: "pt_regs" },
  helpers: TRACING_HELPERS,
  ...(methods ? { methods } : {}),
});

export const ksyscall = probe("ksyscall", ["KsyscallContext"], { arg: syscallArg });
export const kretsyscall = probe("kretsyscall", ["ProbeContext"]);
