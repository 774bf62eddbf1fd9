// Random-program differential harness for the compiler (docs/testing-compiler.md).
//
// Each seed gives one generated module (test/helpers/compiler-random.ts): a dozen small XDP programs
// with side effects inside expressions, literals of every magnitude next to every width, `?:` mixing
// literals and narrow conversions, `>>>`, locals copied from live map references, nested struct
// literals and copies at 4-byte offsets, large structs from nested literals. Every program is checked
// three ways against the JavaScript model of docs/language.md: the IR evaluator on the compiler's IR,
// the kernel (BPF_PROG_TEST_RUN), and, for programs the model rejects, the TSBPF1103 diagnostic.
//
// - a fixed set of seeds (deterministic; TSBPF_FUZZ_FIXED=n changes how many, default 40);
// - a time-boxed random batch (TSBPF_FUZZ_SECONDS, default 20) from a random base seed, each failing
//   seed printed; TSBPF_FUZZ_SEED=s replays exactly seed s in the random batch:
//     TSBPF_FUZZ_SEED=s node --import tsx --test --test-name-pattern=random test/kernel/compiler-random.test.ts

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { generateProgram } from "../helpers/compiler-random.js";
import { checkProgram } from "../helpers/compiler-random-run.js";
import { privileged } from "../helpers/privileges.js";

const MAX_REPORTED = 12;

function envInt(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v === "") return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name}=${v}: expected a non-negative integer`);
  return n;
}

/** Checks the programs of `seeds`; returns the failure reports (with their seeds) and counts. */
function run(seeds: Iterable<number>, deadline = Infinity): { failures: string[]; failedSeeds: number[]; programs: number; cases: number; rejected: number } {
  const failures: string[] = [];
  const failedSeeds: number[] = [];
  let programs = 0, cases = 0, rejected = 0;
  for (const seed of seeds) {
    if (performance.now() > deadline) break;
    const r = checkProgram(generateProgram(seed), { kernel: true });
    programs++;
    cases += r.ran;
    rejected += r.rejected;
    if (r.failures.length) {
      failedSeeds.push(seed);
      failures.push(...r.failures);
    }
  }
  return { failures, failedSeeds, programs, cases, rejected };
}

function report(r: ReturnType<typeof run>): string {
  const shown = r.failures.slice(0, MAX_REPORTED).join("\n\n");
  const more = r.failures.length > MAX_REPORTED ? `\n\n... and ${r.failures.length - MAX_REPORTED} more` : "";
  return `${r.failures.length} failure(s) in seeds ${r.failedSeeds.join(", ")}` +
    ` (replay one: TSBPF_FUZZ_SEED=<seed> node --import tsx --test --test-name-pattern=random test/kernel/compiler-random.test.ts)\n\n${shown}${more}`;
}

describe("compiler random programs: IR evaluator, kernel and rejections against the model", privileged(), () => {
  test("fixed seeds", () => {
    const n = envInt("TSBPF_FUZZ_FIXED", 40);
    const r = run(Array.from({ length: n }, (_, i) => i + 1));
    assert.equal(r.programs, n);
    if (n >= 10) {
      // the generator keeps producing both kinds of cases
      assert.ok(r.cases > n * 5, `ran ${r.cases} cases`);
      assert.ok(r.rejected > n, `checked ${r.rejected} rejections`);
    }
    assert.ok(r.failures.length === 0, report(r));
  });

  test("random batch (time-boxed)", (t) => {
    const replay = process.env.TSBPF_FUZZ_SEED;
    const seconds = envInt("TSBPF_FUZZ_SECONDS", 20);
    const base = replay !== undefined && replay !== "" ? envInt("TSBPF_FUZZ_SEED", 0) : (Math.random() * 2 ** 31) >>> 0;
    const seeds = function* (): Generator<number> {
      if (replay) {
        yield base;
        return;
      }
      for (let s = base; ; s = (s + 1) >>> 0) yield s;
    };
    const r = run(seeds(), replay ? Infinity : performance.now() + seconds * 1000);
    t.diagnostic(`random batch: base seed ${base}, ${r.programs} programs, ${r.cases} cases run, ${r.rejected} rejections checked`);
    assert.ok(r.failures.length === 0, report(r));
  });
});
