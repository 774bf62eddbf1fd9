// `cgroupSockopt("getsockopt" | "setsockopt", (ctx) => ...)`: SEC("cgroup/<hook>"), a getsockopt or
// setsockopt call by a process of the cgroup. The context is struct bpf_sockopt: `level`, `optname`
// (writable in setsockopt), `optlen` (writable; -1 in setsockopt skips the kernel's handler), `retval`
// (getsockopt only, writable); the option's bytes are read and written in place with `ctx.load`.
// Returns 1 to continue, 0 to refuse (EPERM).

import { getRetval, getsockopt, setRetval, setsockopt } from "./cgroup-methods.js";
import type { ContextField, ContextMethod, PacketShape, ProgramKind } from "./kind.js";

const FIELDS: Record<string, ContextField> = {
  level: { offset: 24, size: 4, signed: true },
  optname: { offset: 28, size: 4, signed: true },
  optlen: { offset: 32, size: 4, signed: true, writable: true },
  retval: { offset: 36, size: 4, signed: true },
};
/** optval and optval_end, 8-byte pointers. */
const OPTVAL: PacketShape = { data: 8, dataEnd: 16, direct: true, pointerSize: 8 };

export const cgroupSockopt: ProgramKind = {
  entry: "cgroupSockopt",
  targets: 1,
  section: ([hook]) => `cgroup/${hook}`,
  contextTypes: ["SockoptContext", "GetsockoptContext", "SetsockoptContext"],
  context: { k: "fields", what: "sockopt context", fields: FIELDS, packet: OPTVAL },
  helpers: ["task"],
  returns: () => ({ min: 0, max: 1, meaning: "1 continues, 0 refuses the call with EPERM" }),
  forTargets([hook]): ProgramKind {
    const get = hook === "getsockopt";
    const fields: Record<string, ContextField> = get
      ? { ...FIELDS, retval: { ...FIELDS.retval!, writable: true } }
      : {
          ...FIELDS,
          level: { ...FIELDS.level!, writable: true },
          optname: { ...FIELDS.optname!, writable: true },
          retval: { ...FIELDS.retval!, unavailable: "ctx.retval is only available in getsockopt programs" },
        };
    // bpf_setsockopt/bpf_getsockopt on the socket are only for setsockopt programs.
    const methods: Record<string, ContextMethod> = get ? { getRetval, setRetval } : { getRetval, setRetval, setsockopt, getsockopt };
    return { ...this, context: { k: "fields", what: `${hook} context`, fields, packet: OPTVAL }, methods };
  },
};
