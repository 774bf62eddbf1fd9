// Iterator programs (src/compiler/kinds/iter.ts): the bprintf format rules checked at compile time, the
// argument count, the return values, the null check TypeScript demands on the step's BTF pointer, an
// unknown target, and helpers iterators may not call.

import assert from "node:assert/strict";
import { resolve } from "node:path";
import { test } from "node:test";
import { compile, DiagnosticCode as D } from "../../src/compiler/index.js";
import { MAX_BPRINTF_ARGS, parseBprintf } from "../../src/compiler/lower/bprintf.js";
import { TS_FIXTURES } from "../helpers/compile-ts.js";

let n = 0;
function diagnose(source: string): { code: string; line: number; message: string }[] {
  const path = resolve(TS_FIXTURES, `virtual-kinds-iter-${process.pid}-${n++}.bpf.ts`);
  const r = compile(path, { sources: new Map([[path, source]]) });
  return r.diagnostics.map((d) => ({ code: d.code, line: d.line, message: d.message }));
}

const task = (body: string) => `import { iter, bpf } from "tsbpf/kernel";\nexport const p = iter("task", (ctx) => {\n  const t = ctx.task;\n  if (!t) return 0;\n${body}\n  return 0;\n});`;

test("bprintf formats: conversions the kernel accepts, in order", () => {
  assert.deepEqual(parseBprintf("%d %i %u %x %X %ld %llu %lx %c %s %% %-08d %s."), ["int", "int", "int", "int", "int", "int", "int", "int", "int", "addr", "int", "addr"]);
  assert.deepEqual(parseBprintf("%p %pK %px %pB %pS %pks %pus %pI4 %pi6"), ["int", "int", "int", "int", "int", "addr", "addr", "addr", "addr"]);
  assert.deepEqual(parseBprintf("no conversions\n"), []);
});

test("bprintf formats: what the kernel refuses is named", () => {
  assert.match(parseBprintf("%f") as string, /"%f" is not a conversion the kernel supports/);
  assert.match(parseBprintf("%lld %hd") as string, /"%h" is not a conversion/);
  assert.match(parseBprintf("%pZ") as string, /"%pZ" is not a pointer format/);
  assert.match(parseBprintf("%.3d") as string, /"%\." is not a conversion/);
  assert.match(parseBprintf("%sabc") as string, /a string conversion must be followed by whitespace, punctuation/);
  assert.match(parseBprintf("caf\u00e9 %d") as string, /character the kernel refuses at offset 3/);
  assert.match(parseBprintf("%d ".repeat(MAX_BPRINTF_ARGS + 1)) as string, /13 conversions; the kernel takes at most 12/);
});

test("iter: a clean task iterator compiles", () => {
  assert.deepEqual(diagnose(task(`  ctx.printf("%d %s %llu\\n", t.pid, t.comm, ctx.meta.seq_num);\n  ctx.write(t.pid);`)), []);
});

const refused: [string, string, string, RegExp][] = [
  ["an unsupported conversion", task(`  ctx.printf("%f\\n", t.pid);`), D.String, /ctx\.printf: "%f" is not a conversion/],
  ["more arguments than conversions", task(`  ctx.printf("%d\\n", t.pid, t.tgid);`), D.TypeMismatch, /the format has 1 conversion but 2 arguments are given/],
  ["fewer arguments than conversions", task(`  ctx.printf("%d %d\\n", t.pid);`), D.TypeMismatch, /the format has 2 conversions but 1 argument is given/],
  ["a format that is not a literal", task(`  const f = t.pid > 1 ? "a" : "b";\n  ctx.printf(f);`), D.String, /needs a string literal format/],
  ["a %s of an integer", task(`  ctx.printf("%s\\n", t.pid);`), D.TypeMismatch, /%s and %p string\/address conversions take a string/],
  ["a return of 2", task(`  if (t.pid === 1) return 2;`), D.ReturnValue, /iter programs return 0\.\.1/],
  ["a helper iterators may not call", task(`  bpf.redirect(1);`), D.HelperNotAllowed, /bpf\.redirect is not available in iter programs/],
];

for (const [name, source, code, message] of refused) {
  test(`iter: ${name} is refused`, () => {
    const d = diagnose(source);
    assert.ok(d.some((x) => x.code === code && message.test(x.message)), JSON.stringify(d));
  });
}

test("iter: the step's object must be null-checked before use (TypeScript's strict null check)", () => {
  const d = diagnose(`import { iter } from "tsbpf/kernel";\nexport const p = iter("task", (ctx) => {\n  ctx.printf("%d\\n", ctx.task.pid);\n  return 0;\n});`);
  assert.ok(d.some((x) => x.code === "TS18047" && x.line === 3), JSON.stringify(d));
});

test("iter: a target the kernel has no iterator for is named", () => {
  const d = diagnose(`import { iter } from "tsbpf/kernel";\nexport const p = iter("no_such_thing", (ctx) => {\n  ctx.printf("x\\n");\n  return 0;\n});`);
  assert.ok(d.some((x) => x.code === D.KernelType && /no iterator "no_such_thing" \(no struct bpf_iter__no_such_thing/.test(x.message)), JSON.stringify(d));
});

test("iter.s: the sleepable variant's section", () => {
  const path = resolve(TS_FIXTURES, `virtual-kinds-iter-${process.pid}-s.bpf.ts`);
  const r = compile(path, { sources: new Map([[path, `import { iterSleepable } from "tsbpf/kernel";\nexport const p = iterSleepable("task", (ctx) => {\n  const t = ctx.task;\n  if (t) ctx.printf("%d\\n", t.pid);\n  return 0;\n});`]]) });
  assert.deepEqual(r.diagnostics, []);
  assert.deepEqual(r.module?.functions.map((f) => f.section), ["iter.s/task"]);
});
