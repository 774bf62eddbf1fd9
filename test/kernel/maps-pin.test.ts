// Pinning: a map pinned by one process is reused by the next load (another process) with nothing lost,
// typed opens check the layout, mismatched pins are refused with MAP_INCOMPATIBLE, unpin removes the pin;
// maps shared between two loaded objects (replaceMaps) are one map.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MapError } from "../../src/errors.js";
import { readCollectionSpec } from "../../src/object/reader.js";
import { loadCollection } from "../../src/runtime/collection.js";
import { createMap, HashMap, openPinnedMap } from "../../src/runtime/maps/index.js";
import { u32, u64 } from "../../src/types/index.js";
import { REPO_ROOT, compileC } from "../helpers/toolchain.js";
import { bpffsProblem, bpffsScratch, fileBytes } from "../helpers/loader.js";
import { privileged } from "../helpers/privileges.js";

const PACKET = new Uint8Array(64);
const SRC = "test/fixtures/c/maps/pinned.bpf.c";

/** Run a TypeScript snippet in a fresh node process; returns its last stdout line parsed as JSON. */
function child(body: string, args: string[]): unknown {
  const dir = mkdtempSync(join(tmpdir(), "tsbpf-pin-"));
  const script = join(dir, "child.ts");
  writeFileSync(script, `import * as tsbpf from ${JSON.stringify(join(REPO_ROOT, "src", "index.ts"))};
import * as types from ${JSON.stringify(join(REPO_ROOT, "src", "types", "index.ts"))};
import { readFileSync } from "node:fs";
const [obj, dir] = process.argv.slice(2);
${body}
`);
  const r = spawnSync(process.execPath, ["--import", "tsx", script, ...args], { cwd: REPO_ROOT, encoding: "utf8" });
  assert.equal(r.status, 0, `child failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!);
}

describe("pinned maps", privileged(bpffsProblem), () => {
  let obj: string;
  let scratch: ReturnType<typeof bpffsScratch>;
  before(async () => {
    obj = await compileC(SRC);
    scratch = bpffsScratch("maps");
  });
  after(() => scratch?.cleanup());

  test("a map pinned by one process is reused by the next load in another: nothing is lost", () => {
    const dir = join(scratch.dir, "reuse");
    // process 1: load with a pin path, count 50 times in BPF, write 1000 entries from userspace
    const first = child(`
const coll = tsbpf.loadCollection(tsbpf.readCollectionSpec(new Uint8Array(readFileSync(obj)), { name: "pinned" }), { pinPath: dir });
coll.program("count").testRun({ data: new Uint8Array(64), repeat: 50 });
const counts = new tsbpf.HashMap(coll.map("counts"), types.u32, types.u64);
counts.setBatch(Array.from({ length: 1000 }, (_, i) => [i + 1, BigInt(i + 1)]));
console.log(JSON.stringify({ pinned: coll.map("counts").pinnedAt, zero: String(counts.get(0)) }));
coll.close();
`, [obj, dir]) as { pinned: string; zero: string };
    assert.equal(first.pinned, join(dir, "counts"));
    assert.equal(first.zero, "50");
    assert.ok(existsSync(join(dir, "counts")));

    // this process: the load reuses the pinned map
    using coll = loadCollection(readCollectionSpec(fileBytes(obj), { name: "pinned" }), { pinPath: dir });
    const counts = new HashMap(coll.map("counts"), u32, u64);
    assert.equal(counts.get(0), 50n);
    const all = new Map(counts.batchEntries());
    assert.equal(all.size, 1001);
    for (let i = 1; i <= 1000; i++) assert.equal(all.get(i), BigInt(i));
    coll.program("count").testRun({ data: PACKET, repeat: 25 });
    assert.equal(counts.get(0), 75n);

    // process 3: a typed open of the pin sees the same map
    const third = child(`
const m = tsbpf.openPinnedMap(dir + "/counts", { type: "hash", key: types.u32, value: types.u64 });
let sum = 0n;
for (const [, v] of m) sum += v;
m.set(0, m.get(0) + 1n);
console.log(JSON.stringify({ zero: String(m.get(0)), sum: String(sum) }));
`, [obj, dir]) as { zero: string; sum: string };
    assert.equal(third.zero, "76");
    assert.equal(third.sum, String(75n + 500500n));
    assert.equal(counts.get(0), 76n);
  });

  test("a pin with another layout is refused, naming the map, the path and the difference", async () => {
    const dir = join(scratch.dir, "mismatch");
    {
      using coll = loadCollection(readCollectionSpec(fileBytes(obj), { name: "pinned" }), { pinPath: dir });
      assert.ok(coll.map("counts").pinnedAt);
    }
    const other = await compileC(SRC, { defines: { COUNTS_MAX: 16 } });
    assert.throws(
      () => loadCollection(readCollectionSpec(fileBytes(other), { name: "pinned" }), { pinPath: dir }),
      (e: unknown) => e instanceof MapError && e.code === "MAP_INCOMPATIBLE" && e.map === "counts" &&
        e.message.includes(join(dir, "counts")) && /maxEntries is 1024, expected 16/.test(e.message),
    );
    assert.throws(
      () => openPinnedMap(join(dir, "counts"), { type: "hash", key: u32, value: u32 }),
      (e: unknown) => e instanceof MapError && e.code === "MAP_INCOMPATIBLE" && /values are 8 bytes/.test(e.message),
    );
    assert.throws(
      () => openPinnedMap(join(dir, "counts"), { type: "array", value: u64 }),
      (e: unknown) => e instanceof MapError && e.code === "MAP_INCOMPATIBLE" && /hash map, expected array/.test(e.message),
    );
  });

  test("userspace maps: pin on create, reuse by pin, refuse a mismatch, unpin", () => {
    const path = join(scratch.dir, "userspace_map");
    {
      using m = createMap({ type: "hash", name: "shared", key: u32, value: u64, maxEntries: 8, pin: path });
      m.set(1, 11n);
      assert.equal(m.map.pinnedAt, path);
    }
    assert.ok(existsSync(path));
    using again = createMap({ type: "hash", name: "shared", key: u32, value: u64, maxEntries: 8, pin: path });
    assert.equal(again.get(1), 11n);
    assert.throws(
      () => createMap({ type: "hash", name: "shared", key: u32, value: u64, maxEntries: 9, pin: path }),
      (e: unknown) => e instanceof MapError && e.code === "MAP_INCOMPATIBLE" && e.map === "shared",
    );
    again.unpin();
    assert.equal(existsSync(path), false);
    assert.equal(again.map.pinnedAt, undefined);
    assert.equal(again.get(1), 11n, "the map outlives its pin while open");
    again.pin(path);
    assert.ok(existsSync(path));
    again.unpin();
  });

  test("a map shared between two loaded objects (replaceMaps) is one map", () => {
    const spec = () => readCollectionSpec(fileBytes(obj), { name: "pinned" });
    using a = loadCollection(spec());
    using b = loadCollection(spec(), { replaceMaps: { counts: a.map("counts") } });
    b.program("count").testRun({ data: PACKET, repeat: 10 });
    a.program("count").testRun({ data: PACKET, repeat: 5 });
    const counts = new HashMap(a.map("counts"), u32, u64);
    assert.equal(counts.get(0), 15n);
    assert.equal(b.map("counts").info().id, a.map("counts").info().id);
    b.close();
    assert.equal(counts.get(0), 15n, "closing the borrowing object leaves the shared map open");
  });
});
