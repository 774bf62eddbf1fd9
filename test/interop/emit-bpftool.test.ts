// Objects from tsbpf's object writer through the standard tools: libbpf (`bpftool prog loadall`) loads
// and runs them, `bpftool btf dump file`, llvm-readelf and llvm-objdump parse them; sizes against clang's twin.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeObject } from "../../src/compiler/emit/index.js";
import type { CompiledModule } from "../../src/compiler/module.js";
import { readElf } from "../../src/elf/reader.js";
import { EM_BPF } from "../../src/elf/types.js";
import { bpftoolPath, compileC } from "../helpers/toolchain.js";
import { coreModule, demoModule, kfuncModule, mapsModule, sharedModule } from "../helpers/emit-modules.js";
import { bpffsProblem, haveTool } from "../helpers/loader.js";
import { privileged } from "../helpers/privileges.js";

function tool(cmd: string, args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  return { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}
const bpftool = (args: string[]) => tool(bpftoolPath(), args);

const MODULES: [string, () => CompiledModule, string[]][] = [
  ["demo", demoModule, ["prog"]],
  ["core", coreModule, ["on_getpid"]],
  ["kf", kfuncModule, ["on_newtask"]],
  ["emitmaps", mapsModule, ["prog"]],
  ["shared", sharedModule, ["first", "second"]],
];

describe("emit: interop with libbpf and LLVM tools", privileged(() => bpffsProblem() ?? (haveTool("llvm-objdump") ? undefined : "needs llvm-objdump")), () => {
  let dir: string;
  let pinRoot: string;
  const file = (name: string) => join(dir, `${name}.o`);

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "tsbpf-emit-"));
    pinRoot = `/sys/fs/bpf/tsbpf-emit-${process.pid}`;
    mkdirSync(pinRoot, { recursive: true });
    for (const [name, make] of MODULES) writeFileSync(file(name), writeObject(make()));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(pinRoot, { recursive: true, force: true });
  });

  for (const [name, , programs] of MODULES) {
    test(`${name}: bpftool prog loadall (libbpf) loads every program and map`, () => {
      const pins = join(pinRoot, name);
      rmSync(pins, { recursive: true, force: true });
      const r = bpftool(["prog", "loadall", file(name), pins, "pinmaps", join(pins, "maps")]);
      assert.equal(r.status, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /libbpf:/, "no libbpf warnings");
      for (const p of programs) assert.ok(tool("ls", [join(pins, p)]).status === 0, `program ${p} pinned`);
      rmSync(pins, { recursive: true, force: true });
    });

    test(`${name}: bpftool btf dump and gen skeleton, llvm-readelf and llvm-objdump parse it without complaint`, () => {
      const btf = bpftool(["btf", "dump", "file", file(name)]);
      assert.equal(btf.status, 0, btf.stderr);
      for (const p of programs) assert.match(btf.stdout, new RegExp(`FUNC '${p}' type_id=\\d+ linkage=global`));
      const re = tool("llvm-readelf", ["-S", "-s", "-r", file(name)]);
      assert.equal(re.status, 0, re.stderr);
      assert.equal(re.stderr, "", "llvm-readelf warnings");
      const skel = bpftool(["gen", "skeleton", file(name), "name", name]);
      assert.equal(skel.status, 0, skel.stderr);
      const od = tool("llvm-objdump", ["-dr", file(name)]);
      assert.equal(od.status, 0, od.stderr);
      for (const p of programs) assert.match(od.stdout, new RegExp(`<${p}>:`));
    });
  }

  test("demo under libbpf behaves as under tsbpf: XDP_PASS, counts[1] = 1, total = 15", () => {
    const pins = join(pinRoot, "demo-run");
    rmSync(pins, { recursive: true, force: true });
    const maps = join(pins, "maps");
    assert.equal(bpftool(["prog", "loadall", file("demo"), pins, "pinmaps", maps]).status, 0);
    const pkt = join(dir, "pkt");
    writeFileSync(pkt, new Uint8Array(64));
    const run = bpftool(["prog", "run", "pinned", join(pins, "prog"), "data_in", pkt, "repeat", "1"]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout + run.stderr, /Return value: 2\b/);
    const counts = JSON.parse(bpftool(["-j", "map", "dump", "pinned", join(maps, "counts")]).stdout) as { formatted: { key: number; value: number } }[];
    assert.deepEqual(counts.map((e) => e.formatted), [{ key: 1, value: 1 }]);
    const data = JSON.parse(bpftool(["-j", "map", "dump", "pinned", join(maps, "demo_data")]).stdout) as { formatted: { value: { ".data": { total: number }[] } } }[];
    assert.deepEqual(data[0]!.formatted.value[".data"], [{ total: 15 }]);
    rmSync(pins, { recursive: true, force: true });
  });

  test("same conventions as clang's twin: sections, symbol kinds, relocation targets and types", async () => {
    const ours = readElf(readFileSync(file("demo")), { machine: EM_BPF });
    const theirs = readElf(readFileSync(await compileC("test/fixtures/c/emit/demo.bpf.c")), { machine: EM_BPF });
    const loaded = (e: typeof ours) => e.sections.filter((x) => x.name && !x.name.startsWith(".debug") && !x.name.startsWith(".rel") && x.name !== ".llvm_addrsig")
      .map((x) => [x.name, x.type, x.flags]).sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    assert.deepEqual(loaded(ours), loaded(theirs));
    const kinds = (e: typeof ours) => e.symbols.filter((x) => x.name && x.type !== 4 /* FILE */ && !(x.type === 0 && x.bind === 0) && !e.sections[x.shndx]?.name.startsWith(".debug"))
      .map((x) => [x.name, x.type, x.bind, e.sections[x.shndx]?.name ?? "", x.size]).sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    // Function sizes differ with the code; everything else matches.
    const noFuncSize = (k: (string | number)[]) => (k[1] === 2 ? k.slice(0, 4) : k);
    assert.deepEqual(kinds(ours).map(noFuncSize), kinds(theirs).map(noFuncSize));
    const sectionSymbols = (e: typeof ours) => e.symbols.filter((x) => x.type === 3 && !e.sections[x.shndx]!.name.startsWith(".debug")).map((x) => e.sections[x.shndx]!.name).sort();
    assert.deepEqual(sectionSymbols(ours), sectionSymbols(theirs));
    const relocs = (e: typeof ours) => e.relocations(e.section("xdp")!.index).map((r) => { const y = e.symbols[r.symbol]!; return [y.type === 3 ? e.sections[y.shndx]!.name : y.name, r.type]; });
    assert.deepEqual(relocs(ours), relocs(theirs));
  });

  test("size against clang's twin (test/fixtures/c/emit/demo.bpf.c)", async (t) => {
    const clangObj = readFileSync(await compileC("test/fixtures/c/emit/demo.bpf.c"));
    const ours = readFileSync(file("demo"));
    const sizes = (bytes: Uint8Array) => {
      const elf = readElf(bytes, { machine: EM_BPF });
      const sec = (n: string) => elf.section(n)?.size ?? 0;
      return { total: bytes.length, code: sec(".text") + sec("xdp"), btf: sec(".BTF"), ext: sec(".BTF.ext"), symbols: elf.symbols.length };
    };
    const a = sizes(ours), b = sizes(clangObj);
    t.diagnostic(`tsbpf: ${JSON.stringify(a)}`);
    t.diagnostic(`clang: ${JSON.stringify(b)}`);
    // clang also writes DWARF; without it the objects should be of the same order.
    assert.ok(a.total < b.total, "smaller than clang -g (no DWARF)");
    assert.ok(a.btf < b.btf * 1.5, ".BTF of the same order as clang's");
    assert.ok(a.ext < b.ext * 1.5, ".BTF.ext of the same order as clang's");
  });
});
