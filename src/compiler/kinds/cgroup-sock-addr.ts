// `cgroupSockAddr(hook, (ctx) => ...)`: SEC("cgroup/<hook>"), the address a process of the cgroup
// binds, connects or sends to (and what recvmsg/getpeername/getsockname report): struct bpf_sock_addr,
// whose user address and port the program may rewrite. Hooks: bind, connect, sendmsg, recvmsg,
// getpeername, getsockname, each for IPv4 (4) and IPv6 (6). The fields of the other family, and the
// sendmsg source address outside sendmsg, are refused by the kernel and so at compile time.

import { HELPER_IDS as H } from "../../sys/helper-ids.js";
import { arg, callHelper, memArg } from "../lower/call-args.js";
import { imm, reg } from "../lower/values.js";
import { I64 } from "../types.js";
import { getRetval, getsockopt, setRetval, setsockopt } from "./cgroup-methods.js";
import type { ContextField, ContextMethod, ProgramKind, ReturnRule } from "./kind.js";

const FIELDS: Record<string, ContextField> = {
  userFamily: { offset: 0, size: 4 },
  userIp4: { offset: 4, size: 4, writable: true },
  userIp6: { offset: 8, size: 4, count: 4, writable: true },
  userPort: { offset: 24, size: 4, writable: true },
  family: { offset: 28, size: 4 },
  type: { offset: 32, size: 4 },
  protocol: { offset: 36, size: 4 },
  msgSrcIp4: { offset: 40, size: 4, writable: true },
  msgSrcIp6: { offset: 44, size: 4, count: 4, writable: true },
};

/** `ctx.bind(sockaddr)`: bpf_bind, binds the connecting socket to a source address (connect hooks). */
const bind: ContextMethod = (L, c, ctx) => {
  const { addr, size } = memArg(L, arg(L, c, 0), undefined, "socket address");
  return callHelper(L, H.bind, [reg(ctx), reg(addr), imm(size)], I64);
};

function fieldsFor(hook: string): Record<string, ContextField> {
  const v4 = hook.endsWith("4"), sendmsg = hook.startsWith("sendmsg");
  const out: Record<string, ContextField> = { ...FIELDS };
  const refuse = (name: string, why: string) => { out[name] = { ...out[name]!, unavailable: `ctx.${name} ${why}` }; };
  refuse(v4 ? "userIp6" : "userIp4", `is not readable in ${hook} programs: use ctx.${v4 ? "userIp4" : "userIp6"}`);
  if (!sendmsg || !v4) refuse("msgSrcIp4", "is only available in sendmsg4 programs");
  if (!sendmsg || v4) refuse("msgSrcIp6", "is only available in sendmsg6 programs");
  return out;
}

const returns = (hook: string | undefined): ReturnRule => {
  if (hook === "bind4" || hook === "bind6") return { min: 0, max: 3, meaning: "bit 0: 1 allows, 0 refuses with EPERM; bit 1: the bind may use a port below 1024 without CAP_NET_BIND_SERVICE (3)" };
  if (/^(recvmsg|getpeername|getsockname)/.test(hook ?? "")) return { min: 1, max: 1, meaning: `${hook} programs only rewrite the address` };
  return { min: 0, max: 1, meaning: "1 allows, 0 refuses the call with EPERM" };
};

export const cgroupSockAddr: ProgramKind = {
  entry: "cgroupSockAddr",
  targets: 1,
  section: ([hook]) => `cgroup/${hook}`,
  contextTypes: ["SockAddrContext", "SockAddr4Context", "SockAddr6Context", "SendMsg4Context", "SendMsg6Context", "Connect4Context", "Connect6Context", "Bind4Context", "Bind6Context"],
  context: { k: "fields", what: "sock_addr context", fields: FIELDS },
  helpers: ["task"],
  returns: ([hook]) => returns(hook),
  methods: { setsockopt, getsockopt },
  forTargets([hook = ""]): ProgramKind {
    const methods: Record<string, ContextMethod> = { setsockopt, getsockopt };
    if (hook === "connect4" || hook === "connect6") methods.bind = bind;
    // bpf_get_retval/bpf_set_retval: not where the program only rewrites what is reported.
    if (!/^(recvmsg|getpeername|getsockname)/.test(hook)) Object.assign(methods, { getRetval, setRetval });
    return {
      ...this,
      context: { k: "fields", what: `${hook} context`, fields: fieldsFor(hook) },
      methods,
    };
  },
};
