// Runs the compiler's random-program harness (docs/testing-compiler.md) outside the test runner, for
// triage: seeds, features left out, the generated source and every failure in full.
// Usage: node --import tsx scripts/fuzz-compiler.ts [--seeds 1-40|7,9] [--avoid sidefx,ushr,cond,ref,struct,reject]
//        [--no-kernel] [--show] [--quiet]

import { generateProgram, moduleSource, type Feature } from "../test/helpers/compiler-random.js";
import { checkProgram } from "../test/helpers/compiler-random-run.js";

const FEATURES: readonly Feature[] = ["sidefx", "ushr", "cond", "ref", "struct", "reject"];

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function parseSeeds(spec: string): number[] {
  const out: number[] = [];
  for (const part of spec.split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new Error(`--seeds ${spec}: expected numbers and ranges like 1-40,77`);
    const a = Number(m[1]), b = Number(m[2] ?? m[1]);
    for (let s = a; s <= b; s++) out.push(s);
  }
  return out;
}

const seeds = parseSeeds(arg("--seeds") ?? "1-10");
const avoid = (arg("--avoid") ?? "").split(",").filter(Boolean) as Feature[];
for (const f of avoid) if (!FEATURES.includes(f)) throw new Error(`--avoid ${f}: expected one of ${FEATURES.join(", ")}`);
const kernel = !process.argv.includes("--no-kernel");
let failed = 0;
for (const seed of seeds) {
  const p = generateProgram(seed, { avoid });
  if (process.argv.includes("--show")) process.stdout.write(moduleSource(p, p.cases).text);
  const t0 = performance.now();
  const r = checkProgram(p, { kernel });
  process.stdout.write(`seed ${seed}: ${r.ran} cases run, ${r.rejected} rejections checked, ${r.failures.length} failures (${(performance.now() - t0).toFixed(0)} ms)\n`);
  if (r.failures.length) failed++;
  if (!process.argv.includes("--quiet")) for (const f of r.failures) process.stdout.write(`${f}\n\n`);
}
process.stdout.write(`${failed} of ${seeds.length} seeds failed\n`);
process.exitCode = failed ? 1 : 0;
