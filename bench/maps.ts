// Benchmark: map access from TypeScript vs libbpf C (bench/c/maps.c) in the same run — single lookup
// ns/op, whole-map reads (batch vs key-by-key, with a per-element breakdown) and mmap'd array reads.
// Run: node --import tsx bench/maps.ts [--json]

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { BpfMap, TypedMap } from "../src/runtime/map.js";
import { createMap } from "../src/runtime/maps/index.js";
import { mapLookupBatch } from "../src/sys/bpf.js";
import { ensureMemlock } from "../src/sys/system.js";
import { u32, u64 } from "../src/types/index.js";
import type { BenchRow } from "./load.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const ENTRIES = 100_000;
const LOOKUPS = 200_000;
const ROUNDS = 5;

/** One map type's figures from bench/c/maps.c (ms for all ENTRIES elements). */
interface CTypeFigures {
  readonly iterateMs: number;
  readonly nextKeyMs: number;
  readonly batchMs: number;
  readonly batchCalls: number;
  readonly batchChunkMs: number;
  readonly batchChunkCalls: number;
  readonly lookupNs?: number;
  readonly emptyBatchMs?: number;
}

/** What bench/c/maps.c prints. */
interface CFigures {
  readonly entries: number;
  readonly cpus: number;
  readonly types: Readonly<Record<TypeName, CTypeFigures>>;
}

const TYPES = ["hash", "array", "percpu_hash", "percpu_array"] as const;
type TypeName = (typeof TYPES)[number];

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

function expectCount(n: number, what: string): void {
  if (n !== ENTRIES) throw new Error(`bench: ${what} read ${n} entries, expected ${ENTRIES}`);
}

function count(it: Iterable<unknown>, what: string): void {
  let n = 0;
  for (const _ of it) n++;
  expectCount(n, what);
}

/** Whole-map read figures of one map type, ms for ENTRIES elements. */
export interface ReadFigures {
  /** Typed `entries()`: get-next-key + lookup per element, decoded pairs. */
  readonly iterateMs: number;
  /** The same two bpf(2) calls per element through a KeyCursor, nothing decoded. */
  readonly cursorMs: number;
  /** `entriesRaw()`: key/value byte copies. */
  readonly rawIterateMs: number;
  /** Typed `batchEntries()` (4096 per call), decoded pairs. */
  readonly batchMs: number;
  /** Typed `lookupAll()`: whole map, columns. */
  readonly lookupAllMs: number;
  /** `batchesRaw(4096)`: the batch calls, nothing decoded. */
  readonly rawBatchMs: number;
  /** One BPF_MAP_LOOKUP_BATCH call for the whole map into preallocated buffers. */
  readonly syscallBatchMs: number;
}

/** tsbpf figures, measured in this process. */
export interface MapFigures {
  readonly lookupNs: number;
  readonly rawLookupNs: number;
  readonly reads: Readonly<Record<TypeName, ReadFigures>>;
  readonly mmapReadNs: number;
  readonly mmapTypedArrayNs: number;
  readonly plainReadNs: number;
}

/** A map of `type` (u32 → u64) holding ENTRIES elements. */
function filledMap(type: TypeName): TypedMap<number, unknown, number, never> {
  const name = `bench_${type}`;
  const m = type === "hash"
    ? createMap({ type, name, key: u32, value: u64, maxEntries: ENTRIES })
    : type === "percpu_hash"
      ? createMap({ type, name, key: u32, value: u64, maxEntries: ENTRIES })
      : type === "array"
        ? createMap({ type, name, value: u64, maxEntries: ENTRIES })
        : createMap({ type, name, value: u64, maxEntries: ENTRIES });
  const raw = m.map;
  const vs = raw.valueBufferSize;
  const keys = new Uint8Array(ENTRIES * 4);
  const values = new Uint8Array(ENTRIES * vs);
  const kdv = new DataView(keys.buffer);
  const vdv = new DataView(values.buffer);
  for (let i = 0; i < ENTRIES; i++) {
    kdv.setUint32(i * 4, i, true);
    vdv.setBigUint64(i * vs, BigInt(i) * 3n, true);
  }
  raw.updateBatchRaw(keys, values, ENTRIES);
  return m as unknown as TypedMap<number, unknown, number, never>;
}

function measureReads(m: TypedMap<number, unknown, number, never>): ReadFigures {
  const raw: BpfMap = m.map;
  const iterateMs = timeMs(() => count(m.entries(), "entries()"));
  const cursorMs = timeMs(() => {
    const c = raw.cursor();
    let n = 0;
    while (c.next()) if (c.lookup()) n++;
    expectCount(n, "cursor");
  });
  const rawIterateMs = timeMs(() => count(raw.entriesRaw(), "entriesRaw()"));
  const batchMs = timeMs(() => count(m.batchEntries(), "batchEntries()"));
  const lookupAllMs = timeMs(() => expectCount(m.lookupAll().count, "lookupAll()"));
  const rawBatchMs = timeMs(() => {
    let n = 0;
    for (const b of raw.batchesRaw(4096)) n += b.count;
    expectCount(n, "batchesRaw()");
  });
  const keys = new Uint8Array(new ArrayBuffer((ENTRIES + 1) * 4));
  const values = new Uint8Array(new ArrayBuffer((ENTRIES + 1) * raw.valueBufferSize));
  const outBatch = new Uint8Array(8);
  const syscallBatchMs = timeMs(() => {
    const r = mapLookupBatch(raw.fd, { inBatch: null, outBatch, keys, values, count: ENTRIES + 1 });
    expectCount(r.count, "one BPF_MAP_LOOKUP_BATCH");
  });
  return { iterateMs, cursorMs, rawIterateMs, batchMs, lookupAllMs, rawBatchMs, syscallBatchMs };
}

export function measureMaps(): MapFigures {
  ensureMemlock();
  const reads = {} as Record<TypeName, ReadFigures>;
  let lookupNs = 0;
  let rawLookupNs = 0;
  let sink = 0n;
  for (const type of TYPES) {
    using m = filledMap(type);
    if (type === "hash") {
      const h = m as unknown as TypedMap<number, bigint, number, bigint>;
      lookupNs = (timeMs(() => {
        for (let i = 0; i < LOOKUPS; i++) sink += h.get(i % ENTRIES)!;
      }) * 1e6) / LOOKUPS;
      const key = new Uint8Array(4);
      const kdv = new DataView(key.buffer);
      rawLookupNs = (timeMs(() => {
        for (let i = 0; i < LOOKUPS; i++) {
          kdv.setUint32(0, i % ENTRIES, true);
          sink += BigInt(m.map.getRaw(key)![0]!);
        }
      }) * 1e6) / LOOKUPS;
    }
    reads[type] = measureReads(m);
  }

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
  return { lookupNs, rawLookupNs, reads, mmapReadNs, mmapTypedArrayNs, plainReadNs };
}

function measureC(): CFigures {
  const out = execFileSync(buildReference(), [String(ENTRIES), String(LOOKUPS)], { encoding: "utf8" });
  return JSON.parse(out.trim().split("\n").pop()!) as CFigures;
}

function row(name: string, unit: string, tsbpf: number, reference: number, referenceName: string): BenchRow {
  return { name, unit, tsbpf, reference, ratio: tsbpf / reference, referenceName };
}

/** ms for ENTRIES elements → ns per element. */
const perElement = (ms: number) => (ms * 1e6) / ENTRIES;

/** The rows `npm run bench` prints for maps (and the figures behind them). */
export function mapRows(c: CFigures, t: MapFigures): BenchRow[] {
  const k = `${ENTRIES / 1000}k`;
  const h = t.reads.hash;
  const ch = c.types.hash;
  const rows = [
    row("map lookup, hash u32→u64, typed get", "ns/op", t.lookupNs, ch.lookupNs!, "libbpf bpf_map_lookup_elem"),
    row("map lookup, hash u32→u64, getRaw", "ns/op", t.rawLookupNs, ch.lookupNs!, "libbpf bpf_map_lookup_elem"),
    row(`read ${k} hash entries: batchEntries() vs entries(), typed (target <= 0.02x)`, "ms", h.batchMs, h.iterateMs, "tsbpf entries()"),
    row(`read ${k} hash entries: lookupAll() vs entries(), typed (target <= 0.02x)`, "ms", h.lookupAllMs, h.iterateMs, "tsbpf entries()"),
    row(`read ${k} hash entries: batch vs key-by-key, libbpf's own ratio`, "ms", ch.batchMs, ch.iterateMs, "libbpf get_next_key+lookup"),
    row(`read ${k} hash entries: lookupAll() vs libbpf batch`, "ms", h.lookupAllMs, ch.batchMs, "libbpf bpf_map_lookup_batch"),
    row(`read ${k} hash entries: batchEntries() vs libbpf batch`, "ms", h.batchMs, ch.batchMs, "libbpf bpf_map_lookup_batch"),
    row(`read ${k} hash entries: entries() vs libbpf key by key`, "ms", h.iterateMs, ch.iterateMs, "libbpf get_next_key+lookup"),
    row(`read ${k} hash entries: entriesRaw() vs libbpf key by key`, "ms", h.rawIterateMs, ch.iterateMs, "libbpf get_next_key+lookup"),
  ];
  for (const type of ["array", "percpu_hash", "percpu_array"] as const) {
    rows.push(row(`read ${k} ${type} entries: lookupAll() vs entries(), typed`, "ms", t.reads[type].lookupAllMs, t.reads[type].iterateMs, "tsbpf entries()"));
  }
  rows.push(
    row("mmap'd array read, MmapArray.get (u64) (target <= 2x)", "ns/elem", t.mmapReadNs, t.plainReadNs, "plain BigUint64Array"),
    row("mmap'd array read, typedArray() view (u64) (target <= 2x)", "ns/elem", t.mmapTypedArrayNs, t.plainReadNs, "plain BigUint64Array"),
  );
  return rows;
}

/** Where a whole-map read's time goes, ns per element, from the same run (printed by `bench/maps.ts`). */
export function breakdown(c: CFigures, t: MapFigures): string {
  const lines = [
    `per element, ${ENTRIES} u32→u64 entries, ${c.cpus} possible CPUs (ns; C = libbpf in bench/c/maps.c)`,
    "type          | C batch 1 call | C batch 4096/call | C next_key | C next_key+lookup | C ratio | ts 1 batch call | ts lookupAll | ts batchEntries | ts batchesRaw | ts cursor | ts entries() | ts entriesRaw() | ts ratio (lookupAll) | ts ratio (batchEntries)",
  ];
  for (const type of TYPES) {
    const ct = c.types[type];
    const r = t.reads[type];
    const f = (ms: number) => perElement(ms).toFixed(0).padStart(5);
    lines.push(
      `${type.padEnd(13)} | ${f(ct.batchMs)} | ${f(ct.batchChunkMs)} (${ct.batchChunkCalls} calls) | ${f(ct.nextKeyMs)} | ${f(ct.iterateMs)} | ${(ct.iterateMs / ct.batchMs).toFixed(1)}x | ` +
        `${f(r.syscallBatchMs)} | ${f(r.lookupAllMs)} | ${f(r.batchMs)} | ${f(r.rawBatchMs)} | ${f(r.cursorMs)} | ${f(r.iterateMs)} | ${f(r.rawIterateMs)} | ` +
        `${(r.iterateMs / r.lookupAllMs).toFixed(1)}x | ${(r.iterateMs / r.batchMs).toFixed(1)}x`,
    );
  }
  const h = c.types.hash;
  lines.push(`hash: batch read of the empty map (every bucket visited, none copied): ${((h.emptyBatchMs! * 1e6) / ENTRIES).toFixed(1)} ns per entry slot`);
  return lines.join("\n");
}

/** The rows `npm run bench` prints for maps. */
export function benchMaps(): BenchRow[] {
  return mapRows(measureC(), measureMaps());
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (typeof process.geteuid === "function" && process.geteuid() !== 0) {
    console.error("bench/maps.ts: needs root (creates BPF maps); run it with sudo");
    process.exit(1);
  }
  const c = measureC();
  const t = measureMaps();
  if (process.argv.includes("--json")) {
    console.log(JSON.stringify({ tsbpf: t, c }, null, 2));
  } else {
    for (const r of mapRows(c, t)) console.log(`${r.name} | ${r.tsbpf.toFixed(2)} ${r.unit} | ${r.reference.toFixed(2)} ${r.unit} (${r.referenceName}) | ${r.ratio.toFixed(3)}x`);
    console.log("");
    console.log(breakdown(c, t));
  }
}
