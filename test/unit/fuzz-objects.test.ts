// Bounded mutation fuzzing of readCollectionSpec over the clang-built C corpus: every mutated object
// is either read or rejected with a TsbpfError, quickly; the run happens in a child process so a hang fails.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { TsbpfError } from "../../src/errors.js";
import { readCollectionSpec } from "../../src/object/reader.js";
import { corpusInputs, fuzz, fuzzCase, mutate, prng, type FuzzReport } from "../../bench/fuzz-objects.js";
import { REPO_ROOT } from "../helpers/clang.js";

const ITERATIONS = 2000;
const SEED = 20250;

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

test(`${ITERATIONS} mutated corpus objects: each is read or rejected with a TsbpfError, none hangs`, { timeout: 60_000 }, async () => {
  const report = await fuzzInChild(["--iterations", String(ITERATIONS), "--seed", String(SEED), "--max-ms", "1000"], 45_000);
  const crashes = report.crashes.map((c) => `#${c.iteration} ${c.what}\n${c.error}`).join("\n\n");
  assert.equal(report.crashes.length, 0, `crashes (replay with --seed ${SEED} --from <n> --iterations 1):\n${crashes}`);
  assert.deepEqual(report.slow, [], "no case takes more than a second");
  const rejected = Object.values(report.errors).reduce((a, b) => a + b, 0);
  assert.equal(report.ok + rejected, ITERATIONS, "every case accounted for");
  // The mutations reach past the ELF header: errors come from every layer.
  const keys = Object.keys(report.errors);
  for (const layer of ["ElfError:", "BtfError:", "ObjectError:"]) {
    assert.ok(keys.some((k) => k.startsWith(layer)), `some ${layer} codes in ${keys.join(", ")}`);
  }
  assert.ok(keys.length >= 10, `at least 10 distinct error codes, got ${keys.length}`);
  assert.ok(report.ok > ITERATIONS / 20, `some mutants are still readable (${report.ok})`);
  assert.ok(report.totalMs < 20_000, `under 20 s (${report.totalMs} ms)`);
});

test("cases are reproducible from (seed, iteration)", async () => {
  const inputs = await corpusInputs();
  for (const i of [0, 17, 1234]) {
    const a = fuzzCase(inputs, SEED, i, false);
    const b = fuzzCase(inputs, SEED, i, false);
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
