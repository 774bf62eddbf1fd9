// Binds a program to an open perf event (kprobe, uprobe, tracefs probe event): a BPF perf_event link
// where the kernel has them (5.15+), else PERF_EVENT_IOC_SET_BPF + enable, where closing the event detaches.

import { SyscallError } from "../../errors.js";
import { linkCreate } from "../../sys/bpf.js";
import { ATTACH_TYPE } from "../../sys/constants.js";
import type { Fd } from "../../sys/fd.js";
import { perfEventEnable, perfEventSetBpf } from "../../sys/perf.js";
import { withOp } from "../map.js";
import type { Program } from "../program.js";
import { Link } from "./link.js";

/**
 * Attach `prog` to the perf event `perf` (which the returned Link then owns). `cleanup` runs once when
 * the link closes (e.g. removing a tracefs probe event). On failure `perf` is closed and `cleanup` run.
 */
export function attachToPerfEvent(prog: Program, perf: Fd, description: string, cookie?: bigint, cleanup?: () => void): Link {
  const context = `attach program "${prog.name}" to ${description}`;
  const fail = (e: unknown): never => {
    perf.close();
    cleanup?.();
    throw e;
  };
  try {
    const fd = linkCreate({
      context,
      progFd: prog.fd.value, target: perf.value, attachType: ATTACH_TYPE.PERF_EVENT,
      ...(cookie !== undefined ? { extra: { kind: "perf_event", bpfCookie: cookie } } : {}),
    });
    return new Link(fd, description, { extra: [perf], ...(cleanup ? { teardown: cleanup } : {}) });
  } catch (e) {
    // EINVAL: no perf_event links (before 5.15); anything else is a real failure.
    if (!(e instanceof SyscallError) || e.code !== "EINVAL" || cookie !== undefined) fail(e);
  }
  try {
    withOp(context, () => {
      perfEventSetBpf(perf, prog.fd);
      perfEventEnable(perf);
    });
  } catch (e) {
    fail(e);
  }
  return new Link(perf, description, { isBpfLink: false, ...(cleanup ? { teardown: cleanup } : {}) });
}
