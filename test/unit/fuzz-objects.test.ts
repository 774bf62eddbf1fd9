// Bounded mutation fuzzing of readCollectionSpec over the clang-built C corpus: every mutated object
// is either read or rejected with a TsbpfError, quickly; the run happens in a child process so a hang fails.
// Two mutators: anywhere in the object, and only inside .BTF/.BTF.ext (the ELF intact, every type of a
// readable mutant then decoded, described, resolved and sized). Seed, case count and time budget come
// from TSBPF_FUZZ_SEED / TSBPF_FUZZ_ITERATIONS / TSBPF_FUZZ_BUDGET_MS (test/helpers/fuzz.ts).

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { TsbpfError } from "../../src/errors.js";
import { readCollectionSpec } from "../../src/object/reader.js";
import { corpusInputs, exerciseBtf, fuzz, fuzzCase, mutate, mutateBtf, prng, type FuzzReport } from "../../bench/fuzz-objects.js";
import { REPO_ROOT } from "../helpers/toolchain.js";
import { announceSeed, fuzzSettings } from "../helpers/fuzz.js";

const SETTINGS = fuzzSettings({ seed: 20250, iterations: 2000, budgetMs: 20_000 });
const SEED = SETTINGS.seed;
const ITERATIONS = SETTINGS.iterations;
/** Replays one case of a run. */
const replay = (mode: string, seed: number, i: number | string) => `node --import tsx bench/fuzz-objects.ts --mode ${mode} --seed ${seed} --from ${i} --iterations 1`;

/** Run bench/fuzz-objects.ts in a child process, killed after `timeoutMs` (a hang fails the test). */
function fuzzInChild(args: string[], timeoutMs: number): Promise<FuzzReport> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["--import", "tsx", join(REPO_ROOT, "bench", "fuzz-objects.ts"), "--json", ...args],
      { cwd: REPO_ROOT, timeout: timeoutMs, killSignal: "SIGKILL", maxBuffer: 64 << 20, encoding: "utf8" },
      (err, stdout, stderr) => {
        const line = stdout.trim().split("\n").pop() ?? "";
        if (err && !line.startsWith("{")) return reject(new Error(`fuzzer failed or hung (${err.message}): ${stderr}`));
        resolve(JSON.parse(line) as FuzzReport);
      },
    );
  });
}

/** Runs one budgeted fuzz run in a child and checks the outcomes every run must have. */
async function budgetedRun(t: { diagnostic(message: string): void }, mode: "all" | "btf"): Promise<FuzzReport> {
  announceSeed(t, `fuzz-objects --mode ${mode}`, SETTINGS, replay(mode, SEED, "<case>"));
  const args = ["--mode", mode, "--iterations", String(ITERATIONS), "--seed", String(SEED), "--max-ms", "1000", "--budget-ms", String(SETTINGS.budgetMs)];
  const report = await fuzzInChild(args, SETTINGS.budgetMs + 60_000);
  const crashes = report.crashes.map((c) => `#${c.iteration} ${c.what} (replay: ${replay(mode, SEED, c.iteration)})\n${c.error}`).join("\n\n");
  assert.equal(report.crashes.length, 0, `crashes:\n${crashes}`);
  assert.deepEqual(report.slow, [], "no case takes more than a second");
  const rejected = Object.values(report.errors).reduce((a, b) => a + b, 0);
  assert.equal(report.ok + rejected, report.iterations, "every case accounted for");
  t.diagnostic(`${report.iterations} cases in ${report.totalMs} ms: ${report.ok} read, ${rejected} rejected`);
  return report;
}

test("mutated corpus objects: each is read or rejected with a TsbpfError, none hangs", { timeout: SETTINGS.budgetMs + 90_000 }, async (t) => {
  const report = await budgetedRun(t, "all");
  if (report.iterations < 1000) return; // a budget this small says nothing about coverage
  // The mutations reach past the ELF header: errors come from every layer.
  const keys = Object.keys(report.errors);
  for (const layer of ["ElfError:", "BtfError:", "ObjectError:"]) {
    assert.ok(keys.some((k) => k.startsWith(layer)), `some ${layer} codes in ${keys.join(", ")}`);
  }
  assert.ok(keys.length >= 10, `at least 10 distinct error codes, got ${keys.length}`);
  assert.ok(report.ok > report.iterations / 20, `some mutants are still readable (${report.ok})`);
});

test("objects with corrupted .BTF/.BTF.ext only: each is read (and its types walk) or rejected with a TsbpfError", { timeout: SETTINGS.budgetMs + 90_000 }, async (t) => {
  const report = await budgetedRun(t, "btf");
  if (report.iterations < 1000) return;
  const keys = Object.keys(report.errors);
  // Only the BTF layer (and what reads through it: maps, relocations) rejects: the ELF is intact.
  assert.ok(!keys.some((k) => k.startsWith("ElfError:")), `no ELF errors: ${keys.join(", ")}`);
  for (const code of ["BTF_TRUNCATED", "BTF_BAD_HEADER", "BTF_BAD_STRING", "BTF_BAD_TYPE", "BTF_BAD_EXT"]) {
    assert.ok(keys.includes(`BtfError:${code}`), `${code} among ${keys.join(", ")}`);
  }
  assert.ok(report.ok > report.iterations / 50, `some mutants are still readable (${report.ok})`);
});

test("the BTF mutator changes only bytes inside .BTF and .BTF.ext", async () => {
  const inputs = await corpusInputs();
  const rnd = prng(SEED);
  for (let i = 0; i < 200; i++) {
    const input = inputs[i % inputs.length];
    const { bytes } = mutateBtf(input, rnd);
    assert.equal(bytes.length, input.bytes.length);
    const inside = (at: number) => input.sections.some((s) => (s.name === ".BTF" || s.name === ".BTF.ext") && at >= s.offset && at < s.offset + s.size);
    for (let at = 0; at < bytes.length; at++) if (bytes[at] !== input.bytes[at]) assert.ok(inside(at), `${input.name}: byte ${at} changed outside BTF`);
    // The unmutated objects' BTF walks cleanly.
    if (i < inputs.length) exerciseBtf(readCollectionSpec(input.bytes));
  }
});

test("cases are reproducible from (seed, iteration)", async () => {
  const inputs = await corpusInputs();
  for (const i of [0, 17, 1234]) {
    const a = fuzzCase(inputs, SEED, i, false, i % 2 ? "btf" : "all");
    const b = fuzzCase(inputs, SEED, i, false, i % 2 ? "btf" : "all");
    assert.equal(a.what, b.what);
    assert.deepEqual(a.bytes, b.bytes);
    assert.equal(a.outcome.kind, b.outcome.kind);
  }
  const r = fuzz(inputs, { seed: SEED, from: 100, iterations: 50, load: false, maxMs: 1000 });
  assert.equal(r.crashes.length, 0);
  assert.equal(r.ok + Object.values(r.errors).reduce((x, y) => x + y, 0), 50);
});

test("in-process: error classes are the typed ones (no plain Error, TypeError or RangeError)", async () => {
  const inputs = await corpusInputs();
  const rnd = prng(99);
  for (let i = 0; i < 300; i++) {
    const { bytes, what } = mutate(inputs[i % inputs.length], inputs, rnd);
    try {
      readCollectionSpec(bytes);
    } catch (e) {
      assert.ok(e instanceof TsbpfError, `${what}: ${(e as Error)?.stack}`);
      assert.ok(["ElfError", "BtfError", "ObjectError", "CoreError", "AsmError"].includes(e.constructor.name), `${what}: ${e.constructor.name}`);
      assert.match(e.code, /^[A-Z][A-Z0-9_]+$/);
    }
  }
});
