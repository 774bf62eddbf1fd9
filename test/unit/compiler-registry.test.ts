// The compiler's registries match the `tsbpf/kernel` declarations: every program kind function, `bpf`
// member and map class declared has an entry (kinds/, lower/helpers.ts, lower/maps.ts), and every entry
// a declaration, so nothing is declared without a lowering or lowered without a declaration.

import { test } from "node:test";
import assert from "node:assert/strict";
import ts from "typescript";
import { compilerOptions, libraryPaths } from "../../src/compiler/host.js";
import { CONTEXT_TYPES, PROGRAM_KINDS } from "../../src/compiler/kinds/index.js";
import { HELPERS } from "../../src/compiler/lower/helpers.js";
import { MAP_KINDS } from "../../src/compiler/lower/maps.js";

function kernelModule(): { checker: ts.TypeChecker; exports: Map<string, ts.Symbol> } {
  const program = ts.createProgram([libraryPaths().kernel], compilerOptions());
  const checker = program.getTypeChecker();
  const sf = program.getSourceFile(libraryPaths().kernel)!;
  const mod = checker.getSymbolAtLocation(sf)!;
  const exports = new Map<string, ts.Symbol>();
  for (const s of checker.getExportsOfModule(mod)) exports.set(s.getName(), s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s);
  return { checker, exports };
}

const { checker, exports } = kernelModule();
const fromKernelDir = (s: ts.Symbol): boolean => (s.declarations ?? []).some((d) => d.getSourceFile().fileName.startsWith(libraryPaths().dir + "/kernel/") && !d.getSourceFile().fileName.endsWith("vmlinux.ts"));

test("registry: every declared program kind has a compiler entry, and every entry a declaration", () => {
  const declared = [...exports].filter(([, s]) => {
    if (!(s.flags & ts.SymbolFlags.Function) || !fromKernelDir(s)) return false;
    const decl = s.declarations![0] as ts.FunctionDeclaration;
    return decl.type !== undefined && ts.isTypeReferenceNode(decl.type) && decl.type.typeName.getText() === "Program";
  }).map(([n]) => n).sort();
  assert.deepEqual(declared, [...PROGRAM_KINDS.keys()].sort());
});

test("registry: every context type a kind names is exported by tsbpf/kernel", () => {
  for (const name of CONTEXT_TYPES) assert.ok(exports.has(name), `${name} is not exported by tsbpf/kernel`);
});

test("registry: every bpf.* member has a helper entry, and every entry a declaration", () => {
  const bpf = exports.get("bpf");
  assert.ok(bpf);
  const members = checker.getTypeOfSymbol(bpf).getProperties().map((p) => p.getName()).sort();
  assert.deepEqual(members, Object.keys(HELPERS).sort());
});

test("registry: every map class has a map kind entry with its methods, and every entry a declaration", () => {
  const classes = [...exports].filter(([, s]) => s.flags & ts.SymbolFlags.Class && fromKernelDir(s));
  assert.deepEqual(classes.map(([n]) => n).sort(), Object.keys(MAP_KINDS).sort());
  for (const [name, s] of classes) {
    const instance = checker.getDeclaredTypeOfSymbol(s);
    const methods = instance.getProperties().filter((p) => p.flags & ts.SymbolFlags.Method).map((p) => p.getName()).sort();
    assert.deepEqual(methods, Object.keys(MAP_KINDS[name]!.methods).sort(), `methods of ${name}`);
  }
});

test("registry: library constants are their declared literal types (no second table)", async () => {
  const { compile } = await import("../../src/compiler/index.js");
  const cases: [string, string, bigint][] = [
    ["xdp", "XdpAction.TX", 3n],
    ["tc", "TcAction.REDIRECT", 7n],
    ["lwtXmit", "LwtAction.REROUTE", 128n],
    ["xdp", "BPF_EXIST", 2n],
  ];
  for (const [kind, expr, want] of cases) {
    const name = expr.split(".")[0]!;
    const path = `/tmp/tsbpf-registry-${process.pid}-${name}.bpf.ts`;
    const src = `import { ${kind}, ${name} } from "tsbpf/kernel";\nexport const p = ${kind}((ctx) => ${expr});\n`;
    const r = compile(path, { sources: new Map([[path, src]]) });
    assert.deepEqual(r.diagnostics.map((d) => d.message), [], expr);
    const rets = r.ir[0]!.blocks.map((b) => b.terminator).filter((t) => t.op === "ret");
    assert.deepEqual(rets.map((t) => (t.op === "ret" && "imm" in t.value ? t.value.imm : undefined)), [want], expr);
  }
});
