// Checks that every C corpus object (test/fixtures/c, examples/) compiles with clang into a BPF ELF
// with the sections its expectations name, and that the toolchain helper caches and reports errors well.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { assembleObject, compileC, compileCSource, compileCText, REPO_ROOT, TOOLCHAIN_CACHE_DIR, ToolchainError, vmlinuxHeader } from "../helpers/toolchain.js";
import { corpusSourceFiles, loadCorpus } from "./corpus.js";

/** Section name -> contents of a little-endian ELF64 file (enough of ELF for these checks). */
function elfSections(bytes: Buffer): { machine: number; sections: Map<string, Buffer> } {
  assert.equal(bytes.subarray(0, 4).toString("latin1"), "\x7fELF", "ELF magic");
  assert.equal(bytes[4], 2, "ELFCLASS64");
  assert.equal(bytes[5], 1, "little-endian");
  const machine = bytes.readUInt16LE(0x12);
  const shoff = Number(bytes.readBigUInt64LE(0x28));
  const shentsize = bytes.readUInt16LE(0x3a);
  const shnum = bytes.readUInt16LE(0x3c);
  const shstrndx = bytes.readUInt16LE(0x3e);
  const header = (i: number) => {
    const at = shoff + i * shentsize;
    return {
      name: bytes.readUInt32LE(at),
      type: bytes.readUInt32LE(at + 4),
      offset: Number(bytes.readBigUInt64LE(at + 0x18)),
      size: Number(bytes.readBigUInt64LE(at + 0x20)),
    };
  };
  const strtab = header(shstrndx);
  const sections = new Map<string, Buffer>();
  for (let i = 1; i < shnum; i++) {
    const h = header(i);
    const start = strtab.offset + h.name;
    const name = bytes.subarray(start, bytes.indexOf(0, start)).toString("latin1");
    sections.set(name, h.type === 8 /* SHT_NOBITS */ ? Buffer.alloc(0) : bytes.subarray(h.offset, h.offset + h.size));
  }
  return { machine, sections };
}

const EM_BPF = 247;
const corpus = loadCorpus();
const files = corpusSourceFiles();

describe("C corpus compiles", () => {
  test("every source has expectations and every expectation has a source", () => {
    const fromFiles = files.map((f) => basename(f, ".bpf.c")).sort();
    assert.deepEqual(fromFiles, Object.keys(corpus).sort());
    for (const [name, obj] of Object.entries(corpus)) assert.equal(basename(obj.file, ".bpf.c"), name);
  });

  for (const file of files) {
    const name = basename(file, ".bpf.c");
    test(`${file} compiles to a BPF ELF with its programs, maps and license`, async () => {
      const text = readFileSync(join(REPO_ROOT, file), "utf8");
      assert.match(text, /^\/\/ SPDX-License-Identifier: .+\n\/\*\n \* \S+\.bpf\.c: /, "header comment saying what the file is for");
      const obj = corpus[name];
      assert.ok(obj, `expectations for ${name}`);

      const out = await compileC(file);
      const { machine, sections } = elfSections(readFileSync(out));
      assert.equal(machine, EM_BPF);
      assert.ok(sections.has(".BTF"), ".BTF present");
      assert.ok(sections.has(".BTF.ext"), ".BTF.ext present");
      const license = sections.get("license");
      assert.ok(license, "license section");
      assert.equal(license.toString("latin1").replace(/\0+$/, ""), obj.license);
      for (const prog of obj.programs) assert.ok(sections.has(prog.section), `section ${prog.section} for ${prog.name}`);
      for (const map of obj.maps) {
        if (map.name.startsWith(".")) {
          if (map.name !== ".kconfig") assert.ok(sections.has(map.name), `data section ${map.name}`);
        } else {
          const where = name === "legacy_maps" ? "maps" : ".maps";
          assert.ok(sections.has(where), `${where} section for map ${map.name}`);
        }
      }
    });
  }
});

describe("toolchain helper", () => {
  test("caches by content: same inputs give the same object, other defines another", async () => {
    const a = await compileC("test/fixtures/c/globals.bpf.c");
    const b = await compileC(join(REPO_ROOT, "test/fixtures/c/globals.bpf.c"));
    const c = await compileC("test/fixtures/c/globals.bpf.c", { defines: { TSBPF_UNUSED: 1 } });
    assert.equal(a, b);
    assert.notEqual(a, c);
    assert.match(basename(a), /^globals\.bpf\.[0-9a-f]{16}\.o$/, "object keeps the source's name");
  });

  test("every kind of output is content-addressed in the one cache directory", async () => {
    const src = "int f(int x) { return x + 1; }\n";
    const text = compileCText(src, { name: "cache_probe" });
    assert.equal(compileCText(src, { name: "cache_probe" }).path, text.path, "same text and flags: same object");
    assert.notEqual(compileCText(src, { name: "cache_probe", flags: ["-O1", "-g", "-target", "bpf"] }).path, text.path);
    const asmBefore = readdirSync(TOOLCHAIN_CACHE_DIR).filter((f) => f.startsWith("asm.")).length;
    assembleObject("r0 = 7\nexit\n", 3);
    assembleObject("r0 = 7\nexit\n", 3);
    const asmAfter = readdirSync(TOOLCHAIN_CACHE_DIR).filter((f) => f.startsWith("asm.")).length;
    assert.ok(asmAfter - asmBefore <= 1, "assembling the same text twice adds at most one entry");
    for (const path of [text.path, await compileC("test/fixtures/c/globals.bpf.c"), dirname(vmlinuxHeader())]) {
      assert.ok(path.startsWith(`${TOOLCHAIN_CACHE_DIR}/`), `${path} is in ${TOOLCHAIN_CACHE_DIR}`);
    }
  });

  test("compileCSource builds inline source and reports clang's diagnostics", async () => {
    const src = `#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\nSEC("xdp") int pass(struct xdp_md *ctx) { return XDP_PASS; }\nchar LICENSE[] SEC("license") = "GPL";\n`;
    const out = await compileCSource("inline_pass", src);
    assert.ok(elfSections(readFileSync(out)).sections.has("xdp"));
    await assert.rejects(compileCSource("inline_broken", "int broken( {\n"), (err: unknown) => {
      assert.ok(err instanceof ToolchainError);
      assert.equal(err.code, "TOOL_FAILED");
      assert.match(err.message, /inline_broken\.bpf\.c:1:\d+: error/);
      return true;
    });
    await assert.rejects(compileCSource("../escape", "int x;"), ToolchainError);
  });

  test("a missing clang is reported with the setup command", () => {
    const helper = join(dirname(fileURLToPath(import.meta.url)), "..", "helpers", "toolchain.ts");
    const script = `import { compileCSource } from ${JSON.stringify(helper)};
      compileCSource("no_clang", "int x;").then(() => process.exit(3), (e) => { console.log(e.code + " " + e.message); });`;
    const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: REPO_ROOT,
      encoding: "utf8",
      env: { ...process.env, CLANG: "/nonexistent/clang" },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^TOOL_MISSING .*scripts\/setup\.sh/);
  });
});
