// Snapshot tests of compiler diagnostics: each test/fixtures/ts/diagnostics/<name>.bpf.ts must fail with
// exactly the formatted diagnostics in <name>.expected.txt (regenerate with UPDATE_FIXTURES=1).

import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { compile, formatDiagnostic, DiagnosticCode } from "../../src/compiler/index.js";

const dir = fileURLToPath(new URL("../fixtures/ts/diagnostics/", import.meta.url));
const update = process.env.UPDATE_FIXTURES === "1";
const fixtures = readdirSync(dir).filter((f) => f.endsWith(".bpf.ts")).sort();

/** Formatted diagnostics with the fixture directory stripped from file names. */
function render(file: string): { text: string; codes: string[]; object: boolean } {
  const { object, diagnostics } = compile(join(dir, file));
  const text = diagnostics.map((d) => formatDiagnostic({ ...d, file: d.file.startsWith(dir) ? d.file.slice(dir.length) : d.file })).join("\n") + "\n";
  return { text, codes: diagnostics.map((d) => d.code), object: object !== undefined };
}

test("there is a diagnostics fixture per unsupported construct", () => {
  assert.ok(fixtures.length >= 20, `found ${fixtures.length}`);
});

for (const file of fixtures) {
  test(`diagnostics of ${file}`, () => {
    const { text, codes, object } = render(file);
    assert.equal(object, false, "no object is produced");
    assert.ok(codes.length > 0, "at least one diagnostic");
    assert.ok(!codes.includes(DiagnosticCode.Internal), `no internal error:\n${text}`);
    const expectedPath = join(dir, file.replace(/\.bpf\.ts$/, ".expected.txt"));
    if (update || !existsSync(expectedPath)) writeFileSync(expectedPath, text);
    assert.equal(text, readFileSync(expectedPath, "utf8"));
  });
}

test("one compile reports every error of many-errors.bpf.ts", () => {
  const { codes } = render("many-errors.bpf.ts");
  for (const code of [DiagnosticCode.Import, DiagnosticCode.Class, DiagnosticCode.UnsizedType, DiagnosticCode.MapDeclaration, DiagnosticCode.Limit, DiagnosticCode.ProgramDeclaration, DiagnosticCode.Float, DiagnosticCode.UnboundedLoop, DiagnosticCode.String, DiagnosticCode.Operator, DiagnosticCode.Exception, DiagnosticCode.Closure]) {
    assert.ok(codes.includes(code), `${code} is reported (got ${codes.join(", ")})`);
  }
});
