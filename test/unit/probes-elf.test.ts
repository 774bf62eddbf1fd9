// Pure parsing behind uprobes and USDT: ELF symbols and segments, .note.stapsdt argument specs, the
// libbpf USDT spec encoding, uprobe/USDT section targets and /etc/ld.so.cache.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { ElfError, TsbpfError } from "../../src/errors.js";
import { parseUsdtArgs } from "../../src/elf/notes.js";
import { elfAddressToOffset, readElfImage, resolveElfSymbol } from "../../src/elf/symbols.js";
import { parseLdSoCache } from "../../src/runtime/links/binary-path.js";
import { parseUprobeTarget } from "../../src/runtime/links/uprobe.js";
import { parseUsdtTarget, usdtSpecBytes, USDT_SPEC_SIZE } from "../../src/runtime/links/usdt.js";

const X86 = 62;
const ARM64 = 183;

describe("USDT argument specs", () => {
  test("x86-64: constants, registers (any width), memory operands, scaled index", () => {
    const a = parseUsdtArgs("-4@$-42 8@%rax -4@%ebx 2@%r12w -4@-20(%rbp) 8@(%rdi) 8@16(%rsp,%rcx,8) 1@%sil", X86);
    assert.deepEqual(a.map((x) => [x.size, x.signed, x.kind, x.reg ?? null, x.value]), [
      [4, true, "const", null, -42n],
      [8, false, "reg", "rax", 0n],
      [4, true, "reg", "rbx", 0n],
      [2, false, "reg", "r12", 0n],
      [4, true, "deref", "rbp", -20n],
      [8, false, "deref", "rdi", 0n],
      [8, false, "sib", "rsp", 16n],
      [1, false, "reg", "rsi", 0n],
    ]);
    assert.equal(a[6].indexReg, "rcx");
    assert.equal(a[6].scale, 8);
    assert.deepEqual(parseUsdtArgs("", X86), []);
  });

  test("arm64: registers, [reg, off] and constants", () => {
    const a = parseUsdtArgs("-4@w1 8@[sp, 16] 8@[x2] -8@5", ARM64);
    assert.deepEqual(a.map((x) => [x.kind, x.reg ?? null, x.value]), [["reg", "x1", 0n], ["deref", "sp", 16n], ["deref", "x2", 0n], ["const", null, 5n]]);
  });

  test("malformed specs are ElfError USDT_BAD_ARG", () => {
    for (const bad of ["3@%rax", "4@%xyz", "4-%rax", "8@*(%rax)"]) {
      assert.throws(() => parseUsdtArgs(bad, X86), (e: unknown) => e instanceof ElfError && e.code === "USDT_BAD_ARG", bad);
    }
    assert.throws(() => parseUsdtArgs("4@r1", 243), (e: unknown) => e instanceof ElfError && e.code === "USDT_UNSUPPORTED_ARCH");
  });
});

describe("libbpf USDT spec encoding", { skip: process.arch !== "x64" ? "pt_regs offsets checked for x86-64" : undefined }, () => {
  test("struct __bpf_usdt_spec layout: 12 x 16-byte args, cookie at 192, count at 200", () => {
    const b = usdtSpecBytes(parseUsdtArgs("-4@-20(%rbp) 8@%rdi -2@$7", X86), 0x1122334455667788n);
    assert.equal(b.length, USDT_SPEC_SIZE);
    const v = new DataView(b.buffer);
    // arg 0: deref of rbp (pt_regs offset 32), offset -20, signed, 32-bit → shift 32
    assert.equal(v.getBigInt64(0, true), -20n);
    assert.equal(v.getUint8(8), 2);
    assert.equal(v.getInt16(12, true), 32);
    assert.equal(v.getUint8(14), 1);
    assert.equal(v.getInt8(15), 32);
    // arg 1: register rdi (offset 112), unsigned 64-bit
    assert.equal(v.getUint8(16 + 8), 1);
    assert.equal(v.getInt16(16 + 12, true), 112);
    assert.equal(v.getInt8(16 + 15), 0);
    // arg 2: constant 7, 16-bit signed
    assert.equal(v.getBigUint64(32, true), 7n);
    assert.equal(v.getUint8(32 + 8), 0);
    assert.equal(v.getInt8(32 + 15), 48);
    assert.equal(v.getBigUint64(192, true), 0x1122334455667788n);
    assert.equal(v.getInt16(200, true), 3);
  });

  test("more than 12 arguments is a typed error", () => {
    const args = parseUsdtArgs(Array.from({ length: 13 }, () => "8@%rax").join(" "), X86);
    assert.throws(() => usdtSpecBytes(args), (e: unknown) => e instanceof TsbpfError && e.code === "USDT_BAD_ARG");
  });
});

describe("section targets", () => {
  test("uprobe: binary:function+offset, binary:offset, paths with colons", () => {
    assert.deepEqual(parseUprobeTarget("/usr/bin/bash:readline"), { binary: "/usr/bin/bash", symbol: "readline", offset: 0n });
    assert.deepEqual(parseUprobeTarget("libc.so.6:malloc+0x10"), { binary: "libc.so.6", symbol: "malloc", offset: 16n });
    assert.deepEqual(parseUprobeTarget("/proc/self/exe:0x1234"), { binary: "/proc/self/exe", offset: 0x1234n });
    assert.deepEqual(parseUprobeTarget("/weird:dir/bin:main"), { binary: "/weird:dir/bin", symbol: "main", offset: 0n });
    assert.throws(() => parseUprobeTarget("nocolon"), (e: unknown) => e instanceof TsbpfError && e.code === "ATTACH_BAD_TARGET");
  });
  test("usdt: binary:provider:name", () => {
    assert.deepEqual(parseUsdtTarget("/usr/lib/libc.so.6:libc:setjmp"), { binary: "/usr/lib/libc.so.6", provider: "libc", name: "setjmp" });
    for (const bad of ["a:b", "a::c", ":b:c", "a:b:"]) {
      assert.throws(() => parseUsdtTarget(bad), (e: unknown) => e instanceof TsbpfError && e.code === "ATTACH_BAD_TARGET", bad);
    }
  });
});

describe("ELF images", () => {
  test("node's own binary: a symbol resolves to a file offset inside an executable segment", () => {
    const img = readElfImage(new Uint8Array(readFileSync(process.execPath)), process.execPath);
    const s = resolveElfSymbol(img, "main");
    assert.equal(elfAddressToOffset(img, s.address, true), s.fileOffset);
    const bytes = img.bytes;
    assert.ok(s.fileOffset > 0n && s.fileOffset < BigInt(bytes.length));
    assert.throws(() => resolveElfSymbol(img, "tsbpf_definitely_missing"), (e: unknown) => e instanceof ElfError && e.code === "SYMBOL_NOT_FOUND");
  });
  test("non-ELF, 32-bit and truncated input are ElfErrors", () => {
    assert.throws(() => readElfImage(new Uint8Array(100)), (e: unknown) => e instanceof ElfError);
    const h = new Uint8Array(64);
    h.set([0x7f, 0x45, 0x4c, 0x46, 1, 1]);
    assert.throws(() => readElfImage(h), (e: unknown) => e instanceof ElfError && /64-bit/.test((e as Error).message));
    const real = new Uint8Array(readFileSync(process.execPath)).subarray(0, 4096);
    assert.throws(() => readElfImage(real), (e: unknown) => e instanceof ElfError && /outside the file/.test((e as Error).message));
  });
});

describe("ld.so.cache", { skip: existsSync("/etc/ld.so.cache") ? undefined : "no /etc/ld.so.cache" }, () => {
  test("lists libc.so.6 with an existing path; garbage yields nothing", () => {
    const entries = parseLdSoCache(new Uint8Array(readFileSync("/etc/ld.so.cache")));
    const libc = entries.find((e) => e.name === "libc.so.6");
    assert.ok(libc, "libc.so.6 in the cache");
    assert.ok(existsSync(libc.path));
    assert.deepEqual(parseLdSoCache(new Uint8Array(64)), []);
  });
});
