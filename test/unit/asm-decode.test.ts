// Decoder and encoder edge cases: bad lengths, truncated or malformed ld_imm64, unknown opcodes kept raw,
// out-of-range fields, symbols, slot <-> index mapping, and a seeded fuzz of byte-exact round trips.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { AsmError } from "../../src/errors.js";
import {
  Instruction, Size, R0, R1, R2, decode, disassemble, encode, exit, instructionAtByte, instructionAtSlot, ldImm64,
  loadMem, mov64Imm, slotCount, slotOffsets,
} from "../../src/asm/index.js";

function hex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s.replace(/\s+/g, ""), "hex"));
}

function asmError(code: string, pattern: RegExp) {
  return (e: unknown) => e instanceof AsmError && e.code === code && pattern.test(e.message);
}

describe("asm decode: bad input", () => {
  test("empty input decodes to nothing", () => {
    assert.deepEqual(decode(new Uint8Array(0)), []);
    assert.equal(encode([]).byteLength, 0);
  });

  test("length not a multiple of 8", () => {
    assert.throws(() => decode(new Uint8Array(7)), asmError("ASM_BAD_LENGTH", /length 7 .*trailing 7 bytes at offset 0/));
    assert.throws(() => decode(new Uint8Array(12)), asmError("ASM_BAD_LENGTH", /trailing 4 bytes at offset 8/));
    assert.throws(
      () => decode(new Uint8Array(13), { baseOffset: 64, what: 'section "xdp"' }),
      asmError("ASM_BAD_LENGTH", /section "xdp".*at offset 72/),
    );
  });

  test("truncated ld_imm64 names its byte offset", () => {
    const first = encode([ldImm64(R1, 1)]).subarray(0, 8);
    assert.throws(() => decode(first), asmError("ASM_TRUNCATED", /ld_imm64 at offset 0 is missing its second slot/));
    const two = new Uint8Array([...encode([exit()]), ...first]);
    assert.throws(() => decode(two), asmError("ASM_TRUNCATED", /offset 8/));
    assert.throws(() => decode(two, { baseOffset: 100 }), asmError("ASM_TRUNCATED", /offset 108/));
  });

  test("ld_imm64 whose second slot is not a pseudo instruction", () => {
    for (const second of ["9500000000000000", "0001000000000000", "0000010000000000"]) {
      assert.throws(() => decode(hex("1801000001000000" + second)), asmError("ASM_BAD_LD_IMM64", /offset 0/));
    }
  });

  test("symbols attach at instruction boundaries only", () => {
    const bytes = encode([mov64Imm(R0, 0), ldImm64(R1, 5), exit()]);
    const insns = decode(bytes, { symbols: new Map([[0, "main"], [24, "tail"]]) });
    assert.equal(insns[0].symbol, "main");
    assert.equal(insns[1].symbol, undefined);
    assert.equal(insns[2].symbol, "tail");
    assert.throws(() => decode(bytes, { symbols: new Map([[16, "inside"]]) }), asmError("ASM_BAD_SYMBOL", /"inside" at offset 16/));
  });

  test("decodes a view with a non-zero byteOffset", () => {
    const bytes = encode([mov64Imm(R0, 0), loadMem(Size.W, R2, R1, -4), exit()]);
    const padded = new Uint8Array(bytes.byteLength + 3);
    padded.set(bytes, 3);
    const insns = decode(padded.subarray(3));
    assert.equal(insns.length, 3);
    assert.equal(insns[1].offset, -4);
    assert.equal(insns[1].src, 1);
  });
});

describe("asm decode: raw and unknown instructions", () => {
  test("unknown opcodes are kept raw and re-encode exactly", () => {
    const bytes = hex(`
      00 00 00 00 00 00 00 00
      ff ff ff ff ff ff ff ff
      86 a5 34 12 78 56 34 12
      8c 21 00 00 00 00 00 00
      db 21 08 00 10 00 00 00
      10 00 00 00 00 00 00 00`);
    const insns = decode(bytes);
    assert.equal(insns.length, 6);
    assert.deepEqual(
      [insns[1].opcode, insns[1].dst, insns[1].src, insns[1].offset, insns[1].constant],
      [0xff, 15, 15, -1, -1n],
    );
    assert.equal(insns[2].offset, 0x1234);
    assert.equal(insns[2].constant, 0x12345678n);
    assert.deepEqual(encode(insns), bytes);
    assert.deepEqual(
      disassemble(insns).map((l) => l.replace(/^\d+: /, "")),
      ["(00) unknown", "(ff) unknown", "(86) unknown", "(8c) unknown", "(db) unknown", "(10) unknown"],
    );
  });

  test("ld_imm64 constant is the signed 64-bit value", () => {
    const [a] = decode(hex("18010000 ffffffff 00000000 ffffffff"));
    assert.equal(a.constant, -1n);
    assert.equal(a.imm, -1);
    assert.equal(a.nextImm, -1);
    const [b] = decode(hex("18010000 00000080 00000000 00000000"));
    assert.equal(b.constant, 0x80000000n);
    const [c] = decode(hex("18010000 01000000 00000000 00000080"));
    assert.equal(c.constant, -(2n ** 63n) + 1n);
  });

  test("ordinary constants are sign-extended imm32", () => {
    const [a] = decode(hex("b7010000 ffffffff"));
    assert.equal(a.constant, -1n);
    const [b] = decode(hex("b7010000 ffffff7f"));
    assert.equal(b.constant, 0x7fffffffn);
  });

  test("seeded fuzz: decode/encode is the identity and disassembly never throws", () => {
    let seed = 0x12345678;
    const rand = (): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return seed >>> 0;
    };
    for (let round = 0; round < 200; round++) {
      const slots = 1 + (rand() % 40);
      const bytes = new Uint8Array(slots * 8);
      for (let s = 0; s < slots; s++) {
        const p = s * 8;
        for (let b = 0; b < 8; b++) bytes[p + b] = rand() & 0xff;
        if (rand() % 4 === 0) bytes[p] = [0x18, 0x85, 0xdb, 0xbf, 0x15, 0x06][rand() % 6];
        if (bytes[p] === 0x18) {
          if (s === slots - 1) bytes[p] = 0x95;
          else {
            // a well-formed second slot: only next_imm may be set
            s++;
            bytes.fill(0, s * 8, s * 8 + 4);
            for (let b = 4; b < 8; b++) bytes[s * 8 + b] = rand() & 0xff;
          }
        }
      }
      const insns = decode(bytes);
      assert.deepEqual(encode(insns), bytes, `round ${round}`);
      assert.equal(slotCount(insns), slots);
      const lines = disassemble(insns);
      assert.equal(lines.length, insns.length);
    }
  });
});

describe("asm encode: field validation", () => {
  const cases: Array<[string, Instruction, RegExp]> = [
    ["dst 16", new Instruction(0xb7, 16), /instruction 0 \(slot 0\): dst register 16/],
    ["src -1", new Instruction(0xbf, 1, -1), /src register -1/],
    ["offset 32768", new Instruction(0x05, 0, 0, 32768), /offset 32768/],
    ["opcode 256", new Instruction(256), /opcode 256/],
    ["fractional offset", new Instruction(0x05, 0, 0, 1.5), /offset 1.5/],
    ["imm32 overflow", new Instruction(0xb7, 1, 0, 0, 2n ** 32n), /does not fit in 32 bits/],
    ["imm32 underflow", new Instruction(0xb7, 1, 0, 0, -(2n ** 31n) - 1n), /does not fit in 32 bits/],
    ["imm64 overflow", new Instruction(0x18, 1, 0, 0, 2n ** 64n), /does not fit in 64 bits/],
  ];
  for (const [name, insn, pattern] of cases) {
    test(name, () => {
      assert.throws(() => encode([insn]), asmError("ASM_INVALID_FIELD", pattern));
    });
  }

  test("the failing instruction is named by index and slot", () => {
    const bad = new Instruction(0xb7, 16);
    assert.throws(() => encode([ldImm64(R1, 1), mov64Imm(R0, 0), bad]), asmError("ASM_INVALID_FIELD", /instruction 2 \(slot 3\)/));
  });

  test("a non-bigint constant is rejected, not crashed on", () => {
    const insn = mov64Imm(R0, 0);
    (insn as { constant: unknown }).constant = 5;
    assert.throws(() => encode([insn]), asmError("ASM_INVALID_FIELD", /not a bigint/));
  });

  test("unsigned forms of constants are accepted", () => {
    assert.equal(Buffer.from(encode([new Instruction(0xb7, 1, 0, 0, 0xffffffffn)])).toString("hex"), "b7010000ffffffff");
    assert.equal(
      Buffer.from(encode([new Instruction(0x18, 1, 0, 0, 2n ** 64n - 2n)])).toString("hex"),
      "18010000feffffff00000000ffffffff",
    );
  });
});

describe("asm decode: slot mapping", () => {
  const insns = [mov64Imm(R0, 0), ldImm64(R1, 1), ldImm64(R2, 2), exit()];

  test("slotOffsets counts ld_imm64 as two slots", () => {
    assert.deepEqual(slotOffsets(insns), [0, 1, 3, 5]);
    assert.equal(slotCount(insns), 6);
  });

  test("instructionAtSlot inverts slotOffsets", () => {
    const offsets = slotOffsets(insns);
    for (const source of [insns, offsets]) {
      assert.equal(instructionAtSlot(source, 0), 0);
      assert.equal(instructionAtSlot(source, 1), 1);
      assert.equal(instructionAtSlot(source, 2), undefined, "second half of ld_imm64");
      assert.equal(instructionAtSlot(source, 3), 2);
      assert.equal(instructionAtSlot(source, 5), 3);
      assert.equal(instructionAtSlot(source, 6), undefined, "past the end");
      assert.equal(instructionAtSlot(source, -1), undefined);
      assert.equal(instructionAtSlot(source, 1.5), undefined);
    }
    assert.equal(instructionAtSlot([], 0), undefined);
  });

  test("instructionAtByte maps ELF relocation offsets", () => {
    assert.equal(instructionAtByte(insns, 8), 1);
    assert.equal(instructionAtByte(insns, 24), 2);
    assert.equal(instructionAtByte(insns, 16), undefined);
    assert.equal(instructionAtByte(insns, 12), undefined);
  });
});
