// Tracing kinds' typing, at compile time: kprobe `ctx.args.<name>` from the kernel declarations read from
// the x86-64 argument registers of struct pt_regs (kernel pointers with probe reads), kretprobe `ctx.ret()`
// typed by the function's return type, the diagnostics around them, and the same typing for any kernel
// function through a file of `tsbpf gen vmlinux --functions`.

import assert from "node:assert/strict";
import { resolve } from "node:path";
import { existsSync } from "node:fs";
import { describe, test } from "node:test";
import { disassemble } from "../../src/asm/index.js";
import { compile, DiagnosticCode as D } from "../../src/compiler/index.js";
import { kernelBtf, VMLINUX_BTF_PATH } from "../../src/btf/kernel.js";
import { generateDeclarations } from "../../src/gen/typescript.js";
import { readCollectionSpec } from "../../src/object/reader.js";
import { TS_FIXTURES } from "../helpers/compile-ts.js";

let n = 0;
function build(source: string): { diagnostics: { code: string; line: number; message: string }[]; programs: Map<string, { section: string; text: string }> } {
  const path = resolve(TS_FIXTURES, `virtual-kinds-tracing-${process.pid}-${n++}.bpf.ts`);
  const r = compile(path, { sources: new Map([[path, source]]) });
  const programs = new Map<string, { section: string; text: string }>();
  if (r.object) {
    for (const [name, p] of readCollectionSpec(r.object).programs) programs.set(name, { section: p.sectionName, text: disassemble(p.instructions).join("\n") });
  }
  return { diagnostics: r.diagnostics.map((d) => ({ code: d.code, line: d.line, message: d.message })), programs };
}

test("kprobe: ctx.args.<name> reads argument i from its pt_regs register; kernel pointers go through probe reads", () => {
  const { diagnostics, programs } = build(`
import { kprobe, HashMap, u64, type u32 } from "tsbpf/kernel";
const m = new HashMap<u32, u64>({ maxEntries: 16 });
export const k = kprobe("tcp_sendmsg", (ctx) => {
  m.update(0, ctx.args.size);
  m.update(1, u64(ctx.args.sk.__sk_common.skc_family));
  return 0;
});
`);
  assert.deepEqual(diagnostics, []);
  const k = programs.get("k")!;
  assert.equal(k.section, "kprobe/tcp_sendmsg");
  // tcp_sendmsg(sk, msg, size): sk in di (pt_regs offset 112), size in dx (96); never a BTF pointer load.
  assert.match(k.text, /= \*\(u64 \*\)\(r\d \+96\)/);
  assert.match(k.text, /= \*\(u64 \*\)\(r\d \+112\)/);
  assert.match(k.text, /call bpf_probe_read_kernel#113/);
});

test("kprobe: every argument register in order (di, si, dx, cx, r8, r9); the seventh argument is refused", () => {
  const six = ["file", "addr", "len", "prot", "flags", "vm_flags"];
  const { diagnostics, programs } = build(`
import { kprobe, ArrayMap, u64 } from "tsbpf/kernel";
const m = new ArrayMap<u64>({ maxEntries: 8 });
export const k = kprobe("do_mmap", (ctx) => {
  m.update(1, ctx.args.addr);
  m.update(2, ctx.args.len);
  m.update(3, ctx.args.prot);
  m.update(4, ctx.args.flags);
  m.update(5, ctx.args.vm_flags);
  return 0;
});
`);
  assert.deepEqual(diagnostics, []);
  const offsets = [...programs.get("k")!.text.matchAll(/= \*\(u64 \*\)\(r\d \+(\d+)\)/g)].map((m) => Number(m[1]));
  assert.deepEqual(offsets, [104, 96, 88, 72, 64], six.slice(1).join(", "));
  const seventh = build(`
import { kprobe, ArrayMap, u64 } from "tsbpf/kernel";
const m = new ArrayMap<u64>({ maxEntries: 8 });
export const k = kprobe("do_mmap", (ctx) => {
  m.update(0, ctx.args.pgoff);
  return 0;
});
`).diagnostics;
  assert.equal(seventh.length, 1, JSON.stringify(seventh));
  assert.equal(seventh[0]!.code, D.Limit);
  assert.match(seventh[0]!.message, /"pgoff" is argument 7; only the first 6 arguments are in registers/);
  assert.equal(seventh[0]!.line, 5);
});

test("kretprobe: ctx.ret() is typed by the function's return type (i32 compares signed; a struct return reads fields)", () => {
  const { diagnostics, programs } = build(`
import { kretprobe, ArrayMap, u64 } from "tsbpf/kernel";
const m = new ArrayMap<u64>({ maxEntries: 4 });
export const r = kretprobe("tcp_sendmsg", (ctx) => {
  m.update(0, ctx.ret() < 0 ? 1n : 2n);
  return 0;
});
export const f = kretprobe("do_filp_open", (ctx) => {
  m.update(1, u64(ctx.ret().f_flags));
  return 0;
});
export const u = kretprobe("not_in_the_declarations", (ctx) => {
  m.update(2, ctx.ret());
  return 0;
});
`);
  assert.deepEqual(diagnostics, []);
  assert.match(programs.get("r")!.text, /= \*\(u64 \*\)\(r\d \+80\)/);
  assert.match(programs.get("r")!.text, /if w\d s[<>]=? /, "a signed 32-bit comparison");
  assert.match(programs.get("f")!.text, /call bpf_probe_read_kernel#113/);
  assert.equal(programs.get("u")!.section, "kretprobe/not_in_the_declarations");
});

test("kretprobe: a void function has no return value; ctx.args is not there (the registers are gone)", () => {
  const v = build(`
import { kretprobe, ArrayMap, u64 } from "tsbpf/kernel";
const m = new ArrayMap<u64>({ maxEntries: 4 });
export const r = kretprobe("tcp_close", (ctx) => {
  m.update(0, u64(ctx.ret()));
  return 0;
});
`).diagnostics;
  assert.ok(v.some((d) => d.code === D.KernelType && /returns void/.test(d.message)), JSON.stringify(v));
  const a = build(`
import { kretprobe } from "tsbpf/kernel";
export const r = kretprobe("tcp_sendmsg", (ctx) => {
  const sk = ctx.args.sk;
  return 0;
});
`).diagnostics;
  assert.ok(a.length > 0 && a.every((d) => d.line === 4), JSON.stringify(a));
  assert.ok(a.some((d) => /Property 'args' does not exist/.test(d.message)), JSON.stringify(a));
});

test("kprobe: a function the declarations lack has ctx.arg(n) but no ctx.args", () => {
  const ok = build(`
import { kprobe, ArrayMap, type i32 } from "tsbpf/kernel";
const m = new ArrayMap<i32>({ maxEntries: 4 });
export const k = kprobe("not_in_the_declarations", (ctx) => {
  m.update(0, ctx.arg<i32>(1));
  return 0;
});
`);
  assert.deepEqual(ok.diagnostics, []);
  assert.match(ok.programs.get("k")!.text, /= \*\(u64 \*\)\(r\d \+104\)/);
  const bad = build(`
import { kprobe } from "tsbpf/kernel";
export const k = kprobe("not_in_the_declarations", (ctx) => {
  const x = ctx.args.sk;
  return 0;
});
`).diagnostics;
  assert.ok(bad.some((d) => /Property 'args' does not exist/.test(d.message)), JSON.stringify(bad));
});

describe("tsbpf gen vmlinux --functions: a generated file types ctx.args of any kernel function", { skip: existsSync(VMLINUX_BTF_PATH) ? false : "no kernel BTF at /sys/kernel/btf/vmlinux" }, () => {
  // tcp_data_queue is not in the shipped declarations; tcp_sendmsg is (the generated one takes precedence).
  const gen = generateDeclarations(kernelBtf(), { types: ["sock"], depth: 1, functions: ["tcp_data_queue", "tcp_sendmsg"] }).text;
  const genPath = resolve(TS_FIXTURES, `virtual-kinds-tracing-gen-${process.pid}.ts`);
  const genName = `./${genPath.slice(TS_FIXTURES.length + 1).replace(/\.ts$/, ".js")}`;
  const program = (imports: string) => `
import { fentry, fexit, kprobe, kretprobe, ArrayMap, u64 } from "tsbpf/kernel";
${imports}
const m = new ArrayMap<u64>({ maxEntries: 8 });
export const fe = fentry("tcp_data_queue", (ctx) => {
  m.update(0, u64(ctx.args.skb.len));
  return 0;
});
export const kp = kprobe("tcp_data_queue", (ctx) => {
  m.update(1, u64(ctx.args.sk.__sk_common.skc_family) + u64(ctx.args.skb.len));
  return 0;
});
export const fx = fexit("tcp_sendmsg", (ctx) => {
  m.update(2, ctx.ret < 0 ? 1n : ctx.args.size);
  return 0;
});
export const kr = kretprobe("tcp_sendmsg", (ctx) => {
  m.update(3, ctx.ret() < 0 ? 1n : 2n);
  return 0;
});
`;
  const compileWith = (imports: string) => {
    const path = resolve(TS_FIXTURES, `virtual-kinds-tracing-${process.pid}-${n++}.bpf.ts`);
    return compile(path, { sources: new Map([[path, program(imports)], [genPath, gen]]) });
  };

  test("the file augments tsbpf/kernel's GeneratedFunctions", () => {
    assert.match(gen, /"tcp_data_queue": \{ args: \{ sk: sock; skb: sk_buff; \}; ret: void \};/);
    assert.match(gen, /declare module "tsbpf\/kernel" \{\n {2}interface GeneratedFunctions extends KernelFunctions \{\}\n\}/);
  });

  test("importing it types fentry/kprobe ctx.args and fexit/kretprobe returns; the program compiles", () => {
    const r = compileWith(`import type { sock } from "${genName}";`);
    assert.deepEqual(r.diagnostics.map((d) => d.message), []);
    const progs = readCollectionSpec(r.object!).programs;
    assert.deepEqual([...progs.values()].map((p) => p.sectionName).sort(), ["fentry/tcp_data_queue", "fexit/tcp_sendmsg", "kprobe/tcp_data_queue", "kretprobe/tcp_sendmsg"]);
    const kp = disassemble(progs.get("kp")!.instructions).join("\n");
    assert.match(kp, /\*\(u64 \*\)\(r\d \+112\)/, "sk from di");
    assert.match(kp, /\*\(u64 \*\)\(r\d \+104\)/, "skb from si");
    assert.match(disassemble(progs.get("kr")!.instructions).join("\n"), /if w\d s[<>]=? /, "tcp_sendmsg's i32 return compares signed");
  });

  test("without the file, tcp_data_queue has no ctx.args", () => {
    const r = compileWith("");
    assert.ok(r.diagnostics.some((d) => d.line === 6 && /Property 'args' does not exist/.test(d.message)), JSON.stringify(r.diagnostics.map((d) => d.message)));
  });
});

test("sleepable kinds: bpf.copyFromUser is refused outside them, accepted in uprobe.s/fentry.s/lsm.s/syscall", () => {
  const use = (decl: string) => build(`
import { uprobe, uprobeSleepable, fentrySleepable, lsmSleepable, kprobe, bytes, struct } from "tsbpf/kernel";
const T = struct({ b: bytes(8) });
export const p = ${decl}, (ctx) => {
  const t = T.zero();
  bpf.copyFromUser(t.b, ctx.arg(0));
  return 0;
});
`.replace("bytes, struct }", "bytes, struct, bpf }")).diagnostics;
  for (const ok of [`uprobeSleepable("/bin/true:main"`, `fentrySleepable("__x64_sys_getpgid"`, `lsmSleepable("bprm_committed_creds"`]) assert.deepEqual(use(ok), [], ok);
  for (const bad of [`uprobe("/bin/true:main"`, `kprobe("tcp_sendmsg"`]) {
    const d = use(bad);
    assert.equal(d.length, 1, JSON.stringify(d));
    assert.equal(d[0]!.code, D.HelperNotAllowed, JSON.stringify(d));
    assert.match(d[0]!.message, /bpf\.copyFromUser is not available in (uprobe|kprobe) programs \(it is a "sleepable" helper/);
    assert.equal(d[0]!.line, 6);
  }
});

test("sections: ksyscall, multi probes, fmod_ret, sleepable variants and syscall", () => {
  const { diagnostics, programs } = build(`
import { ksyscall, kretsyscall, kprobeMulti, kretprobeMulti, uprobeMulti, uretprobeMulti, fmodRet, uprobeSleepable, uretprobeSleepable, fentrySleepable, fexitSleepable, lsmSleepable, syscall, struct, u32 } from "tsbpf/kernel";
const A = struct({ x: u32 });
export const a = ksyscall("openat", (ctx) => 0);
export const b = kretsyscall("openat", (ctx) => 0);
export const c = kprobeMulti("vfs_*", (ctx) => 0);
export const d = kretprobeMulti("vfs_*", (ctx) => 0);
export const e = uprobeMulti("/bin/true:ma*", (ctx) => 0);
export const f = uretprobeMulti("/bin/true:ma*", (ctx) => 0);
export const g = fmodRet("security_task_getsid", (ctx) => -1);
export const h = uprobeSleepable("", (ctx) => 0);
export const i = uretprobeSleepable("/bin/true:main", (ctx) => 0);
export const j = fentrySleepable("__x64_sys_getpgid", (ctx) => 0);
export const k = fexitSleepable("__x64_sys_getpgid", (ctx) => 0);
export const l = lsmSleepable("bprm_committed_creds", (ctx) => 0);
export const m = syscall(A, (ctx) => { ctx.x = 1; return 0; });
`);
  assert.deepEqual(diagnostics, []);
  assert.deepEqual([...programs.values()].map((p) => p.section), [
    "ksyscall/openat", "kretsyscall/openat", "kprobe.multi/vfs_*", "kretprobe.multi/vfs_*", "uprobe.multi//bin/true:ma*",
    "uretprobe.multi//bin/true:ma*", "fmod_ret/security_task_getsid", "uprobe.s", "uretprobe.s//bin/true:main",
    "fentry.s/__x64_sys_getpgid", "fexit.s/__x64_sys_getpgid", "lsm.s/bprm_committed_creds", "syscall",
  ]);
});

test("ksyscall: ctx.arg(n) reads the caller's registers through the wrapper's pt_regs (the fourth is r10); n < 6", () => {
  const { diagnostics, programs } = build(`
import { ksyscall, ArrayMap, u64 } from "tsbpf/kernel";
const m = new ArrayMap<u64>({ maxEntries: 4 });
export const k = ksyscall("openat", (ctx) => {
  m.update(0, ctx.arg(3));
  return 0;
});
`);
  assert.deepEqual(diagnostics, []);
  const text = programs.get("k")!.text;
  assert.match(text, /= \*\(u64 \*\)\(r\d \+112\)/, "the user pt_regs pointer from di");
  assert.match(text, /\+= 56/, "r10 at offset 56 of the user pt_regs");
  assert.match(text, /call bpf_probe_read_kernel#113/);
  const bad = build(`
import { ksyscall } from "tsbpf/kernel";
export const k = ksyscall("openat", (ctx) => ctx.arg(6) === 0n ? 0 : 1);
`).diagnostics;
  assert.equal(bad.length, 1, JSON.stringify(bad));
  assert.equal(bad[0]!.code, D.Limit);
  assert.match(bad[0]!.message, /at most 6 arguments/);
});

test("syscall: the context layout comes first; a handler alone is refused", () => {
  const d = build(`
import { syscall } from "tsbpf/kernel";
export const s = syscall((ctx: object) => 0);
`).diagnostics;
  assert.ok(d.some((x) => x.code === D.ProgramDeclaration && /needs the context's struct layout first/.test(x.message)), JSON.stringify(d));
});
