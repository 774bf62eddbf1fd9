// Network-namespace attachment: sk_lookup and flow_dissector programs through a BPF netns link
// (5.8+; flow_dissector falls back to BPF_PROG_ATTACH on the current namespace before that).

import { SyscallError, TsbpfError } from "../../errors.js";
import { linkCreate, progAttach, progDetach } from "../../sys/bpf.js";
import { ATTACH_TYPE, LINK_TYPE } from "../../sys/constants.js";
import type { FdLike } from "../../sys/fd.js";
import { kernelAtLeast } from "../../sys/system.js";
import { withOp } from "../map.js";
import type { Program } from "../program.js";
import { AttachmentLink } from "./detachable.js";
import { Link } from "./link.js";
import { resolveNetns } from "./targets.js";

/**
 * Attach an SK_LOOKUP or FLOW_DISSECTOR program to a network namespace: the current one, a name
 * from `ip netns add`, a path such as /proc/PID/ns/net, or an fd.
 *
 * @example
 * using link = attachNetns(coll.program("steer"), "blue");   // /run/netns/blue
 */
export function attachNetns(prog: Program, netns?: string | FdLike): Link {
  const type = prog.spec.type;
  if (type !== "SK_LOOKUP" && type !== "FLOW_DISSECTOR") {
    throw new TsbpfError("WRONG_PROGRAM_TYPE", `attach program "${prog.name}" to a network namespace: it is a ${type} program, not SK_LOOKUP or FLOW_DISSECTOR`);
  }
  const attachType = ATTACH_TYPE[type];
  const target = resolveNetns(netns);
  const description = `${type.toLowerCase()} on ${netns === undefined ? "the current network namespace" : `network namespace ${target.label}`}`;
  const context = `attach program "${prog.name}" to ${description}`;
  try {
    try {
      return new Link(linkCreate({ context, progFd: prog.fd.value, target: target.fd, attachType }), description);
    } catch (e) {
      if (type !== "FLOW_DISSECTOR" || !(e instanceof SyscallError) || e.code !== "EINVAL" || kernelAtLeast(5, 8)) throw e;
    }
    // Before 5.8: BPF_PROG_ATTACH, which always means the caller's namespace.
    if (netns !== undefined) throw new TsbpfError("UNSUPPORTED", `${context}: this kernel has no netns links, and BPF_PROG_ATTACH only reaches the current namespace`);
    withOp(context, () => progAttach({ target: 0, attachBpfFd: prog.fd.value, attachType }));
    const held = prog.fd.dup();
    return new AttachmentLink(prog.fd, description, {
      detach: () => {
        try {
          withOp(`detach ${description}`, () => progDetach({ target: 0, attachBpfFd: held.value, attachType }));
        } finally {
          held.close();
        }
      },
      info: () => ({ type: LINK_TYPE.NETNS, id: 0, progId: 0, attachType }),
    });
  } finally {
    target.release();
  }
}
