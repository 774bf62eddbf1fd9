// The cgroup program kinds' rules at compile time: return values per hook (check_return_code), fields
// the kernel refuses for a hook or lets only some hooks write, array fields, methods only some hooks
// have, and helper groups.

import assert from "node:assert/strict";
import { resolve } from "node:path";
import { test } from "node:test";
import { compile, DiagnosticCode as D } from "../../src/compiler/index.js";
import { TS_FIXTURES } from "../helpers/compile-ts.js";

let n = 0;
function diagnose(body: string, imports = "cgroupSockAddr, cgroupSock, cgroupSockopt, cgroupSysctl, cgroupDevice, sockOps, bpf"): { code: string; line: number; message: string }[] {
  const path = resolve(TS_FIXTURES, `virtual-kinds-cgroup-${process.pid}-${n++}.bpf.ts`);
  const source = `import { ${imports} } from "tsbpf/kernel";\n${body}`;
  const r = compile(path, { sources: new Map([[path, source]]) });
  return r.diagnostics.map((d) => ({ code: d.code, line: d.line, message: d.message }));
}

/** Exactly one tsbpf diagnostic (TypeScript's own TS#### reports may come with it), with `code`, on line 3. */
function one(body: string, code: string, message: RegExp): void {
  const d = diagnose(body).filter((x) => x.code.startsWith("TSBPF"));
  assert.equal(d.length, 1, JSON.stringify(d));
  assert.equal(d[0]!.code, code, JSON.stringify(d));
  assert.match(d[0]!.message, message);
  assert.equal(d[0]!.line, 3, JSON.stringify(d));
}

const refusedReturns: [string, string, RegExp][] = [
  ["recvmsg4 must return 1", `export const p = cgroupSockAddr("recvmsg4", (ctx) => {\n  return 0;\n});`, /cgroupSockAddr programs return 1 \(recvmsg4 programs only rewrite/],
  ["getpeername6 must return 1", `export const p = cgroupSockAddr("getpeername6", (ctx) => {\n  return 2;\n});`, /return 1 /],
  ["connect4 returns 0..1", `export const p = cgroupSockAddr("connect4", (ctx) => {\n  return 2;\n});`, /return 0\.\.1 /],
  ["bind4 returns 0..3", `export const p = cgroupSockAddr("bind4", (ctx) => {\n  return 4;\n});`, /return 0\.\.3 /],
  ["sockOps returns 0..1", `export const p = sockOps((ctx) => {\n  return -1;\n});`, /sockOps programs return 0\.\.1/],
  ["sock_create returns 0..1", `export const p = cgroupSock("sock_create", (ctx) => {\n  return 2;\n});`, /return 0\.\.1/],
  ["sysctl returns 0..1", `export const p = cgroupSysctl((ctx) => {\n  return 5;\n});`, /return 0\.\.1/],
  ["device returns 0..1", `export const p = cgroupDevice((ctx) => {\n  return 2;\n});`, /return 0\.\.1/],
];
for (const [name, body, message] of refusedReturns) {
  test(`cgroup kinds: ${name}`, () => one(body, D.ReturnValue, message));
}

test("cgroup kinds: bind4 may return 3 (allow a privileged port), getsockname4 1", () => {
  assert.deepEqual(diagnose(`export const p = cgroupSockAddr("bind4", (ctx) => 3);\nexport const q = cgroupSockAddr("getsockname4", (ctx) => 1);`), []);
});

const refusedFields: [string, string, string, RegExp][] = [
  ["sock_ops op is read-only", `export const p = sockOps((ctx) => {\n  ctx.op = 1;\n  return 1;\n});`, D.TypeMismatch, /ctx\.op is read-only/],
  ["sock_ops args are read-only", `export const p = sockOps((ctx) => {\n  ctx.args[1] = 1;\n  return 1;\n});`, D.TypeMismatch, /ctx\.args\[1\] is read-only/],
  ["connect4 has no IPv6 address", `export const p = cgroupSockAddr("connect4", (ctx) => {\n  const a = ctx.userIp6[0];\n  return a === 0 ? 1 : 0;\n});`, D.TypeMismatch, /ctx\.userIp6 is not readable in connect4 programs: use ctx\.userIp4/],
  ["connect6 has no IPv4 address", `export const p = cgroupSockAddr("connect6", (ctx) => {\n  ctx.userIp4 = 1;\n  return 1;\n});`, D.TypeMismatch, /ctx\.userIp4 is not readable in connect6 programs/],
  ["msgSrcIp4 is sendmsg4's", `export const p = cgroupSockAddr("connect4", (ctx) => {\n  const s = ctx.msgSrcIp4;\n  return s === 0 ? 1 : 0;\n});`, D.TypeMismatch, /only available in sendmsg4 programs/],
  ["family is read-only", `export const p = cgroupSockAddr("sendmsg6", (ctx) => {\n  ctx.family = 2;\n  return 1;\n});`, D.TypeMismatch, /ctx\.family is read-only/],
  ["post_bind4 cannot set the mark", `export const p = cgroupSock("post_bind4", (ctx) => {\n  ctx.mark = 1;\n  return 1;\n});`, D.TypeMismatch, /ctx\.mark is only available in sock_create and sock_release programs/],
  ["sock_create has no source port yet", `export const p = cgroupSock("sock_create", (ctx) => {\n  const s = ctx.srcPort;\n  return s === 0 ? 1 : 0;\n});`, D.TypeMismatch, /ctx\.srcPort is only available in post_bind4 and post_bind6/],
  ["setsockopt has no retval", `export const p = cgroupSockopt("setsockopt", (ctx) => {\n  const r = ctx.retval;\n  return r === 0 ? 1 : 0;\n});`, D.TypeMismatch, /ctx\.retval is only available in getsockopt programs/],
  ["getsockopt cannot change the level", `export const p = cgroupSockopt("getsockopt", (ctx) => {\n  ctx.level = 1;\n  return 1;\n});`, D.TypeMismatch, /ctx\.level is read-only/],
  ["sysctl write flag is read-only", `export const p = cgroupSysctl((ctx) => {\n  ctx.write = 0;\n  return 1;\n});`, D.TypeMismatch, /ctx\.write is read-only/],
  ["device fields are read-only", `export const p = cgroupDevice((ctx) => {\n  ctx.minor = 0;\n  return 1;\n});`, D.TypeMismatch, /ctx\.minor is read-only/],
  ["array fields need a constant index", `export const p = cgroupSockAddr("connect6", (ctx) => {\n  const i = ctx.userPort & 3;\n  return ctx.userIp6[i] === 0 ? 1 : 0;\n});`, D.DynamicAccess, /needs a constant index/],
  ["array indices are bounds-checked", `export const p = sockOps((ctx) => {\n  const a = ctx.remoteIp6[4];\n  return a === 0 ? 1 : 0;\n});`, D.ConstantRange, /index 4 is out of bounds \(length 4\)/],
  ["an array field is indexed", `export const p = sockOps((ctx) => {\n  const a = ctx.args;\n  return 1;\n});`, D.DynamicAccess, /ctx\.args is an array of 4 u32; read an element with a constant index/],
];
for (const [name, body, code, message] of refusedFields) {
  // The line of the access: the body's second line is line 3 of the file (after the import).
  test(`cgroup kinds: ${name}`, () => {
    const d = diagnose(body).filter((x) => x.code.startsWith("TSBPF"));
    assert.equal(d.length, 1, JSON.stringify(d));
    assert.equal(d[0]!.code, code, JSON.stringify(d));
    assert.match(d[0]!.message, message);
    assert.ok(d[0]!.line === 3 || d[0]!.line === 4, JSON.stringify(d));
  });
}

test("cgroup kinds: writable fields and elements compile", () => {
  assert.deepEqual(diagnose(`export const a = sockOps((ctx) => {\n  ctx.reply = 5;\n  ctx.skTxhash = ctx.args[0];\n  return 1;\n});
export const b = cgroupSockAddr("sendmsg6", (ctx) => {\n  ctx.userIp6[3] = 1;\n  ctx.msgSrcIp6[0] = 0;\n  ctx.userPort = 0;\n  return 1;\n});
export const c = cgroupSock("sock_release", (ctx) => {\n  ctx.priority = 1;\n  ctx.boundDevIf = 0;\n  return 1;\n});
export const d = cgroupSockopt("getsockopt", (ctx) => {\n  ctx.retval = 0;\n  ctx.optlen = 4;\n  return 1;\n});
export const e = cgroupSysctl((ctx) => {\n  ctx.filePos = 0;\n  return 1;\n});`), []);
});

test("cgroup kinds: methods only some hooks have", () => {
  one(`export const p = cgroupSockAddr("sendmsg4", (ctx) => {\n  (ctx as any).bind(ctx);\n  return 1;\n});`, D.UnknownHelper, /the context has no method "bind"/);
  one(`export const p = cgroupSockAddr("recvmsg4", (ctx) => {\n  (ctx as any).setRetval(-1);\n  return 1;\n});`, D.UnknownHelper, /the context has no method "setRetval"/);
  one(`export const p = cgroupSockopt("getsockopt", (ctx) => {\n  (ctx as any).setsockopt(1, 2, 3);\n  return 1;\n});`, D.UnknownHelper, /the context has no method "setsockopt"/);
});

test("cgroup kinds: sock_ops may not read the current task; sock_addr, sock, sysctl, sockopt and device may", () => {
  one(`export const p = sockOps((ctx) => {\n  const pid = bpf.pid();\n  return pid > 0 ? 1 : 0;\n});`, D.HelperNotAllowed, /bpf\.pid is not available in sockOps programs \(it is a "task" helper/);
  assert.deepEqual(diagnose(`export const a = cgroupSockAddr("connect4", (ctx) => bpf.uid() === 0 ? 1 : 0);
export const b = cgroupSock("sock_create", (ctx) => bpf.pid() > 0 ? 1 : 0);
export const c = cgroupSysctl((ctx) => bpf.tid() > 0 ? 1 : 0);
export const d = cgroupSockopt("setsockopt", (ctx) => bpf.gid() === 0 ? 1 : 0);
export const e = cgroupDevice((ctx) => bpf.uid() === 0 ? 1 : 0);`), []);
});

test("cgroup kinds: sysctl setNewValue takes a string literal, or a buffer with a constant length that fits", () => {
  one(`export const p = cgroupSysctl((ctx) => {\n  ctx.setNewValue("1", 1);\n  return 1;\n});`, D.TypeMismatch, /a string value is written whole/);
});
