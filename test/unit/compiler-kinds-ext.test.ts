// Compile-time rules of the unix sock_addr hooks (fields a unix address has not, ctx.setSunPath's
// argument, returns), of freplace programs (the target kind's context and helpers, the prototype) and of
// lsm_cgroup programs (returns, typed arguments, retval methods).

import assert from "node:assert/strict";
import { resolve } from "node:path";
import { test } from "node:test";
import { compile, DiagnosticCode as D } from "../../src/compiler/index.js";
import { TS_FIXTURES } from "../helpers/compile-ts.js";

let n = 0;
function compileBody(body: string, imports: string) {
  const path = resolve(TS_FIXTURES, `virtual-kinds-wk2-${process.pid}-${n++}.bpf.ts`);
  return compile(path, { sources: new Map([[path, `import { ${imports} } from "tsbpf/kernel";\n${body}`]]) });
}
/** The tsbpf diagnostics (TypeScript's TS#### may come with them). */
const ours = (body: string, imports = "cgroupSockAddr, freplace, lsmCgroup, bpf") =>
  compileBody(body, imports).diagnostics.filter((d) => d.code.startsWith("TSBPF")).map((d) => ({ code: d.code, line: d.line, message: d.message }));

function one(body: string, code: string, message: RegExp): void {
  const d = ours(body);
  assert.equal(d.length, 1, JSON.stringify(d));
  assert.equal(d[0]!.code, code, JSON.stringify(d));
  assert.match(d[0]!.message, message);
  assert.equal(d[0]!.line, 3, JSON.stringify(d));
}

test("unix hooks: userPort and the IP fields are refused, naming setSunPath", () => {
  one(`export const p = cgroupSockAddr("connect_unix", (ctx) => {\n  return ctx.userPort === 0 ? 1 : 0;\n});`, D.TypeMismatch, /ctx\.userPort is not readable in connect_unix programs: a unix address is a path/);
});

test("unix hooks: setSunPath takes a string constant of 1..108 bytes", () => {
  one(`export const p = cgroupSockAddr("connect_unix", (ctx) => {\n  ctx.setSunPath(String(ctx.type));\n  return 1;\n});`, D.TypeMismatch, /setSunPath takes a string constant/);
  one(`export const p = cgroupSockAddr("connect_unix", (ctx) => {\n  ctx.setSunPath("${"x".repeat(109)}");\n  return 1;\n});`, D.ConstantRange, /1\.\.108 bytes, this one 109/);
});

test("unix hooks: getpeername_unix returns 1, connect_unix 0..1", () => {
  one(`export const p = cgroupSockAddr("getpeername_unix", (ctx) => {\n  return 0;\n});`, D.ReturnValue, /return 1/);
  one(`export const p = cgroupSockAddr("connect_unix", (ctx) => {\n  return 2;\n});`, D.ReturnValue, /return 0\.\.1/);
});

test("unix hooks: setSunPath only in unix hooks", () => {
  const d = ours(`export const p = cgroupSockAddr("connect4", (ctx) => {\n  (ctx as any).setSunPath("\\0x");\n  return 1;\n});`);
  assert.equal(d.length, 1, JSON.stringify(d));
  assert.match(d[0]!.message, /setSunPath/);
});

test("freplace: the target kind's context fields, writability and helper groups apply", () => {
  one(`export const p = freplace("f", "xdp", (ctx) => {\n  (ctx as any).ingressIfindex = 1;\n  return 0;\n});`, D.TypeMismatch, /ingressIfindex/);
  const ok = compileBody(`export const p = freplace("f", "tc", (ctx) => {\n  return bpf.redirect(ctx.ifindex, 0n) === 0 ? ctx.len : 0;\n});`, "freplace, bpf");
  assert.deepEqual(ok.diagnostics, []);
  assert.equal(ok.module!.functions[0]!.section, "freplace/f");
  assert.deepEqual(ok.module!.functions[0]!.proto.params.map((p) => p.type), [{ kind: "ptr", target: { kind: "struct", name: "__sk_buff", size: 0, members: [] } }]);
  const d = ours(`export const p = freplace("f", "xdp", (ctx) => {\n  return bpf.pid() > 0 ? 1 : 0;\n});`);
  assert.equal(d.length, 1, JSON.stringify(d));
  assert.equal(d[0]!.code, D.HelperNotAllowed);
});

test("lsmCgroup: returns 0..1, section lsm_cgroup/<hook>, the hook's typed arguments and the retval methods", () => {
  one(`export const p = lsmCgroup("task_getsid", (ctx) => {\n  return -1;\n});`, D.ReturnValue, /return 0\.\.1 \(1 allows, 0 denies/);
  const ok = compileBody(`export const p = lsmCgroup("task_getsid", (ctx) => {\n  if (ctx.args.p.tgid === 1) ctx.setRetval(-13);\n  return ctx.getRetval() === 0 ? 1 : 0;\n});`, "lsmCgroup");
  assert.deepEqual(ok.diagnostics, []);
  assert.equal(ok.module!.functions[0]!.section, "lsm_cgroup/task_getsid");
});

test("freplace: a target kind it cannot extend is named, with the kinds it can", () => {
  one(`export const p = freplace("f",\n  "kprobe", (ctx) => 0);`, D.ProgramDeclaration, /freplace\(\) extends a program of one of these kinds: xdp, tc, .*; not "kprobe"/);
});
