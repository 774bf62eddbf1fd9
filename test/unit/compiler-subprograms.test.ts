// Which user functions become bpf-to-bpf subprograms (the `@noinline`/`@inline` tags and the default
// size-and-uses rule) and the IR shape of a call: checked on the compiler's output, no kernel needed.

import assert from "node:assert/strict";
import { test } from "node:test";
import type { CompileResult } from "../../src/compiler/index.js";
import { AUTO_MIN_STATEMENTS } from "../../src/compiler/lower/subprograms.js";
import { compileVirtual } from "../helpers/compile-ts.js";
import { withKernelImport } from "../helpers/kernel-snippet.js";

/** A function of `n` statements, with an optional JSDoc tag, called `calls` times from one XDP program. */
function source(n: number, calls: number, tag = ""): string {
  const body = Array.from({ length: n - 2 }, (_, i) => `  s = s * 3 + ${i};`).join("\n");
  const uses = Array.from({ length: calls }, (_, i) => `f(ctx.len + ${i})`).join(" + ");
  return withKernelImport(`${tag ? `/** ${tag} */\n` : ""}function f(x: u32): u32 {
  let s: u32 = x;
${body}
  return s;
}
export const p = xdp((ctx) => (${uses} > 7 ? XdpAction.PASS : XdpAction.DROP));`);
}

function compiled(src: string): CompileResult {
  const r = compileVirtual(src);
  assert.deepEqual(r.diagnostics, []);
  return r;
}

const calls = (r: CompileResult): string[] => r.ir.flatMap((f) => f.blocks.flatMap((b) => b.instructions.flatMap((i) => (i.op === "callFn" ? [`${f.name}->${i.fn}`] : []))));
const texts = (r: CompileResult): string[] => r.module!.functions.filter((f) => f.section === ".text").map((f) => f.name);

test("default rule: a function of at least AUTO_MIN_STATEMENTS statements called from two places is a subprogram", () => {
  const r = compiled(source(AUTO_MIN_STATEMENTS, 2));
  assert.deepEqual(calls(r), ["p->f", "p->f"]);
  assert.deepEqual(texts(r), ["f"]);
  assert.deepEqual(r.ir.map((f) => [f.name, f.params.length]), [["p", 1], ["f", 1]]);
  const f = r.module!.functions.find((x) => x.name === "f")!;
  assert.equal(f.global, false);
  assert.deepEqual(f.proto.params.map((p) => p.name), ["x"]);
});

test("default rule: called once, or smaller, the function is inlined", () => {
  assert.deepEqual(calls(compiled(source(AUTO_MIN_STATEMENTS, 1))), []);
  assert.deepEqual(calls(compiled(source(AUTO_MIN_STATEMENTS - 1, 3))), []);
});

test("@inline keeps a large, often-called function inlined; @noinline makes a small, single-use one a subprogram", () => {
  assert.deepEqual(calls(compiled(source(AUTO_MIN_STATEMENTS + 4, 3, "@inline"))), []);
  const r = compiled(source(3, 1, "@noinline"));
  assert.deepEqual(calls(r), ["p->f"]);
  assert.deepEqual(texts(r), ["f"]);
});
