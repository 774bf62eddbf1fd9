// examples/runqlat for real: main.ts filtered on one process (a perl process that sleeps 100 times, each
// sleep ending in a wake-up) prints its thread's histogram with about 100 samples; per process, in ms.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { privileged } from "../helpers/privileges.js";
import { runExample } from "./examples-run.js";

const SLEEPS = 100;

/** Bucket counts and the total of a printed histogram. */
function parseHistogram(lines: string[]): { buckets: [number, number, number][]; total: number } {
  const buckets: [number, number, number][] = [];
  let total = -1;
  for (const l of lines) {
    const m = /^\s*(\d+) -> (\d+)\s+: (\d+)\s+\|\**\s*\|$/.exec(l);
    if (m) buckets.push([Number(m[1]), Number(m[2]), Number(m[3])]);
    const t = /^(\d+) samples$/.exec(l);
    if (t) total = Number(t[1]);
  }
  return { buckets, total };
}

describe("examples/runqlat", privileged(), () => {
  test("one process's wake-ups: --pid with --per-thread", async () => {
    // Waits for a line on stdin, then sleeps SLEEPS times for 2 ms: about one sample per sleep (a wake-up
    // that comes before the thread left its CPU has no switch to measure; stdin may add one).
    const sleeper = spawn("perl", ["-e", `$|=1; print "ready\\n"; <STDIN>; select(undef, undef, undef, 0.002) for 1..${SLEEPS}; print "done\\n";`], { stdio: ["pipe", "pipe", "inherit"] });
    const output = (async () => { let s = ""; for await (const c of sleeper.stdout!) s += c; return s; })();
    const exited = new Promise((r) => sleeper.on("exit", r));
    const run = runExample("runqlat", ["--pid", String(sleeper.pid), "--per-thread", "--duration", "60"]);
    try {
      await run.waitForLine(/^runqlat: tracing/);
      sleeper.stdin!.end("go\n");
      await exited;
      assert.match(await output, /done/);
      const { code, lines, stderr } = await run.stop();
      assert.equal(code, 0, stderr);
      const at = lines.indexOf(`tid = ${sleeper.pid}`);
      assert.ok(at >= 0, `a histogram for the sleeper's thread:\n${lines.join("\n")}`);
      assert.ok(!lines.some((l) => /^tid = /.test(l) && l !== `tid = ${sleeper.pid}`), "only the filtered thread");
      const { buckets, total } = parseHistogram(lines.slice(at));
      assert.ok(total >= SLEEPS * 0.9 && total <= SLEEPS + 20, `about ${SLEEPS} samples, got ${total}`);
      assert.equal(buckets.reduce((a, [, , c]) => a + c, 0), total, "the buckets add up to the total");
      assert.equal(buckets[0]![0], 0);
      for (let i = 1; i < buckets.length; i++) assert.deepEqual(buckets[i]!.slice(0, 2), [2 ** i, 2 ** (i + 1) - 1], "log2 bucket bounds");
    } finally {
      sleeper.kill();
      await run.stop();
    }
  });

  test("the whole machine per process, in milliseconds", async () => {
    const run = runExample("runqlat", ["--ms", "--per-process", "--duration", "2"]);
    const { code, lines, stderr } = await run.done;
    assert.equal(code, 0, stderr);
    assert.ok(lines.some((l) => /^\s+msecs\s+: count\s+distribution$/.test(l)), lines.join("\n"));
    const pids = lines.filter((l) => /^pid = \d+$/.test(l)).map((l) => Number(l.slice(6)));
    assert.ok(pids.length >= 2, `several processes wait for CPUs:\n${lines.join("\n")}`);
    assert.deepEqual(pids, [...new Set(pids)].sort((a, b) => a - b), "one histogram per process, sorted");
    const { buckets } = parseHistogram(lines);
    const totals = lines.filter((l) => /^\d+ samples$/.test(l)).map((l) => parseInt(l, 10));
    assert.equal(totals.length, pids.length);
    assert.equal(buckets.reduce((a, [, , c]) => a + c, 0), totals.reduce((a, b) => a + b, 0), "buckets add up");
  });
});
