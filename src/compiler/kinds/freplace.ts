// `freplace("fn", "xdp", (ctx) => ...)`: SEC("freplace/<fn>"), an extension program (BPF_PROG_TYPE_EXT)
// replacing global function `fn` of a loaded program of the named kind. The kernel verifies it as a
// program of the target's type (its context, helpers), and requires its BTF prototype to match the
// replaced function's: `int fn(struct <ctx> *ctx)`, so the kind emits that prototype instead of
// `int (void *ctx)`. The kernel does not restrict the return value (it goes to the replaced function's
// caller), so none is checked here.

import type { CType } from "../module.js";
import { cgroupDevice } from "./cgroup-device.js";
import { cgroupSkb } from "./cgroup-skb.js";
import { cgroupSysctl } from "./cgroup-sysctl.js";
import { flowDissector } from "./flow-dissector.js";
import type { ProgramKind } from "./kind.js";
import { lwtIn, lwtOut, lwtXmit } from "./lwt.js";
import { netfilter } from "./netfilter.js";
import { perfEvent } from "./perf-event.js";
import { skLookup } from "./sk-lookup.js";
import { skMsg } from "./sk-msg.js";
import { socketFilter } from "./socket-filter.js";
import { sockOps } from "./sock-ops.js";
import { tc } from "./tc.js";
import { xdp } from "./xdp.js";

/** The kinds a freplace program may extend: its `tsbpf/kernel` name → the kind and its UAPI context struct. */
export const FREPLACE_TARGETS: Readonly<Record<string, { readonly kind: ProgramKind; readonly struct: string }>> = {
  xdp: { kind: xdp, struct: "xdp_md" },
  tc: { kind: tc, struct: "__sk_buff" },
  socketFilter: { kind: socketFilter, struct: "__sk_buff" },
  cgroupSkb: { kind: cgroupSkb, struct: "__sk_buff" },
  lwtIn: { kind: lwtIn, struct: "__sk_buff" },
  lwtOut: { kind: lwtOut, struct: "__sk_buff" },
  lwtXmit: { kind: lwtXmit, struct: "__sk_buff" },
  flowDissector: { kind: flowDissector, struct: "__sk_buff" },
  sockOps: { kind: sockOps, struct: "bpf_sock_ops" },
  skMsg: { kind: skMsg, struct: "sk_msg_md" },
  skLookup: { kind: skLookup, struct: "bpf_sk_lookup" },
  cgroupSysctl: { kind: cgroupSysctl, struct: "bpf_sysctl" },
  cgroupDevice: { kind: cgroupDevice, struct: "bpf_cgroup_dev_ctx" },
  perfEvent: { kind: perfEvent, struct: "bpf_perf_event_data" },
  netfilter: { kind: netfilter, struct: "bpf_nf_ctx" },
};

const INT: CType = { kind: "int", name: "int", size: 4, signed: true };
/** One struct value per name: the object writer deduplicates named structs by identity. */
const structs = new Map<string, CType>();

/** `int (struct <name> *ctx)`: the kernel compares the pointed-to struct's name with the target's, not its layout. */
function proto(struct: string): CType & { kind: "func_proto" } {
  let s = structs.get(struct);
  if (!s) structs.set(struct, (s = { kind: "struct", name: struct, size: 0, members: [] }));
  return { kind: "func_proto", returns: INT, params: [{ name: "ctx", type: { kind: "ptr", target: s } }] };
}

export const freplace: ProgramKind = {
  entry: "freplace",
  targets: 2,
  section: ([fn]) => `freplace/${fn}`,
  contextTypes: [...new Set(Object.values(FREPLACE_TARGETS).flatMap((t) => t.kind.contextTypes))],
  // The target kind's shape, from forTargets (checkTargets refuses an unknown kind first).
  context: { k: "fields", what: "freplace context", fields: {} },
  helpers: [],
  checkTargets([, target]) {
    if (target !== undefined && FREPLACE_TARGETS[target]) return undefined;
    return { index: 1, message: `freplace() extends a program of one of these kinds: ${Object.keys(FREPLACE_TARGETS).join(", ")}; not "${target}"` };
  },
  forTargets([, target]) {
    const t = target === undefined ? undefined : FREPLACE_TARGETS[target];
    if (!t) return freplace;
    const { returns: _returns, forTargets: _forTargets, ...kind } = t.kind;
    return { ...kind, entry: "freplace", targets: 2, section: freplace.section, proto: () => proto(t.struct) };
  },
};
