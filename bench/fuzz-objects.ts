// Mutation fuzzer for the object reader: corrupts real clang-built corpus objects and checks that
// readCollectionSpec (and, with --load, loadCollection) only ever returns or throws a TsbpfError.
//
// Usage: node --import tsx bench/fuzz-objects.ts [--iterations 100000] [--seed 1] [--from 0]
//          [--mode all|btf] [--budget-ms N] [--load] [--json] [--save-crashes <dir>] [--max-ms 2000]
// Iteration i mutates with a PRNG seeded from (seed, i), so `--from i --iterations 1` replays one case.
// --mode btf corrupts only the .BTF and .BTF.ext sections (the ELF stays intact) and also decodes,
// describes, resolves and sizes every type of a mutant that reads. --budget-ms stops early on time.
// With --load, a mutant whose map the kernel accepts with a huge max_entries can legitimately take
// seconds to create; such cases show up under "slow", not as crashes.

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { TsbpfError } from "../src/errors.js";
import { readCollectionSpec } from "../src/object/reader.js";
import type { CollectionSpec } from "../src/object/spec.js";
import { loadCollection } from "../src/runtime/collection.js";
import { compileC } from "../test/helpers/toolchain.js";
import { fileBytes } from "../test/helpers/loader.js";
import { corpusSource, loadCorpus } from "../test/interop/corpus.js";

/** A small, fast, seedable PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One input object: its name, bytes and where its sections are (for targeted mutations). */
export interface FuzzInput {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly sections: readonly { readonly name: string; readonly header: number; readonly offset: number; readonly size: number }[];
}

/** Section headers of a well-formed ELF64 LE object (inputs are clang's output, so no checks). */
function sectionTable(b: Uint8Array): FuzzInput["sections"] {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const shoff = Number(dv.getBigUint64(0x28, true));
  const shnum = dv.getUint16(0x3c, true);
  const shstr = shoff + dv.getUint16(0x3e, true) * 64;
  const strOff = Number(dv.getBigUint64(shstr + 0x18, true));
  const out = [];
  for (let i = 1; i < shnum; i++) {
    const h = shoff + i * 64;
    const nameStart = strOff + dv.getUint32(h, true);
    const name = new TextDecoder().decode(b.subarray(nameStart, b.indexOf(0, nameStart)));
    const type = dv.getUint32(h + 4, true);
    const size = type === 8 ? 0 : Number(dv.getBigUint64(h + 0x20, true)); // SHT_NOBITS has no bytes
    out.push({ name, header: h, offset: Number(dv.getBigUint64(h + 0x18, true)), size });
  }
  return out;
}

/** Compile every C corpus object (cached by the clang helper) as fuzz inputs. */
export async function corpusInputs(): Promise<FuzzInput[]> {
  const inputs: FuzzInput[] = [];
  for (const [name, obj] of Object.entries(loadCorpus())) {
    const bytes = fileBytes(await compileC(corpusSource(obj)));
    inputs.push({ name, bytes, sections: sectionTable(bytes) });
  }
  return inputs;
}

const INTERESTING32 = [0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, 8, 16, 24, 64];

/** Apply 1-4 random mutations to a copy of `input`; returns the bytes and a description. */
export function mutate(input: FuzzInput, all: readonly FuzzInput[], rnd: () => number): { bytes: Uint8Array; what: string } {
  const ri = (n: number) => Math.floor(rnd() * n);
  let b = input.bytes.slice();
  const what: string[] = [];
  const n = 1 + ri(4);
  for (let m = 0; m < n; m++) {
    const sections = input.sections.filter((s) => s.size > 0);
    const sec = sections[ri(sections.length)];
    const inSection = () => sec.offset + ri(sec.size);
    const put32 = (at: number, v: number) => {
      if (at >= 0 && at + 4 <= b.length) new DataView(b.buffer, b.byteOffset).setUint32(at, v >>> 0, true);
    };
    switch (ri(16)) {
      case 0: { // flip a bit anywhere
        const at = ri(b.length);
        b[at] ^= 1 << ri(8);
        what.push(`flip@${at}`);
        break;
      }
      case 1: case 2: case 3: case 4: { // random byte inside a section
        const at = inSection();
        if (at < b.length) b[at] = ri(256);
        what.push(`byte ${sec.name}@${at}`);
        break;
      }
      case 5: case 6: case 7: case 8: { // interesting 32-bit value inside a section (counts, offsets, sizes, type ids)
        const at = inSection() & ~3;
        put32(at, INTERESTING32[ri(INTERESTING32.length)] ^ (rnd() < 0.2 ? ri(16) : 0));
        what.push(`u32 ${sec.name}@${at}`);
        break;
      }
      case 9: case 10: { // corrupt a section header field (type, flags, offset, size, link, info, align, entsize)
        const field = [4, 8, 0x18, 0x20, 0x28, 0x2c, 0x30, 0x38][ri(8)];
        put32(sec.header + field, rnd() < 0.5 ? INTERESTING32[ri(INTERESTING32.length)] : ri(b.length * 2));
        what.push(`shdr ${sec.name}+${field}`);
        break;
      }
      case 11: { // truncate
        const len = ri(b.length);
        b = b.slice(0, len);
        what.push(`truncate ${len}`);
        break;
      }
      case 12: { // insert random bytes
        const at = ri(b.length);
        const ins = new Uint8Array(1 + ri(32)).map(() => ri(256));
        const nb = new Uint8Array(b.length + ins.length);
        nb.set(b.subarray(0, at));
        nb.set(ins, at);
        nb.set(b.subarray(at), at + ins.length);
        b = nb;
        what.push(`insert ${ins.length}@${at}`);
        break;
      }
      case 13: { // delete a range
        const at = ri(b.length);
        const len = 1 + ri(64);
        b = new Uint8Array([...b.subarray(0, at), ...b.subarray(at + len)]);
        what.push(`delete ${len}@${at}`);
        break;
      }
      default: { // splice a section's bytes from another object
        const other = all[ri(all.length)];
        const donors = other.sections.filter((s) => s.size > 0);
        const donor = donors[ri(donors.length)];
        const len = Math.min(donor.size, sec.size);
        if (sec.offset + len <= b.length) b.set(other.bytes.subarray(donor.offset, donor.offset + len), sec.offset);
        what.push(`splice ${other.name}:${donor.name}->${sec.name}`);
      }
    }
  }
  return { bytes: b, what: `${input.name}: ${what.join(", ")}` };
}

/** Header fields (offset, size 4) of .BTF (hdr_len, type_off, type_len, str_off, str_len) and .BTF.ext. */
const BTF_HEADER_FIELDS = [4, 8, 12, 16, 20];
const BTF_EXT_HEADER_FIELDS = [4, 8, 12, 16, 20, 24, 28];

/**
 * Like {@link mutate}, but only inside the `.BTF` and `.BTF.ext` sections and without moving or
 * resizing anything else (the ELF stays well-formed): bit flips, random bytes, interesting 32-bit
 * values, and header lengths/offsets set off by a little, truncated or blown up.
 */
export function mutateBtf(input: FuzzInput, rnd: () => number): { bytes: Uint8Array; what: string } {
  const ri = (n: number) => Math.floor(rnd() * n);
  const b = input.bytes.slice();
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const targets = input.sections.filter((s) => (s.name === ".BTF" || s.name === ".BTF.ext") && s.size >= 8);
  const what: string[] = [];
  if (targets.length === 0) return { bytes: b, what: `${input.name}: no BTF` };
  const n = 1 + ri(4);
  for (let m = 0; m < n; m++) {
    const sec = targets[ri(targets.length)];
    const at = sec.offset + ri(sec.size);
    const word = (sec.offset + ((ri(sec.size) >> 2) << 2));
    switch (ri(8)) {
      case 0: b[at] ^= 1 << ri(8); what.push(`flip ${sec.name}+${at - sec.offset}`); break;
      case 1: b[at] = ri(256); what.push(`byte ${sec.name}+${at - sec.offset}`); break;
      case 2: case 3: { // a type record / string / ext record field
        if (word + 4 <= sec.offset + sec.size) dv.setUint32(word, INTERESTING32[ri(INTERESTING32.length)] ^ (rnd() < 0.3 ? ri(16) : 0), true);
        what.push(`u32 ${sec.name}+${word - sec.offset}`);
        break;
      }
      default: { // a header length or offset: nudged, truncated, doubled or set to an interesting value
        const fields = sec.name === ".BTF" ? BTF_HEADER_FIELDS : BTF_EXT_HEADER_FIELDS;
        const f = fields[ri(fields.length)];
        if (f + 4 > sec.size) break;
        const old = dv.getUint32(sec.offset + f, true);
        const how = ri(4);
        const v = how === 0 ? old + ri(9) - 4 : how === 1 ? Math.floor(old * rnd()) : how === 2 ? old * 2 + ri(8) : INTERESTING32[ri(INTERESTING32.length)];
        dv.setUint32(sec.offset + f, v >>> 0, true);
        what.push(`hdr ${sec.name}+${f} ${old}->${v >>> 0}`);
      }
    }
  }
  return { bytes: b, what: `${input.name}: ${what.join(", ")}` };
}

/**
 * What a loader does with a spec's BTF beyond reading it: decode and check every type, describe,
 * resolve and size each one. Typed errors are outcomes, as for reading.
 */
export function exerciseBtf(spec: CollectionSpec): void {
  const btf = spec.btf;
  if (!btf) return;
  btf.validate();
  for (let id = 1; id < btf.typeCount; id++) {
    btf.toString(id);
    btf.resolve(id);
    try {
      btf.sizeof(id);
    } catch (e) {
      if (!(e instanceof TsbpfError)) throw e;
    }
  }
}

/** Which mutator a run uses: anywhere in the object, or only inside its BTF sections. */
export type FuzzMode = "all" | "btf";

/** What one fuzz case did. */
export type Outcome =
  | { kind: "ok"; spec: CollectionSpec }
  | { kind: "error"; key: string }
  | { kind: "crash"; error: unknown };

/** Run `fn`; a TsbpfError is an expected outcome, anything else a crash. */
function classify<T>(fn: () => T): { value?: T; outcome?: Outcome } {
  try {
    return { value: fn() };
  } catch (e) {
    if (e instanceof TsbpfError) return { outcome: { kind: "error", key: `${e.constructor.name}:${e.code}` } };
    return { outcome: { kind: "crash", error: e } };
  }
}

/** Fuzz case `i` of `seed`: mutate, read, optionally load. */
export function fuzzCase(inputs: readonly FuzzInput[], seed: number, i: number, load: boolean, mode: FuzzMode = "all"): { outcome: Outcome; what: string; bytes: Uint8Array; ms: number } {
  const rnd = prng((seed * 0x9e3779b1) ^ (i * 0x85ebca6b) ^ 0x5bd1e995);
  const input = inputs[Math.floor(rnd() * inputs.length)];
  const { bytes, what } = mode === "btf" ? mutateBtf(input, rnd) : mutate(input, inputs, rnd);
  const t0 = performance.now();
  const read = classify(() => readCollectionSpec(bytes, { name: input.name }));
  let outcome: Outcome = read.outcome ?? { kind: "ok", spec: read.value! };
  if (mode === "btf" && outcome.kind === "ok") {
    const spec = outcome.spec;
    const walked = classify(() => exerciseBtf(spec));
    if (walked.outcome) outcome = walked.outcome.kind === "crash" ? walked.outcome : { kind: "error", key: `btf ${(walked.outcome as { key: string }).key}` };
  }
  if (load && outcome.kind === "ok") {
    const spec = outcome.spec;
    const loaded = classify(() => loadCollection(spec).close());
    if (loaded.outcome) outcome = loaded.outcome.kind === "crash" ? loaded.outcome : { kind: "error", key: `load ${(loaded.outcome as { key: string }).key}` };
  }
  return { outcome, what, bytes, ms: performance.now() - t0 };
}

/** Summary of a fuzz run, as printed with --json. */
export interface FuzzReport {
  mode: FuzzMode;
  seed: number;
  from: number;
  iterations: number;
  ok: number;
  errors: Record<string, number>;
  crashes: { iteration: number; what: string; error: string }[];
  slow: { iteration: number; what: string; ms: number }[];
  maxMs: number;
  totalMs: number;
}

/** Options of {@link fuzz}. */
export interface FuzzOptions {
  seed: number;
  from: number;
  iterations: number;
  load: boolean;
  maxMs: number;
  mode?: FuzzMode;
  /** Stop after this many milliseconds even if fewer cases ran (`iterations` in the report says how many did). */
  budgetMs?: number;
  saveCrashes?: string;
}

/** Run up to `iterations` cases starting at `from` (fewer when the time budget runs out). */
export function fuzz(inputs: readonly FuzzInput[], opts: FuzzOptions): FuzzReport {
  const mode = opts.mode ?? "all";
  const report: FuzzReport = { mode, seed: opts.seed, from: opts.from, iterations: 0, ok: 0, errors: {}, crashes: [], slow: [], maxMs: 0, totalMs: 0 };
  const start = performance.now();
  for (let i = opts.from; i < opts.from + opts.iterations; i++) {
    if (opts.budgetMs !== undefined && i > opts.from && performance.now() - start > opts.budgetMs) break;
    report.iterations++;
    const r = fuzzCase(inputs, opts.seed, i, opts.load, mode);
    report.maxMs = Math.max(report.maxMs, r.ms);
    if (r.ms > opts.maxMs) report.slow.push({ iteration: i, what: r.what, ms: Math.round(r.ms) });
    if (r.outcome.kind === "ok") report.ok++;
    else if (r.outcome.kind === "error") report.errors[r.outcome.key] = (report.errors[r.outcome.key] ?? 0) + 1;
    else {
      const e = r.outcome.error as Error;
      report.crashes.push({ iteration: i, what: r.what, error: `${e?.constructor?.name}: ${e?.message}\n${e?.stack ?? ""}` });
      if (opts.saveCrashes) {
        mkdirSync(opts.saveCrashes, { recursive: true });
        writeFileSync(join(opts.saveCrashes, `crash-${opts.seed}-${i}.o`), r.bytes);
      }
    }
  }
  report.totalMs = Math.round(performance.now() - start);
  report.maxMs = Math.round(report.maxMs * 10) / 10;
  return report;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? undefined : process.argv[i + 1];
}

async function main(): Promise<void> {
  const opts = {
    iterations: Number(arg("iterations") ?? 100_000),
    seed: Number(arg("seed") ?? 1),
    from: Number(arg("from") ?? 0),
    load: process.argv.includes("--load"),
    maxMs: Number(arg("max-ms") ?? 2000),
    saveCrashes: arg("save-crashes"),
    mode: (arg("mode") ?? "all") as FuzzMode,
    ...(arg("budget-ms") ? { budgetMs: Number(arg("budget-ms")) } : {}),
  };
  if (opts.mode !== "all" && opts.mode !== "btf") throw new Error(`--mode must be all or btf, not ${opts.mode}`);
  const inputs = await corpusInputs();
  const report = fuzz(inputs, opts);
  if (process.argv.includes("--json")) {
    process.stdout.write(JSON.stringify(report) + "\n");
  } else {
    const rate = Math.round((report.iterations / report.totalMs) * 1000);
    console.log(`fuzz-objects: ${report.iterations} cases (mode ${report.mode}, seed ${report.seed}, from ${report.from}${opts.load ? ", with load" : ""}) over ${inputs.length} corpus objects in ${report.totalMs} ms (${rate}/s), slowest ${report.maxMs} ms`);
    console.log(`  accepted: ${report.ok}`);
    for (const [key, count] of Object.entries(report.errors).sort((a, b) => b[1] - a[1])) console.log(`  ${key.padEnd(44)} ${count}`);
    console.log(`  crashes (not a TsbpfError): ${report.crashes.length}`);
    for (const c of report.crashes.slice(0, 20)) console.log(`    #${c.iteration} (replay: --mode ${report.mode} --seed ${report.seed} --from ${c.iteration} --iterations 1) ${c.what}\n      ${c.error.split("\n").slice(0, 3).join("\n      ")}`);
    if (report.slow.length) console.log(`  slow cases (> ${opts.maxMs} ms): ${report.slow.map((s) => `#${s.iteration} ${s.ms} ms`).join(", ")}`);
  }
  process.exitCode = report.crashes.length || report.slow.length ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main();
