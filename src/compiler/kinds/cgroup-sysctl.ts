// `cgroupSysctl((ctx) => ...)`: SEC("cgroup/sysctl"), a read or write of a /proc/sys file by a process
// of the cgroup. The context is struct bpf_sysctl (`write`, `filePos` writable); methods copy the
// sysctl's name, current and new value into byte buffers and replace the value being written. Returns
// 1 to allow, 0 to refuse (EPERM).

import { HELPER_IDS as H } from "../../sys/helper-ids.js";
import { DiagnosticCode as D } from "../diagnostics.js";
import { arg, callHelper, intArg, memArg, optionalWide } from "../lower/call-args.js";
import type { Lowerer } from "../lower/function.js";
import { imm, reg, type Value } from "../lower/values.js";
import { I64, U32 } from "../types.js";
import { destination, getRetval, setRetval } from "./cgroup-methods.js";
import { u32Fields, type ContextMethod, type ProgramKind } from "./kind.js";

/** A helper that copies into the buffer given as argument 0 (its whole size): (ctx, buf, size[, flags]). */
function copyInto(helper: number, method: string, flags: boolean): ContextMethod {
  return (L, c, ctx): Value => {
    const { addr, size } = destination(L, arg(L, c, 0), method);
    return callHelper(L, helper, [reg(ctx), reg(addr), imm(size), ...(flags ? [optionalWide(L, c, 1)] : [])], I64);
  };
}

/** `ctx.setNewValue(value, len?)`: a string literal (its bytes, no NUL) or the first `len` bytes of a buffer. */
const setNewValue: ContextMethod = (L: Lowerer, c, ctx) => {
  const a = arg(L, c, 0);
  const text = L.m.consts.tryEvaluate(a);
  if (typeof text === "string") {
    if (c.arguments.length > 1) L.report(c.arguments[1]!, D.TypeMismatch, "a string value is written whole; pass a length only with a buffer");
    const p = L.b.reg();
    L.b.emit({ op: "mapValue", dst: p, map: ".rodata", offset: L.m.rodataString(text) });
    return callHelper(L, H.sysctl_set_new_value, [reg(ctx), reg(p), imm(Buffer.byteLength(text))], I64);
  }
  const { addr, size } = memArg(L, a, undefined, "new value");
  let len = imm(size);
  const lenArg = c.arguments[1];
  if (lenArg) {
    const n = L.m.consts.tryEvaluate(lenArg);
    if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > size) L.report(lenArg, D.ConstantRange, `the length is a constant 1..${size} (the buffer's size)`);
    len = intArg(L, lenArg, U32);
  }
  return callHelper(L, H.sysctl_set_new_value, [reg(ctx), reg(addr), len], I64);
};

export const cgroupSysctl: ProgramKind = {
  entry: "cgroupSysctl",
  targets: 0,
  section: () => "cgroup/sysctl",
  contextTypes: ["SysctlContext"],
  context: { k: "fields", what: "sysctl context", fields: u32Fields({ write: [0], filePos: [4, true] }) },
  helpers: ["task"],
  returns: () => ({ min: 0, max: 1, meaning: "1 allows, 0 refuses the read or write with EPERM" }),
  methods: {
    getName: copyInto(H.sysctl_get_name, "ctx.getName", true),
    getCurrentValue: copyInto(H.sysctl_get_current_value, "ctx.getCurrentValue", false),
    getNewValue: copyInto(H.sysctl_get_new_value, "ctx.getNewValue", false),
    setNewValue,
    getRetval,
    setRetval,
  },
};
