// Program kinds as the registry (src/compiler/kinds/) defines them: constant return values outside what
// the kernel accepts are refused at the return, context fields keep their writability, and a field the
// kind does not have is named.

import assert from "node:assert/strict";
import { resolve } from "node:path";
import { test } from "node:test";
import { compile, DiagnosticCode as D } from "../../src/compiler/index.js";
import { TS_FIXTURES } from "../helpers/compile-ts.js";

let n = 0;
function diagnose(source: string): { code: string; line: number; message: string }[] {
  const path = resolve(TS_FIXTURES, `virtual-kinds-${process.pid}-${n++}.bpf.ts`);
  const r = compile(path, { sources: new Map([[path, source]]) });
  return r.diagnostics.map((d) => ({ code: d.code, line: d.line, message: d.message }));
}

const refused: [string, string, RegExp][] = [
  ["an XDP action past REDIRECT", `import { xdp } from "tsbpf/kernel";\nexport const p = xdp((ctx) => 7);`, /xdp programs return 0\.\.4 \(an XdpAction.*\); 7 is not accepted/],
  ["a cgroup_skb ingress verdict of 2", `import { cgroupSkb } from "tsbpf/kernel";\nexport const p = cgroupSkb("ingress", (ctx) => {\n  if (ctx.len > 100) return 2;\n  return 1;\n});`, /cgroupSkb programs return 0\.\.1/],
  ["fentry returning 1", `import { fentry } from "tsbpf/kernel";\nexport const p = fentry("do_unlinkat", (ctx) => 1);`, /fentry programs return 0 /],
  ["a negative XDP action", `import { xdp } from "tsbpf/kernel";\nexport const p = xdp((ctx) => -1);`, /-1 is not accepted/],
];

for (const [name, source, message] of refused) {
  test(`kinds: ${name} is refused at the return`, () => {
    const d = diagnose(source);
    assert.equal(d.length, 1, JSON.stringify(d));
    assert.equal(d[0]!.code, D.ReturnValue);
    assert.match(d[0]!.message, message);
    assert.equal(d[0]!.line, source.split("\n").findIndex((l) => /return [-\d]|=> -?\d+\)/.test(l)) + 1);
  });
}

const accepted: [string, string][] = [
  ["cgroup_skb egress may return 3 (drop with congestion notification)", `import { cgroupSkb } from "tsbpf/kernel";\nexport const p = cgroupSkb("egress", (ctx) => 3);`],
  ["a computed XDP action is left to the kernel", `import { xdp } from "tsbpf/kernel";\nexport const p = xdp((ctx) => ctx.len & 7);`],
  ["a tracepoint may return anything", `import { tracepoint } from "tsbpf/kernel";\nexport const p = tracepoint("sched/sched_process_exec", (ctx) => 12345);`],
];

for (const [name, source] of accepted) {
  test(`kinds: ${name}`, () => assert.deepEqual(diagnose(source), []));
}

test("kinds: a read-only context field cannot be assigned; a writable one can", () => {
  const ro = diagnose(`import { tc } from "tsbpf/kernel";\nexport const p = tc((ctx) => {\n  ctx.protocol = 1;\n  return 0;\n});`);
  // TypeScript refuses it too (TS2540, the declaration's `readonly`): reported once, with the compiler's reason.
  assert.equal(ro.length, 1, JSON.stringify(ro));
  assert.equal(ro[0]!.code, D.TypeMismatch);
  assert.match(ro[0]!.message, /ctx\.protocol is read-only/);
  assert.equal(ro[0]!.line, 3);
  assert.deepEqual(diagnose(`import { tc } from "tsbpf/kernel";\nexport const p = tc((ctx) => {\n  ctx.mark = 7;\n  return 0;\n});`), []);
});

test("kinds: a field the context lacks is named with the kind's context", () => {
  const d = diagnose(`import { xdp } from "tsbpf/kernel";\nexport const p = xdp((ctx) => {\n  const e = ctx.egressIfindex;\n  return e > 0 ? 1 : 2;\n});`);
  assert.equal(d.length, 1, JSON.stringify(d));
  assert.match(d[0]!.message, /only readable by XDP programs run from a devmap/);
});

test("kinds: `return bpf.redirect(ifindex)` type-checks and compiles in XDP and TC (its result is the verdict)", () => {
  for (const kind of ["xdp", "tc"]) {
    assert.deepEqual(diagnose(`import { ${kind}, bpf } from "tsbpf/kernel";\nexport const p = ${kind}((ctx) => bpf.redirect(3));`), [], kind);
  }
});
