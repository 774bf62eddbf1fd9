// Unit tests of the BTF → TypeScript declaration generator on hand-built BTF: golden output, member
// mapping, name collisions, depth stubs, tracepoint contexts, determinism and that the output type-checks.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { Btf } from "../../src/btf/btf.js";
import { BtfBuilder } from "../../src/btf/writer.js";
import { BtfError } from "../../src/errors.js";
import { generateDeclarations, type GenerateOptions } from "../../src/gen/typescript.js";
import { parseTraceFormat, tracepointContexts } from "../../src/gen/tracepoints.js";
import { kernelStandIn, typecheck } from "../helpers/ts-check.js";

const GOLDEN_DIR = new URL("../fixtures/gen/", import.meta.url);
const TYPES_TS = readFileSync(new URL("../../src/kernel/types.ts", import.meta.url), "utf8");

/** A small kernel-like BTF exercising every mapping rule. */
function sampleBtf(): Btf {
  const b = new BtfBuilder();
  const int = (name: string, size: number, signed: boolean, extra: { char?: boolean; bool?: boolean } = {}): number =>
    b.add({ kind: "int", name, size, signed, char: extra.char ?? false, bool: extra.bool ?? false, bitOffset: 0, bits: size * 8 });
  const m = (name: string, type: number, bitOffset: number, bitfieldSize = 0) => ({ name, type, bitOffset, bitfieldSize });

  const tInt = int("int", 4, true);
  const tUint = int("unsigned int", 4, false);
  const tChar = int("char", 1, false, { char: true });
  const tU64 = int("long long unsigned int", 8, false);
  const tBool = int("_Bool", 1, false, { bool: true });
  const tU128 = int("__int128 unsigned", 16, false);
  const tS16 = int("short", 2, true);
  const u32 = b.add({ kind: "typedef", name: "u32", type: tUint }); // self alias: skipped
  const pidT = b.add({ kind: "typedef", name: "pid_t", type: tInt }); // collides with struct pid_t below
  const constInt = b.add({ kind: "const", name: "", type: tInt });

  // Forward ids: structs refer to each other.
  const taskId = b.nextId;
  const ptrTask = taskId + 1;
  const mmId = taskId + 2;
  const ptrMm = taskId + 3;
  const deepId = taskId + 4;
  const ptrDeep = taskId + 5;
  // 0 task_struct, 1 *task_struct, 2 mm_struct, 3 *mm_struct, 4 deep, 5 *deep
  const anonUnion = taskId + 6;
  const anonNamed = taskId + 7;
  const stateEnum = taskId + 8;
  const charArr = taskId + 9;
  const u64Arr = taskId + 10;
  const voidPtr = taskId + 11;
  const fnProto = taskId + 12;
  const fnPtr = taskId + 13;
  const intPtr = taskId + 14;
  const ptrPtrTask = taskId + 15;
  const opaqueFwd = taskId + 16;
  const ptrOpaque = taskId + 17;
  const atomicAnon = taskId + 18;
  const atomicT = taskId + 19;
  const nestedAnon = taskId + 20;
  const constCharPtr = taskId + 21;
  const constChar = taskId + 22;
  const fwdMm = taskId + 23;
  const ptrFwdMm = taskId + 24;
  const anonArr = taskId + 25;

  assert.equal(b.add({ kind: "struct", name: "task_struct", size: 256, members: [
    m("pid", pidT, 0),
    m("parent", ptrTask, 64),
    m("comm", charArr, 128),
    m("mm", ptrMm, 256),
    m("", anonUnion, 320),
    m("named", anonNamed, 384),
    m("state", stateEnum, 448),
    m("flag", tBool, 480),
    m("priv", voidPtr, 512),
    m("fn", fnPtr, 576),
    m("ip", intPtr, 640),
    m("pp", ptrPtrTask, 704),
    m("opaque", ptrOpaque, 768),
    m("usage", atomicT, 832),
    m("bf", u32, 864, 3),
    m("bf2", u32, 867, 29),
    m("arr", u64Arr, 896),
    m("name", constCharPtr, 1152),
    m("lazy", ptrFwdMm, 1216),
    m("wide", tU128, 1280),
    m("", tInt, 1408, 4), // unnamed bitfield padding
    m("points", anonArr, 1536),
  ] }), taskId);
  b.add({ kind: "ptr", name: "", type: taskId });
  b.add({ kind: "struct", name: "mm_struct", size: 16, members: [m("owner", ptrTask, 0), m("deep", ptrDeep, 64)] });
  b.add({ kind: "ptr", name: "", type: mmId });
  b.add({ kind: "struct", name: "deep", size: 4, members: [m("z", tInt, 0)] });
  b.add({ kind: "ptr", name: "", type: deepId });
  b.add({ kind: "union", name: "", size: 8, members: [m("a", u32, 0), m("b", tU64, 0), m("", nestedAnon, 0)] });
  b.add({ kind: "struct", name: "", size: 8, members: [m("x", tInt, 0), m("y", constInt, 32)] });
  b.add({ kind: "enum", name: "task_state", size: 4, signed: false, is64: false, values: [{ name: "TASK_RUNNING", value: 0n }, { name: "TASK_STOPPED", value: 4n }] });
  b.add({ kind: "array", name: "", elemType: tChar, indexType: tInt, nelems: 16 });
  b.add({ kind: "array", name: "", elemType: tU64, indexType: tInt, nelems: 4 });
  b.add({ kind: "ptr", name: "", type: 0 });
  b.add({ kind: "func_proto", name: "", returnType: tInt, params: [{ name: "", type: tInt }] });
  b.add({ kind: "ptr", name: "", type: fnProto });
  b.add({ kind: "ptr", name: "", type: tInt });
  b.add({ kind: "ptr", name: "", type: ptrTask });
  b.add({ kind: "fwd", name: "opaque_thing", fwdKind: "struct" });
  b.add({ kind: "ptr", name: "", type: opaqueFwd });
  b.add({ kind: "struct", name: "", size: 4, members: [m("counter", tInt, 0)] });
  b.add({ kind: "typedef", name: "atomic_t", type: atomicAnon });
  b.add({ kind: "struct", name: "", size: 4, members: [m("inner", tS16, 0)] });
  b.add({ kind: "ptr", name: "", type: constChar });
  b.add({ kind: "const", name: "", type: tChar });
  b.add({ kind: "fwd", name: "mm_struct", fwdKind: "struct" });
  b.add({ kind: "ptr", name: "", type: fwdMm });
  const pointT = b.nextId + 1;
  b.add({ kind: "array", name: "", elemType: pointT, indexType: tInt, nelems: 2 });
  b.add({ kind: "struct", name: "", size: 8, members: [m("px", tInt, 0), m("py", tInt, 32)] });

  // Name collisions: a struct called like a reserved word, a struct and a typedef both called pid_t,
  // two structs called dup, a typedef aliasing its own struct, a struct called like an imported alias.
  const dflt = b.add({ kind: "struct", name: "default", size: 4, members: [m("v", tInt, 0)] });
  const pidStruct = b.add({ kind: "struct", name: "pid_t", size: 4, members: [m("nr", tInt, 0)] });
  const dup1 = b.add({ kind: "struct", name: "dup", size: 4, members: [m("one", tInt, 0)] });
  const dup2 = b.add({ kind: "struct", name: "dup", size: 8, members: [m("two", tU64, 0)] });
  const u8s = b.add({ kind: "struct", name: "u8", size: 1, members: [m("c", tChar, 0)] });
  const holder = b.add({ kind: "struct", name: "holder", size: 40, members: [
    m("d", dflt, 0), m("p", pidT, 32), m("x1", dup1, 64), m("x2", dup2, 128), m("weird", u8s, 192), m("ps", pidStruct, 256),
  ] });
  const holderTd = b.add({ kind: "typedef", name: "holder", type: holder });
  b.add({ kind: "typedef", name: "holder_t", type: holderTd });
  b.add({ kind: "enum", name: "", size: 4, signed: true, is64: false, values: [{ name: "UNREACHABLE", value: -1n }] });
  b.add({ kind: "enum", name: "big", size: 8, signed: false, is64: true, values: [{ name: "BIG_ONE", value: 1n << 40n }, { name: "TASK_RUNNING", value: 7n }] });
  b.add({ kind: "struct", name: "uses_big", size: 8, members: [m("v", b.nextId - 1, 0)] });

  // Tracepoints: class sched_process_exec (own event) and class wake_template (events wake, wake_new).
  const entry = b.add({ kind: "struct", name: "trace_entry", size: 8, members: [m("type", tS16, 0), m("pid", tInt, 32)] });
  const dataArr = b.add({ kind: "array", name: "", elemType: tChar, indexType: tInt, nelems: 0 });
  b.add({ kind: "struct", name: "trace_event_raw_sched_process_exec", size: 20, members: [m("ent", entry, 0), m("__data_loc_filename", u32, 64), m("pid", pidT, 96), m("__data", dataArr, 160)] });
  b.add({ kind: "struct", name: "trace_event_raw_wake_template", size: 16, members: [m("ent", entry, 0), m("target_cpu", tInt, 64), m("__data", dataArr, 96)] });
  b.add({ kind: "struct", name: "trace_event_raw_other", size: 16, members: [m("ent", entry, 0), m("x", tInt, 64)] });
  const vp = voidPtr;
  const protoTask = b.add({ kind: "func_proto", name: "", returnType: 0, params: [{ name: "__data", type: vp }, { name: "p", type: ptrTask }] });
  const protoMm = b.add({ kind: "func_proto", name: "", returnType: 0, params: [{ name: "__data", type: vp }, { name: "mm", type: ptrMm }] });
  b.add({ kind: "func", name: "trace_event_raw_event_wake_template", type: protoTask, linkage: 0 });
  b.add({ kind: "func", name: "trace_event_raw_event_other", type: protoMm, linkage: 0 });
  const rawTask = b.add({ kind: "func_proto", name: "", returnType: 0, params: [{ name: "", type: vp }, { name: "", type: ptrTask }] });
  const rawTaskPtr = b.add({ kind: "ptr", name: "", type: rawTask });
  for (const ev of ["wake", "wake_new", "sched_process_exec"]) b.add({ kind: "typedef", name: `btf_trace_${ev}`, type: rawTaskPtr });
  return Btf.parse(b.encode());
}

function gen(opts: GenerateOptions): string {
  return generateDeclarations(sampleBtf(), { source: "sample", ...opts }).text;
}

/** Compare with test/fixtures/gen/<name>; UPDATE_GOLDEN=1 rewrites it. */
function golden(name: string, text: string): void {
  const url = new URL(name, GOLDEN_DIR);
  if (process.env.UPDATE_GOLDEN === "1") {
    mkdirSync(GOLDEN_DIR, { recursive: true });
    writeFileSync(url, text);
  }
  assert.equal(text, readFileSync(url, "utf8"), `${name} differs from the golden file (UPDATE_GOLDEN=1 to accept)`);
}

function checks(text: string, extra = ""): string[] {
  const files: Record<string, string> = { ...kernelStandIn(TYPES_TS), "gen.ts": text.replace('"tsbpf/kernel"', '"./index.js"') };
  if (extra) files["use.ts"] = extra;
  return typecheck(files, extra ? ["gen.ts", "use.ts"] : ["gen.ts"]);
}

describe("gen: golden output", () => {
  test("task_struct at depth 1 with tracepoints", () => {
    golden("sample-depth1.ts.txt", gen({ types: ["task_struct", "holder_t", "uses_big"], depth: 1, tracepoints: true }));
  });
  test("--all", () => {
    golden("sample-all.ts.txt", gen({ all: true }));
  });
  test("depth 0: pointer targets become stubs", () => {
    golden("sample-depth0.ts.txt", gen({ types: ["task_struct"], depth: 0 }));
  });
});

describe("gen: mapping rules", () => {
  const text = gen({ types: ["task_struct", "holder_t", "uses_big"], depth: 1, tracepoints: true });
  const iface = (name: string): string => {
    const m = new RegExp(`export interface ${name} \\{\\n([\\s\\S]*?)\\n\\}`).exec(text);
    assert.ok(m, `interface ${name} missing`);
    return m[1];
  };
  test("marker line and imports", () => {
    const lines = text.split("\n");
    assert.equal(lines[0], "// @tsbpf-btf sample");
    assert.match(lines[1], /^\/\/ Generated by /);
    assert.equal(lines[2], 'import type { CharArray, FixedArray, KernelPtr, bool, i16, i32, u128, u32, u64, u8 } from "tsbpf/kernel";');
  });
  test("members of task_struct", () => {
    const body = iface("task_struct");
    for (const line of [
      "pid: i32;", "parent: task_struct;", "comm: CharArray<16>;", "mm: mm_struct;", "a: u32;", "b: u64;",
      "inner: i16;", "named: task_struct__named;", "state: u32;", "flag: bool;", "priv: KernelPtr<void>;",
      'fn: KernelPtr<"fn">;', "ip: KernelPtr<i32>;", "pp: KernelPtr<task_struct>;", "opaque: opaque_thing;",
      "usage: atomic_t;", "bf: u32;", "bf2: u32;", "arr: FixedArray<u64, 4>;", "name: KernelPtr<u8>;",
      "lazy: mm_struct;", "wide: u128;", "points: FixedArray<task_struct__points, 2>;",
    ]) assert.ok(body.includes(`  ${line}`), `task_struct lacks ${line}:\n${body}`);
    assert.equal(body.split("\n").length, 23, "anonymous members flattened, padding dropped");
  });
  test("JSDoc @btf tags", () => {
    assert.match(text, /\/\*\* @btf struct task_struct \*\/\nexport interface task_struct \{/);
    assert.match(text, /\/\*\* @btf anon struct task_struct\.named \*\/\nexport interface task_struct__named \{/);
    assert.match(text, /\/\*\* @btf typedef atomic_t struct \*\/\nexport interface atomic_t \{/);
    assert.match(text, /\/\*\* @btf struct opaque_thing @btfOpaque \*\/\nexport interface opaque_thing \{\}/);
    assert.match(text, /\/\*\* @btf enum task_state \*\/\nexport type task_state = u32;/);
    assert.match(text, /\/\*\* @btf enum task_state = 4 \*\/\nexport declare const TASK_STOPPED: u32;/);
    assert.match(text, /\/\*\* @btf enum big = 1099511627776 \*\/\nexport declare const BIG_ONE: u64;/);
  });
  test("name collisions get a trailing _ and keep the BTF name in @btf", () => {
    assert.match(text, /\/\*\* @btf struct default \*\/\nexport interface default_ \{/);
    assert.match(text, /\/\*\* @btf struct pid_t \*\/\nexport interface pid_t \{/);
    assert.match(text, /\/\*\* @btf typedef pid_t \*\/\nexport type pid_t_ = i32;/);
    assert.match(text, /\/\*\* @btf struct dup \*\/\nexport interface dup \{\n  one: i32;/);
    assert.match(text, /\/\*\* @btf struct dup \*\/\nexport interface dup_ \{\n  two: u64;/);
    assert.match(text, /\/\*\* @btf struct u8 \*\/\nexport interface u8_ \{/);
    assert.ok(iface("holder").includes("  d: default_;\n  p: i32;\n  x1: dup;\n  x2: dup_;\n  weird: u8_;\n  ps: pid_t;"));
    assert.doesNotMatch(text, /export type u32 =/, "typedef u32 = unsigned int is the imported alias itself");
    assert.doesNotMatch(text, /export type holder =/, "typedef holder = struct holder is skipped");
    assert.match(text, /export type holder_t = holder;/);
  });
  test("enumerators: first definition of a name wins, unreachable anonymous enums are left out", () => {
    assert.equal(text.match(/declare const TASK_RUNNING:/g)?.length, 1);
    assert.match(text, /\/\*\* @btf enum big = 7 \*\/\nexport declare const TASK_RUNNING: u64;/, "enums are taken in name order");
    assert.doesNotMatch(text, /UNREACHABLE/);
    assert.match(gen({ all: true }), /\/\*\* @btf enum \(anon\) = -1 \*\/\nexport declare const UNREACHABLE: i32;/);
  });
  test("tracepoint contexts: own class and prototype match", () => {
    const m = /export interface TracepointContexts \{\n([\s\S]*?)\n\}/.exec(text);
    assert.ok(m);
    assert.equal(m[1], [
      '  "sched_process_exec": trace_event_raw_sched_process_exec;',
      '  "wake": trace_event_raw_wake_template;',
      '  "wake_new": trace_event_raw_wake_template;',
    ].join("\n"));
  });
  test("depth: targets one hop beyond are stubs, two hops beyond are absent", () => {
    const d0 = gen({ types: ["task_struct"], depth: 0 });
    assert.match(d0, /\/\*\* @btf struct mm_struct @btfStub \*\/\nexport interface mm_struct \{\}/);
    assert.doesNotMatch(d0, /interface deep/);
    assert.match(text, /\/\*\* @btf struct deep @btfStub \*\/\nexport interface deep \{\}/);
    assert.match(gen({ types: ["task_struct"], depth: 2 }), /export interface deep \{\n  z: i32;\n\}/);
  });
});

describe("gen: output compiles under strict TypeScript", () => {
  test("golden outputs type-check, and member reads have the declared types", () => {
    const use = [
      'import type { task_struct, TracepointContexts, holder_t } from "./gen.js";',
      'import { TASK_STOPPED } from "./gen.js";',
      "declare const t: task_struct;",
      "export const ppid: number = t.parent.parent.pid;",
      "export const c0: number = t.comm[0];",
      "export const n: 16 = t.comm.length;",
      "export const x: number = t.named.x + t.a + t.inner;",
      "export const big: bigint = t.b + t.arr[3];",
      "export const ok: boolean = t.flag;",
      "declare const h: holder_t;",
      "export const v: number = h.d.v + h.x1.one;",
      'declare const e: TracepointContexts["wake"];',
      "export const cpu: number = e.target_cpu + e.ent.pid;",
      "export const s: number = TASK_STOPPED;",
      "// @ts-expect-error mm_struct has no such member",
      "export const bad = t.mm.nothing;",
      "// @ts-expect-error u64 is a bigint",
      "export const wrong: number = t.b;",
      "",
    ].join("\n");
    assert.deepEqual(checks(gen({ types: ["task_struct", "holder_t", "uses_big"], depth: 1, tracepoints: true }), use), []);
    assert.deepEqual(checks(gen({ all: true, tracepoints: true })), []);
    assert.deepEqual(checks(gen({ types: ["task_struct"], depth: 0 })), []);
  });
});

describe("gen: determinism and errors", () => {
  test("same BTF and options give the same text; root order does not matter", () => {
    const a = gen({ types: ["task_struct", "holder_t"], depth: 2, tracepoints: true });
    const b = gen({ types: ["holder_t", "task_struct", "holder_t"], depth: 2, tracepoints: true });
    assert.equal(a, b);
  });
  test("unknown root names are all named in one BtfError", () => {
    assert.throws(() => gen({ types: ["task_struct", "nope", "nada"] }), (e: unknown) => {
      assert.ok(e instanceof BtfError);
      assert.equal(e.code, "BTF_GEN_UNKNOWN_TYPE");
      assert.match(e.message, /"nada", "nope"/);
      return true;
    });
  });
  test("bad depth and empty selection are BtfErrors", () => {
    for (const depth of [-1, 1.5, Number.NaN]) {
      assert.throws(() => gen({ types: ["task_struct"], depth }), (e: unknown) => e instanceof BtfError && e.code === "BTF_GEN_BAD_OPTION");
    }
    assert.throws(() => gen({}), (e: unknown) => e instanceof BtfError && e.code === "BTF_GEN_BAD_OPTION");
  });
  test("a pointer loop in malformed BTF does not hang", () => {
    const b = new BtfBuilder();
    const int = b.add({ kind: "int", name: "int", size: 4, signed: true, char: false, bool: false, bitOffset: 0, bits: 32 });
    const p = b.add({ kind: "ptr", name: "", type: b.nextId + 1 });
    b.add({ kind: "ptr", name: "", type: p });
    b.add({ kind: "struct", name: "loopy", size: 16, members: [{ name: "p", type: p, bitOffset: 0, bitfieldSize: 0 }, { name: "i", type: int, bitOffset: 64, bitfieldSize: 0 }] });
    const text = generateDeclarations(Btf.parse(b.encode()), { types: ["loopy"], source: "loop" }).text;
    assert.match(text, /export interface loopy \{\n  p: KernelPtr<.*>;\n  i: i32;\n\}/);
  });
});

describe("gen: malformed and hostile input", () => {
  test("odd BTF names become valid identifiers; comments and strings stay closed", () => {
    const b = new BtfBuilder();
    const int = b.add({ kind: "int", name: "int", size: 4, signed: true, char: false, bool: false, bitOffset: 0, bits: 32 });
    const m = (name: string) => ({ name, type: int, bitOffset: 0, bitfieldSize: 0 });
    b.add({ kind: "struct", name: "we*/ird\nname", size: 4, members: [m("a-b"), m("constructor"), m("__proto__"), m("default")] });
    b.add({ kind: "struct", name: "9lives", size: 4, members: [m("x")] });
    b.add({ kind: "enum", name: "e", size: 4, signed: false, is64: false, values: [{ name: "let", value: 1n }, { name: "ok*/x", value: 2n }] });
    const btf = Btf.parse(b.encode());
    const text = generateDeclarations(btf, { all: true, source: "multi\nline */ source", importFrom: "./index.js" }).text;
    assert.equal(text.split("\n")[0], "// @tsbpf-btf multi line */ source");
    assert.match(text, /\/\*\* @btf struct we\*\\\/ird name \*\/\nexport interface we__ird_name \{\n  "a-b": i32;\n  constructor: i32;\n  __proto__: i32;\n  default: i32;\n\}/);
    assert.match(text, /export interface _9lives \{/);
    assert.match(text, /\/\*\* @btf enum e let = 1 \*\/\nexport declare const let_: u32;/);
    assert.deepEqual(checks(text), []);
  });

  test("mutated BTF gives declarations or a BtfError, never another error or a hang", () => {
    const good = sampleBtf().bytes;
    let seed = 0x2545f491;
    const rand = (n: number): number => {
      seed ^= seed << 13; seed >>>= 0;
      seed ^= seed >>> 17;
      seed ^= seed << 5; seed >>>= 0;
      return seed % n;
    };
    let generated = 0;
    let rejected = 0;
    const started = Date.now();
    for (let i = 0; i < 400; i++) {
      const bytes = new Uint8Array(good);
      const flips = 1 + rand(4);
      // Mutate the type section (after the 24-byte header) where ids, kinds and offsets live.
      for (let f = 0; f < flips; f++) bytes[24 + rand(bytes.length - 24)] = rand(256);
      try {
        const btf = Btf.parse(bytes);
        generateDeclarations(btf, { all: true, tracepoints: true, source: "fuzz" });
        generateDeclarations(btf, { types: ["task_struct"], depth: 1, tracepoints: true, source: "fuzz" });
        generated++;
      } catch (e) {
        if (!(e instanceof BtfError)) throw new Error(`mutation ${i}: ${String(e)}`, { cause: e });
        rejected++;
      }
    }
    assert.ok(generated > 0 && rejected > 0, `${generated} generated, ${rejected} rejected`);
    assert.ok(Date.now() - started < 60_000);
  });

  test("a struct that flattens itself (malformed) does not loop", () => {
    const b = new BtfBuilder();
    const int = b.add({ kind: "int", name: "int", size: 4, signed: true, char: false, bool: false, bitOffset: 0, bits: 32 });
    const self = b.nextId;
    b.add({ kind: "struct", name: "selfish", size: 8, members: [
      { name: "", type: self, bitOffset: 0, bitfieldSize: 0 }, { name: "", type: self, bitOffset: 0, bitfieldSize: 0 },
      { name: "x", type: int, bitOffset: 0, bitfieldSize: 0 },
    ] });
    const text = generateDeclarations(Btf.parse(b.encode()), { types: ["selfish"], source: "self" }).text;
    assert.match(text, /export interface selfish \{\n  x: i32;\n\}/);
  });
});

describe("gen: tracefs formats", () => {
  const format = [
    "name: wake_new", "ID: 1", "format:",
    "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;",
    "\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;",
    "", "\tfield:int target_cpu;\toffset:8;\tsize:4;\tsigned:1;", "", 'print fmt: "cpu=%d", REC->target_cpu', "",
  ].join("\n");
  test("parseTraceFormat drops common fields and array / __data_loc decorations", () => {
    assert.deepEqual(parseTraceFormat("sched", format), { system: "sched", event: "wake_new", fields: [{ name: "target_cpu", offset: 8, size: 4 }] });
    const f = parseTraceFormat("x", "name: e\nformat:\n\tfield:__data_loc char[] filename;\toffset:8;\tsize:4;\tsigned:0;\n\tfield:char comm[16];\toffset:12;\tsize:16;\tsigned:0;\n");
    assert.deepEqual(f?.fields.map((x) => x.name), ["filename", "comm"]);
    assert.equal(parseTraceFormat("x", "garbage"), undefined);
  });
  test("formats confirm a class field by field and reject one that does not match", () => {
    const btf = sampleBtf();
    const good = parseTraceFormat("sched", format)!;
    const name = (m: Map<string, number>, e: string): string | undefined => (m.has(e) ? btf.nameOf(m.get(e)!) : undefined);
    const withGood = tracepointContexts(btf, { formats: new Map([["wake_new", good]]) });
    assert.equal(name(withGood, "wake_new"), "trace_event_raw_wake_template");
    const bad = { ...good, fields: [{ name: "other_cpu", offset: 8, size: 4 }] };
    const withBad = tracepointContexts(btf, { formats: new Map([["wake_new", bad]]) });
    assert.equal(name(withBad, "wake_new"), undefined);
    assert.equal(name(withBad, "wake"), "trace_event_raw_wake_template", "events without a format still use the prototype match");
  });
});
