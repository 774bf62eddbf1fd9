// Benchmark: tsbpf's TypeScript compiler against clang -O2 on equivalent program pairs (xlated
// instructions, verifier-processed instructions, run time per packet) and warm compile time of ~200 lines.
// Method and latest numbers: bench/README.md, "The compiler rows".

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { compile } from "../src/compiler/index.js";
import { readCollectionSpec } from "../src/object/reader.js";
import { loadCollection } from "../src/runtime/collection.js";
import type { Collection } from "../src/runtime/collection.js";
import { progInfo } from "../src/sys/bpf.js";
import { clangFlags, clangPath } from "../test/helpers/toolchain.js";
import { compileTs, cTwinPath, PROGRAM_PAIRS, TS_FIXTURES, type ProgramPair } from "../test/helpers/compile-ts.js";
import type { BenchRow } from "./load.js";

const REPEAT = 100_000;
/** Alternating C/TypeScript rounds per program; the run-time row is the median round (spikes on a shared machine). */
const ROUNDS = 5;
const COMPILE_TARGET_MS = 500;

function clangObject(pair: ProgramPair): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), "tsbpf-bench-"));
  try {
    const out = join(dir, `${pair.file}.o`);
    execFileSync(clangPath(), [...clangFlags({ mcpu: pair.cpu }), "-c", cTwinPath(pair.file), "-o", out], { stdio: ["ignore", "ignore", "pipe"] });
    return new Uint8Array(readFileSync(out));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Figures { xlated: number; verified: number; nsPerPacket: number }

/**
 * Mean ns per run over the packets, as BPF_PROG_TEST_RUN reports it (REPEAT runs per packet; the
 * kernel reports whole ns per run, so the packets' mean carries the fractions). Wall time around the
 * syscall is no use: every XDP test run has a fixed cost of milliseconds.
 */
function runRound(coll: Collection, pair: ProgramPair, packets: readonly Uint8Array[]): number {
  const prog = coll.program(pair.program);
  let total = 0;
  for (const data of packets) total += prog.testRun({ data, repeat: REPEAT }).duration;
  return total / packets.length;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

/** Both sides' figures; run time rounds alternate between them so that machine noise hits both. */
function measure(c: Collection, t: Collection, pair: ProgramPair, packets: readonly Uint8Array[]): [Figures, Figures] {
  const ns: [number[], number[]] = [[], []];
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 ? [1, 0] : [0, 1];
    for (const side of order) ns[side].push(runRound(side ? t : c, pair, packets));
  }
  return [c, t].map((coll, side) => {
    const info = progInfo(coll.program(pair.program).fd);
    return { xlated: info.xlatedProgLen / 8, verified: info.verifiedInsns, nsPerPacket: median(ns[side]) };
  }) as [Figures, Figures];
}

/** Rows for every program pair plus the warm compile time. */
export function benchCompiler(): BenchRow[] {
  const rows: BenchRow[] = [];
  for (const pair of PROGRAM_PAIRS) {
    const packets = pair.packets(8, 99);
    const c = loadCollection(readCollectionSpec(clangObject(pair)));
    const t = loadCollection(readCollectionSpec(compileTs(join(TS_FIXTURES, `${pair.file}.bpf.ts`), undefined, { cpu: pair.cpu })));
    try {
      const [fc, ft] = measure(c, t, pair, packets);
      const referenceName = `clang -O2 ${pair.file}.bpf.c`;
      const row = (what: string, unit: string, ts: number, ref: number): void => {
        rows.push({ name: `${pair.name} ${what}`, unit, tsbpf: ts, reference: ref, ratio: ts / ref, referenceName });
      };
      row("xlated insns", "insns", ft.xlated, fc.xlated);
      row("verifier processed insns", "insns", ft.verified, fc.verified);
      row("run time per packet", "ns", ft.nsPerPacket, fc.nsPerPacket);
    } finally {
      c.close();
      t.close();
    }
  }
  // ~200 lines: the control-flow fixture plus the arithmetic twin, as one virtual file.
  const control = readFileSync(join(TS_FIXTURES, "control.bpf.ts"), "utf8");
  const arith = readFileSync(join(TS_FIXTURES, "diff_arith.bpf.ts"), "utf8");
  const source = control.replace(/^import \{[^}]*\} from "tsbpf\/kernel";$/m,
    'import { xdp, ArrayMap, HashMap, XdpAction, struct, array, u8, u16, u32, u64, i32, i64, type Infer } from "tsbpf/kernel";') +
    arith.replace(/^import .*$/m, "").replace(/\bout\b/g, "aout").replace(/\bIn\b/g, "AIn");
  const path = join(TS_FIXTURES, "bench-compile.bpf.ts");
  const lines = source.split("\n").length;
  const sources = new Map([[path, source]]);
  if (!compile(path, { sources }).object) throw new Error(`compile ${path} failed`);
  const start = performance.now();
  const r = compile(path, { sources });
  const ms = performance.now() - start;
  if (!r.object) throw new Error(`compile ${path} failed`);
  rows.push({ name: `compile ${lines}-line program, warm`, unit: "ms", tsbpf: ms, reference: COMPILE_TARGET_MS, ratio: ms / COMPILE_TARGET_MS, referenceName: "v1 target" });
  return rows;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const r of benchCompiler()) {
    console.log(`${r.name} | ${r.tsbpf.toFixed(1)} ${r.unit} | ${r.reference.toFixed(1)} ${r.unit} (${r.referenceName}) | ${r.ratio.toFixed(2)}x`);
  }
}
