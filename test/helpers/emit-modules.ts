// Hand-built CompiledModules for the object writer's tests (src/compiler/emit): small programs written
// with the asm builders, with source locations, as the compiler's front end and code generator would hand them over.

import {
  AluOp, Instruction, JumpOp, Size, alu64Imm, alu64Reg, alu32Reg, call, exit, ja, jumpImm, ldMapFd, ldMapValue,
  loadMem, mov32Imm, mov64Imm, mov64Reg, storeImm, storeMem, R0, R1, R2, R3, R4, R6, R7, R10,
} from "../../src/asm/index.js";
import { ldFunc } from "../../src/asm/load-store.js";
import { callKfunc, callSub } from "../../src/asm/jump.js";
import { slotOffsets } from "../../src/asm/decode.js";
import type { CompiledFunction, CompiledModule, CType } from "../../src/compiler/module.js";

export const INT: CType = { kind: "int", name: "int", size: 4, signed: true };
export const U32: CType = { kind: "int", name: "unsigned int", size: 4, signed: false };
export const U64: CType = { kind: "int", name: "unsigned long long", size: 8, signed: false };
export const VOID: CType = { kind: "void" };
export const XDP_MD: CType = {
  kind: "struct", name: "xdp_md", size: 24,
  members: ["data", "data_end", "data_meta", "ingress_ifindex", "rx_queue_index", "egress_ifindex"].map((name, i) => ({ name, type: U32, bitOffset: i * 32 })),
};
/** A local view of task_struct with just what CO-RE needs: the names; offsets are local guesses. */
export const TASK_STRUCT: CType = {
  kind: "struct", name: "task_struct", size: 8,
  members: [{ name: "pid", type: INT, bitOffset: 0 }, { name: "tgid", type: INT, bitOffset: 32 }],
};

/** Resolve label jumps (only jumps: calls keep their function references for the writer). */
export function resolveJumps(insns: Instruction[]): Instruction[] {
  const slots = slotOffsets(insns);
  const labels = new Map<string, number>();
  insns.forEach((ins, i) => { if (ins.symbol !== undefined) labels.set(ins.symbol, slots[i]!); });
  insns.forEach((ins, i) => {
    if (ins.reference === undefined || !ins.isJump) return;
    const target = labels.get(ins.reference);
    if (target === undefined) throw new Error(`label ${ins.reference} missing`);
    ins.offset = target - (slots[i]! + 1);
    delete ins.reference;
  });
  return insns;
}

/** Give instructions source locations: `at(line, ...insns)` marks each with file:line. */
function located(file: string) {
  return (line: number, ...insns: Instruction[]): Instruction[] => insns.map((i) => i.withSource({ file, line, column: 3 }));
}

const proto = (returns: CType, ...params: [string, CType][]) =>
  ({ kind: "func_proto", returns, params: params.map(([name, type]) => ({ name, type })) }) as const;

/** The source text the demo's line info points into (one statement per line). */
export const DEMO_SOURCE = [
  "// demo.bpf.ts",                                   // 1
  "function add3(x: i32) { return x + 3; }",          // 2
  "export function gmul(a: i32, b: i32) { return a * b; }", // 3
  "export const prog = xdp((ctx) => {",               // 4
  "  const v = counts.lookup(1);",                    // 5
  "  if (v !== null) v.value += 1n;",                 // 6
  "  else counts.update(1, 1n);",                     // 7
  "  total += add3(cfg);",                            // 8
  "  hits = gmul(6, 7);",                             // 9
  "  const e = events.reserve(u64);",                 // 10
  "  if (e !== null) { e.value = 0x1234n; events.submit(e); }", // 11
  "  return XDP_PASS;",                               // 12
  "});",                                              // 13
].join("\n");

/**
 * XDP program `prog` (returns XDP_PASS = 2):
 * counts[1] += 1 (hash u32 -> u64, inserted as 1), total (.data, starts 5) += add3(cfg) where cfg
 * (.rodata) = 7 and add3 is a static subprogram, hits (.bss, static) = gmul(6, 7) = 42 with gmul a
 * global subprogram, and one 8-byte record 0x1234 to the ring buffer `events`.
 */
export function demoModule(): CompiledModule {
  const at = located("demo.bpf.ts");
  const add3: CompiledFunction = {
    name: "add3", section: ".text", global: false, proto: proto(INT, ["x", INT]), coreRelocations: [],
    instructions: [...at(2, mov64Reg(R0, R1), alu64Imm(AluOp.ADD, R0, 3), exit())],
  };
  const gmul: CompiledFunction = {
    name: "gmul", section: ".text", global: true, proto: proto(INT, ["a", INT], ["b", INT]), coreRelocations: [],
    instructions: [...at(3, mov32Imm(R0, 0), alu32Reg(AluOp.ADD, R0, R1), alu32Reg(AluOp.MUL, R0, R2), exit())],
  };
  const prog: CompiledFunction = {
    name: "prog", section: "xdp", global: true, proto: proto(INT, ["ctx", { kind: "ptr", target: XDP_MD }]), coreRelocations: [],
    loc: { file: "demo.bpf.ts", line: 4, column: 1 },
    instructions: resolveJumps([
      ...at(5,
        storeImm(Size.W, R10, -4, 1),
        mov64Reg(R2, R10), alu64Imm(AluOp.ADD, R2, -4),
        ldMapFd(R1, "counts"),
        call("map_lookup_elem")),
      ...at(6,
        jumpImm(JumpOp.JEQ, R0, 0, "insert"),
        loadMem(Size.DW, R1, R0, 0), alu64Imm(AluOp.ADD, R1, 1), storeMem(Size.DW, R0, R1, 0),
        ja("after")),
      ...at(7,
        storeImm(Size.DW, R10, -16, 1).withSymbol("insert"),
        mov64Reg(R2, R10), alu64Imm(AluOp.ADD, R2, -4),
        mov64Reg(R3, R10), alu64Imm(AluOp.ADD, R3, -16),
        ldMapFd(R1, "counts"), mov64Imm(R4, 0),
        call("map_update_elem")),
      ...at(8,
        ldMapValue(R1, ".rodata", 0).withSymbol("after"),
        loadMem(Size.W, R1, R1, 0),
        callSub("add3"),
        mov64Reg(R7, R0),
        ldMapValue(R1, ".data", 0),
        loadMem(Size.DW, R2, R1, 0), alu64Reg(AluOp.ADD, R2, R7), storeMem(Size.DW, R1, R2, 0)),
      ...at(9,
        mov64Imm(R1, 6), mov64Imm(R2, 7), callSub("gmul"),
        ldMapValue(R1, ".bss", 8), storeMem(Size.DW, R1, R0, 0)),
      ...at(10,
        ldMapFd(R1, "events"), mov64Imm(R2, 8), mov64Imm(R3, 0), call("ringbuf_reserve")),
      ...at(11,
        jumpImm(JumpOp.JEQ, R0, 0, "out"),
        mov64Imm(R1, 0x1234), storeMem(Size.DW, R0, R1, 0),
        mov64Reg(R1, R0), mov64Imm(R2, 0), call("ringbuf_submit")),
      ...at(12, mov64Imm(R0, 2).withSymbol("out"), exit()),
    ]),
  };
  return {
    name: "demo",
    license: "GPL",
    functions: [gmul, prog, add3],
    maps: [
      { name: "counts", type: "hash", key: U32, value: U64, maxEntries: 16 },
      { name: "events", type: "ringbuf", maxEntries: 4096 },
    ],
    globals: [
      { name: "total", section: ".data", type: U64, offset: 0, size: 8, init: new Uint8Array([5, 0, 0, 0, 0, 0, 0, 0]), global: true },
      { name: "cfg", section: ".rodata", type: U32, offset: 0, size: 4, init: new Uint8Array([7, 0, 0, 0]), global: true },
      { name: "pad", section: ".bss", type: U64, offset: 0, size: 8, global: true },
      { name: "hits", section: ".bss", type: U64, offset: 8, size: 8, global: false },
    ],
    externs: [],
    sources: new Map([["demo.bpf.ts", DEMO_SOURCE]]),
  };
}

/**
 * Tracepoint program `on_getpid` (syscalls/sys_enter_getpid): reads current->tgid with a CO-RE
 * relocated offset and bpf_probe_read_kernel, and records tgids[tgid] = bpf_get_current_pid_tgid() >> 32.
 */
export function coreModule(): CompiledModule {
  const at = located("core.bpf.ts");
  const fn: CompiledFunction = {
    name: "on_getpid", section: "tracepoint/syscalls/sys_enter_getpid", global: true,
    proto: proto(INT, ["ctx", { kind: "ptr", target: VOID }]),
    coreRelocations: [{ index: 2, access: { kind: "field_byte_offset", root: TASK_STRUCT, access: "0:1" } }],
    instructions: [
      ...at(2, call("get_current_task"), mov64Reg(R3, R0), mov64Imm(R1, 4), alu64Reg(AluOp.ADD, R3, R1)),
      ...at(3, mov64Reg(R1, R10), alu64Imm(AluOp.ADD, R1, -4), mov64Imm(R2, 4), call("probe_read_kernel")),
      ...at(4, call("get_current_pid_tgid"), alu64Imm(AluOp.RSH, R0, 32), storeMem(Size.DW, R10, R0, -16)),
      ...at(5,
        ldMapFd(R1, "tgids"), mov64Reg(R2, R10), alu64Imm(AluOp.ADD, R2, -4),
        mov64Reg(R3, R10), alu64Imm(AluOp.ADD, R3, -16), mov64Imm(R4, 0), call("map_update_elem")),
      ...at(6, mov64Imm(R0, 0), exit()),
    ],
  };
  return {
    name: "core", license: "GPL", functions: [fn],
    maps: [{ name: "tgids", type: "hash", key: INT, value: U64, maxEntries: 1024 }],
    globals: [], externs: [],
    sources: new Map([["core.bpf.ts", "// core\nconst task = bpf.currentTask();\nconst tgid = task.tgid;\nconst pid = bpf.pid();\ntgids.update(tgid, pid);\nreturn 0;\n"]]),
    types: [TASK_STRUCT],
  };
}

/**
 * tp_btf program calling kfuncs bpf_task_acquire / bpf_task_release on the current task, plus a bpf_loop
 * callback (PSEUDO_FUNC) counting to 5 into .bss `loops`.
 */
export function kfuncModule(): CompiledModule {
  const at = located("kfunc.bpf.ts");
  const taskPtr: CType = { kind: "ptr", target: { kind: "struct", name: "task_struct", size: 0, members: [] } };
  const cb: CompiledFunction = {
    name: "count_cb", section: ".text", global: false, proto: proto(INT, ["index", U32], ["data", { kind: "ptr", target: VOID }]), coreRelocations: [],
    instructions: [...at(9, loadMem(Size.DW, R3, R2, 0), alu64Imm(AluOp.ADD, R3, 1), storeMem(Size.DW, R2, R3, 0), mov64Imm(R0, 0), exit())],
  };
  const fn: CompiledFunction = {
    name: "on_newtask", section: "tp_btf/task_newtask", global: true,
    proto: proto(INT, ["ctx", { kind: "ptr", target: U64 }]), coreRelocations: [],
    instructions: resolveJumps([
      ...at(2, call("get_current_task_btf"), mov64Reg(R1, R0), callKfunc("bpf_task_acquire")),
      ...at(3, jumpImm(JumpOp.JEQ, R0, 0, "skip"), mov64Reg(R1, R0), callKfunc("bpf_task_release")),
      ...at(4,
        storeImm(Size.DW, R10, -8, 0).withSymbol("skip"),
        mov64Imm(R1, 5), ldFunc(R2, "count_cb"), mov64Reg(R3, R10), alu64Imm(AluOp.ADD, R3, -8), mov64Imm(R4, 0),
        call("loop")),
      ...at(5, loadMem(Size.DW, R1, R10, -8), ldMapValue(R2, ".bss", 0), storeMem(Size.DW, R2, R1, 0)),
      ...at(6, mov64Imm(R0, 0), exit()),
    ]),
  };
  return {
    name: "kf", license: "GPL", functions: [fn, cb], maps: [],
    globals: [{ name: "loops", section: ".bss", type: U64, offset: 0, size: 8, global: true }],
    externs: [
      { name: "bpf_task_acquire", section: ".ksyms", type: { kind: "func_proto", returns: taskPtr, params: [{ name: "p", type: taskPtr }] } },
      { name: "bpf_task_release", section: ".ksyms", type: { kind: "func_proto", returns: VOID, params: [{ name: "p", type: taskPtr }] } },
    ],
    sources: new Map(),
  };
}

/** A socket filter the verifier rejects at bad.bpf.ts:3 (reads r2, which holds nothing: `R2 !read_ok`). */
export function badModule(): CompiledModule {
  const at = located("bad.bpf.ts");
  return {
    name: "bad", license: "GPL", maps: [], globals: [], externs: [],
    functions: [{
      name: "bad_prog", section: "socket", global: true, proto: proto(INT, ["skb", { kind: "ptr", target: VOID }]), coreRelocations: [],
      instructions: [...at(2, mov64Imm(R0, 0)), ...at(3, mov64Reg(R6, R2)), ...at(4, mov64Reg(R0, R6), exit())],
    }],
    sources: new Map([["bad.bpf.ts", "export const bad_prog = socket(() => {\n  let x: u64;\n  const y = x;\n  return y;\n});\n"]]),
  };
}

/** A module with every map flavour libbpf must parse from BTF: sizes only, flags, map of maps, bloom filter. */
export function mapsModule(): CompiledModule {
  const m = demoModule();
  const int = { kind: "int" as const, name: "int", size: 4 as const, signed: true };
  return {
    ...m,
    name: "emitmaps",
    maps: [
      ...m.maps,
      { name: "perf", type: "perf_event_array", keySize: 4, valueSize: 4 },
      { name: "lru", type: "lru_hash", key: U32, value: { kind: "array", element: U32, length: 4 }, maxEntries: 64, flags: 0 },
      { name: "outer", type: "array_of_maps", key: int, maxEntries: 3, inner: { name: "inner", type: "array", key: int, value: int, maxEntries: 2 } },
      { name: "bloom", type: "bloom_filter", valueSize: 8, maxEntries: 100, mapExtra: 3n },
      { name: "progs", type: "prog_array", keySize: 4, valueSize: 4, maxEntries: 4 },
    ],
  };
}

/**
 * Two TC programs sharing the section "tc" and the static subprogram `twice`, which the global
 * subprogram `outer` also calls (a call inside .text, resolved without relocation):
 * first = twice(10) + outer(3) = 20 + 7 = 27; second = twice(LINUX_KERNEL_VERSION >> 16) (a .kconfig extern).
 */
export function sharedModule(): CompiledModule {
  const at = located("shared.bpf.ts");
  const ctx = ["skb", { kind: "ptr", target: VOID }] as [string, CType];
  const twice: CompiledFunction = {
    name: "twice", section: ".text", global: false, proto: proto(U64, ["x", U64]), coreRelocations: [],
    instructions: at(1, mov64Reg(R0, R1), alu64Imm(AluOp.MUL, R0, 2), exit()),
  };
  const outer: CompiledFunction = {
    name: "outer", section: ".text", global: true, proto: proto(INT, ["x", INT]), coreRelocations: [],
    instructions: at(2, callSub("twice"), alu64Imm(AluOp.ADD, R0, 1), exit()),
  };
  const first: CompiledFunction = {
    name: "first", section: "tc", global: true, proto: proto(INT, ctx), coreRelocations: [],
    instructions: at(3, mov64Imm(R1, 10), callSub("twice"), mov64Reg(R6, R0), mov64Imm(R1, 3), callSub("outer"), alu64Reg(AluOp.ADD, R0, R6), exit()),
  };
  const second: CompiledFunction = {
    name: "second", section: "tc", global: true, proto: proto(INT, ctx), coreRelocations: [],
    instructions: at(4,
      ldMapValue(R2, "LINUX_KERNEL_VERSION"), loadMem(Size.W, R1, R2, 0), alu64Imm(AluOp.RSH, R1, 16),
      callSub("twice"), exit()),
  };
  return {
    name: "shared", license: "Dual BSD/GPL", functions: [twice, first, outer, second], maps: [], globals: [],
    externs: [{ name: "LINUX_KERNEL_VERSION", section: ".kconfig", type: U32 }],
    sources: new Map(),
  };
}

export { Instruction };
