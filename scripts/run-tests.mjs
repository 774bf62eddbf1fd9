#!/usr/bin/env node
// Runs the test suites with node's test runner (TypeScript through tsx).
// Usage: node scripts/run-tests.mjs [unit|kernel|interop|...]  (default: every suite under test/)
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";

const root = new URL("..", import.meta.url).pathname;
const suites = process.argv.slice(2);
const dirs = suites.length ? suites.map((s) => join(root, "test", s)) : [join(root, "test")];

function collect(dir, out) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      // test/vm runs inside a VM through scripts/test-vm.sh (npm run test:vm), not in the default run.
      if (name !== "fixtures" && name !== "helpers" && !(name === "vm" && dir === join(root, "test") && !suites.length)) collect(p, out);
    } else if (name.endsWith(".test.ts")) out.push(p);
  }
  return out;
}

const files = dirs.flatMap((d) => collect(d, []));
if (files.length === 0) {
  console.error("run-tests: no test files found in", dirs.join(", "));
  process.exit(1);
}
const args = ["--import", "tsx", "--test", "--test-concurrency=1", ...files];
const r = spawnSync(process.execPath, args, { stdio: "inherit", cwd: root });
process.exit(r.status ?? 1);
