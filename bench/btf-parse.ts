// Benchmark: parse /sys/kernel/btf/vmlinux with tsbpf's lazy Btf vs libbpf's btf__parse (C, compiled at bench time).
// Run: node --import tsx bench/btf-parse.ts — prints `name | tsbpf | reference | ratio` rows; benchBtfParse() returns them.

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Btf } from "../src/btf/btf.js";
import { VMLINUX_BTF_PATH } from "../src/btf/kernel.js";

/** One benchmark result row: lower is better for every figure here. */
export interface BenchRow {
  readonly name: string;
  readonly unit: string;
  readonly tsbpf: number;
  readonly reference: number;
  /** tsbpf / reference (below 1 means tsbpf is faster or smaller). */
  readonly ratio: number;
  /** What the reference is. */
  readonly referenceName: string;
}

const ITERATIONS = 30;
const root = new URL("..", import.meta.url).pathname;

// libbpf reference: times btf__parse (file read + eager parse) and btf__find_by_name_kind; mallinfo2 for memory.
const REF_C = `
#include <bpf/btf.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double now_ms(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }
static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return x < y ? -1 : x > y; }
int main(int argc, char **argv) {
  const char *path = argv[1];
  int n = atoi(argv[2]);
  double *parse = calloc(n, sizeof(double)), *find = calloc(n, sizeof(double));
  long long mem = 0;
  for (int i = 0; i < n; i++) {
    struct mallinfo2 a = mallinfo2();
    double t0 = now_ms();
    struct btf *btf = btf__parse(path, NULL);
    double t1 = now_ms();
    if (!btf) { perror("btf__parse"); return 1; }
    int id = btf__find_by_name_kind(btf, "task_struct", BTF_KIND_STRUCT);
    double t2 = now_ms();
    if (id <= 0) { fprintf(stderr, "task_struct not found\\n"); return 1; }
    struct mallinfo2 b = mallinfo2();
    if (i == 0) mem = (long long)(b.uordblks + b.hblkhd) - (long long)(a.uordblks + a.hblkhd);
    parse[i] = t1 - t0;
    find[i] = t2 - t0;
    btf__free(btf);
  }
  double first = parse[0], firstFind = find[0];
  qsort(parse, n, sizeof(double), cmp);
  qsort(find, n, sizeof(double), cmp);
  printf("{\\"first\\":%.4f,\\"median\\":%.4f,\\"firstFind\\":%.4f,\\"medianFind\\":%.4f,\\"memory\\":%lld}\\n",
         first, parse[n / 2], firstFind, find[n / 2], mem);
  return 0;
}
`;

interface RefResult { first: number; median: number; firstFind: number; medianFind: number; memory: number }

function libbpfReference(path: string, iterations: number): RefResult {
  const dir = join(root, ".cache", "bench");
  mkdirSync(dir, { recursive: true });
  const hash = createHash("sha256").update(REF_C).digest("hex").slice(0, 12);
  const exe = join(dir, `btf-parse-ref-${hash}`);
  if (!existsSync(exe)) {
    const src = `${exe}.c`;
    writeFileSync(src, REF_C);
    execFileSync("gcc", ["-O2", "-o", exe, src, "-lbpf"], { stdio: ["ignore", "ignore", "inherit"] });
  }
  return JSON.parse(execFileSync(exe, [path, String(iterations)], { encoding: "utf8" })) as RefResult;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Heap + ArrayBuffer bytes one parsed Btf keeps beyond its input, measured in a fresh node process. */
function retainedBytes(path: string): number {
  const btfModule = pathToFileURL(join(root, "src", "btf", "btf.ts")).href;
  const script = `
    import { readFileSync } from "node:fs";
    import { Btf } from ${JSON.stringify(btfModule)};
    const used = () => { const m = process.memoryUsage(); return m.heapUsed + m.arrayBuffers; };
    const settle = async () => { for (let i = 0; i < 4; i++) { gc(); await new Promise((r) => setTimeout(r, 10)); } };
    const bytes = readFileSync(${JSON.stringify(path)});
    Btf.parse(bytes); // load and compile the code first
    await settle();
    const before = used();
    const btf = Btf.parse(bytes);
    await settle();
    console.log(JSON.stringify({ extra: used() - before, types: btf.typeCount }));
  `;
  const out = execFileSync(process.execPath, ["--expose-gc", "--import", "tsx", "--input-type=module", "-e", script], { cwd: root, encoding: "utf8" });
  return (JSON.parse(out.trim().split("\n").pop()!) as { extra: number }).extra;
}

/**
 * Parse vmlinux BTF repeatedly with tsbpf and with libbpf and return the comparison rows:
 * read+parse time (first call and warm median), read+parse+find("task_struct") time, and memory
 * retained beyond the raw BTF bytes.
 */
export function benchBtfParse(path: string = VMLINUX_BTF_PATH, iterations: number = ITERATIONS): BenchRow[] {
  const fileSize = statSync(path).size;
  const parse: number[] = [];
  const parseFind: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    const btf = Btf.parse(readFileSync(path));
    const t1 = performance.now();
    if (btf.find("task_struct", "struct").length !== 1) throw new Error("bench: task_struct not found");
    const t2 = performance.now();
    parse.push(t1 - t0);
    parseFind.push(t2 - t0);
  }
  // Parse alone on bytes already in memory (the figure cilium/ebpf's 7.7 ms target is about).
  const bytes = readFileSync(path);
  const inMemory: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    Btf.parse(bytes);
    inMemory.push(performance.now() - t0);
  }
  const parseOnly = median(inMemory);

  // Memory retained by one parsed Btf beyond the raw bytes it keeps, measured in a fresh process.
  const extra = retainedBytes(path);

  const ref = libbpfReference(path, iterations);
  const MiB = 1024 * 1024;
  const row = (name: string, unit: string, tsbpf: number, reference: number, referenceName: string): BenchRow =>
    ({ name, unit, tsbpf, reference, ratio: tsbpf / reference, referenceName });
  return [
    row("btf: read+parse vmlinux, first call", "ms", parse[0], ref.first, "libbpf btf__parse"),
    row("btf: read+parse vmlinux, median", "ms", median(parse), ref.median, "libbpf btf__parse"),
    row("btf: parse vmlinux bytes in memory, median", "ms", parseOnly, 7.7, "cilium/ebpf target figure"),
    row("btf: read+parse+find task_struct, first call", "ms", parseFind[0], ref.firstFind, "libbpf btf__parse+btf__find_by_name_kind"),
    row("btf: read+parse+find task_struct, median", "ms", median(parseFind), ref.medianFind, "libbpf btf__parse+btf__find_by_name_kind"),
    row("btf: memory retained beyond the raw bytes", "MiB", extra / MiB, Math.max(ref.memory - fileSize, 1) / MiB, "libbpf malloc delta minus file size"),
    row("btf: memory retained beyond the raw bytes vs target", "MiB", extra / MiB, 1.25, "cilium/ebpf target figure"),
  ];
}

/** Format rows as `name | tsbpf | reference | ratio` lines. */
export function formatRows(rows: readonly BenchRow[]): string {
  const f = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
  return rows.map((r) => `${r.name} | ${f(r.tsbpf)} ${r.unit} | ${f(r.reference)} ${r.unit} (${r.referenceName}) | ${r.ratio.toFixed(2)}`).join("\n");
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log("name | tsbpf | reference | ratio");
  console.log(formatRows(benchBtfParse()));
}
