// Keeps docs/language.md honest: every ```ts block starting with `// kernel program` is compiled and
// must produce an object with no diagnostics.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { compile, formatDiagnostic } from "../../src/compiler/index.js";

const doc = readFileSync(new URL("../../docs/language.md", import.meta.url), "utf8");
const blocks = [...doc.matchAll(/```ts\n(\/\/ kernel program\n[\s\S]*?)```/g)].map((m) => ({
  code: m[1]!,
  line: doc.slice(0, m.index).split("\n").length,
}));

test("docs/language.md has complete kernel program examples", () => {
  assert.ok(blocks.length >= 8, `found ${blocks.length} examples`);
});

for (const [i, b] of blocks.entries()) {
  test(`docs/language.md example ${i + 1} (line ${b.line}) compiles without diagnostics`, () => {
    const path = join(tmpdir(), `tsbpf-docs-${process.pid}`, `example${i + 1}.bpf.ts`);
    const { object, diagnostics } = compile(path, { sources: new Map([[path, b.code]]) });
    assert.deepEqual(diagnostics.map(formatDiagnostic), []);
    assert.ok(object && object.length > 0, "an object is produced");
  });
}
