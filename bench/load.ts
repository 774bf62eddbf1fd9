// Benchmark: open+load+attach of one BPF object with tsbpf vs libbpf (bench/c/load.c), same run, same object.
// Run: node --import tsx bench/load.ts [--json] [object ...] — each object is measured in a fresh process.

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Btf } from "../src/btf/btf.js";
import { VMLINUX_BTF_PATH } from "../src/btf/kernel.js";
import { objectNameFromPath, readCollectionSpec } from "../src/object/reader.js";
import { loadCollection, type CollectionOptions } from "../src/runtime/collection.js";

/** One benchmark result row (same shape as bench/btf-parse.ts's rows); lower is better for every figure here. */
export interface BenchRow {
  readonly name: string;
  readonly unit: string;
  readonly tsbpf: number;
  readonly reference: number;
  /** tsbpf / reference (below 1 means tsbpf is faster). */
  readonly ratio: number;
  /** What the reference is. */
  readonly referenceName: string;
}

/** Per-iteration timing statistics in microseconds. */
export interface Stats {
  /** The first iteration of a fresh process (cold caches, lazy parsing, feature probes). */
  readonly first: number;
  readonly mean: number;
  readonly median: number;
  readonly min: number;
}

/** One side's measurement: open+load(+attach) until live ("ready"), and the full cycle including close. */
export interface LoadStats {
  readonly ready: Stats;
  readonly cycle: Stats;
  readonly iterations: number;
  readonly program: string;
  /** libbpf's version (the reference side only). */
  readonly libbpf?: string;
}

/** A benchmarked object and how to measure it. */
export interface LoadCase {
  /** Short name used in row names and on the command line. */
  readonly id: string;
  /** Source compiled with scripts/build-bpf.sh into .cache/bench/<id>.bpf.o. */
  readonly source: string;
  /** Attach the first program (false: open+load only, e.g. a tc program without an interface). */
  readonly attach: boolean;
  /** Rounds of (libbpf batch, tsbpf batch): interleaving spreads machine noise over both sides. */
  readonly rounds: number;
  /** Timed iterations per side per round. */
  readonly batch: number;
  /** Untimed tsbpf iterations after the first (JIT warm-up). */
  readonly warmup: number;
  /** Also measure tsbpf re-reading vmlinux BTF each iteration, as libbpf does on every load. */
  readonly reparseVariant: boolean;
  /** Short label for row names (bench/README.md says what each object holds). */
  readonly describe: string;
}

const root = fileURLToPath(new URL("..", import.meta.url));
const cacheDir = join(root, ".cache", "bench");

/** The objects measured by `npm run bench`. */
export const LOAD_CASES: readonly LoadCase[] = [
  {
    id: "execsnoop", source: "examples/execsnoop/execsnoop.bpf.c", attach: true, rounds: 5, batch: 6, warmup: 5,
    reparseVariant: true, describe: "execsnoop",
  },
  {
    id: "maps", source: "test/fixtures/c/maps.bpf.c", attach: false, rounds: 5, batch: 40, warmup: 200,
    reparseVariant: false, describe: "maps (10 maps)",
  },
];

function newer(a: string, b: string): boolean {
  return statSync(a).mtimeMs > statSync(b).mtimeMs;
}

/** Compile a case's BPF object into .cache/bench (when missing or older than its source). */
export function buildObject(c: LoadCase): string {
  mkdirSync(cacheDir, { recursive: true });
  const out = join(cacheDir, `${c.id}.bpf.o`);
  const src = join(root, c.source);
  if (!existsSync(out) || newer(src, out)) {
    execFileSync("bash", [join(root, "scripts/build-bpf.sh"), src, out], { stdio: ["ignore", "ignore", "inherit"] });
  }
  return out;
}

/** Compile bench/c/load.c (once per content hash) and return the executable's path. */
export function buildReference(): string {
  mkdirSync(cacheDir, { recursive: true });
  const srcPath = join(root, "bench/c/load.c");
  const hash = createHash("sha256").update(readFileSync(srcPath)).digest("hex").slice(0, 12);
  const exe = join(cacheDir, `load-ref-${hash}`);
  if (!existsSync(exe)) {
    execFileSync("gcc", ["-O2", "-o", exe, srcPath, "-lbpf", "-lelf", "-lz"], { stdio: ["ignore", "ignore", "inherit"] });
  }
  return exe;
}

/** Timings of one batch, in microseconds: the batch's first iteration and the timed ones after warm-up. */
interface Batch {
  readonly first: { readonly ready: number; readonly cycle: number };
  readonly ready: number[];
  readonly cycle: number[];
  readonly program: string;
  /** libbpf's version string (reference batches only). */
  readonly libbpf?: string;
}

interface RefOutput {
  readonly ready: { readonly first: number; readonly samples: number[] };
  readonly cycle: { readonly first: number; readonly samples: number[] };
  readonly program: string;
  readonly libbpf: string;
}

/** One libbpf batch: a fresh bench/c/load.c process (its first iteration is reported apart, then 1 warm-up). */
function libbpfBatch(exe: string, object: string, c: LoadCase, iterations: number): Batch {
  const out = execFileSync(exe, [object, String(iterations), "1", c.attach ? "1" : "0"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  const r = JSON.parse(out) as RefOutput;
  return {
    first: { ready: r.ready.first, cycle: r.cycle.first },
    ready: r.ready.samples, cycle: r.cycle.samples, program: r.program, libbpf: r.libbpf,
  };
}

/**
 * The tsbpf loop, the same as bench/c/load.c's: read the file, build the spec, load the collection,
 * attach the first program (ready), close everything (cycle). With `reparseBtf`, the CO-RE target is
 * vmlinux BTF read and parsed inside each iteration instead of taken from tsbpf's per-process cache.
 * `warmup` untimed iterations run after the first.
 */
export function tsbpfBatch(object: string, c: LoadCase, iterations: number, warmup: number, reparseBtf = false): Batch {
  const name = objectNameFromPath(object);
  const ready: number[] = [];
  const cycle: number[] = [];
  let first = { ready: 0, cycle: 0 };
  let program = "";
  for (let i = -1; i < warmup + iterations; i++) {
    const t0 = performance.now();
    const spec = readCollectionSpec(readFileSync(object), { name });
    const opts: CollectionOptions = reparseBtf ? { coreTargets: Btf.parse(readFileSync(VMLINUX_BTF_PATH)) } : {};
    const coll = loadCollection(spec, opts);
    let t1: number;
    try {
      const prog = coll.programs.values().next().value;
      if (!prog) throw new Error(`bench: ${object} has no programs`);
      program = prog.name;
      if (c.attach) prog.attach();
      t1 = performance.now();
    } finally {
      coll.close();
    }
    const t2 = performance.now();
    const r = (t1 - t0) * 1000;
    const cy = (t2 - t0) * 1000;
    if (i === -1) first = { ready: r, cycle: cy };
    else if (i >= warmup) { ready.push(r); cycle.push(cy); }
  }
  return { first, ready, cycle, program };
}

function stats(first: number, xs: readonly number[]): Stats {
  const s = [...xs].sort((a, b) => a - b);
  return { first, mean: xs.reduce((a, b) => a + b, 0) / xs.length, median: s[Math.floor(s.length / 2)]!, min: s[0]! };
}

/** Accumulates batches of one side into LoadStats; "first" comes from the side's first batch. */
class Side {
  #first: Batch["first"] | undefined;
  readonly #ready: number[] = [];
  readonly #cycle: number[] = [];
  #program = "";
  #version: string | undefined;
  add(b: Batch, keepFirst: boolean): void {
    if (keepFirst && !this.#first) this.#first = b.first;
    this.#version ??= b.libbpf;
    this.#ready.push(...b.ready);
    this.#cycle.push(...b.cycle);
    this.#program = b.program;
  }
  stats(): LoadStats {
    const f = this.#first ?? { ready: NaN, cycle: NaN };
    return {
      ready: stats(f.ready, this.#ready), cycle: stats(f.cycle, this.#cycle), iterations: this.#ready.length,
      program: this.#program, ...(this.#version ? { libbpf: this.#version } : {}),
    };
  }
}

/** Everything measured for one case: libbpf, tsbpf, and optionally tsbpf re-parsing vmlinux BTF. */
export interface LoadResult {
  readonly case: LoadCase;
  readonly libbpf: LoadStats;
  readonly tsbpf: LoadStats;
  readonly tsbpfReparse?: LoadStats;
}

/**
 * Measure one case in this process, which should be fresh: tsbpf's first iteration here is the
 * process's first load (cold JIT, empty kernel BTF cache). Then rounds alternate a libbpf batch
 * (a fresh C process), a tsbpf batch and, when asked, a tsbpf batch that re-parses vmlinux BTF.
 */
export function measureCase(c: LoadCase): LoadResult {
  const object = buildObject(c);
  const exe = buildReference();
  const libbpf = new Side();
  const tsbpf = new Side();
  const reparse = new Side();
  tsbpf.add(tsbpfBatch(object, c, 0, c.warmup), true);
  if (c.reparseVariant) reparse.add(tsbpfBatch(object, c, 0, 2, true), false);
  for (let r = 0; r < c.rounds; r++) {
    libbpf.add(libbpfBatch(exe, object, c, c.batch), r === 0);
    tsbpf.add(tsbpfBatch(object, c, c.batch, 0), false);
    if (c.reparseVariant) reparse.add(tsbpfBatch(object, c, c.batch, 0, true), false);
  }
  const result: LoadResult = {
    case: c, libbpf: libbpf.stats(), tsbpf: tsbpf.stats(),
    ...(c.reparseVariant ? { tsbpfReparse: reparse.stats() } : {}),
  };
  if (result.libbpf.program !== result.tsbpf.program) {
    throw new Error(`bench: libbpf used program "${result.libbpf.program}" but tsbpf "${result.tsbpf.program}"`);
  }
  return result;
}

/** Run `bench/load.ts --child <id>` in a fresh node process and parse its JSON. */
function child(id: string): LoadResult {
  const out = execFileSync(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), "--child", id], {
    cwd: root,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(out) as LoadResult;
}

/** Measure every case, each in a fresh node process, and return the detailed results. */
export function measureAll(cases: readonly LoadCase[] = LOAD_CASES): LoadResult[] {
  return cases.map((c) => child(c.id));
}

const US = "µs";

/** Table rows for the results: steady-state medians (the headline), first iterations, full cycles. */
export function loadRows(results: readonly LoadResult[]): BenchRow[] {
  const rows: BenchRow[] = [];
  for (const r of results) {
    const referenceName = `libbpf ${r.libbpf.libbpf ?? ""} bench/c/load.c`.replace("  ", " ");
    const row = (name: string, tsbpf: number, reference: number): void => {
      rows.push({ name, unit: US, tsbpf, reference, ratio: tsbpf / reference, referenceName });
    };
    const what = `${r.case.describe} ${r.case.attach ? "open+load+attach" : "open+load"}`;
    const better = `(${US}, lower is better)`;
    row(`${what}, steady median ${better}`, r.tsbpf.ready.median, r.libbpf.ready.median);
    row(`${what}, first in a fresh process ${better}`, r.tsbpf.ready.first, r.libbpf.ready.first);
    if (r.tsbpfReparse) {
      row(`${what}, tsbpf re-parsing vmlinux BTF every time like libbpf, median ${better}`,
        r.tsbpfReparse.ready.median, r.libbpf.ready.median);
    }
    row(`${what}+close, full cycle median ${better}`, r.tsbpf.cycle.median, r.libbpf.cycle.median);
  }
  return rows;
}

/** Measure every case (fresh processes) and return the table rows. */
export function benchLoad(cases: readonly LoadCase[] = LOAD_CASES): BenchRow[] {
  return loadRows(measureAll(cases));
}

function caseById(id: string): LoadCase {
  const c = LOAD_CASES.find((x) => x.id === id);
  if (!c) throw new Error(`bench: unknown case "${id}" (cases: ${LOAD_CASES.map((x) => x.id).join(", ")})`);
  return c;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  if (typeof process.geteuid === "function" && process.geteuid() !== 0) {
    console.error("bench/load.ts: needs root (loads and attaches BPF programs); run it with sudo");
    process.exit(1);
  }
  if (args[0] === "--child") {
    process.stdout.write(`${JSON.stringify(measureCase(caseById(args[1] ?? "")))}\n`);
  } else {
    const ids = args.filter((a) => !a.startsWith("--"));
    const results = measureAll(ids.length ? ids.map(caseById) : LOAD_CASES);
    if (args.includes("--json")) {
      console.log(JSON.stringify(results, null, 2));
    } else {
      for (const r of loadRows(results)) console.log(`${r.name} | ${r.tsbpf.toFixed(0)} | ${r.reference.toFixed(0)} | ${r.ratio.toFixed(2)}`);
    }
  }
}
