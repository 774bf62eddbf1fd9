// Runs a generated program (test/helpers/compiler-random.ts) three ways and compares each with the
// JavaScript model: the IR evaluator on the compiler's IR, the kernel through BPF_PROG_TEST_RUN, and
// (for cases the model rejects) the compiler's diagnostics, which must include TSBPF1103.

import { formatDiagnostic, type CompileResult, type Diagnostic } from "../../src/compiler/index.js";
import { EvalMap, evalIr } from "../../src/compiler/ir-eval.js";
import type { IrFunction } from "../../src/compiler/ir.js";
import { loadCollection, readCollectionSpec } from "../../src/index.js";
import type { Collection } from "../../src/runtime/collection.js";
import { compileVirtual, globalSections } from "./compile-ts.js";
import { moduleSource, type Case, type Expected, type GeneratedProgram } from "./compiler-random.js";

/** What one program's check did. */
export interface ProgramReport {
  readonly failures: string[];
  /** Cases run (IR and kernel), cases checked for rejection. */
  readonly ran: number;
  readonly rejected: number;
}

const u32le = (i: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, i, true);
  return b;
};
const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const s64 = (v: bigint): string => `${BigInt.asIntN(64, v)}${v >= 1n << 63n ? ` (0x${v.toString(16)})` : ""}`;

function inputBytes(words: readonly bigint[]): Uint8Array {
  const b = new Uint8Array(words.length * 8);
  const dv = new DataView(b.buffer);
  words.forEach((w, i) => dv.setBigUint64(i * 8, w, true));
  return b;
}

function compileModule(p: GeneratedProgram, cases: readonly Case[]): { r: CompileResult; ranges: Map<string, [number, number]>; text: string } {
  const { text, ranges } = moduleSource(p, cases);
  return { r: compileVirtual(text, {}, "virtual-random"), ranges, text };
}

function caseOf(d: Diagnostic, cases: readonly Case[], ranges: Map<string, [number, number]>): Case | undefined {
  return cases.find((c) => {
    const [a, b] = ranges.get(c.name)!;
    return d.line >= a && d.line <= b;
  });
}

function describeCase(p: GeneratedProgram, c: Case): string {
  return `seed ${p.seed} case ${c.name} (${c.what}):\n${c.lines.map((l) => `    ${l}`).join("\n")}`;
}

/** The input words a case reads (`i.v[k]`), for reproducing a failure by hand. */
function usedInputs(c: Case, inp: readonly bigint[]): string {
  let max = -1;
  for (const l of c.lines) for (const m of l.matchAll(/i\.v\[(\d+)\]/g)) max = Math.max(max, Number(m[1]));
  return `i.v = [${inp.slice(0, max + 1).map((v) => `0x${v.toString(16)}n`).join(", ")}]`;
}

/** Compares one run's outcome with the model; returns the differences. */
function diff(where: string, want: Expected, out: Uint8Array, mapValue: (map: string, key: number) => Uint8Array | undefined): string[] {
  const errs: string[] = [];
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  want.out.forEach((w, k) => {
    const got = dv.getBigUint64(k * 8, true);
    if (got !== w) errs.push(`${where}: r.v[${k}] = ${s64(got)}, model ${s64(w)}`);
  });
  for (const m of want.maps) {
    const v = mapValue(m.map, m.key);
    const off = m.offset ?? 0;
    const got = v?.subarray(off, off + m.bytes.length);
    if (!got || hex(got) !== hex(m.bytes)) errs.push(`${where}: map ${m.map}[${m.key}]${m.offset !== undefined ? ` bytes @${off}` : ""} = ${got ? hex(got) : "missing"}, model ${hex(m.bytes)}`);
  }
  return errs;
}

/**
 * Checks a generated program: rejected cases must give TSBPF1103 on their lines; the others must
 * compile, and the IR evaluator and (with `kernel`) the kernel must give the model's results.
 */
export function checkProgram(p: GeneratedProgram, opts: { kernel: boolean }): ProgramReport {
  const failures: string[] = [];
  const bad = p.cases.filter((c) => c.reject !== undefined);
  let good = p.cases.filter((c) => c.reject === undefined);

  if (bad.length) {
    const { r, ranges } = compileModule(p, bad);
    if (r.object) failures.push(`seed ${p.seed}: a module of ${bad.length} cases that must be rejected compiled to an object`);
    for (const c of bad) {
      const ds = r.diagnostics.filter((d) => caseOf(d, bad, ranges) === c);
      if (!ds.some((d) => d.code === "TSBPF1103")) {
        failures.push(`${describeCase(p, c)}\n  must be rejected with TSBPF1103 (${c.reject}); got ${ds.length ? ds.map(formatDiagnostic).join("\n") : "no diagnostic"}`);
      }
    }
    const stray = r.diagnostics.filter((d) => !caseOf(d, bad, ranges));
    if (stray.length) failures.push(`seed ${p.seed}: diagnostics outside the cases:\n${stray.map(formatDiagnostic).join("\n")}`);
  }

  // Compile the valid cases; a valid case that is rejected is a failure and is dropped from the run.
  let compiled: ReturnType<typeof compileModule> | undefined;
  for (let attempt = 0; attempt < 4 && good.length; attempt++) {
    const m = compileModule(p, good);
    if (m.r.object) {
      compiled = m;
      break;
    }
    const blamed = new Set<Case>();
    for (const d of m.r.diagnostics) {
      const c = caseOf(d, good, m.ranges);
      if (!c) {
        failures.push(`seed ${p.seed}: diagnostic outside the cases: ${formatDiagnostic(d)}`);
        return { failures, ran: 0, rejected: bad.length };
      }
      if (!blamed.has(c)) failures.push(`${describeCase(p, c)}\n  is valid (model) but was rejected: ${formatDiagnostic(d)}`);
      blamed.add(c);
    }
    good = good.filter((c) => !blamed.has(c));
  }
  if (!compiled) return { failures, ran: 0, rejected: bad.length };
  const { r } = compiled;

  // (a) the IR evaluator
  const sections = globalSections(r.module!);
  const evalMaps: Record<string, EvalMap> = {};
  for (const m of p.maps) evalMaps[m.name] = new EvalMap({ type: "array", keySize: 4, valueSize: m.valueSize, maxEntries: m.maxEntries });
  const irOf = new Map<string, IrFunction>(r.ir.map((f) => [f.name, f]));
  p.inputs.forEach((inp, n) => {
    evalMaps.inp!.update(u32le(0), inputBytes(inp));
    for (const c of good) {
      const fn = irOf.get(c.name);
      if (!fn) { failures.push(`seed ${p.seed}: no IR for ${c.name}`); continue; }
      const where = `[IR, input ${n}]`;
      try {
        const res = evalIr(fn, { ctx: new Uint8Array(32), maps: evalMaps, globals: sections });
        if (res.value !== 2n) { failures.push(`${describeCase(p, c)}\n  ${where} returned ${res.value}`); continue; }
      } catch (e) {
        failures.push(`${describeCase(p, c)}\n  ${where} ${(e as Error).message}`);
        continue;
      }
      const errs = diff(where, c.model(inp), evalMaps.out!.lookup(u32le(c.idx))!, (map, key) => evalMaps[map]!.lookup(u32le(key)));
      if (errs.length) failures.push(`${describeCase(p, c)}\n  ${usedInputs(c, inp)}\n  ${errs.join("\n  ")}`);
    }
  });

  // (b) the kernel
  if (opts.kernel) {
    // A program the verifier refuses is a failure of its case; the others are loaded without it.
    const spec = readCollectionSpec(r.object!);
    let coll: Collection | undefined;
    while (good.length && !coll) {
      try {
        coll = loadCollection(spec, { programs: good.map((c) => c.name) });
      } catch (e) {
        const msg = (e as Error).message;
        const c = good.find((x) => msg.includes(`program "${x.name}"`));
        if (!c) {
          failures.push(`seed ${p.seed}: the kernel refused the module: ${msg.slice(0, 3000)}`);
          return { failures, ran: good.length, rejected: bad.length };
        }
        failures.push(`${describeCase(p, c)}\n  [kernel] refused: ${msg.slice(0, 1500)}`);
        good = good.filter((x) => x !== c);
      }
    }
    if (!coll) return { failures, ran: 0, rejected: bad.length };
    try {
      const data = new Uint8Array(64);
      p.inputs.forEach((inp, n) => {
        coll!.map("inp").setRaw(u32le(0), inputBytes(inp));
        for (const c of good) {
          const where = `[kernel, input ${n}]`;
          const { retval } = coll!.program(c.name).testRun({ data });
          if (retval !== 2) { failures.push(`${describeCase(p, c)}\n  ${where} returned ${retval}`); continue; }
          const errs = diff(where, c.model(inp), coll!.map("out").getRaw(u32le(c.idx))!, (map, key) => coll!.map(map).getRaw(u32le(key)));
          if (errs.length) failures.push(`${describeCase(p, c)}\n  ${usedInputs(c, inp)}\n  ${errs.join("\n  ")}`);
        }
      });
    } finally {
      coll.close();
    }
  }
  return { failures, ran: good.length, rejected: bad.length };
}
