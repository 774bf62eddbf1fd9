// Invalid modules handed to the object writer: each problem gets a typed EmitError with a code naming
// it; mutated modules never crash the writer with anything but an EmitError.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { call, callKfunc, callSub, exit, ldFunc, ldMapFd, ldMapValue, mov64Imm, R0, R1 } from "../../src/asm/index.js";
import type { Instruction } from "../../src/asm/instruction.js";
import { EmitError, writeObject } from "../../src/compiler/emit/index.js";
import type { CompiledFunction, CompiledModule } from "../../src/compiler/module.js";
import { TsbpfError } from "../../src/errors.js";
import { INT, U32, coreModule, demoModule } from "../helpers/emit-modules.js";

function withProg(m: CompiledModule, insns: Instruction[], extra: Partial<CompiledFunction> = {}): CompiledModule {
  const prog: CompiledFunction = {
    name: "p", section: "xdp", global: true, proto: { kind: "func_proto", returns: INT, params: [] }, coreRelocations: [],
    instructions: [...insns, mov64Imm(R0, 2), exit()], ...extra,
  };
  return { ...m, functions: [...m.functions, prog] };
}

function rejects(m: unknown, code: string, re?: RegExp): void {
  assert.throws(() => writeObject(m as CompiledModule), (e: unknown) => {
    assert.ok(e instanceof EmitError, `EmitError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, /^write object: /);
    if (re) assert.match(e.message, re);
    return true;
  });
}

describe("emit: invalid modules", () => {
  const base = demoModule();

  test("unknown references: map, data section, function, kfunc", () => {
    rejects(withProg(base, [ldMapFd(R1, "nope")]), "EMIT_UNKNOWN_MAP", /"nope"/);
    rejects(withProg({ ...base, globals: base.globals.filter((g) => g.section !== ".rodata") }, [ldMapValue(R1, ".rodata", 0)]), "EMIT_UNKNOWN_DATA", /\.rodata/);
    rejects(withProg(base, [callSub("missing")]), "EMIT_UNKNOWN_FUNCTION", /"missing"/);
    rejects(withProg(base, [ldFunc(R1, "missing")]), "EMIT_UNKNOWN_FUNCTION");
    rejects(withProg(base, [callKfunc("bpf_nothing")]), "EMIT_UNKNOWN_EXTERN", /bpf_nothing/);
    rejects(withProg(base, [callKfunc("counts")]), "EMIT_UNKNOWN_EXTERN");
  });

  test("references of the wrong kind", () => {
    rejects(withProg(base, [ldMapFd(R1, "total")]), "EMIT_BAD_INSTRUCTION", /variable "total"/);
    rejects(withProg(base, [ldMapValue(R1, "counts", 0)]), "EMIT_BAD_INSTRUCTION", /map "counts"/);
    rejects(withProg(base, [callSub("counts")]), "EMIT_UNKNOWN_FUNCTION");
    rejects(withProg(base, [callSub("prog")]), "EMIT_BAD_CALL", /only subprograms in \.text/);
    rejects(withProg(base, [ldFunc(R1, "prog")]), "EMIT_BAD_CALL");
    const raw = ldMapFd(R1, 3);
    rejects(withProg(base, [raw]), "EMIT_BAD_INSTRUCTION", /without a map name/);
  });

  test("duplicate and invalid names", () => {
    rejects({ ...base, maps: [...base.maps, { name: "total", type: "array", keySize: 4, valueSize: 4, maxEntries: 1 }] }, "EMIT_DUPLICATE_NAME", /"total"/);
    rejects({ ...base, functions: [...base.functions, base.functions[0]!] }, "EMIT_DUPLICATE_NAME", /"gmul"/);
    rejects({ ...base, globals: [...base.globals, { name: "LICENSE", section: ".data", type: U32, offset: 8, size: 4, global: true }] }, "EMIT_DUPLICATE_NAME");
    rejects({ ...base, maps: [{ ...base.maps[0]!, name: "my-map" }] }, "EMIT_BAD_NAME", /my-map/);
  });

  test("bad maps", () => {
    rejects({ ...base, maps: [{ name: "m", type: "hashy" as "hash", keySize: 4, valueSize: 4, maxEntries: 1 }] }, "EMIT_BAD_MAP", /unknown map type/);
    rejects({ ...base, maps: [{ name: "m", type: "hash", key: U32, keySize: 8, valueSize: 4, maxEntries: 1 }] }, "EMIT_BAD_MAP", /keySize/);
    rejects({ ...base, maps: [{ name: "m", type: "hash", keySize: 4, valueSize: 4, maxEntries: -1 }] }, "EMIT_BAD_MAP", /maxEntries/);
    rejects({ ...base, maps: [{ name: "m", type: "array_of_maps", keySize: 4, maxEntries: 1 }] }, "EMIT_BAD_MAP", /inner/);
    rejects({ ...base, maps: [{ name: "m", type: "hash", keySize: 4, valueSize: 4, maxEntries: 1, inner: base.maps[0]! }] }, "EMIT_BAD_MAP", /inner/);
    rejects({ ...base, maps: [{ name: "m", type: "hash", key: { kind: "fwd", name: "sock" }, valueSize: 4, maxEntries: 1 }] }, "EMIT_BAD_TYPE", /no size/);
  });

  test("bad globals and externs", () => {
    const g = base.globals[0]!;
    rejects({ ...base, globals: [...base.globals, { ...g, name: "over", offset: 4 }] }, "EMIT_BAD_GLOBAL", /overlap/);
    rejects({ ...base, globals: [{ ...g, size: 4 }] }, "EMIT_BAD_GLOBAL", /size 4 differs/);
    rejects({ ...base, globals: [{ ...g, section: ".text" as ".data" }] }, "EMIT_BAD_GLOBAL", /\.text/);
    rejects({ ...base, globals: [{ ...g, init: new Uint8Array(9) }] }, "EMIT_BAD_GLOBAL", /9 initial bytes/);
    rejects({ ...base, globals: [{ ...base.globals[2]!, init: new Uint8Array([1]) }] }, "EMIT_BAD_GLOBAL", /\.bss/);
    rejects({ ...base, externs: [{ name: "x", section: ".data" as ".ksyms", type: INT }] }, "EMIT_BAD_EXTERN");
    rejects({ ...base, externs: [{ name: "x", section: ".kconfig", type: { kind: "func_proto", returns: INT, params: [] } }] }, "EMIT_BAD_EXTERN");
  });

  test("bad functions and CO-RE relocations", () => {
    rejects({ ...base, functions: [{ ...base.functions[1]!, global: false }] }, "EMIT_BAD_FUNCTION", /must be global/);
    rejects({ ...base, functions: [{ ...base.functions[1]!, section: ".maps" }] }, "EMIT_BAD_FUNCTION", /reserved/);
    rejects({ ...base, functions: [{ ...base.functions[1]!, instructions: [] }] }, "EMIT_BAD_FUNCTION", /no instructions/);
    rejects({ ...base, functions: [] }, "EMIT_BAD_MODULE", /no functions/);
    const c = coreModule();
    const fn = c.functions[0]!;
    const relo = fn.coreRelocations[0]!;
    const withRelo = (r: unknown) => ({ ...c, functions: [{ ...fn, coreRelocations: [r as typeof relo] }] });
    rejects(withRelo({ ...relo, index: 99 }), "EMIT_BAD_CORE", /no such instruction/);
    rejects(withRelo({ ...relo, access: { ...relo.access, kind: "field_offset" } }), "EMIT_BAD_CORE", /unknown kind/);
    rejects(withRelo({ ...relo, access: { ...relo.access, access: "0.1" } }), "EMIT_BAD_CORE", /access string/);
    rejects(withRelo({ ...relo, access: { ...relo.access, root: { kind: "struct", size: 4, members: [] } } }), "EMIT_BAD_CORE", /named/);
    rejects(withProg(base, [call("map_lookup_elem")], { instructions: [{ opcode: 0x95 } as Instruction] }), "EMIT_BAD_INSTRUCTION");
  });

  test("an instruction field out of range is an EMIT_BAD_INSTRUCTION naming the section", () => {
    const bad = mov64Imm(R0, 0);
    bad.offset = 70000;
    rejects(withProg(base, [bad]), "EMIT_BAD_INSTRUCTION", /section "xdp"/);
  });

  test("things that are not modules", () => {
    for (const m of [null, undefined, 42, "x", {}, { functions: [], maps: [], globals: [], externs: [] }, { ...base, sources: {} }]) {
      assert.throws(() => writeObject(m as CompiledModule), (e: unknown) => e instanceof EmitError && e.code.startsWith("EMIT_"));
    }
  });

  test("mutated modules give an object or an EmitError, never another exception", () => {
    // Deterministic LCG so failures reproduce.
    let seed = 12345;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
    const junk: unknown[] = [undefined, null, -1, 0, 1.5, 2 ** 40, "", "x", "__proto__", [], {}, { kind: "int" }, { kind: "struct", size: 1, members: [{}] }, 7n];
    let rate = 0.01;
    const hit = () => rnd(1_000_000) < rate * 1_000_000;
    const mutate = (x: unknown, depth: number): unknown => {
      if (typeof x !== "object" || x === null || x instanceof Uint8Array || depth > 6) return hit() ? junk[rnd(junk.length)] : x;
      if (x instanceof Map) return x;
      if (Array.isArray(x)) {
        const arr = x.map((v) => mutate(v, depth + 1));
        if (hit() && arr.length) arr.splice(rnd(arr.length), 1);
        return arr;
      }
      if (typeof (x as Instruction).clone === "function") {
        const i = (x as Instruction).clone();
        if (hit()) i.src = rnd(16);
        if (hit()) i.reference = ["counts", ".data", "add3", "nope", "prog", ".bss"][rnd(6)]!;
        if (hit()) i.opcode = [0x18, 0x85, 0x95, 0xff][rnd(4)]!;
        return i;
      }
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(x)) out[k] = hit() ? junk[rnd(junk.length)] : mutate(v, depth + 1);
      return out;
    };
    let ok = 0, failed = 0;
    for (let i = 0; i < 400; i++) {
      rate = [0.002, 0.01, 0.05][i % 3]!;
      const m = mutate(i % 2 ? demoModule() : coreModule(), 0) as CompiledModule;
      try {
        writeObject(m);
        ok++;
      } catch (e) {
        assert.ok(e instanceof TsbpfError, `iteration ${i}: ${String(e)}`);
        assert.ok(e instanceof EmitError || (e as TsbpfError).code.startsWith("BTF_"), `iteration ${i}: ${(e as Error).name} ${(e as TsbpfError).code}`);
        failed++;
      }
    }
    assert.ok(ok > 0 && failed > 0, `both outcomes seen (${ok} written, ${failed} refused)`);
  });
});
