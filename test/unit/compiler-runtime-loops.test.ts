// Run-time loops in IR: which loops become open-coded number iterators (bpf_iter_num_*), that every
// way out of the loop destroys the iterator, and the error naming the kernel feature when the target
// kernel's BTF lacks it. No kernel needed (the kernel outcomes are in test/kernel/compiler-runtime-loops).

import assert from "node:assert/strict";
import { test } from "node:test";
import { Btf } from "../../src/btf/btf.js";
import type { BtfType } from "../../src/btf/types.js";
import type { CompileResult } from "../../src/compiler/index.js";
import type { IrFunction } from "../../src/compiler/ir.js";
import { WALKED_LOOP_MAX_TRIPS } from "../../src/compiler/lower/function.js";
import { compileVirtual } from "../helpers/compile-ts.js";
import { withKernelImport } from "../helpers/kernel-snippet.js";

function compiled(body: string, btf?: Btf): CompileResult {
  return compileVirtual(withKernelImport(`export const p = rawTracepoint("sys_enter", (ctx) => {\n${body}\n});`), btf ? { btf } : {});
}

const kfuncCalls = (f: IrFunction): string[] => f.blocks.flatMap((b) => b.instructions.flatMap((i) => (i.op === "callKfunc" ? [i.kfunc] : [])));

/** Every path from the entry to a `ret` passes as many bpf_iter_num_destroy calls as bpf_iter_num_new calls. */
function balanced(f: IrFunction): boolean {
  const byId = new Map(f.blocks.map((b) => [b.id, b]));
  const seen = new Set<string>();
  const walk = (id: number, open: number): boolean => {
    const key = `${id}:${open}`;
    if (seen.has(key)) return true;
    seen.add(key);
    const b = byId.get(id)!;
    for (const i of b.instructions) {
      if (i.op === "callKfunc" && i.kfunc === "bpf_iter_num_new") open++;
      if (i.op === "callKfunc" && i.kfunc === "bpf_iter_num_destroy") open--;
    }
    const t = b.terminator;
    if (t.op === "ret") return open === 0;
    if (t.op === "jmp") return walk(t.target, open);
    return walk(t.then, open) && walk(t.else, open);
  };
  return walk(f.blocks[0]!.id, 0);
}

test("while, a run-time bound and a bound over WALKED_LOOP_MAX_TRIPS become iterator loops; a short constant loop does not", () => {
  const cases: [string, boolean][] = [
    ["let n: u32 = bpf.random() & 7; let s: u32 = 0; while (n > 0) { s += n; n--; } return s;", true],
    ["const n = bpf.random(); let s: u32 = 0; for (let i: u32 = 0; i < n; i++) s += i; return s;", true],
    [`let s: u32 = 0; for (let i: u32 = 0; i < ${WALKED_LOOP_MAX_TRIPS + 1}; i++) s += i; return s;`, true],
    [`let s: u32 = 0; for (let i: u32 = 0; i < ${WALKED_LOOP_MAX_TRIPS}; i++) s += bpf.random(); return s;`, false],
  ];
  for (const [body, iter] of cases) {
    const r = compiled(body);
    assert.deepEqual(r.diagnostics, [], body);
    const calls = kfuncCalls(r.ir[0]!);
    assert.equal(calls.includes("bpf_iter_num_next"), iter, body);
    if (iter) assert.deepEqual(r.module!.externs.map((x) => x.name).sort(), ["bpf_iter_num_destroy", "bpf_iter_num_new", "bpf_iter_num_next"]);
  }
});

test("break, continue and return inside nested run-time loops destroy every open iterator on each way out", () => {
  const r = compiled(`
  let s: u32 = 0;
  const n = bpf.random() & 0xff;
  for (let i: u32 = 0; i < n; i++) {
    let j: u32 = 0;
    while (j < i) {
      j++;
      if (j === 3) continue;
      if (j === 7) break;
      if (s > 1000) return s;
      s += j;
    }
    if (s === 99) return 1;
    if (s > 500) break;
  }
  return s;`);
  assert.deepEqual(r.diagnostics, []);
  assert.ok(balanced(r.ir[0]!));
});

test("without bpf_iter_num in the target kernel's BTF, a run-time loop is TSBPF1006 naming the kfunc", () => {
  const ints: BtfType[] = [{ id: 1, kind: "int", name: "int", size: 4, signed: true, char: false, bool: false, bitOffset: 0, bits: 32 } as BtfType];
  const old = Btf.fromTypes(ints);
  const w = compiled("let n: u32 = bpf.random(); while (n > 1) n >>= 1; return n;", old);
  assert.deepEqual(w.diagnostics.map((d) => [d.code, d.message]), [["TSBPF1006", "a while loop needs open-coded iterators (kfunc bpf_iter_num_new, Linux 6.4+), which the target kernel's BTF lacks; write `for (let i = 0; i < N; i++)` with a constant N"]]);
  const f = compiled("const n = bpf.random(); let s: u32 = 0; for (let i: u32 = 0; i < n; i++) s += i; return s;", old);
  assert.equal(f.diagnostics.length, 1);
  assert.match(f.diagnostics[0]!.message, /loop bound not provable: `n` is not a compile-time constant; a run-time bound needs open-coded iterators \(kfunc bpf_iter_num_new, Linux 6.4\+\)/);
  const long = compiled(`let s: u32 = 0; for (let i: u32 = 0; i < ${WALKED_LOOP_MAX_TRIPS * 2}; i++) s += i; return s;`, old);
  assert.deepEqual(long.diagnostics, [], "a long constant loop is left to the verifier where iterators are missing");
});
