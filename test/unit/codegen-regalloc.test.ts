// Register allocation invariants on random IR: no two simultaneously live nodes share a register,
// nothing live across a call sits in r0-r5, every node gets r0-r9; plus liveness/DCE basics.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { lower } from "../../src/compiler/codegen/lower.js";
import { computeLiveness, eliminateDeadCode } from "../../src/compiler/codegen/liveness.js";
import { allocateRegisters } from "../../src/compiler/codegen/regalloc.js";
import { FP, termUses, type MFunction } from "../../src/compiler/codegen/mir.js";
import { generate } from "../../src/compiler/codegen/index.js";
import { randomProgram } from "../helpers/codegen-random.js";
import { FnBuilder } from "../helpers/codegen-ir.js";

/** Checks the final machine code against the allocation; returns the number of checks made. */
function checkAllocation(m: MFunction, colors: Int8Array): number {
  let checks = 0;
  const { liveOut } = computeLiveness(m);
  m.blocks.forEach((b, bi) => {
    const live = liveOut[bi].copy();
    for (const u of termUses(b.term)) if (u !== FP) live.add(u);
    for (let i = b.insns.length - 1; i >= 0; i--) {
      const ins = b.insns[i];
      for (const n of [...ins.defs, ...ins.uses]) {
        if (n === FP) continue;
        assert.ok(colors[n] >= 0 && colors[n] <= 9, `node ${n} has register ${colors[n]}`);
      }
      for (const d of ins.defs) {
        if (d === FP) continue;
        live.forEach((l) => {
          if (l === d || (ins.move && l === ins.src)) return;
          checks++;
          assert.notEqual(colors[d], colors[l], `in ${m.name} block ${b.id} insn ${i} (${ins.insn.toString()}): node ${d} and live node ${l} share r${colors[d]}`);
        });
      }
      if (ins.insn.isCall) {
        live.forEach((l) => {
          if (ins.defs.includes(l)) return;
          checks++;
          assert.ok(colors[l] >= 6, `node ${l} is live across a call in r${colors[l]}`);
        });
      }
      for (const d of ins.defs) live.delete(d);
      for (const u of ins.uses) if (u !== FP) live.add(u);
    }
  });
  return checks;
}

describe("codegen: register allocation invariants", () => {
  test("random programs (200 functions, both cpus)", () => {
    let checks = 0;
    let spilled = 0;
    for (let seed = 1; seed <= 100; seed++) {
      const p = randomProgram(seed, { diamonds: 4 + (seed % 4), ops: 4 + (seed % 6) });
      for (const fn of [p.entry, p.sub!]) {
        const m = lower(fn, seed % 2 ? "v3" : "v4");
        eliminateDeadCode(m);
        const a = allocateRegisters(m);
        spilled += a.spilled;
        checks += checkAllocation(m, a.colors);
      }
    }
    assert.ok(checks > 10000, `only ${checks} checks`);
    assert.ok(spilled > 0, "the random programs are meant to force spills");
  });

  test("spill slots are 8-byte aligned and the frame stays a multiple of 8", () => {
    const f = new FnBuilder("pressure", 1);
    const b = f.block();
    const slot = f.slot(3, 1, "odd");
    b.store(1, b.stackAddr(slot), 0, 1n);
    const vals = Array.from({ length: 14 }, (_, i) => b.load(8, f.params[0], 8 * i));
    b.call(7, [], false);
    let acc = b.mov(0n);
    for (const v of vals) acc = b.alu("xor", 64, acc, v);
    b.ret(acc);
    const g = generate(f.build());
    assert.ok(g.stats.spillSlots > 0);
    assert.equal(g.stackSize % 8, 0);
    for (const i of g.instructions) {
      if (i.isMemStore && i.dst === 10 && i.accessBytes === 8) assert.equal(Math.abs(i.offset % 8), 0, i.toString());
    }
  });

  test("dead code is removed before allocation", () => {
    const f = new FnBuilder("dead", 1);
    const b = f.block();
    b.alu("mul", 64, f.params[0], f.params[0]);
    b.load(8, f.params[0], 0);
    b.ret(1n);
    const m = lower(f.build(), "v3");
    assert.equal(eliminateDeadCode(m), 4); // mov+mul, load and the parameter copy
    assert.equal(m.blocks[0].insns.length, 1);
  });
});
