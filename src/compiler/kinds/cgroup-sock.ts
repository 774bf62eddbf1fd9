// `cgroupSock(hook, (ctx) => ...)`: SEC("cgroup/<hook>"), a socket of the cgroup being created or
// released (sock_create, sock_release: mark, priority and bound device writable) or just bound
// (post_bind4, post_bind6: the source address readable). The context is struct bpf_sock. Returns 1 to
// allow, 0 to refuse (socket() or bind() fails with EPERM, or the errno set with ctx.setRetval).

import type { ContextField, ProgramKind } from "./kind.js";
import { getRetval, setRetval } from "./cgroup-methods.js";

const FIELDS: Record<string, ContextField> = {
  boundDevIf: { offset: 0, size: 4 },
  family: { offset: 4, size: 4 },
  type: { offset: 8, size: 4 },
  protocol: { offset: 12, size: 4 },
  mark: { offset: 16, size: 4 },
  priority: { offset: 20, size: 4 },
  srcIp4: { offset: 24, size: 4 },
  srcIp6: { offset: 28, size: 4, count: 4 },
  srcPort: { offset: 44, size: 4 },
  dstPort: { offset: 48, size: 2 },
  dstIp4: { offset: 52, size: 4 },
  dstIp6: { offset: 56, size: 4, count: 4 },
  state: { offset: 72, size: 4 },
  rxQueueMapping: { offset: 76, size: 4, signed: true },
};

/** What each hook may do with the fields the kernel restricts by attach type. */
function fieldsFor(hook: string): Record<string, ContextField> {
  const out = { ...FIELDS };
  const lifecycle = hook === "sock_create" || hook === "sock_release";
  for (const name of ["boundDevIf", "mark", "priority"]) {
    out[name] = lifecycle ? { ...out[name]!, writable: true } : { ...out[name]!, unavailable: `ctx.${name} is only available in sock_create and sock_release programs` };
  }
  if (hook !== "post_bind4") out.srcIp4 = { ...out.srcIp4!, unavailable: "ctx.srcIp4 is only available in post_bind4 programs" };
  if (hook !== "post_bind6") out.srcIp6 = { ...out.srcIp6!, unavailable: "ctx.srcIp6 is only available in post_bind6 programs" };
  if (lifecycle) out.srcPort = { ...out.srcPort!, unavailable: "ctx.srcPort is only available in post_bind4 and post_bind6 programs" };
  return out;
}

export const cgroupSock: ProgramKind = {
  entry: "cgroupSock",
  targets: 1,
  section: ([hook]) => `cgroup/${hook}`,
  contextTypes: ["SockContext", "SockCreateContext", "PostBind4Context", "PostBind6Context"],
  context: { k: "fields", what: "socket context", fields: FIELDS },
  helpers: ["task"],
  returns: () => ({ min: 0, max: 1, meaning: "1 allows, 0 refuses with EPERM (or the errno of ctx.setRetval)" }),
  methods: { getRetval, setRetval },
  forTargets([hook = ""]): ProgramKind {
    return { ...this, context: { k: "fields", what: `${hook} context`, fields: fieldsFor(hook) } };
  },
};
