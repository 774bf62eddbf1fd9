// Raw tracepoint attachment (BPF_RAW_TRACEPOINT_OPEN), which returns a BPF link.

import { SyscallError, TsbpfError } from "../../errors.js";
import { rawTracepointOpen } from "../../sys/bpf.js";
import type { Program } from "../program.js";
import { Link } from "./link.js";
import { withOp } from "../map.js";

/** Attach a raw_tracepoint program to the raw tracepoint `name` (e.g. `sys_enter`). */
export function attachRawTracepoint(prog: Program, name: string, cookie?: bigint): Link {
  if (!name) throw new TsbpfError("ATTACH_NEEDS_TARGET", `attach program "${prog.name}": raw tracepoint needs a name (SEC("raw_tp/<name>") or { target })`);
  if (prog.spec.type !== "RAW_TRACEPOINT" && prog.spec.type !== "RAW_TRACEPOINT_WRITABLE") {
    throw new TsbpfError("WRONG_PROGRAM_TYPE", `attach program "${prog.name}" to raw tracepoint ${name}: it is a ${prog.spec.type} program (section "${prog.spec.sectionName}"), not RAW_TRACEPOINT`);
  }
  const context = `attach program "${prog.name}" to raw tracepoint ${name}`;
  try {
    const fd = withOp(context, () => rawTracepointOpen(name, prog.fd, cookie));
    return new Link(fd, `raw tracepoint ${name}`);
  } catch (e) {
    if (e instanceof SyscallError && e.code === "ENOENT") {
      throw new TsbpfError("TRACEPOINT_MISSING", `${context}: the kernel has no raw tracepoint "${name}"`, { cause: e });
    }
    throw e;
  }
}
