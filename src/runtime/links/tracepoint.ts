// Tracepoint attachment: a perf event opened on the tracepoint's id (from tracefs), with the program
// bound through a BPF perf_event link, or through PERF_EVENT_IOC_SET_BPF on kernels without one.

import { TsbpfError, SyscallError } from "../../errors.js";
import { linkCreate } from "../../sys/bpf.js";
import { ATTACH_TYPE } from "../../sys/constants.js";
import { openTracepoint, perfEventEnable, perfEventSetBpf } from "../../sys/perf.js";
import type { Program } from "../program.js";
import { Link } from "./link.js";

/** Attach to tracepoint `category/name` (e.g. `syscalls/sys_enter_getpid`). */
export function attachTracepoint(prog: Program, target: string, cookie?: bigint): Link {
  const slash = target.indexOf("/");
  if (slash <= 0 || slash === target.length - 1)
    throw new TsbpfError("ATTACH_BAD_TARGET", `attach program "${prog.name}": tracepoint "${target}" must be "category/name"`);
  if (prog.spec.type !== "TRACEPOINT") {
    throw new TsbpfError("WRONG_PROGRAM_TYPE", `attach program "${prog.name}" to tracepoint ${target}: it is a ${prog.spec.type} program (section "${prog.spec.sectionName}"), not TRACEPOINT`);
  }
  const category = target.slice(0, slash);
  const name = target.slice(slash + 1);
  const description = `tracepoint ${target}`;
  const perf = openTracepoint(category, name);
  try {
    const fd = linkCreate({
      context: `attach program "${prog.name}" to ${description}`,
      progFd: prog.fd.value, target: perf.value, attachType: ATTACH_TYPE.PERF_EVENT,
      ...(cookie !== undefined ? { extra: { kind: "perf_event", bpfCookie: cookie } } : {}),
    });
    return new Link(fd, description, { extra: [perf] });
  } catch (e) {
    if (!(e instanceof SyscallError) || e.code !== "EINVAL" || cookie !== undefined) {
      perf.close();
      throw e;
    }
  }
  // Kernels before 5.15 have no perf_event links: bind with ioctl; closing the perf fd detaches.
  try {
    perfEventSetBpf(perf, prog.fd);
    perfEventEnable(perf);
  } catch (e) {
    perf.close();
    throw e;
  }
  return new Link(perf, description, { isBpfLink: false });
}
