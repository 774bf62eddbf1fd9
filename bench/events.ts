// Benchmark: events/s through a ring buffer and a perf buffer, tsbpf's reader vs libbpf's (bench/c/events-ref.c),
// same BPF object, same producer (bench/c/events-producer.c), consumer on the producer's CPU or another one.
// Run: node --import tsx bench/events.ts [--json] [filter]   (filter: substring of a case id, e.g. "rb16")

import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { readCollectionSpec } from "../src/object/reader.js";
import { loadCollection } from "../src/runtime/collection.js";
import { ensureBpffs, onlineCpus } from "../src/sys/system.js";
import type { BenchRow } from "./load.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const cacheDir = join(root, ".cache", "bench");

/** One measured configuration. */
export interface EventCase {
  readonly id: string;
  /** "rb": ring buffer map `rb`; "pb": perf event array `pb`. */
  readonly kind: "rb" | "pb";
  readonly size: 16 | 256;
  /** Consumer CPU relative to the producer's (CPU 0): same CPU, or CPU 1. */
  readonly placement: "same" | "cross";
  /** tsbpf consumption form: listenAt callbacks, or for-await over layout-decoded records. */
  readonly form: "callback" | "iterate";
  /** Records produced per run. */
  readonly total: number;
  readonly describe: string;
}

export const EVENT_CASES: readonly EventCase[] = [
  { id: "rb16-cross", kind: "rb", size: 16, placement: "cross", form: "callback", total: 4_000_000, describe: "ring buffer, 16 B records, consumer on another CPU" },
  { id: "rb16-same", kind: "rb", size: 16, placement: "same", form: "callback", total: 4_000_000, describe: "ring buffer, 16 B records, consumer on the producer's CPU" },
  { id: "rb256-cross", kind: "rb", size: 256, placement: "cross", form: "callback", total: 2_000_000, describe: "ring buffer, 256 B records, consumer on another CPU" },
  { id: "rb256-same", kind: "rb", size: 256, placement: "same", form: "callback", total: 2_000_000, describe: "ring buffer, 256 B records, consumer on the producer's CPU" },
  { id: "rb16-cross-iterate", kind: "rb", size: 16, placement: "cross", form: "iterate", total: 4_000_000, describe: "ring buffer, 16 B records decoded by layout in for-await, consumer on another CPU" },
  { id: "pb16-cross", kind: "pb", size: 16, placement: "cross", form: "callback", total: 200_000, describe: "perf buffer, 16 B samples, consumer on another CPU" },
  { id: "pb256-cross", kind: "pb", size: 256, placement: "cross", form: "callback", total: 200_000, describe: "perf buffer, 256 B samples, consumer on another CPU" },
  { id: "pb16-same", kind: "pb", size: 16, placement: "same", form: "callback", total: 200_000, describe: "perf buffer, 16 B samples, consumer on the producer's CPU" },
];

const ROUNDS = 3;
/** Records per ring-buffer test run (one bpf_loop), XDP repeats (32 samples each) per perf test run. */
const RB_BATCH = 100_000;
const PB_REPEAT = 1_000;
const PERF_PAGES = 256;

/** What a consumer prints at the end. */
interface ConsumerResult {
  readonly events: number;
  readonly seconds: number;
  readonly lost: number;
}

/** One side's figures for a case. */
export interface EventStats {
  /** Median events/s over the rounds. */
  readonly rate: number;
  readonly rates: number[];
  /** Records received / produced, per round. */
  readonly received: number[];
  readonly lost: number[];
}

function hashBuild(src: string, name: string, libs: string[]): string {
  mkdirSync(cacheDir, { recursive: true });
  const srcPath = join(root, src);
  const hash = createHash("sha256").update(readFileSync(srcPath)).digest("hex").slice(0, 12);
  const exe = join(cacheDir, `${name}-${hash}`);
  if (!existsSync(exe)) execFileSync("gcc", ["-O2", "-o", exe, srcPath, ...libs], { stdio: ["ignore", "ignore", "inherit"] });
  return exe;
}

function buildObject(): string {
  mkdirSync(cacheDir, { recursive: true });
  const src = join(root, "bench/c/events.bpf.c");
  const out = join(cacheDir, "events.bpf.o");
  if (!existsSync(out) || statSync(src).mtimeMs > statSync(out).mtimeMs) {
    execFileSync("bash", [join(root, "scripts/build-bpf.sh"), src, out], { stdio: ["ignore", "ignore", "inherit"] });
  }
  return out;
}

/** Start a consumer pinned to `cpu`, wait for "ready", run the producer pinned to CPU 0, return the consumer's result. */
async function round(consumer: string[], cpu: number, producer: string[]): Promise<ConsumerResult> {
  const child = spawn("taskset", ["-c", String(cpu), ...consumer], { stdio: ["ignore", "pipe", "inherit"], cwd: root });
  let out = "";
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (d: string) => {
      out += d;
      if (out.includes("ready\n")) resolve();
    });
    child.on("exit", (code) => reject(new Error(`consumer ${consumer[0]} exited with ${code} before it was ready: ${out}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
  await ready;
  await new Promise((r) => setTimeout(r, 100)); // let the consumer reach its poll
  try {
    execFileSync("taskset", ["-c", "0", ...producer], { stdio: ["ignore", "ignore", "inherit"] });
  } catch (e) {
    child.kill("SIGKILL");
    throw e;
  }
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const code = await exited;
  clearTimeout(timer);
  if (code !== 0) throw new Error(`consumer ${consumer.join(" ")} exited with ${code}: ${out}`);
  const line = out.split("\n").find((l) => l.startsWith("{"));
  if (!line) throw new Error(`consumer printed no result: ${out}`);
  return JSON.parse(line) as ConsumerResult;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Measure every case (or those whose id contains `filter`); interleaves libbpf and tsbpf rounds. */
export async function measureEvents(filter?: string): Promise<{ c: EventCase; tsbpf: EventStats; ref: EventStats }[]> {
  if (onlineCpus().length < 2) throw new Error("bench events: needs two online CPUs");
  const object = buildObject();
  const producer = hashBuild("bench/c/events-producer.c", "events-producer", ["-lbpf"]);
  const ref = hashBuild("bench/c/events-ref.c", "events-ref", ["-lbpf", "-lelf", "-lz"]);
  const coll = loadCollection(readCollectionSpec(new Uint8Array(readFileSync(object)), { name: "events" }));
  const dir = join(ensureBpffs(), `tsbpf-bench-events-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const out: { c: EventCase; tsbpf: EventStats; ref: EventStats }[] = [];
  try {
    for (const name of coll.programs.keys()) coll.program(name).pin(join(dir, name));
    coll.map("rb").pin(join(dir, "rb"));
    coll.map("pb").pin(join(dir, "pb"));
    for (const c of EVENT_CASES) {
      if (filter && !c.id.includes(filter)) continue;
      const prog = `${c.kind}${c.size}`;
      const prod = [producer, c.kind === "rb" ? "loop" : "xdp", join(dir, prog), join(dir, `${prog}_end`), String(c.total), String(c.kind === "rb" ? RB_BATCH : PB_REPEAT)];
      const mapPin = join(dir, c.kind);
      const cpu = c.placement === "same" ? 0 : 1;
      const refCmd = [ref, c.kind, mapPin, String(PERF_PAGES)];
      const tsCmd = [process.execPath, "--import", "tsx", join(root, "bench/events-consumer.ts"), c.kind, mapPin, String(PERF_PAGES), c.form];
      const sides = { ts: [] as ConsumerResult[], ref: [] as ConsumerResult[] };
      for (let i = 0; i < ROUNDS; i++) {
        sides.ref.push(await round(refCmd, cpu, prod));
        sides.ts.push(await round(tsCmd, cpu, prod));
      }
      const stats = (rs: ConsumerResult[]): EventStats => {
        const rates = rs.map((r) => r.events / r.seconds);
        return { rate: median(rates), rates, received: rs.map((r) => r.events / c.total), lost: rs.map((r) => r.lost) };
      };
      out.push({ c, tsbpf: stats(sides.ts), ref: stats(sides.ref) });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    coll.close();
  }
  return out;
}

/** Rows for bench/run.ts: millions of events/s, higher is better; ratio = tsbpf / libbpf. */
export async function benchEvents(filter?: string): Promise<BenchRow[]> {
  const results = await measureEvents(filter);
  return results.map(({ c, tsbpf, ref }) => ({
    name: `${c.describe} (M events/s, higher is better)`,
    unit: "M/s",
    tsbpf: tsbpf.rate / 1e6,
    reference: ref.rate / 1e6,
    ratio: tsbpf.rate / ref.rate,
    referenceName: c.kind === "rb" ? "libbpf ring_buffer__poll" : "libbpf perf_buffer__poll",
  }));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const json = process.argv.includes("--json");
  const filter = process.argv.slice(2).find((a) => !a.startsWith("--"));
  const results = await measureEvents(filter);
  if (json) {
    console.log(JSON.stringify(results, null, 2));
  } else {
    for (const { c, tsbpf, ref } of results) {
      const pct = (xs: number[]) => xs.map((x) => `${(x * 100).toFixed(0)}%`).join("/");
      console.log(
        `${c.id.padEnd(20)} tsbpf ${(tsbpf.rate / 1e6).toFixed(2)} M/s  libbpf ${(ref.rate / 1e6).toFixed(2)} M/s  ratio ${(tsbpf.rate / ref.rate).toFixed(2)}x` +
          `  received tsbpf ${pct(tsbpf.received)} libbpf ${pct(ref.received)}` +
          (c.kind === "pb" ? `  lost tsbpf ${tsbpf.lost.join("/")} libbpf ${ref.lost.join("/")}` : ""),
      );
    }
  }
}
