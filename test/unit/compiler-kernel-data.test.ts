// Kernel data in the kernel language (src/compiler/lower/kernel-data.ts): the compile-time rules of
// kernel arrays (bounds of a constant index, the destination of a whole copy) and kernel bitfields.

import assert from "node:assert/strict";
import { resolve } from "node:path";
import { test } from "node:test";
import { compile, DiagnosticCode as D } from "../../src/compiler/index.js";
import { CoreReloKind } from "../../src/btf/types.js";
import { readCollectionSpec } from "../../src/object/reader.js";
import { HELPER_IDS } from "../../src/sys/helper-ids.js";
import { TS_FIXTURES } from "../helpers/compile-ts.js";

let n = 0;
function diagnose(source: string): { code: string; line: number; message: string }[] {
  const path = resolve(TS_FIXTURES, `virtual-kernel-data-${process.pid}-${n++}.bpf.ts`);
  const r = compile(path, { sources: new Map([[path, source]]) });
  return r.diagnostics.map((d) => ({ code: d.code, line: d.line, message: d.message }));
}

/** A raw_tp program (plain kernel pointers) and a tp_btf one (BTF pointers) around `body`. */
const both = (body: string) => ["rawTracepoint", "btfTracepoint"].map((kind) =>
  `import { rawTracepoint, btfTracepoint, bpf, HashMap, struct, array, bytes, cstring, u8, u32 } from "tsbpf/kernel";
const S = struct({ small: array(u8, 8), name: cstring(16), wide: cstring(32), words: array(u32, 4) });
const out = new HashMap({ maxEntries: 1, key: u32, value: S });
export const p = ${kind}("sched_process_exec", (ctx) => {
  const task = bpf.currentTask();
  const s = S.zero();
${body}
  out.update(0, s);
  return 0;
});`);

test("kernel arrays: constant and run-time indices, whole copies into locals and fields compile", () => {
  for (const src of both(`  s.small[0] = task.comm[15];
  const i: u32 = bpf.random();
  s.small[1] = task.comm[i];
  const c = task.comm;
  s.small[2] = c[i & 7];
  for (const b of task.comm) s.small[3] += b;
  s.name = task.comm as unknown as string;
  s.wide = task.comm as unknown as string;
  bpf.probeReadKernelStr(s.name, task.comm);`)) {
    assert.deepEqual(diagnose(src), []);
  }
});

test("kernel arrays: a constant index past the end is a compile error", () => {
  for (const src of both(`  s.small[0] = task.comm[16];`)) {
    assert.deepEqual(diagnose(src), [{ code: D.ConstantRange, line: 7, message: "index 16 is out of bounds (length 16)" }]);
  }
});

test("kernel arrays: a whole copy needs a destination of the same element size, long enough", () => {
  for (const src of both(`  s.small = task.comm as unknown as number[];\n  s.words = task.comm as unknown as number[];`)) {
    assert.deepEqual(diagnose(src).map((d) => [d.code, d.line, d.message]), [
      [D.TypeMismatch, 7, "kernel array u8[16] does not fit in 8 elements; make the destination at least 16 long"],
      [D.TypeMismatch, 8, "kernel array u8[16] cannot be copied into array (16 bytes); the destination must be an array of 1-byte elements (a cstring or bytes field for char arrays)"],
    ]);
  }
});

test("kernel bitfields: the five CO-RE bitfield relocations on task_struct.in_execve, with the compile-time kernel's values", () => {
  for (const kind of ["rawTracepoint", "btfTracepoint"]) {
    const path = resolve(TS_FIXTURES, `virtual-kernel-data-${process.pid}-${n++}.bpf.ts`);
    const source = `import { ${kind}, bpf, HashMap, type u32 } from "tsbpf/kernel";
const out = new HashMap<u32, u32>({ maxEntries: 1 });
export const p = ${kind}("sched_process_exec", (ctx) => {
  out.update(0, bpf.currentTask().in_execve);
  return 0;
});`;
    const r = compile(path, { sources: new Map([[path, source]]) });
    assert.deepEqual(r.diagnostics, []);
    const spec = readCollectionSpec(r.object!);
    const prog = spec.programs.get("p")!;
    const relos = prog.instructions.flatMap((insn, i) => {
      const relo = prog.metas[i]!.coreRelo;
      return relo ? [{ kind: relo.kind, access: relo.accessStr, typeId: relo.typeId, imm: insn.constant }] : [];
    });
    // The object's BTF: the access string names task_struct's member in_execve, a 1-bit bitfield.
    const btf = spec.btf!;
    const access = relos[0]!.access;
    const root = btf.type(btf.resolve(relos[0]!.typeId));
    if (root.kind !== "struct") assert.fail(`the relocations' root is a ${root.kind}`);
    assert.equal(root.name, "task_struct");
    const member = root.members[Number(access.split(":")[1])]!;
    assert.equal(member.name, "in_execve");
    assert.equal(member.bitfieldSize, 1);
    const byteOff = Math.floor(member.bitOffset / 32) * 4;
    assert.deepEqual(
      relos.map((x) => [x.kind, x.access === access ? x.imm : "another access"]).sort((a, b) => Number(a[0]) - Number(b[0])),
      [
        [CoreReloKind.FieldByteOffset, BigInt(byteOff)],
        [CoreReloKind.FieldByteSize, 4n],
        [CoreReloKind.FieldSigned, 0n],
        [CoreReloKind.FieldLShiftU64, BigInt(64 - (member.bitOffset + 1 - byteOff * 8))],
        [CoreReloKind.FieldRShiftU64, 63n],
      ],
      `${kind}: the relocations of the bitfield read`,
    );
  }
});

test("kernel bitfields are read-only", () => {
  for (const src of both(`  task.in_execve = 1;`)) {
    assert.ok(diagnose(src).some((d) => d.code === D.TypeMismatch && d.line === 7 && /task_struct\.in_execve is read-only/.test(d.message)), JSON.stringify(diagnose(src)));
  }
});

test("kernel arrays: BTF pointers are read with direct loads, plain kernel pointers with bpf_probe_read_kernel", () => {
  const probeReads = (kind: string, body: string): number => {
    const path = resolve(TS_FIXTURES, `virtual-kernel-data-${process.pid}-${n++}.bpf.ts`);
    const source = `import { ${kind}, bpf, HashMap, type u32 } from "tsbpf/kernel";
const out = new HashMap<u32, u32>({ maxEntries: 1 });
export const p = ${kind}("sched_process_exec", (ctx) => {
  const task = bpf.currentTask();
  ${body}
  return 0;
});`;
    const r = compile(path, { sources: new Map([[path, source]]) });
    assert.deepEqual(r.diagnostics, []);
    return readCollectionSpec(r.object!).programs.get("p")!.instructions.filter((i) => i.isCall && i.src === 0 && i.constant === BigInt(HELPER_IDS.probe_read_kernel)).length;
  };
  for (const body of ["out.update(0, task.comm[3]);", "const c = task.comm; out.update(0, c[15]);", "out.update(0, task.in_execve);"]) {
    assert.equal(probeReads("btfTracepoint", body), 0, `tp_btf: ${body}`);
    assert.equal(probeReads("rawTracepoint", body), 1, `raw_tp: ${body}`);
  }
  // A run-time index reads the element with the helper either way (direct loads need constant offsets).
  assert.equal(probeReads("btfTracepoint", "const i: u32 = bpf.random(); out.update(0, task.comm[i]);"), 1);
});
