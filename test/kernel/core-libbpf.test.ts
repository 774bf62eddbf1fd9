// CO-RE cross-check against libbpf: bpftool (libbpf) loads each fixture with debug logging, and every
// relocation it reports ("patched insn ... A -> B" / "substituting insn") must equal tsbpf's result.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { Btf } from "../../src/btf/btf.js";
import { isCorePoison } from "../../src/core/index.js";
import { privileged } from "../helpers/privileges.js";
import { buildCoreFixture, coreFixtureProblem, relocateObject, VMLINUX_BTF } from "../fixtures/core/build.js";

interface LibbpfRelo {
  poison: boolean;
  value?: bigint;
  memSize?: number;
}

/** Run `bpftool -d prog loadall` and collect libbpf's per-relocation decisions, keyed "prog#relo". */
function libbpfRelocations(object: string): Map<string, LibbpfRelo> {
  const dir = mkdtempSync("/sys/fs/bpf/tsbpf-core-");
  try {
    const r = spawnSync("bpftool", ["-d", "prog", "loadall", object, `${dir}/p`], { encoding: "utf8", maxBuffer: 1 << 28 });
    const out = new Map<string, LibbpfRelo>();
    for (const line of (r.stderr + r.stdout).split("\n")) {
      const m = /prog '([^']+)': relo #(\d+): (.*)$/.exec(line);
      if (!m) continue;
      const key = `${m[1]}#${m[2]}`;
      const msg = m[3];
      const patched = /^patched insn #\d+ \((?:ALU\/ALU64|LDX\/ST\/STX|LDIMM64)\) (?:imm|off|imm64) (-?\d+) -> (-?\d+)/.exec(msg);
      const memSize = /^patched insn #\d+ \(LDX\/ST\/STX\) mem_sz (\d+) -> (\d+)/.exec(msg);
      if (patched) out.set(key, { ...out.get(key), poison: false, value: BigInt.asUintN(64, BigInt(patched[2])) });
      else if (memSize) out.set(key, { ...out.get(key)!, memSize: Number(memSize[2]) });
      else if (/^substituting insn/.test(msg)) out.set(key, { poison: true });
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("core: tsbpf agrees with libbpf on every fixture relocation", privileged(coreFixtureProblem), () => {
  const kernel = (): Btf => Btf.parse(new Uint8Array(readFileSync(VMLINUX_BTF)));
  for (const fixture of ["vmlinux_relos", "resize"]) {
    test(fixture, () => {
      const path = buildCoreFixture(fixture);
      const ours = relocateObject(path, kernel());
      const theirs = libbpfRelocations(path);
      assert.ok(theirs.size > 0, "libbpf reported relocations");
      let compared = 0;
      for (const rec of ours.records) {
        const key = `${rec.program}#${rec.index}`;
        const lib = theirs.get(key);
        assert.ok(lib, `libbpf did not report ${key}`);
        // Poisoning is decided by the result or, for a load/store that cannot be resized, when patching.
        assert.equal(isCorePoison(rec.insns[0]), lib.poison, `${key} poison`);
        if (!lib.poison) {
          // libbpf prints the value it stored: truncated to the insn's field (32-bit imm / 16-bit off).
          const width = rec.insns[0].isLoadImm64 ? 64 : rec.insns[0].isALU ? 32 : 16;
          assert.equal(BigInt.asUintN(width, rec.result.value), BigInt.asUintN(width, lib.value!), `${key} value`);
          if (lib.memSize !== undefined) assert.equal(rec.insns[0].accessBytes, lib.memSize, `${key} access size`);
        }
        compared++;
      }
      assert.equal(compared, theirs.size, "every libbpf relocation was compared");
    });
  }
});
