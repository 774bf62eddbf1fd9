// Robustness of the compiler front end: token-level mutants (deletions, duplications, operator and
// literal swaps, tokens moved) of the examples' kernel programs and of docs/language.md's complete
// programs must each compile to an object or to diagnostics, never throw, hang or report an internal
// error (TSBPF1999). The mutator is bench/fuzz-compiler.ts; seed, case count and time budget come from
// TSBPF_FUZZ_SEED / TSBPF_FUZZ_ITERATIONS / TSBPF_FUZZ_BUDGET_MS (test/helpers/fuzz.ts).

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { compilerBases, compilerMutant, type CompilerFuzzResult } from "../../bench/fuzz-compiler.js";
import { announceSeed, fuzzSettings } from "../helpers/fuzz.js";

const SETTINGS = fuzzSettings({ seed: 0x7eb9f, iterations: 200, budgetMs: 300_000 });
const SCRIPT = fileURLToPath(new URL("../../bench/fuzz-compiler.ts", import.meta.url));
const replay = (i: number | string) => `node --import tsx bench/fuzz-compiler.ts --seed ${SETTINGS.seed} --from ${i} --iterations 1 --show`;

test("token mutants of the examples and docs programs compile to an object or diagnostics, never throw, hang or fail internally", { timeout: SETTINGS.budgetMs + 600_000 }, (t) => {
  announceSeed(t, "fuzz-compiler", SETTINGS, replay("<case>"));
  // In a child, one JSON line per finished case: a hang is attributed to the case after the last line.
  const child = spawnSync(process.execPath, ["--import", "tsx", SCRIPT, "--json", "--seed", String(SETTINGS.seed), "--iterations", String(SETTINGS.iterations), "--budget-ms", String(SETTINGS.budgetMs)], {
    encoding: "utf8",
    timeout: SETTINGS.budgetMs + 540_000,
    killSignal: "SIGKILL",
    maxBuffer: 64 << 20,
  });
  const results = child.stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as CompilerFuzzResult);
  const problems = results.filter((r) => r.problem).map((r) => `mutant ${r.i} (${r.what}; replay: ${replay(r.i)}):\n=> ${r.problem}`);
  if (child.status !== 0 && child.status !== 1) {
    const i = results.length;
    problems.push(`mutant ${i} (${compilerMutant(compilerBases(), SETTINGS.seed, i).what}; replay: ${replay(i)}) did not finish (${child.signal ?? child.status}; ${child.stderr.slice(-2000)})`);
  }
  t.diagnostic(`${results.length} mutants, slowest ${Math.max(0, ...results.map((r) => r.ms))} ms`);
  assert.deepEqual(problems, []);
  assert.ok(results.length > 0, "at least one mutant ran");
});

test("every example and docs program is a base, and mutants are reproducible from (seed, case)", () => {
  const bases = compilerBases();
  assert.ok(bases.filter((b) => b.path.includes("/examples/")).length >= 7, bases.map((b) => b.path).join(", "));
  assert.ok(bases.filter((b) => b.path.includes("/docs/")).length >= 5);
  for (const i of [0, 7, 123]) assert.deepEqual(compilerMutant(bases, 5, i), compilerMutant(bases, 5, i));
});
