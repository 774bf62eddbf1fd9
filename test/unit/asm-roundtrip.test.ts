// Round trips over real compiler output: clang-built BPF objects (cpu v1..v4) are decoded, re-encoded
// bit-exactly, disassembled without unknowns, and their relocation offsets map onto instructions.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  decode, disassemble, encode, instructionAtByte, instructionAtSlot, slotCount, slotOffsets,
} from "../../src/asm/index.js";
import { codeSections, relocationOffsets } from "../helpers/elf-sections.js";
import { compileCForCpu, findTool } from "../helpers/toolchain.js";

const fixtures = new URL("../fixtures/asm/", import.meta.url).pathname;
/** Fixture files and the lowest BPF cpu version clang can compile them for. */
const programs: Array<{ file: string; minCpu: 1 | 2 | 3 | 4 }> = [
  { file: "maps.c", minCpu: 3 },
  { file: "arith.c", minCpu: 4 },
  { file: "xdp.c", minCpu: 1 },
];

const clang = findTool("clang");

describe("asm round trip over clang objects", () => {
  for (const { file, minCpu } of programs) {
    for (const cpu of [1, 2, 3, 4] as const) {
      if (cpu < minCpu) continue;
      const skip = !clang ? "clang not installed" : cpu > clang.cpu ? `${clang.version} cannot target v${cpu}` : undefined;
      test(`${file} -mcpu=v${cpu}`, { skip }, () => {
        const elf = compileCForCpu(join(fixtures, file), cpu);
        const sections = codeSections(elf);
        assert.ok(sections.length >= 1, "object has code");
        let total = 0;
        let relocs = 0;
        for (const section of sections) {
          const bytes = section.data;
          const insns = decode(bytes, { what: `section "${section.name}"` });
          total += insns.length;
          // encode(decode(bytes)) is the identity, and decode(encode(x)) gives equal instructions.
          assert.deepEqual(encode(insns), new Uint8Array(bytes), `${section.name}: re-encoding differs`);
          const again = decode(encode(insns));
          assert.equal(again.length, insns.length);
          again.forEach((insn, i) => assert.ok(insn.sameEncoding(insns[i]), `${section.name}[${i}]`));
          // Slot bookkeeping covers every byte.
          assert.equal(slotCount(insns) * 8, bytes.byteLength);
          const offsets = slotOffsets(insns);
          offsets.forEach((slot, i) => assert.equal(instructionAtSlot(offsets, slot), i));
          // Every line is a known instruction in verifier syntax.
          const lines = disassemble(insns);
          assert.equal(lines.length, insns.length);
          for (const line of lines) {
            assert.match(line, /^\d+: \([0-9a-f]{2}\) \S/);
            assert.doesNotMatch(line, /unknown/, `${section.name}: ${line}`);
          }
          // Relocations (map loads, global data, subprogram calls) land on ld_imm64 or call instructions.
          for (const off of relocationOffsets(elf, section)) {
            relocs++;
            const idx = instructionAtByte(insns, off);
            assert.notEqual(idx, undefined, `${section.name}: relocation at ${off} is not at an instruction`);
            const insn = insns[idx!];
            assert.ok(insn.isLoadImm64 || insn.isCall, `${section.name}: relocation at ${off} hits ${insn}`);
          }
        }
        assert.ok(total > 10, `${file}: only ${total} instructions`);
        assert.ok(relocs > 0, `${file}: no relocations checked`);
      });
    }
  }

  test("v4 objects contain the v4 instruction forms", { skip: !clang || clang.cpu < 4 ? "needs clang >= 17" : undefined }, () => {
    const insns = codeSections(compileCForCpu(join(fixtures, "arith.c"), 4)).flatMap((s) => decode(s.data));
    assert.ok(insns.some((i) => i.isSignedDivMod), "sdiv/smod");
    assert.ok(insns.some((i) => i.isMovSx), "movsx");
    assert.ok(insns.some((i) => i.isMemLoad && i.mode === 0x80), "ldsx");
    assert.ok(insns.some((i) => i.opcode === 0xd7), "bswap");
  });
});
