// Benchmark: map access from TypeScript vs libbpf C (bench/c/maps.c) in the same run — single lookup
// ns/op, batch lookup of 100k entries vs key-by-key iteration, and mmap'd array reads vs a TypedArray.
// Run: node --import tsx bench/maps.ts [--json]

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createMap } from "../src/runtime/maps/index.js";
import { ensureMemlock } from "../src/sys/system.js";
import { u32, u64 } from "../src/types/index.js";
import type { BenchRow } from "./load.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const ENTRIES = 100_000;
const LOOKUPS = 200_000;
const ROUNDS = 5;

/** What bench/c/maps.c prints. */
interface CFigures {
  readonly lookupNs: number;
  readonly iterateMs: number;
  readonly batchMs: number;
}

/** Build bench/c/maps.c into .cache/bench/maps when missing or older than the source. */
function buildReference(): string {
  const src = join(root, "bench", "c", "maps.c");
  const dir = join(root, ".cache", "bench");
  const exe = join(dir, "maps");
  if (!existsSync(exe) || statSync(exe).mtimeMs < statSync(src).mtimeMs) {
    mkdirSync(dir, { recursive: true });
    execFileSync("gcc", ["-O2", "-o", exe, src, "-lbpf"], { stdio: ["ignore", "ignore", "inherit"] });
  }
  return exe;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Median over ROUNDS of `fn`'s duration in ms (after one warm-up call). */
function timeMs(fn: () => void): number {
  fn();
  const out: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    fn();
    out.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(out);
}

/** tsbpf figures, measured in this process. */
export interface MapFigures {
  readonly lookupNs: number;
  readonly rawLookupNs: number;
  readonly iterateMs: number;
  readonly batchMs: number;
  readonly rawIterateMs: number;
  readonly rawBatchMs: number;
  readonly mmapReadNs: number;
  readonly mmapTypedArrayNs: number;
  readonly plainReadNs: number;
}

export function measureMaps(): MapFigures {
  ensureMemlock();
  using m = createMap({ type: "hash", name: "bench_ts", key: u32, value: u64, maxEntries: ENTRIES });
  m.setBatch(Array.from({ length: ENTRIES }, (_, i) => [i, BigInt(i) * 3n] as const));
  let sink = 0n;
  const lookupNs = (timeMs(() => {
    for (let i = 0; i < LOOKUPS; i++) sink += m.get(i % ENTRIES)!;
  }) * 1e6) / LOOKUPS;
  const key = new Uint8Array(4);
  const kdv = new DataView(key.buffer);
  const rawLookupNs = (timeMs(() => {
    for (let i = 0; i < LOOKUPS; i++) {
      kdv.setUint32(0, i % ENTRIES, true);
      sink += BigInt(m.map.getRaw(key)![0]!);
    }
  }) * 1e6) / LOOKUPS;
  const count = (it: Iterable<unknown>) => {
    let n = 0;
    for (const _ of it) n++;
    if (n !== ENTRIES) throw new Error(`bench: read ${n} entries, expected ${ENTRIES}`);
  };
  const iterateMs = timeMs(() => count(m.entries()));
  const batchMs = timeMs(() => count(m.batchEntries()));
  const rawIterateMs = timeMs(() => count(m.map.entriesRaw()));
  const rawBatchMs = timeMs(() => {
    let n = 0;
    for (const b of m.map.batchesRaw(ENTRIES)) n += b.count;
    if (n !== ENTRIES) throw new Error(`bench: batch read ${n}`);
  });

  using arr = createMap({ type: "array", name: "bench_mmap", value: u64, maxEntries: ENTRIES, mmapable: true });
  const view = arr.mmap();
  const plain = new BigUint64Array(ENTRIES);
  for (let i = 0; i < ENTRIES; i++) {
    view.set(i, BigInt(i));
    plain[i] = BigInt(i);
  }
  const mapped = view.typedArray();
  const reps = 20;
  const perElem = (ms: number) => (ms * 1e6) / (ENTRIES * reps);
  const mmapReadNs = perElem(timeMs(() => {
    for (let r = 0; r < reps; r++) for (let i = 0; i < ENTRIES; i++) sink += view.get(i);
  }));
  const mmapTypedArrayNs = perElem(timeMs(() => {
    for (let r = 0; r < reps; r++) for (let i = 0; i < ENTRIES; i++) sink += mapped[i]!;
  }));
  const plainReadNs = perElem(timeMs(() => {
    for (let r = 0; r < reps; r++) for (let i = 0; i < ENTRIES; i++) sink += plain[i]!;
  }));
  if (sink === -1n) console.log("");
  return { lookupNs, rawLookupNs, iterateMs, batchMs, rawIterateMs, rawBatchMs, mmapReadNs, mmapTypedArrayNs, plainReadNs };
}

function measureC(): CFigures {
  const out = execFileSync(buildReference(), [String(ENTRIES), String(LOOKUPS)], { encoding: "utf8" });
  return JSON.parse(out.trim().split("\n").pop()!) as CFigures;
}

function row(name: string, unit: string, tsbpf: number, reference: number, referenceName: string): BenchRow {
  return { name, unit, tsbpf, reference, ratio: tsbpf / reference, referenceName };
}

/** The rows `npm run bench` prints for maps. */
export function benchMaps(): BenchRow[] {
  const c = measureC();
  const t = measureMaps();
  const k = `${ENTRIES / 1000}k`;
  return [
    row("map lookup, hash u32→u64, typed get", "ns/op", t.lookupNs, c.lookupNs, "libbpf bpf_map_lookup_elem"),
    row("map lookup, hash u32→u64, getRaw", "ns/op", t.rawLookupNs, c.lookupNs, "libbpf bpf_map_lookup_elem"),
    row(`read ${k} entries: batch vs key-by-key, typed (target <= 0.02x)`, "ms", t.batchMs, t.iterateMs, "tsbpf entries()"),
    row(`read ${k} entries: batch vs key-by-key, raw (target <= 0.02x)`, "ms", t.rawBatchMs, t.rawIterateMs, "tsbpf entriesRaw()"),
    row(`read ${k} entries with batch lookup, typed`, "ms", t.batchMs, c.batchMs, "libbpf bpf_map_lookup_batch"),
    row(`read ${k} entries key by key, typed`, "ms", t.iterateMs, c.iterateMs, "libbpf get_next_key+lookup"),
    row("mmap'd array read, MmapArray.get (u64) (target <= 2x)", "ns/elem", t.mmapReadNs, t.plainReadNs, "plain BigUint64Array"),
    row("mmap'd array read, typedArray() view (u64) (target <= 2x)", "ns/elem", t.mmapTypedArrayNs, t.plainReadNs, "plain BigUint64Array"),
  ];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (typeof process.geteuid === "function" && process.geteuid() !== 0) {
    console.error("bench/maps.ts: needs root (creates BPF maps); run it with sudo");
    process.exit(1);
  }
  if (process.argv.includes("--json")) {
    console.log(JSON.stringify({ tsbpf: measureMaps(), c: measureC() }, null, 2));
  } else {
    for (const r of benchMaps()) console.log(`${r.name} | ${r.tsbpf.toFixed(2)} ${r.unit} | ${r.reference.toFixed(2)} ${r.unit} (${r.referenceName}) | ${r.ratio.toFixed(3)}x`);
  }
}
