// struct_ops in TypeScript (src/compiler/kinds/struct-ops.ts) and kfunc calls (src/compiler/lower/kfuncs.ts):
// what the object holds (handler programs, the struct value, its relocations, the .ksyms externs), and
// the diagnostics for members the kernel struct lacks, a name that does not fit, a non-exported value,
// a kfunc the kernel lacks or called with the wrong arguments.

import assert from "node:assert/strict";
import { resolve } from "node:path";
import { test } from "node:test";
import { compile, DiagnosticCode as D, type CompileResult } from "../../src/compiler/index.js";
import { readCollectionSpec } from "../../src/index.js";
import { TS_FIXTURES } from "../helpers/compile-ts.js";

let n = 0;
function build(source: string): CompileResult {
  const path = resolve(TS_FIXTURES, `virtual-kinds-so-${process.pid}-${n++}.bpf.ts`);
  return compile(path, { sources: new Map([[path, source]]) });
}
const diagnose = (source: string) => build(source).diagnostics.map((d) => ({ code: d.code, line: d.line, message: d.message }));

const HEAD = `import { structOps, kfuncs } from "tsbpf/kernel";\n`;
const reno = (extra = "", opts = "") => `${HEAD}export const cc = structOps("tcp_congestion_ops", {
  name: "ts_reno",
  ssthresh: (sk) => kfuncs.tcp_reno_ssthresh(sk),
  undo_cwnd: (sk) => kfuncs.tcp_reno_undo_cwnd(sk),
  cong_avoid: (sk, ack, acked) => kfuncs.tcp_reno_cong_avoid(sk, ack, acked),${extra}
}${opts});`;

test("struct_ops: handlers become struct_ops programs, the struct a .struct_ops variable with its name", () => {
  const r = build(reno());
  assert.deepEqual(r.diagnostics, []);
  assert.deepEqual(r.module!.functions.map((f) => [f.name, f.section]), [
    ["cc_ssthresh", "struct_ops/cc_ssthresh"], ["cc_undo_cwnd", "struct_ops/cc_undo_cwnd"], ["cc_cong_avoid", "struct_ops/cc_cong_avoid"],
  ]);
  assert.deepEqual(r.module!.externs.map((x) => [x.name, x.section]), [["tcp_reno_ssthresh", ".ksyms"], ["tcp_reno_undo_cwnd", ".ksyms"], ["tcp_reno_cong_avoid", ".ksyms"]]);
  const spec = readCollectionSpec(r.object!);
  const m = spec.maps.get("cc")!;
  assert.deepEqual([m.type, m.section, m.structOps?.typeName, m.structOps?.link], ["STRUCT_OPS", ".struct_ops", "tcp_congestion_ops", false]);
  const name = m.structOps!.members.find((x) => x.name === "name")!;
  assert.equal(new TextDecoder().decode(m.structOps!.data.subarray(name.offset, name.offset + 8)), "ts_reno\0");
  assert.deepEqual(Object.fromEntries(m.structOps!.members.filter((x) => x.program).map((x) => [x.name, x.program])), { ssthresh: "cc_ssthresh", undo_cwnd: "cc_undo_cwnd", cong_avoid: "cc_cong_avoid" });
});

test("struct_ops: { link: true } puts the value in .struct_ops.link; flags is a data member", () => {
  const r = build(reno("\n  flags: 1,", ", { link: true }"));
  assert.deepEqual(r.diagnostics, []);
  const m = readCollectionSpec(r.object!).maps.get("cc")!;
  assert.deepEqual([m.section, m.structOps?.link], [".struct_ops.link", true]);
  const flags = m.structOps!.members.find((x) => x.name === "flags")!;
  assert.equal(new DataView(m.structOps!.data.buffer, m.structOps!.data.byteOffset).getUint32(flags.offset, true), 1);
});

const refused: [string, string, string, RegExp][] = [
  ["a member the kernel struct lacks", reno("\n  // @ts-expect-error not a member\n  no_such_op: (sk) => 0,"), D.KernelType, /struct tcp_congestion_ops has no member "no_such_op"/],
  ["a name longer than 15 bytes", reno().replace('"ts_reno"', '"a_name_that_is_too_long"'), D.ConstantRange, /tcp_congestion_ops\.name holds at most 15 bytes/],
  ["a handler given for a data member", reno("\n  // @ts-expect-error flags is data\n  flags: (sk) => 0,"), D.NotConstant, /tcp_congestion_ops\.flags must be known at compile time/],
  ["a non-handler for a function member", reno("\n  // @ts-expect-error init is a function\n  init: 3,"), D.ProgramDeclaration, /tcp_congestion_ops\.init is a function: give a handler/],
  ["a value that is not exported", reno().replace("export const cc", "const cc"), D.ProgramDeclaration, /struct_ops value "cc" must be exported/],
  ["a kfunc the kernel does not have", reno("\n  // @ts-expect-error not declared\n  init: (sk) => kfuncs.no_such_kfunc(sk),"), D.KernelType, /kfunc no_such_kfunc: the kernel's BTF has no function of that name/],
  ["a kfunc called with too few arguments", reno("\n  // @ts-expect-error one argument missing\n  init: (sk) => kfuncs.tcp_reno_cong_avoid(sk, 1),"), D.TypeMismatch, /kfunc tcp_reno_cong_avoid takes 3 arguments, got 2/],
  ["an integer where a kfunc takes a kernel pointer", reno("\n  // @ts-expect-error not a socket\n  init: (sk) => { kfuncs.tcp_reno_ssthresh(7); },"), D.TypeMismatch, /kfunc tcp_reno_ssthresh: parameter sk is a kernel struct sock pointer/],
  ["a struct the kernel does not take from BPF", `${HEAD}// @ts-expect-error not a struct_ops type\nexport const x = structOps("task_struct", { name: "x" });`, D.KernelType, /no struct bpf_struct_ops_task_struct/],
];

for (const [name, source, code, message] of refused) {
  test(`struct_ops: ${name} is refused`, () => {
    const d = diagnose(source);
    assert.ok(d.some((x) => x.code === code && message.test(x.message)), JSON.stringify(d));
  });
}

test("struct_ops: handler arguments are typed from the kernel prototype (sk is the tcp_sock, fields read directly)", () => {
  const r = build(reno("\n  init: (sk) => {\n    if (sk.snd_cwnd > 100) return;\n  },"));
  assert.deepEqual(r.diagnostics, []);
  const d = diagnose(reno("\n  init: (sk) => {\n    // @ts-expect-error not a tcp_sock field\n    if (sk.no_such_field > 1) return;\n  },"));
  assert.ok(d.some((x) => x.code === D.KernelType && /tcp_sock has no member "no_such_field"/.test(x.message)), JSON.stringify(d));
});
