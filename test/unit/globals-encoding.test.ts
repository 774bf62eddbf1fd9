// The `globals` load option's encoding (src/runtime/maps/globals.ts withGlobals): each value written by
// its variable's BTF type, with range and size checks and typed errors, into a copy of a spec read from
// a real compiled object (TypeScript config() declarations and C const volatile variables).

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { GlobalError } from "../../src/errors.js";
import { readCollectionSpec } from "../../src/object/reader.js";
import type { CollectionSpec } from "../../src/object/spec.js";
import { getVariable, withGlobals } from "../../src/runtime/maps/globals.js";
import { compileSource } from "../helpers/compile-ts.js";
import { compileAndRead } from "../helpers/loader.js";

const SOURCE = `
import { config, xdp, ArrayMap, struct, u8, u32, u64, type Infer, type i16, type bool } from "tsbpf/kernel";
const Pair = struct({ a: u32, b: u64 });
const small = config<u8>(7);
const delta = config<i16>(-2);
const targetPid = config<u32>(0);
const big = config<u64>(1n);
const verbose = config<bool>(false);
const pair = config<Infer<typeof Pair>>({ a: 1, b: 2n });
let runs: u32 = 0;
const out = new ArrayMap<u64>({ maxEntries: 1 });
export const p = xdp(() => {
  runs += 1;
  out.update(0, u64(small) + u64(delta) + u64(targetPid) + big + (verbose ? 1n : 0n) + u64(pair.a) + pair.b);
  return 2;
});
`;

function rejects(fn: () => unknown, code: string, re: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof GlobalError && e.code === code && re.test(e.message), `expected ${code} ${re}`);
}

describe("globals option: encoding by BTF type", () => {
  const spec: CollectionSpec = readCollectionSpec(compileSource(SOURCE), { name: "cfg" });

  test("config() declarations are .rodata variables with their defaults", () => {
    for (const n of ["small", "delta", "targetPid", "big", "verbose", "pair"]) {
      const v = spec.variables.get(n);
      assert.ok(v, `${n} is a variable`);
      assert.equal(v.readonly, true);
      assert.equal(v.map, ".rodata");
    }
    assert.equal(getVariable(spec, "small"), 7);
    assert.equal(getVariable(spec, "delta"), -2);
    assert.equal(getVariable(spec, "big"), 1n);
    assert.equal(getVariable(spec, "verbose"), false);
    assert.equal(spec.variables.get("runs")?.readonly, false);
  });

  test("values of every width, bools and bytes; the original spec is unchanged", () => {
    const pairBytes = new Uint8Array(16);
    new DataView(pairBytes.buffer).setUint32(0, 9, true);
    new DataView(pairBytes.buffer).setBigUint64(8, 10n, true);
    const s = withGlobals(spec, { small: 255, delta: -32768, targetPid: 0xffffffff, big: 2n ** 64n - 1n, verbose: true, pair: pairBytes, runs: 5 });
    assert.equal(getVariable(s, "small"), 255);
    assert.equal(getVariable(s, "delta"), -32768);
    assert.equal(getVariable(s, "targetPid"), 0xffffffff);
    assert.equal(getVariable(s, "big"), 2n ** 64n - 1n);
    assert.equal(getVariable(s, "verbose"), true);
    assert.equal(getVariable(s, "runs"), 5);
    const v = s.variables.get("pair")!;
    assert.deepEqual(s.maps.get(".rodata")!.data!.subarray(v.offset, v.offset + 16), pairBytes);
    // numbers for 64-bit variables too
    assert.equal(getVariable(withGlobals(spec, { big: 3 }), "big"), 3n);
    // the input spec keeps its defaults
    assert.equal(getVariable(spec, "small"), 7);
    assert.equal(getVariable(spec, "verbose"), false);
    assert.equal(getVariable(spec, "runs"), 0);
  });

  test("out-of-range, wrong-size and wrong-kind values are typed errors naming the variable", () => {
    rejects(() => withGlobals(spec, { small: 256 }), "GLOBAL_RANGE", /"small".*256 is outside .*0\.\.255/);
    rejects(() => withGlobals(spec, { small: -1 }), "GLOBAL_RANGE", /-1 is outside/);
    rejects(() => withGlobals(spec, { delta: 32768 }), "GLOBAL_RANGE", /-32768\.\.32767/);
    rejects(() => withGlobals(spec, { targetPid: 2 ** 32 }), "GLOBAL_RANGE", /targetPid/);
    rejects(() => withGlobals(spec, { big: -1n }), "GLOBAL_RANGE", /big/);
    rejects(() => withGlobals(spec, { big: 2 ** 60 }), "GLOBAL_RANGE", /not a safe integer/);
    rejects(() => withGlobals(spec, { small: 1.5 }), "GLOBAL_RANGE", /not a safe integer/);
    rejects(() => withGlobals(spec, { verbose: 2 }), "GLOBAL_RANGE", /not a bool/);
    rejects(() => withGlobals(spec, { small: true }), "GLOBAL_TYPE", /got boolean/);
    rejects(() => withGlobals(spec, { small: "7" }), "GLOBAL_TYPE", /got "7"/);
    rejects(() => withGlobals(spec, { pair: new Uint8Array(8) }), "GLOBAL_SIZE", /8 bytes given.*16 bytes/);
    rejects(() => withGlobals(spec, { pair: 1 }), "GLOBAL_TYPE", /Uint8Array of 16 bytes/);
    rejects(() => withGlobals(spec, { targetPdi: 1 }), "GLOBAL_UNKNOWN", /no such global variable \(globals: .*targetPid/);
    rejects(() => withGlobals(spec, { out: 1 }), "GLOBAL_NOT_VARIABLE", /"out" is a map/);
    rejects(() => withGlobals(spec, { p: 1 }), "GLOBAL_NOT_VARIABLE", /"p" is a program/);
  });

  test("C const volatile variables: int, enum (value or name), _Bool, char array from a string, struct bytes", async () => {
    const { spec: c } = await compileAndRead("test/fixtures/c/config/config.bpf.c");
    const s = withGlobals(c, { x: -5, mode: "MODE_SLOW", on: true, shift: -128, name: "bash", data_total: 9n, bss_seen: 3 });
    assert.equal(getVariable(s, "x"), -5);
    assert.equal(getVariable(s, "mode"), 2);
    assert.equal(getVariable(s, "on"), true);
    assert.equal(getVariable(s, "shift"), -128);
    assert.equal(new TextDecoder().decode(getVariable<Uint8Array>(s, "name")), "bash\0\0\0\0");
    assert.equal(getVariable(s, "data_total"), 9n);
    assert.equal(getVariable(s, "bss_seen"), 3);
    assert.equal(getVariable(withGlobals(c, { mode: 1 }), "mode"), 1);
    rejects(() => withGlobals(c, { x: 2 ** 31 }), "GLOBAL_RANGE", /-2147483648\.\.2147483647/);
    rejects(() => withGlobals(c, { mode: "MODE_NONE" }), "GLOBAL_RANGE", /MODE_OFF, MODE_FAST, MODE_SLOW/);
    rejects(() => withGlobals(c, { name: "12345678" }), "GLOBAL_SIZE", /8 bytes and a NUL/);
    rejects(() => withGlobals(c, { limits: new Uint8Array(4) }), "GLOBAL_SIZE", /4 bytes given/);
    rejects(() => withGlobals(c, { shift: 128 }), "GLOBAL_RANGE", /-128\.\.127/);
  });
});
