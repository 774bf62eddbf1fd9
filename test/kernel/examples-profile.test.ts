// examples/profile for real: a C program built with frame pointers spins in spin_inner <- spin_outer <-
// main; main.ts samples that process and prints its hottest stack symbolized, innermost frame first.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { haveTool } from "../helpers/loader.js";
import { privileged } from "../helpers/privileges.js";
import { runExample } from "./examples-run.js";

const SPINNER = `
__attribute__((noinline)) unsigned long spin_inner(unsigned long n) {
  volatile unsigned long x = 0;
  for (unsigned long i = 0; i < n; i++) x += i;
  return x;
}
__attribute__((noinline)) unsigned long spin_outer(void) {
  unsigned long t = 0;
  for (;;) t += spin_inner(1000000);
  return t;
}
int main(void) { return (int)spin_outer(); }
`;

describe("examples/profile", privileged(() => (haveTool("gcc") ? undefined : "needs gcc")), () => {
  let dir: string;
  let spinner: ChildProcess;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "tsbpf-profile-"));
    writeFileSync(join(dir, "spinner.c"), SPINNER);
    execFileSync("gcc", ["-O0", "-fno-omit-frame-pointer", "-o", join(dir, "spinner"), join(dir, "spinner.c")]);
    spinner = spawn(join(dir, "spinner"), [], { stdio: "ignore" });
  });
  after(() => {
    spinner?.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  test("the hottest stack of a spinning process, symbolized from its ELF symbols", async () => {
    const run = runExample("profile", ["--pid", String(spinner.pid), "--duration", "3", "--frequency", "199", "--top", "3"]);
    const { code, lines, stderr } = await run.done;
    assert.equal(code, 0, stderr);
    assert.match(stderr, new RegExp(`sampling process ${spinner.pid} at 199 Hz`));
    const out = lines.join("\n");
    const heads = lines.filter((l) => /^\d+ samples {2}/.test(l));
    assert.ok(heads.length > 0, out);
    assert.ok(heads.every((l) => l.endsWith(`spinner (pid ${spinner.pid}, tid ${spinner.pid})`)), `only the sampled process:\n${out}`);

    // The first (hottest) stack: user frames innermost first, each `name+0xoff (file)`.
    const first = lines.slice(1, lines.indexOf("", 1)).map((l) => l.trim());
    const names = first.map((f) => /^(\w+)\+0x[0-9a-f]+ \(spinner\)$/.exec(f)?.[1]).filter((n) => n !== undefined);
    const inner = names.indexOf("spin_inner");
    assert.ok(inner >= 0, `spin_inner on the hottest stack:\n${out}`);
    assert.deepEqual(names.slice(inner, inner + 3), ["spin_inner", "spin_outer", "main"], out);

    const total = Number(/^total (\d+) samples in \d+ stacks/m.exec(out)?.[1]);
    assert.ok(total >= 100 && total <= 3 * 199 * 1.2, `about one CPU for 3 s at 199 Hz, got ${total}`);
  });

  test("--folded prints flame graph input", async () => {
    const run = runExample("profile", ["--pid", String(spinner.pid), "--duration", "2", "--folded"]);
    const { code, lines, stderr } = await run.done;
    assert.equal(code, 0, stderr);
    assert.ok(lines.length > 0);
    for (const l of lines) assert.match(l, /^spinner;.* \d+$/);
    assert.ok(lines.some((l) => /;main;spin_outer;spin_inner \d+$/.test(l)), lines.join("\n"));
  });
});
