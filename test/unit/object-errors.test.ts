// Bad input to readCollectionSpec: truncated, garbled, foreign and subtly corrupted ELF objects must
// each fail with a TsbpfError subclass and a specific code (never a TypeError/RangeError).

import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { BtfError, ElfError, MissingFeatureError, ObjectError, TsbpfError } from "../../src/errors.js";
import { readCollectionSpec } from "../../src/object/reader.js";
import { loadCollection } from "../../src/runtime/collection.js";
import { compileC, compileCSource } from "../helpers/toolchain.js";
import { fileBytes, hostObject } from "../helpers/loader.js";
import { privileged } from "../helpers/privileges.js";

type ErrorClass = new (...args: never[]) => TsbpfError;

/** readCollectionSpec(bytes) must throw `cls` with `code` (and a message matching `message`). */
function expectError(bytes: Uint8Array, cls: ErrorClass, code: string, message?: RegExp): void {
  let caught: unknown;
  try {
    readCollectionSpec(bytes);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught !== undefined, `expected ${cls.name} ${code}, but the object was accepted`);
  assert.ok(caught instanceof TsbpfError, `a TsbpfError, got ${String(caught)}\n${(caught as Error).stack}`);
  assert.ok(caught instanceof cls, `a ${cls.name}, got ${caught.constructor.name} ${caught.code}: ${caught.message}`);
  assert.equal(caught.code, code, caught.message);
  assert.ok(caught.message.length > 10, "the message says something");
  if (message) assert.match(caught.message, message);
}

// --- minimal ELF64 little-endian section header access, to corrupt objects precisely ---

interface RawSection {
  index: number;
  name: string;
  /** File offset of this section's header. */
  header: number;
  nameOffset: number;
  type: number;
  offset: number;
  size: number;
  link: number;
  entsize: number;
}

function sections(b: Uint8Array): RawSection[] {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const shoff = Number(dv.getBigUint64(0x28, true));
  const shentsize = dv.getUint16(0x3a, true);
  const shnum = dv.getUint16(0x3c, true);
  const shstrndx = dv.getUint16(0x3e, true);
  const raw = Array.from({ length: shnum }, (_, index) => {
    const h = shoff + index * shentsize;
    return {
      index,
      header: h,
      nameOffset: dv.getUint32(h, true),
      type: dv.getUint32(h + 4, true),
      offset: Number(dv.getBigUint64(h + 0x18, true)),
      size: Number(dv.getBigUint64(h + 0x20, true)),
      link: dv.getUint32(h + 0x28, true),
      entsize: Number(dv.getBigUint64(h + 0x38, true)),
    };
  });
  const strtab = raw[shstrndx];
  return raw.map((s) => {
    const start = strtab.offset + s.nameOffset;
    const end = b.indexOf(0, start);
    return { ...s, name: new TextDecoder().decode(b.subarray(start, end)) };
  });
}

function section(b: Uint8Array, name: string): RawSection {
  const s = sections(b).find((x) => x.name === name);
  assert.ok(s, `section ${name} exists`);
  return s;
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** A copy with `fn` applied. */
function patched(b: Uint8Array, fn: (copy: Uint8Array, dv: DataView) => void): Uint8Array {
  const copy = b.slice();
  fn(copy, view(copy));
  return copy;
}

const HEAD = "#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n";
const LICENSE = 'char LICENSE[] SEC("license") = "GPL";\n';

describe("readCollectionSpec rejects bad objects with typed errors", () => {
  let good: Uint8Array; // globals.bpf.c: .BTF, .BTF.ext, data sections, relocations
  let maps: Uint8Array; // maps.bpf.c: map relocations in "tc"

  before(async () => {
    good = fileBytes(await compileC("test/fixtures/c/globals.bpf.c"));
    maps = fileBytes(await compileC("test/fixtures/c/maps.bpf.c"));
    assert.ok(readCollectionSpec(good).programs.size === 1, "the unmodified object is fine");
  });

  describe("not an eBPF ELF object", () => {
    test("empty input", () => expectError(new Uint8Array(0), ElfError, "ELF_TRUNCATED"));
    test("shorter than the ELF header", () => expectError(good.subarray(0, 40), ElfError, "ELF_TRUNCATED"));
    test("random bytes", () => {
      const junk = new Uint8Array(4096).map((_, i) => (i * 2654435761) >>> 24);
      expectError(junk, ElfError, "ELF_BAD_MAGIC");
    });
    test("a text file", () => expectError(new TextEncoder().encode("SEC(\"xdp\") int f() { return 2; }\n".repeat(10)), ElfError, "ELF_BAD_MAGIC"));
    test("32-bit ELF class", () => expectError(patched(good, (b) => (b[4] = 1)), ElfError, "ELF_WRONG_CLASS"));
    test("an x86-64 object from the host compiler", () => {
      const x86 = hostObject("x86_add", "int add(int a, int b) { return a + b; }\n");
      expectError(x86, ElfError, "ELF_WRONG_MACHINE", /e_machine is \d+, expected 247/);
    });
    test("a big-endian BPF object (clang -target bpfeb)", async () => {
      const path = await compileCSource("big_endian", `${HEAD}SEC("xdp") int f(void *ctx) { return 2; }\n${LICENSE}`, {
        extraFlags: ["-target", "bpfeb"],
      });
      expectError(fileBytes(path), ElfError, "ELF_WRONG_ENDIAN");
    });
    test("not a relocatable object (e_type patched to ET_EXEC)", () => {
      expectError(patched(good, (_, dv) => dv.setUint16(0x10, 2, true)), ObjectError, "OBJ_NOT_RELOCATABLE");
    });
  });

  describe("truncated", () => {
    test("section headers cut off", () => {
      const shoff = Number(view(good).getBigUint64(0x28, true));
      expectError(good.subarray(0, shoff + 10), ElfError, "ELF_TRUNCATED");
    });
    test("at every 1/16th of the file: always a typed ELF error", () => {
      for (let i = 1; i < 16; i++) {
        const cut = good.subarray(0, Math.floor((good.byteLength * i) / 16));
        assert.throws(() => readCollectionSpec(cut), (e: unknown) => e instanceof ElfError, `cut at ${i}/16`);
      }
    });
    test("section header table pointing past the end", () => {
      expectError(patched(good, (_, dv) => dv.setBigUint64(0x28, BigInt(good.byteLength - 8), true)), ElfError, "ELF_TRUNCATED");
    });
    test("a section whose data lies past the end of the file", () => {
      const s = section(good, ".BTF");
      expectError(patched(good, (_, dv) => dv.setBigUint64(s.header + 0x20, BigInt(good.byteLength), true)), ElfError, "ELF_TRUNCATED", /past the end/);
    });
  });

  describe("program sections", () => {
    test('code in SEC("bogus")', async () => {
      const path = await compileCSource("bogus_section", `${HEAD}SEC("bogus") int f(void *ctx) { return 0; }\n${LICENSE}`);
      expectError(fileBytes(path), ObjectError, "OBJ_UNKNOWN_SECTION", /"bogus"/);
    });
    test("a static function as a program entry", async () => {
      const path = await compileCSource("static_entry", `${HEAD}SEC("xdp") static __attribute__((used)) int f(void *ctx) { return 2; }\n${LICENSE}`);
      expectError(fileBytes(path), ObjectError, "OBJ_STATIC_PROGRAM", /"f"/);
    });
    test('a "version" section of the wrong size', async () => {
      const path = await compileCSource("bad_version", `${HEAD}__u64 ver SEC("version") = 1;\nSEC("xdp") int f(void *ctx) { return 2; }\n${LICENSE}`);
      expectError(fileBytes(path), ObjectError, "OBJ_BAD_VERSION");
    });
    test("struct_ops: a member that is not a function pointer set to a program", async () => {
      const src = `${HEAD}struct tcp_congestion_ops { void *init; char name[16]; };
SEC("struct_ops/init") int init_fn(void *ctx) { return 0; }
SEC(".struct_ops") struct tcp_congestion_ops ops = { .init = (void *)init_fn, .name = "x" };
${LICENSE}`;
      expectError(fileBytes(await compileCSource("struct_ops_obj", src)), ObjectError, "OBJ_BAD_STRUCT_OPS", /"init" is not a function pointer/);
    });
    test("a .bss section of absurd size (no file bytes bound it)", () => {
      const bss = section(good, ".bss");
      for (const size of [2n ** 50n, 2n ** 34n + 24n]) {
        expectError(patched(good, (_, dv) => dv.setBigUint64(bss.header + 0x20, size, true)), ObjectError, "OBJ_BAD_DATA", /"\.bss"/);
      }
    });
    test("a code section with an odd size", () => {
      const s = section(good, "tc");
      expectError(patched(good, (_, dv) => dv.setBigUint64(s.header + 0x20, BigInt(s.size - 3), true)), ObjectError, "OBJ_BAD_CODE");
    });
  });

  describe("relocations", () => {
    test("symbol index out of range", () => {
      const rel = section(maps, ".reltc");
      const b = patched(maps, (_, dv) => dv.setUint32(rel.offset + 12, 0xffff, true)); // r_info high half = symbol
      expectError(b, ElfError, "ELF_BAD_RELOCATION", /symbol/);
    });
    test("offset outside the section", () => {
      const rel = section(maps, ".reltc");
      const b = patched(maps, (_, dv) => dv.setBigUint64(rel.offset, 0x100000n, true));
      expectError(b, ElfError, "ELF_BAD_RELOCATION", /outside target section "tc"/);
    });
    test("offset not on an instruction that can take a map (shifted by one instruction)", () => {
      const rel = section(maps, ".reltc");
      const b = patched(maps, (_, dv) => dv.setBigUint64(rel.offset, dv.getBigUint64(rel.offset, true) + 8n, true));
      expectError(b, ObjectError, "OBJ_BAD_RELOCATION");
    });
    test("relocation section with a bad entry size", () => {
      const rel = section(maps, ".reltc");
      const b = patched(maps, (_, dv) => dv.setBigUint64(rel.header + 0x20, BigInt(rel.size - 5), true));
      expectError(b, ElfError, "ELF_BAD_SECTION");
    });
  });

  describe("BTF", () => {
    test("bad magic", () => {
      const btf = section(good, ".BTF");
      expectError(patched(good, (_, dv) => dv.setUint16(btf.offset, 0x1234, true)), BtfError, "BTF_BAD_MAGIC");
    });
    test("byte-swapped magic (big-endian BTF)", () => {
      const btf = section(good, ".BTF");
      expectError(patched(good, (_, dv) => dv.setUint16(btf.offset, 0x9feb, true)), BtfError, "BTF_WRONG_ENDIAN");
    });
    test("unknown version", () => {
      const btf = section(good, ".BTF");
      expectError(patched(good, (b) => (b[btf.offset + 2] = 7)), BtfError, "BTF_BAD_VERSION");
    });
    test("type section longer than the data", () => {
      const btf = section(good, ".BTF");
      expectError(patched(good, (_, dv) => dv.setUint32(btf.offset + 12, btf.size * 4, true)), BtfError, "BTF_TRUNCATED");
    });
    test("a type of unknown kind", () => {
      const btf = section(good, ".BTF");
      const hdrLen = view(good).getUint32(btf.offset + 4, true);
      const typeOff = view(good).getUint32(btf.offset + 8, true);
      const first = btf.offset + hdrLen + typeOff;
      // info word of type 1: kind in bits 24-28.
      expectError(patched(good, (_, dv) => dv.setUint32(first + 4, (31 << 24) | 0, true)), BtfError, "BTF_BAD_TYPE");
    });
    test("a name offset outside the string section", () => {
      const btf = section(good, ".BTF");
      const hdrLen = view(good).getUint32(btf.offset + 4, true);
      const typeOff = view(good).getUint32(btf.offset + 8, true);
      const first = btf.offset + hdrLen + typeOff;
      expectError(patched(good, (_, dv) => dv.setUint32(first, 0x7fffffff, true)), BtfError, "BTF_BAD_STRING");
    });
    test(".BTF.ext without .BTF", () => {
      const btf = section(good, ".BTF");
      const strtab = sections(good)[view(good).getUint16(0x3e, true)];
      // Rename ".BTF" to ".BTX" in the section name string table.
      expectError(patched(good, (b) => (b[strtab.offset + btf.nameOffset + 3] = 0x58)), BtfError, "BTF_MISSING");
    });
    test(".BTF.ext header longer than the section", () => {
      const ext = section(good, ".BTF.ext");
      expectError(patched(good, (_, dv) => dv.setUint32(ext.offset + 4, 0xfff0, true)), BtfError, "BTF_TRUNCATED", /hdr_len/);
    });
    test(".BTF.ext func_info with a record size too small", () => {
      const ext = section(good, ".BTF.ext");
      const dv0 = view(good);
      const funcInfo = ext.offset + dv0.getUint32(ext.offset + 4, true) + dv0.getUint32(ext.offset + 8, true);
      expectError(patched(good, (_, dv) => dv.setUint32(funcInfo, 3, true)), BtfError, "BTF_BAD_EXT");
    });
  });

  test("an undefined function is read as a kfunc", async () => {
    const path = await compileCSource("extern_call", `${HEAD}extern int tsbpf_nowhere(int x);\nSEC("xdp") int f(void *ctx) { return tsbpf_nowhere(2); }\n${LICENSE}`);
    const spec = readCollectionSpec(fileBytes(path));
    assert.deepEqual(spec.ksyms.map((k) => [k.name, k.kind]), [["tsbpf_nowhere", "func"]]);
    assert.ok(spec.programs.get("f")!.metas.some((m) => m.reference?.kind === "kfunc"));
  });

  test("an undefined function fails to load with KFUNC_NOT_FOUND", privileged(), async () => {
    const path = await compileCSource("extern_call", `${HEAD}extern int tsbpf_nowhere(int x);\nSEC("xdp") int f(void *ctx) { return tsbpf_nowhere(2); }\n${LICENSE}`);
    assert.throws(
      () => loadCollection(readCollectionSpec(fileBytes(path))),
      (e: unknown) => e instanceof MissingFeatureError && e.code === "KFUNC_NOT_FOUND" && e.message.includes("tsbpf_nowhere"),
    );
  });
});
