// `npm run bench`: runs every benchmark (load vs libbpf, vmlinux BTF parse vs libbpf) and prints one
// table row each: name | tsbpf | reference | ratio (tsbpf / reference; every figure is lower-is-better).

import { benchBtfParse } from "./btf-parse.js";
import { benchCompiler } from "./compiler.js";
import { benchEvents } from "./events.js";
import { benchLoad, type BenchRow } from "./load.js";
import { benchMaps } from "./maps.js";

/** A benchmark: a name for errors and a function returning its rows. */
interface Benchmark {
  readonly name: string;
  run(): readonly BenchRow[] | Promise<readonly BenchRow[]>;
}

const BENCHMARKS: readonly Benchmark[] = [
  { name: "open+load+attach vs libbpf (bench/load.ts)", run: () => benchLoad() },
  { name: "vmlinux BTF parse vs libbpf (bench/btf-parse.ts)", run: () => benchBtfParse() },
  { name: "ring/perf buffer events/s vs libbpf (bench/events.ts)", run: () => benchEvents() },
  { name: "TypeScript compiler vs clang -O2 (bench/compiler.ts)", run: () => benchCompiler() },
  { name: "map access vs libbpf (bench/maps.ts)", run: () => benchMaps() },
];

function figure(x: number, unit: string): string {
  if (!Number.isFinite(x)) return `n/a ${unit}`;
  const digits = Math.abs(x) >= 100 ? 0 : Math.abs(x) >= 10 ? 1 : 2;
  return `${x.toFixed(digits)} ${unit}`;
}

/** Format rows as an aligned `name | tsbpf | reference | ratio` table. */
export function formatTable(rows: readonly BenchRow[]): string {
  const cells = rows.map((r) => [
    /better/.test(r.name) ? r.name : `${r.name} (${r.unit}, lower is better)`,
    figure(r.tsbpf, r.unit),
    `${figure(r.reference, r.unit)} (${r.referenceName})`,
    Number.isFinite(r.ratio) ? `${r.ratio.toFixed(2)}x` : "n/a",
  ]);
  const header = ["name", "tsbpf", "reference", "ratio"];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: readonly string[]) => c.map((x, i) => (i === c.length - 1 ? x : x.padEnd(widths[i]!))).join(" | ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("-|-"), ...cells.map(line)].join("\n");
}

async function main(): Promise<number> {
  if (typeof process.geteuid === "function" && process.geteuid() !== 0) {
    console.error("npm run bench: needs root — it loads and attaches BPF programs and times libbpf doing the same. Run: sudo npm run bench");
    return 1;
  }
  const rows: BenchRow[] = [];
  let failed = false;
  for (const b of BENCHMARKS) {
    try {
      rows.push(...(await b.run()));
    } catch (e) {
      failed = true;
      console.error(`bench: ${b.name} failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (rows.length) console.log(formatTable(rows));
  console.log("ratio = tsbpf / reference; below 1.00x means tsbpf is faster (or smaller). Details: bench/README.md");
  return failed ? 1 : 0;
}

process.exitCode = await main();
