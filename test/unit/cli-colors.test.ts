// The tsbpf command colours its output on a terminal only: piped output is plain even where a CI
// variable is set (picocolors alone turns colours on whenever CI is in the environment), and
// FORCE_COLOR / NO_COLOR are honoured.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { REPO_ROOT } from "../helpers/toolchain.js";

const CLI = join(REPO_ROOT, "src", "cli", "main.ts");
const FIXTURE = join(REPO_ROOT, "test", "fixtures", "ts", "asm", "switch.bpf.ts");

function build(env: Record<string, string | undefined>): string {
  const { NO_COLOR: _n, FORCE_COLOR: _f, CI: _c, ...rest } = process.env;
  const out = join(REPO_ROOT, "node_modules", ".cache", `cli-colors-${process.pid}.o`);
  const r = spawnSync(process.execPath, ["--import", "tsx", CLI, "build", FIXTURE, "-o", out], { cwd: REPO_ROOT, encoding: "utf8", env: { ...rest, ...env } as NodeJS.ProcessEnv });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout + r.stderr;
}

const ESC = /\x1b\[/;

test("cli: piped output has no colour codes, also with CI=true", () => {
  assert.doesNotMatch(build({ CI: "true" }), ESC);
  assert.doesNotMatch(build({}), ESC);
});

test("cli: FORCE_COLOR=1 colours piped output; NO_COLOR wins over it", () => {
  assert.match(build({ FORCE_COLOR: "1" }), ESC);
  assert.doesNotMatch(build({ FORCE_COLOR: "1", NO_COLOR: "1" }), ESC);
});
