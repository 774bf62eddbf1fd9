// Netfilter programs (6.4+): a BPF netfilter link on an IPv4/IPv6 hook (prerouting, input, forward,
// output, postrouting) at a priority, in the caller's network namespace.

import { TsbpfError } from "../../errors.js";
import { linkCreate } from "../../sys/bpf.js";
import { ATTACH_TYPE, LINK_FLAGS } from "../../sys/constants.js";
import type { Program } from "../program.js";
import { Link } from "./link.js";

/** Protocol families (NFPROTO_*). */
export const NF_FAMILY = { ipv4: 2, ipv6: 10 } as const;
/** Hooks (NF_INET_*). */
export const NF_HOOK = { prerouting: 0, input: 1, forward: 2, output: 3, postrouting: 4 } as const;

/** Where a netfilter program hooks in. */
export interface NetfilterAttachOptions {
  readonly family: keyof typeof NF_FAMILY | number;
  readonly hook: keyof typeof NF_HOOK | number;
  /** Lower runs earlier; the extremes (INT_MIN, INT_MAX) are reserved by the kernel. */
  readonly priority: number;
  /** Reassemble fragments before the program sees them (BPF_F_NETFILTER_IP_DEFRAG, 6.6+). */
  readonly defrag?: boolean;
}

/**
 * Attach a NETFILTER program. The program returns NF_DROP (0) or NF_ACCEPT (1).
 *
 * @example
 * using link = attachNetfilter(prog, { family: "ipv4", hook: "output", priority: -128 });
 */
export function attachNetfilter(prog: Program, opts: NetfilterAttachOptions): Link {
  if (prog.spec.type !== "NETFILTER") {
    throw new TsbpfError("WRONG_PROGRAM_TYPE", `attach program "${prog.name}" to netfilter: it is a ${prog.spec.type} program, not NETFILTER`);
  }
  const pf = typeof opts.family === "number" ? opts.family : NF_FAMILY[opts.family];
  const hooknum = typeof opts.hook === "number" ? opts.hook : NF_HOOK[opts.hook];
  if (pf === undefined) throw new TsbpfError("INVALID_ARGUMENT", `attach program "${prog.name}" to netfilter: unknown family "${String(opts.family)}" (ipv4, ipv6)`);
  if (hooknum === undefined) throw new TsbpfError("INVALID_ARGUMENT", `attach program "${prog.name}" to netfilter: unknown hook "${String(opts.hook)}" (${Object.keys(NF_HOOK).join(", ")})`);
  if (!Number.isInteger(opts.priority) || opts.priority <= -0x80000000 || opts.priority >= 0x7fffffff) {
    throw new TsbpfError("INVALID_ARGUMENT", `attach program "${prog.name}" to netfilter: priority must be an integer strictly between INT_MIN and INT_MAX, not ${opts.priority}`);
  }
  const description = `netfilter ${typeof opts.family === "string" ? opts.family : `pf ${pf}`} ${typeof opts.hook === "string" ? opts.hook : `hook ${hooknum}`} priority ${opts.priority}`;
  const fd = linkCreate({
    context: `attach program "${prog.name}" to ${description}`,
    progFd: prog.fd.value, attachType: ATTACH_TYPE.NETFILTER,
    extra: { kind: "netfilter", pf, hooknum, priority: opts.priority, flags: opts.defrag ? LINK_FLAGS.NETFILTER_IP_DEFRAG : 0 },
  });
  return new Link(fd, description);
}
