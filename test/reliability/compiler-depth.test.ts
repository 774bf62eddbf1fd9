// Very long and very deeply nested kernel programs: each compiles, or fails with the located TSBPF1601
// (nested too deeply) at the offending expression — never a stack overflow, TSBPF1999 or a throw.
// Each compile runs in a child process with a heap bound (--max-old-space-size) and a generous
// timeout, so a blow-up in time or memory fails the test instead of the machine.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { compile, DiagnosticCode } from "../../src/compiler/index.js";
import { MAX_NESTING } from "../../src/compiler/nesting.js";

const HEAD = `import { bpf, rawTracepoint, u32, type u32 as U32 } from "tsbpf/kernel";\nlet last: U32 = 0;\n`;
const program = (body: string) => `${HEAD}export const p = rawTracepoint("sys_enter", (ctx) => {\n  const a = last;\n${body}\n  return 0;\n});\n`;
const repeat = (s: string, n: number) => s.repeat(n);

/** Test programs by name; the line of interest (the deep one) is line 5 of each `program`. */
const CASES: Record<string, () => string> = {
  // 3,000 statements in a plain function: def chains and a dominator tree thousands deep.
  statements3000: () =>
    `${HEAD}function f(x: U32, y: U32): U32 {\n` +
    Array.from({ length: 3000 }, (_, i) => (i % 3 === 0 ? `  if (x > ${i}) x = x - y; else y = y + 1;\n` : i % 3 === 1 ? `  x = (x * ${(i % 7) + 3}) ^ y;\n` : `  y = (y >> 1) + (x & ${(i % 255) + 1});\n`)).join("") +
    `  return x;\n}\nexport const p = rawTracepoint("sys_enter", (ctx) => {\n  last = f(last, bpf.random());\n  return 0;\n});\n`,
  chain3000: () => program(`  last = u32(${Array.from({ length: 3000 }, () => "a").join(" + ")});`),
  chainAtLimit: () => program(`  last = u32(${Array.from({ length: MAX_NESTING - 16 }, () => "a").join(" + ")});`),
  and3000: () => program(`  if (${Array.from({ length: 3000 }, (_, i) => `a !== ${i}`).join(" && ")}) last = 1;`),
  parens1000: () => program(`  last = u32(${repeat("(", 1000)}a${repeat(")", 1000)});`),
  calls1000: () => program(`  last = ${repeat("u32(", 1000)}a${repeat(")", 1000)};`),
  callsAtLimit: () => program(`  last = ${repeat("u32(", MAX_NESTING - 16)}a${repeat(")", MAX_NESTING - 16)};`),
  rightNested1000: () => program(`  last = u32(${repeat("a + (", 1000)}a${repeat(")", 1000)});`),
  conditional1000: () => program(`  last = u32(${repeat("a > 1 ? a : (", 1000)}a${repeat(")", 1000)});`),
  ifs1000: () => program(`  ${repeat("if (a > 1) { ", 1000)}last = 1;${repeat(" }", 1000)}`),
  parens10000: () => program(`  last = u32(${repeat("(", 10000)}a${repeat(")", 10000)});`),
  arrows1000: () => program(`  last = u32(${repeat("(() => ", 1000)}a${repeat(")()", 1000)});`),
  not10000: () => program(`  if (${repeat("!", 10000)}a) last = 1;`),
};

interface Outcome {
  object: boolean;
  diagnostics: { code: string; line: number; column: number; message: string }[];
  threw?: string;
}

if (process.env.TSBPF_DEPTH_CHILD) {
  const name = process.env.TSBPF_DEPTH_CHILD;
  const path = join(tmpdir(), `tsbpf-depth-${process.pid}`, `${name}.bpf.ts`);
  let out: Outcome;
  try {
    const r = compile(path, { sources: new Map([[path, CASES[name]!()]]) });
    out = { object: r.object !== undefined, diagnostics: r.diagnostics.map((d) => ({ code: d.code, line: d.line, column: d.column, message: d.message.slice(0, 300) })) };
  } catch (e) {
    out = { object: false, diagnostics: [], threw: String((e as Error).stack ?? e).slice(0, 2000) };
  }
  process.stdout.write(JSON.stringify(out) + "\n");
} else {
  const run = (name: string): Outcome => {
    const child = spawnSync(process.execPath, ["--max-old-space-size=1536", "--import", "tsx", fileURLToPath(import.meta.url)], {
      env: { ...process.env, TSBPF_DEPTH_CHILD: name },
      encoding: "utf8",
      timeout: 240_000,
      killSignal: "SIGKILL",
      maxBuffer: 16 << 20,
    });
    const line = child.stdout.trim().split("\n").pop() ?? "";
    assert.ok(line.startsWith("{"), `${name}: the compile did not finish (${child.signal ?? `exit ${child.status}`}): ${child.stderr.slice(-2000)}`);
    return JSON.parse(line) as Outcome;
  };
  const noCrash = (name: string, r: Outcome) => {
    assert.equal(r.threw, undefined, `${name} threw`);
    const internal = r.diagnostics.filter((d) => d.code === DiagnosticCode.Internal || /call stack|internal/i.test(d.message));
    assert.deepEqual(internal, [], `${name}: no internal error`);
  };

  for (const name of ["statements3000", "chainAtLimit", "callsAtLimit"]) {
    test(`${name}: compiles to an object`, { timeout: 300_000 }, () => {
      const r = run(name);
      noCrash(name, r);
      assert.deepEqual(r.diagnostics, []);
      assert.equal(r.object, true);
    });
  }

  // Too deep for the checker or the parser: one TSBPF1601 at the nest or chain (line 5), not at 1:1
  // (a bracket nest is located at its outermost bracket: it is found before parsing).
  const located: Record<string, number> = {
    chain3000: 3, and3000: 7, parens1000: 13, calls1000: 13, rightNested1000: 13, conditional1000: 13, parens10000: 13, arrows1000: 13,
  };
  for (const [name, column] of Object.entries(located)) {
    test(`${name}: TSBPF1601 located at the expression (5:${column})`, { timeout: 300_000 }, () => {
      const r = run(name);
      noCrash(name, r);
      assert.equal(r.object, false);
      assert.deepEqual(r.diagnostics.map((d) => [d.code, d.line, d.column]), [[DiagnosticCode.Nesting, 5, column]], JSON.stringify(r.diagnostics));
      assert.match(r.diagnostics[0]!.message, new RegExp(`nested too deeply \\((at least )?\\d+ levels; the limit is ${MAX_NESTING}\\): split it into several statements`));
    });
  }

  test("ifs1000: deeply nested blocks get TSBPF1601 on line 5", { timeout: 300_000 }, () => {
    const r = run("ifs1000");
    noCrash("ifs1000", r);
    assert.equal(r.object, false);
    assert.deepEqual(r.diagnostics.map((d) => [d.code, d.line]), [[DiagnosticCode.Nesting, 5]]);
    assert.match(r.diagnostics[0]!.message, /block nested too deeply .* move inner blocks into functions/);
  });

  test("not10000: 10,000 prefix operators (no brackets) end in a diagnostic, not a crash", { timeout: 300_000 }, () => {
    const r = run("not10000");
    noCrash("not10000", r);
    assert.equal(r.object, false);
    assert.ok(r.diagnostics.some((d) => d.code === DiagnosticCode.Nesting), JSON.stringify(r.diagnostics));
  });
}
