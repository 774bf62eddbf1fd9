// `cgroupSockAddr(hook, (ctx) => ...)`: SEC("cgroup/<hook>"), the address a process of the cgroup
// binds, connects or sends to (and what recvmsg/getpeername/getsockname report): struct bpf_sock_addr,
// whose user address and port the program may rewrite. Hooks: bind, connect, sendmsg, recvmsg,
// getpeername, getsockname, each for IPv4 (4) and IPv6 (6), and (Linux 6.7+) connect, sendmsg, recvmsg,
// getpeername and getsockname for unix sockets (`_unix`), whose path `ctx.setSunPath` rewrites. The fields
// of the other family, and the sendmsg source address outside sendmsg, are refused by the kernel and so
// at compile time.

import { HELPER_IDS as H } from "../../sys/helper-ids.js";
import { arg, callHelper, memArg, stackBuffer } from "../lower/call-args.js";
import { imm, reg } from "../lower/values.js";
import { DiagnosticCode as D } from "../diagnostics.js";
import type { CType } from "../module.js";
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

const SET_SUN_PATH = "bpf_sock_addr_set_sun_path", CAST_TO_KERN_CTX = "bpf_cast_to_kern_ctx";
const U8: CType = { kind: "int", name: "unsigned char", size: 1, signed: false };
const U32_C: CType = { kind: "int", name: "unsigned int", size: 4, signed: false };
/** Longest unix socket path (sizeof sun_path). */
const SUN_PATH_MAX = 108;

/**
 * `ctx.setSunPath("\0name")`: the kfunc bpf_sock_addr_set_sun_path, replacing the unix socket path of the
 * call (a leading NUL makes it an abstract name); 0 or a negative errno. The path is a string constant.
 */
const setSunPath: ContextMethod = (L, c, ctx) => {
  const a = arg(L, c, 0);
  const text = L.m.consts.tryEvaluate(a);
  if (typeof text !== "string") return L.report(a, D.TypeMismatch, "ctx.setSunPath takes a string constant, the new path (\"\\0name\" for an abstract name)");
  const len = Buffer.byteLength(text);
  if (len < 1 || len > SUN_PATH_MAX) return L.report(a, D.ConstantRange, `a unix socket path has 1..${SUN_PATH_MAX} bytes, this one ${len}`);
  const sid = L.m.kernel.find("bpf_sock_addr_kern", "struct");
  if (sid === undefined) return L.report(c.expression, D.KernelType, `ctx.setSunPath needs the kfunc ${SET_SUN_PATH} (Linux 6.7+): the kernel's BTF has no struct bpf_sock_addr_kern`);
  L.m.kfunc(SET_SUN_PATH, {
    kind: "func_proto",
    returns: { kind: "int", name: "int", size: 4, signed: true },
    params: [
      { name: "sa_kern", type: { kind: "ptr", target: L.m.kernel.local(sid) } },
      { name: "sun_path", type: { kind: "ptr", target: U8 } },
      { name: "sun_path__sz", type: U32_C },
    ],
  });
  // The kfunc takes the kernel's context (struct bpf_sock_addr_kern), which bpf_cast_to_kern_ctx gives.
  const voidPtr: CType = { kind: "ptr", target: { kind: "void" } };
  L.m.kfunc(CAST_TO_KERN_CTX, { kind: "func_proto", returns: voidPtr, params: [{ name: "obj", type: voidPtr }] });
  const kern = L.b.reg(), dst = L.b.reg();
  L.b.emit({ op: "callKfunc", kfunc: CAST_TO_KERN_CTX, args: [reg(ctx)], dst: kern });
  // The kfunc's memory argument must be writable (the verifier refuses read-only .rodata): the path is
  // stored into a stack buffer, 8 bytes at a time.
  const p = stackBuffer(L, Math.ceil(len / 8) * 8, "unix socket path");
  const bytes = Buffer.alloc(Math.ceil(len / 8) * 8);
  bytes.write(text);
  for (let o = 0; o < bytes.length; o += 8) {
    const v = bytes.readBigInt64LE(o);
    L.b.emit({ op: "store", size: 8, base: p, offset: o, value: v > 0x7fffffffn || v < -0x80000000n ? reg(L.b.toReg(imm(v))) : imm(v) });
  }
  L.b.emit({ op: "callKfunc", kfunc: SET_SUN_PATH, args: [reg(kern), reg(p), imm(len)], dst });
  return { ty: I64, op: reg(dst) };
};

function fieldsFor(hook: string): Record<string, ContextField> {
  const v4 = hook.endsWith("4"), sendmsg = hook.startsWith("sendmsg");
  const out: Record<string, ContextField> = { ...FIELDS };
  const refuse = (name: string, why: string) => { out[name] = { ...out[name]!, unavailable: `ctx.${name} ${why}` }; };
  if (hook.endsWith("_unix")) {
    for (const f of ["userIp4", "userIp6", "userPort", "msgSrcIp4", "msgSrcIp6"]) refuse(f, `is not readable in ${hook} programs: a unix address is a path (ctx.setSunPath rewrites it)`);
    return out;
  }
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
  contextTypes: ["SockAddrUnixContext", "SockAddrContext", "SockAddr4Context", "SockAddr6Context", "SendMsg4Context", "SendMsg6Context", "Connect4Context", "Connect6Context", "Bind4Context", "Bind6Context"],
  context: { k: "fields", what: "sock_addr context", fields: FIELDS },
  helpers: ["task"],
  returns: ([hook]) => returns(hook),
  methods: { setsockopt, getsockopt },
  forTargets([hook = ""]): ProgramKind {
    const methods: Record<string, ContextMethod> = { setsockopt, getsockopt };
    if (hook === "connect4" || hook === "connect6") methods.bind = bind;
    if (hook.endsWith("_unix")) methods.setSunPath = setSunPath;
    // bpf_get_retval/bpf_set_retval: not where the program only rewrites what is reported.
    if (!/^(recvmsg|getpeername|getsockname)/.test(hook)) Object.assign(methods, { getRetval, setRetval });
    return {
      ...this,
      context: { k: "fields", what: `${hook} context`, fields: fieldsFor(hook) },
      methods,
    };
  },
};
