// A TCP congestion control written in TypeScript (test/fixtures/ts/kinds/struct-ops.bpf.ts): compiled,
// loaded, registered by a map update, selected with setsockopt(TCP_CONGESTION) on a loopback connection
// that carries 8 MiB; its handlers ran (their counters), read the tcp_sock they were given, called the
// kernel's tcp_reno_* kfuncs, and unregistering removes the algorithm.

import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { readCollectionSpec } from "../../src/index.js";
import type { CollectionSpec } from "../../src/object/spec.js";
import { loadCollection, type Collection } from "../../src/runtime/collection.js";
import { LINK_TYPE } from "../../src/sys/constants.js";
import { compileTs } from "../helpers/compile-ts.js";
import { u32, waitFor } from "../helpers/loader.js";
import { privileged } from "../helpers/privileges.js";
import { availableCcs, tcpWithCc, uniqueCcName } from "../vm/struct-ops-helpers.js";

const FIXTURE = resolve("test/fixtures/ts/kinds/struct-ops.bpf.ts");
const BYTES = 8 << 20;

/** Counter `i` of the fixture's `calls` map: 0 init, 1 release, 2 ssthresh, 3 undo_cwnd, 4 cong_avoid, 5 acked, 6 max cwnd. */
function calls(coll: Collection, i: number): number {
  return Number(new DataView(coll.map("calls").getRaw(u32(i))!.buffer).getBigUint64(0, true));
}

describe("TypeScript struct_ops: tcp_congestion_ops", privileged(), () => {
  let spec: CollectionSpec;
  before(() => {
    spec = readCollectionSpec(compileTs(FIXTURE));
  });

  test("the object: a .struct_ops map whose members name the handler programs, the name as data", () => {
    const cc = spec.maps.get("tsbpfcc")!;
    assert.equal(cc.type, "STRUCT_OPS");
    assert.equal(cc.structOps?.typeName, "tcp_congestion_ops");
    const progs = Object.fromEntries(cc.structOps!.members.filter((m) => m.program).map((m) => [m.name, m.program]));
    assert.deepEqual(progs, { init: "tsbpfcc_init", release: "tsbpfcc_release", ssthresh: "tsbpfcc_ssthresh", undo_cwnd: "tsbpfcc_undo_cwnd", cong_avoid: "tsbpfcc_cong_avoid" });
    for (const p of Object.values(progs)) assert.equal(spec.programs.get(p!)?.type, "STRUCT_OPS");
  });

  test("registered: loopback TCP uses it, the handlers run, the kfuncs grow the window; unregistered after detach", async () => {
    using coll = loadCollection(spec);
    const ops = coll.structOps("tsbpfcc");
    assert.equal(ops.getField("name"), "tsbpf_ts_cc", "the name from the TypeScript object");
    const name = uniqueCcName("tsts");
    ops.setField("name", name);
    const reg = ops.attach();
    try {
      assert.ok(availableCcs().includes(name), `${name} is in tcp_available_congestion_control`);
      const r = await tcpWithCc(name, BYTES);
      assert.deepEqual(r, { cc: name, bytes: BYTES }, "the connection reports the algorithm and carried every byte");
      assert.ok(calls(coll, 0) >= 1, "init ran for the connection");
      assert.ok(calls(coll, 4) >= 1, `cong_avoid ran on ACKs (${calls(coll, 4)} calls)`);
      assert.ok(calls(coll, 5) >= calls(coll, 4), "each call acked at least one segment (the acked argument)");
      assert.ok(calls(coll, 6) > 10, `tcp_reno_cong_avoid grew snd_cwnd past the initial 10 (largest seen ${calls(coll, 6)}, read through the tcp_sock)`);
      assert.ok(await waitFor(() => calls(coll, 1) >= 1, 3000), "release ran when the socket went away");
    } finally {
      reg.detach();
    }
    assert.ok(!availableCcs().includes(name), "unregistered");
    assert.deepEqual(await tcpWithCc(name, 1000), { error: "setsockopt", errno: 2 }, "no longer selectable (ENOENT)");
  });

  test("{ link: true }: registered through a STRUCT_OPS link (.struct_ops.link); detach unregisters", async () => {
    const source = readFileSync(FIXTURE, "utf8").replace(/\}\);\s*$/, "}, { link: true });\n");
    using coll = loadCollection(readCollectionSpec(compileTs(FIXTURE, source)));
    const ops = coll.structOps("tsbpfcc");
    assert.equal(ops.isLink, true);
    const name = uniqueCcName("tstl");
    ops.setField("name", name);
    const link = ops.attach();
    try {
      assert.equal(link.isBpfLink, true);
      assert.equal(link.info().type, LINK_TYPE.STRUCT_OPS);
      assert.deepEqual(await tcpWithCc(name, 1 << 20), { cc: name, bytes: 1 << 20 });
      assert.ok(calls(coll, 4) >= 1, "cong_avoid ran");
    } finally {
      link.detach();
    }
    assert.ok(!availableCcs().includes(name), "unregistered by detach");
  });
});
