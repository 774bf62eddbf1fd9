// sk_msg and sk_skb (stream parser / stream verdict / verdict) attachment to a SOCKMAP or SOCKHASH:
// a BPF link on the map (6.10+), or BPF_PROG_ATTACH with the map fd on older kernels.

import { SyscallError, TsbpfError } from "../../errors.js";
import type { AttachTypeName } from "../../object/sections.js";
import { linkCreate, progAttach, progDetach, progInfo } from "../../sys/bpf.js";
import { ATTACH_TYPE, LINK_TYPE } from "../../sys/constants.js";
import { Fd, type FdLike } from "../../sys/fd.js";
import { withOp } from "../map.js";
import type { BpfMap } from "../map.js";
import type { Program } from "../program.js";
import { AttachmentLink } from "./detachable.js";
import { Link } from "./link.js";
import { mapFd } from "./targets.js";

/** Where an SK_SKB program hooks in, for sections that do not say (`sk_skb`). */
export type SkSkbAttach = "stream_parser" | "stream_verdict" | "verdict";

const SKB_TYPES: Record<SkSkbAttach, AttachTypeName> = {
  stream_parser: "SK_SKB_STREAM_PARSER",
  stream_verdict: "SK_SKB_STREAM_VERDICT",
  verdict: "SK_SKB_VERDICT",
};

/** Options of {@link attachSockmap}. */
export interface SockmapAttachOptions {
  /** SK_SKB programs from a bare `sk_skb` section: which hook. */
  readonly skb?: SkSkbAttach;
  /** "link" (6.10+) or "attach" (BPF_PROG_ATTACH); default: a link, BPF_PROG_ATTACH where unsupported. */
  readonly mechanism?: "link" | "attach";
}

/**
 * Attach an SK_MSG or SK_SKB program to a sockmap/sockhash: it then runs for the sockets in the map.
 *
 * @example
 * using verdict = attachSockmap(coll.program("msg_verdict"), coll.map("socks"));
 */
export function attachSockmap(prog: Program, map: BpfMap | FdLike, opts: SockmapAttachOptions = {}): Link {
  const type = prog.spec.type;
  if (type !== "SK_MSG" && type !== "SK_SKB") {
    throw new TsbpfError("WRONG_PROGRAM_TYPE", `attach program "${prog.name}" to a sockmap: it is a ${type} program, not SK_MSG or SK_SKB`);
  }
  let name: AttachTypeName | undefined = opts.skb ? SKB_TYPES[opts.skb] : prog.spec.expectedAttachType;
  if (type === "SK_MSG") name = "SK_MSG_VERDICT";
  if (opts.skb && !Object.hasOwn(SKB_TYPES, opts.skb)) {
    throw new TsbpfError("INVALID_ARGUMENT", `attach program "${prog.name}" to a sockmap: skb hook "${String(opts.skb)}" is not one of ${Object.keys(SKB_TYPES).join(", ")}`);
  }
  if (!name) {
    throw new TsbpfError("ATTACH_NEEDS_TARGET", `attach program "${prog.name}" (section "${prog.spec.sectionName}") to a sockmap: say which hook with { skb: "stream_verdict" }`);
  }
  const attachType = ATTACH_TYPE[name];
  const fd = mapFd(map);
  const mapLabel = typeof map === "object" && "spec" in map ? `map "${map.spec.name}"` : `map fd ${fd}`;
  const description = `${name.toLowerCase()} on ${mapLabel}`;
  const context = `attach program "${prog.name}" to ${description}`;
  if (opts.mechanism !== "attach") {
    try {
      return new Link(linkCreate({ context, progFd: prog.fd.value, target: fd, attachType }), description);
    } catch (e) {
      // Sockmap links are new in 6.10; older kernels answer EINVAL.
      if (opts.mechanism === "link" || !(e instanceof SyscallError) || e.code !== "EINVAL") throw e;
    }
  }
  withOp(context, () => progAttach({ target: fd, attachBpfFd: prog.fd.value, attachType }));
  const held = Fd.dupOf(fd, mapLabel);
  let current = prog.fd.dup();
  return new AttachmentLink(prog.fd, description, {
    detach: () => {
      try {
        withOp(`detach ${description}`, () => progDetach({ target: held.value, attachBpfFd: current.value, attachType }));
      } catch (e) {
        if (!(e instanceof SyscallError) || e.code !== "ENOENT") throw e;
      } finally {
        current.close();
        held.close();
      }
    },
    update: (newProg) => {
      withOp(`update ${description}`, () => progAttach({ target: held.value, attachBpfFd: newProg.value, attachType }));
      current.close();
      current = newProg.dup();
    },
    info: () => ({ type: LINK_TYPE.SOCKMAP, id: 0, progId: progInfo(current).id, attachType }),
  });
}
