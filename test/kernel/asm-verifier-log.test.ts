// Compares our disassembler with the kernel's own: fixtures (clang-built C and an llvm-mc-assembled file of
// rare/v4 forms) are loaded with `bpftool -d`, which prints the level-2 verifier log; every line must match.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decode, formatInstruction, instructionAtSlot, slotCount, slotOffsets } from "../../src/asm/index.js";
import { privileged } from "../helpers/privileges.js";
import { codeSections, relocationOffsets } from "../helpers/elf-sections.js";
import { assembleObject, compileCForCpu, findTool } from "../helpers/toolchain.js";

const fixtures = new URL("../fixtures/asm/", import.meta.url).pathname;

function toolsProblem(): string | undefined {
  if (spawnSync("bpftool", ["version"]).status !== 0) return "bpftool not installed";
  if (!findTool("clang") || !findTool("llvm-mc")) return "clang / llvm-mc not installed";
  return undefined;
}

/** Loads an object with bpftool into a private bpffs mount and returns bpftool's output (verifier log included). */
function loadWithLog(elf: Uint8Array, name: string): string {
  const dir = mkdtempSync(join(tmpdir(), "tsbpf-asm-"));
  const objectPath = `${dir}-verifier-${name}.o`;
  writeFileSync(objectPath, elf);
  const mount = spawnSync("mount", ["-t", "bpf", "bpf", dir], { encoding: "utf8" });
  if (mount.status !== 0) {
    rmdirSync(dir);
    rmSync(objectPath, { force: true });
    throw new Error(`mount bpffs on ${dir}: ${mount.stderr}`);
  }
  try {
    const r = spawnSync("bpftool", ["-d", "prog", "loadall", objectPath, join(dir, "progs")], { encoding: "utf8", maxBuffer: 256 << 20 });
    const out = `${r.stdout}\n${r.stderr}`;
    if (r.status !== 0) throw new Error(`bpftool prog loadall ${name} failed:\n${out.slice(-4000)}`);
    return out;
  } finally {
    spawnSync("umount", [dir]);
    rmdirSync(dir);
    rmSync(objectPath, { force: true });
  }
}

const LINE = /^(\d+): \(([0-9a-f]{2})\) (.*)$/;

interface Comparison {
  compared: number;
  total: number;
  opcodes: number;
}

/** Checks every verifier instruction line of the object's single program against our disassembly. */
function compareWithVerifier(elf: Uint8Array, name: string): Comparison {
  const log = loadWithLog(elf, name);
  const main = codeSections(elf).filter((s) => s.name !== ".text");
  assert.equal(main.length, 1, "one program section per fixture");
  const insns = decode(main[0].data);
  const offsets = slotOffsets(insns);
  const mainSlots = slotCount(insns);
  const relocatedSlots = new Set(relocationOffsets(elf, main[0]).map((off) => off / 8));

  const seen = new Set<number>();
  const mismatches: string[] = [];
  for (const raw of log.split("\n")) {
    const m = LINE.exec(raw);
    if (!m) continue;
    const slot = Number(m[1]);
    if (slot >= mainSlots) continue; // subprograms libbpf appended after the main program
    const kernelText = `(${m[2]}) ${m[3].replace(/\s+; .*$/, "").trimEnd()}`;
    const idx = instructionAtSlot(offsets, slot);
    if (idx === undefined) {
      mismatches.push(`${slot}: kernel printed ${kernelText} where we have no instruction start`);
      continue;
    }
    const ours = formatInstruction(insns[idx]);
    seen.add(idx);
    // Relocated instructions differ by design: map/global/callback loads (the kernel prints the
    // resolved value) and bpf-to-bpf calls (libbpf fixes the offset after appending subprograms).
    const same = relocatedSlots.has(slot)
      ? kernelText.startsWith(ours.replace(/(= |pc)[-+]?(0x)?[0-9a-f]+$/, "$1"))
      : kernelText === ours;
    if (!same) mismatches.push(`${slot}: kernel "${kernelText}" vs ours "${ours}"`);
  }
  assert.deepEqual(mismatches, []);
  return { compared: seen.size, total: insns.length, opcodes: new Set([...seen].map((i) => insns[i].opcode)).size };
}

describe("asm disassembler against the kernel verifier log", privileged(toolsProblem), () => {
  for (const file of ["maps.c", "arith.c", "xdp.c"]) {
    test(file, (t) => {
      const clang = findTool("clang")!;
      const need = file === "arith.c" ? 4 : 3;
      if (clang.cpu < need) return t.skip(`${clang.version} cannot target v${need}`);
      const r = compareWithVerifier(compileCForCpu(join(fixtures, file), clang.cpu), file);
      t.diagnostic(`${file}: ${r.compared}/${r.total} instructions, ${r.opcodes} opcodes matched the verifier log`);
      // The verifier must have walked (and so printed) most of the program.
      assert.ok(r.compared >= r.total * 0.8, `${file}: compared ${r.compared} of ${r.total} instructions`);
      assert.ok(r.opcodes >= 10, `${file}: only ${r.opcodes} distinct opcodes compared`);
    });
  }

  test("rare.s (v4 and uncommon forms)", (t) => {
    const mc = findTool("llvm-mc")!;
    if (mc.cpu < 4) return t.skip(`${mc.version} has no -mcpu=v4`);
    const r = compareWithVerifier(assembleObject(readFileSync(join(fixtures, "rare.s"), "utf8"), 4), "rare.s");
    t.diagnostic(`rare.s: ${r.compared}/${r.total} instructions, ${r.opcodes} opcodes matched the verifier log`);
    assert.equal(r.compared, r.total, "every instruction is printed");
    assert.ok(r.opcodes >= 30, `only ${r.opcodes} distinct opcodes`);
  });
});
