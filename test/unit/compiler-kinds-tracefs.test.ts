// Tracepoint records placed by tracefs formats and the usdt kind, without a kernel: the generator's
// SyscallTracepoints block (src/gen/syscalls.ts), the loads the compiler emits at format offsets, the
// `__data_loc` read, the USDT spec maps declared by the kind, and the diagnostics of these kinds.

import assert from "node:assert/strict";
import { resolve } from "node:path";
import { describe, test } from "node:test";
import { disassemble } from "../../src/asm/index.js";
import { compile, DiagnosticCode as D } from "../../src/compiler/index.js";
import { EvalMap, evalIr, type EvalHelper } from "../../src/compiler/ir-eval.js";
import { parseUsdtArgs } from "../../src/elf/notes.js";
import { usdtSpecBytes } from "../../src/runtime/links/usdt.js";
import { parseFormatFields, syscallFieldType, syscallTracepointsBlock } from "../../src/gen/syscalls.js";
import { readCollectionSpec } from "../../src/object/reader.js";
import { TS_FIXTURES } from "../helpers/compile-ts.js";

let n = 0;
function build(source: string): ReturnType<typeof compile> {
  const path = resolve(TS_FIXTURES, `virtual-tracefs-${process.pid}-${n++}.bpf.ts`);
  return compile(path, { sources: new Map([[path, source]]) });
}
function code(source: string, section: string): string {
  const r = build(source);
  assert.ok(r.object, JSON.stringify(r.diagnostics));
  const p = [...readCollectionSpec(r.object).programs.values()].find((x) => x.sectionName === section);
  assert.ok(p, `a program in ${section}`);
  return disassemble(p.instructions).join("\n");
}

const OPENAT = [
  "name: sys_enter_openat", "ID: 782", "format:",
  "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;",
  "\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;", "",
  "\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;",
  "\tfield:int dfd;\toffset:16;\tsize:8;\tsigned:0;",
  "\tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;",
  "\tfield:int flags;\toffset:32;\tsize:8;\tsigned:0;",
  "\tfield:umode_t mode;\toffset:40;\tsize:8;\tsigned:0;", "",
  'print fmt: "dfd: 0x%08lx"', "",
].join("\n");
const OPENAT_EXIT = "name: sys_exit_openat\nformat:\n\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n\tfield:long ret;\toffset:16;\tsize:8;\tsigned:1;\n";

describe("gen: syscall tracepoint formats", () => {
  test("parseFormatFields keeps each field's C type, offset, size and signedness (common fields dropped)", () => {
    const f = parseFormatFields(OPENAT)!;
    assert.equal(f.event, "sys_enter_openat");
    assert.deepEqual(f.fields.map((x) => [x.name, x.type, x.offset, x.size, x.signed]), [
      ["__syscall_nr", "int", 8, 4, true], ["dfd", "int", 16, 8, false], ["filename", "const char *", 24, 8, false],
      ["flags", "int", 32, 8, false], ["mode", "umode_t", 40, 8, false],
    ]);
    assert.equal(parseFormatFields("no name here"), undefined);
  });

  test("C types map to sized aliases and user pointers; an unknown typedef falls back to the format's size", () => {
    const used = new Set<string>();
    const t = (type: string, size = 8, signed = false) => syscallFieldType({ name: "x", type, offset: 16, size, signed }, undefined, used);
    assert.equal(t("int"), "i32");
    assert.equal(t("unsigned long"), "u64");
    assert.equal(t("const char *"), "UserPtr<u8>");
    assert.equal(t("const char *const *"), "UserPtr<UserPtr<u8>>");
    assert.equal(t("struct open_how *"), "UserPtr<void>");
    assert.equal(t("umode_t"), "u64", "no BTF: the format's 8-byte unsigned slot");
    assert.equal(t("key_serial_t", 8, true), "i64");
    assert.deepEqual([...used].sort(), ["UserPtr", "i32", "i64", "u64", "u8"]);
  });

  test("the SyscallTracepoints block: enter events hold args, exit events ret, each field tagged with its place", () => {
    const formats = new Map([["sys_enter_openat", parseFormatFields(OPENAT)!], ["sys_exit_openat", parseFormatFields(OPENAT_EXIT)!]]);
    const { text, entries } = syscallTracepointsBlock(formats, ["openat", "nosuch"], undefined, new Set());
    assert.equal(entries, 2);
    assert.match(text, /export interface SyscallTracepoints \{/);
    assert.match(text, /"sys_enter_openat": \{\n {4}\/\*\* @tracefs 8 4 int __syscall_nr \*\/\n {4}readonly __syscall_nr: i32;\n {4}\/\*\* @tracefs args \*\/\n {4}readonly args: \{/);
    assert.match(text, /\/\*\* @tracefs 24 8 const char \* filename \*\/\n {6}readonly filename: UserPtr<u8>;/);
    assert.match(text, /"sys_exit_openat": \{[^}]*\/\*\* @tracefs 16 8 long ret \*\/\n {4}readonly ret: i64;/);
  });
});

describe("compiler: tracefs-placed fields", () => {
  test("ctx.args.<name> loads at the format offset, as wide as its type; ctx.ret is the 8 bytes at 16", () => {
    const src = `
import { tracepoint, ArrayMap, u64 } from "tsbpf/kernel";
const out = new ArrayMap<u64>({ maxEntries: 4 });
export const enter = tracepoint("syscalls/sys_enter_openat", (ctx) => {
  out.update(0, u64(ctx.args.mode));
  out.update(1, ctx.args.filename);
  return 0;
});
export const exit = tracepoint("syscalls/sys_exit_openat", (ctx) => { out.update(2, u64(ctx.ret)); return 0; });
`;
    assert.match(code(src, "tracepoint/syscalls/sys_enter_openat"), /= \*\(u16 \*\)\(r\d \+40\)/, "umode_t mode: 2 bytes at 40");
    assert.match(code(src, "tracepoint/syscalls/sys_enter_openat"), /= \*\(u64 \*\)\(r\d \+24\)/, "filename: 8 bytes at 24");
    assert.match(code(src, "tracepoint/syscalls/sys_exit_openat"), /= \*\(u64 \*\)\(r\d \+16\)/, "ret: 8 bytes at 16");
  });

  test("a user-generated SyscallTracepoints file places fields by its own @tracefs tags", () => {
    const used = new Set<string>();
    const fchdir = parseFormatFields("name: sys_enter_fchdir\nformat:\n\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n\tfield:unsigned int fd;\toffset:16;\tsize:8;\tsigned:0;\n")!;
    const block = syscallTracepointsBlock(new Map([[fchdir.event, fchdir]]), undefined, undefined, used).text;
    const decl = resolve(TS_FIXTURES, `virtual-tracefs-decl-${process.pid}.ts`);
    const prog = resolve(TS_FIXTURES, `virtual-tracefs-${process.pid}-${n++}.bpf.ts`);
    const r = compile(prog, { sources: new Map([
      [decl, `// @tsbpf-btf test\nimport type { ${[...used].sort().join(", ")} } from "tsbpf/kernel";\n${block}`],
      [prog, `import { tracepoint, ArrayMap, u64 } from "tsbpf/kernel";
import type { SyscallTracepoints } from "./${decl.split("/").pop()!.replace(/\.ts$/, ".js")}";
const out = new ArrayMap<u64>({ maxEntries: 1 });
export const p = tracepoint("syscalls/sys_enter_fchdir", (ctx) => {
  const c = ctx as unknown as SyscallTracepoints["sys_enter_fchdir"];
  out.update(0, u64(c.args.fd));
  return 0;
});`],
    ]) });
    assert.ok(r.object, JSON.stringify(r.diagnostics));
    const asm = disassemble([...readCollectionSpec(r.object).programs.values()][0]!.instructions).join("\n");
    assert.match(asm, /= \*\(u32 \*\)\(r1 \+16\)/, "unsigned int fd: 4 bytes at 16");
  });

  test("a __data_loc member reads as ctx + (loc & 0xffff)", () => {
    const asm = code(`
import { tracepoint, bpf, bytes, struct } from "tsbpf/kernel";
const Buf = struct({ s: bytes(64) });
export const p = tracepoint("sched/sched_process_exec", (ctx) => {
  const b = Buf.zero();
  bpf.probeReadKernelStr(b.s, ctx.filename);
  return 0;
});
`, "tracepoint/sched/sched_process_exec");
    assert.match(asm, /(r\d) = \*\(u32 \*\)\(r\d \+8\)\n.*\1 &= 65535\n.*r\d \+= \1\n/);
    assert.match(asm, /probe_read_kernel_str/);
  });

  test("tracefs fields are read-only", () => {
    const r = build(`
import { tracepoint } from "tsbpf/kernel";
export const p = tracepoint("syscalls/sys_enter_openat", (ctx) => { ctx.args.flags = 1; return 0; });
`);
    assert.equal(r.object, undefined);
    assert.ok(r.diagnostics.some((d) => /read-only/.test(d.message)), JSON.stringify(r.diagnostics));
  });
});

describe("compiler: usdt", () => {
  const usdt = (body: string, target = "") => `
import { usdt, bpf, ArrayMap, i64 } from "tsbpf/kernel";
const out = new ArrayMap<i64>({ maxEntries: 2 });
export const p = usdt(${JSON.stringify(target)}, (ctx) => { ${body} return 0; });
`;

  test("section usdt/<binary>:<provider>:<name> (usdt when empty); the object declares libbpf's spec maps", () => {
    for (const [target, section] of [["", "usdt"], ["/usr/bin/app:prov:req", "usdt//usr/bin/app:prov:req"]] as const) {
      const r = build(usdt("out.update(0, ctx.arg(0));", target));
      assert.ok(r.object, JSON.stringify(r.diagnostics));
      const spec = readCollectionSpec(r.object);
      assert.deepEqual([...spec.programs.values()].map((x) => x.sectionName), [section]);
      const specs = spec.maps.get("__bpf_usdt_specs");
      assert.equal(specs?.type, "ARRAY");
      assert.equal(specs?.valueSize, 208, "libbpf's struct __bpf_usdt_spec");
      assert.equal(spec.maps.get("__bpf_usdt_ip_to_spec_id")?.keySize, 8);
    }
  });

  test("ctx.arg(n) needs a constant below 12", () => {
    const d = build(usdt("out.update(0, ctx.arg(12));")).diagnostics;
    assert.equal(d.length, 1, JSON.stringify(d));
    assert.equal(d[0]!.code, D.ConstantRange);
    assert.match(d[0]!.message, /constants 0\.\.11/);
  });

  test("helpers outside the tracing groups are refused", () => {
    const d = build(usdt("bpf.redirect(1);")).diagnostics;
    assert.equal(d[0]?.code, D.HelperNotAllowed, JSON.stringify(d));
  });

  test("the spec is found by BPF cookie, with the instruction-pointer map behind a CO-RE check", () => {
    const asm = code(usdt("out.update(0, i64(ctx.argCount()));"), "usdt");
    assert.match(asm, /get_attach_cookie/);
    assert.match(asm, /= \*\(u64 \*\)\(r\d \+128\)/, "PT_REGS_IP on x86-64");
  });
});

describe("compiler: usdt argument decoding (IR evaluator, specs as the loader writes them)", { skip: process.arch !== "x64" && "x86-64 pt_regs offsets" }, () => {
  const r = build(`
import { usdt, ArrayMap, i64 } from "tsbpf/kernel";
const out = new ArrayMap<i64>({ maxEntries: 8 });
export const p = usdt("", (ctx) => {
  out.update(0, ctx.arg(0));
  out.update(1, ctx.arg(1));
  out.update(2, ctx.arg(2));
  out.update(3, ctx.arg(3));
  out.update(4, ctx.arg(4));
  out.update(5, i64(ctx.argCount()));
  out.update(6, i64(ctx.cookie()));
  out.update(7, ctx.arg(5));
  return 0;
});
`);
  /** pt_regs slots (x86-64): rbp 4, rax 10, rcx 11, rdi 14, rip 16. */
  const REG = { rbp: 4, rax: 10, rcx: 11, rdi: 14, rip: 16 } as const;

  function run(core: bigint): bigint[] {
    assert.ok(r.object, JSON.stringify(r.diagnostics));
    const user = new Uint8Array(128);
    const udv = new DataView(user.buffer);
    udv.setUint32(56, 0xdeadbeef, true); // 4@-8(%rbp) with rbp = user + 64
    user[8] = 0x80; // -1@-96(%rbp,%rcx,8) with rcx = 5: user + 64 + 40 - 96
    const specs = new EvalMap({ type: "array", keySize: 4, valueSize: 208, maxEntries: 256 });
    const args = parseUsdtArgs("-2@%ax 4@-8(%rbp) -1@-96(%rbp,%rcx,8) 8@$-5 -4@%edi", 62);
    specs.update(new Uint8Array(4), usdtSpecBytes(args, 99n));
    const ips = new EvalMap({ type: "hash", keySize: 8, valueSize: 4, maxEntries: 1024 });
    const out = new EvalMap({ type: "array", keySize: 4, valueSize: 8, maxEntries: 8 });
    const ctx = new Uint8Array(168);
    const cdv = new DataView(ctx.buffer);
    let userBase = 0n;
    const copy: EvalHelper = ([dst, size, src], c) => {
      try {
        c.memory.write(dst!, c.memory.read(src!, Number(size)));
        return 0n;
      } catch {
        c.memory.write(dst!, new Uint8Array(Number(size)));
        return -14n;
      }
    };
    const helpers: Record<number, EvalHelper> = {
      174: () => 0n, // bpf_get_attach_cookie: spec id 0
      113: copy, // probe_read_kernel
      112: copy, // probe_read_user
    };
    cdv.setBigUint64(REG.rax * 8, 0x1234fffen, true);
    cdv.setBigUint64(REG.rcx * 8, 5n, true);
    cdv.setBigUint64(REG.rdi * 8, 0xffffffffn, true);
    cdv.setBigUint64(REG.rip * 8, 0x401000n, true);
    const ip = new Uint8Array(8);
    new DataView(ip.buffer).setBigUint64(0, 0x401000n, true);
    ips.update(ip, new Uint8Array(4)); // spec id 0 for this instruction pointer
    evalIr(r.ir[0]!, {
      ctx,
      maps: { out, __bpf_usdt_specs: specs, __bpf_usdt_ip_to_spec_id: ips },
      helpers: {
        ...helpers,
        // The user buffer's address is known once mapped into the run's memory: map it, and point rbp
        // into it, at the first register read (the first probe_read_kernel).
        113: (a, c) => {
          if (userBase === 0n) {
            userBase = c.memory.map(user, "user");
            cdv.setBigUint64(REG.rbp * 8, userBase + 64n, true);
          }
          return copy(a, c);
        },
      },
      core: () => core,
    });
    return Array.from({ length: 8 }, (_, i) => new DataView(out.lookup(new Uint8Array(new Uint32Array([i]).buffer))!.buffer).getBigInt64(0, true));
  }

  for (const [how, core] of [["by cookie", 1n], ["by instruction pointer (no cookies)", 0n]] as const) {
    test(`register, memory, scaled-index and constant arguments, sign and size applied (spec found ${how})`, () => {
      assert.deepEqual(run(core), [-2n, 0xdeadbeefn, -128n, -5n, -1n, 5n, 99n, 0n]);
    });
  }
});
