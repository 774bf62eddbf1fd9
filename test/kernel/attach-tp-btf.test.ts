// tp_btf attachment on sched_switch: the program counts context switches (and those into a chosen
// process) while attached, and stops when the link is closed.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { loadCollection, type Collection } from "../../src/runtime/collection.js";
import { progInfo } from "../../src/sys/bpf.js";
import { LINK_TYPE } from "../../src/sys/constants.js";
import { compileAndRead, readGlobal, sleep, spawnGated, triggerProgram, u32, writeGlobal } from "../helpers/loader.js";
import { privileged } from "../helpers/privileges.js";

const u64 = (v: unknown) => Number(v as number | bigint);

describe("attach: tp_btf/sched_switch", privileged(), () => {
  let coll: Collection;

  before(async () => {
    const { spec } = await compileAndRead("test/fixtures/c/attach_sched.bpf.c");
    coll = loadCollection(spec);
    triggerProgram();
  });
  after(() => coll?.close());

  test("loads against btf_trace_sched_switch", () => {
    const info = progInfo(coll.program("on_switch").fd);
    assert.ok(info.attachBtfId > 0, "attach_btf_id set");
    assert.equal(coll.program("on_switch").spec.expectedAttachType, "TRACE_RAW_TP");
  });

  test("counts switches while attached, a sleeping child is switched in, nothing after close", async () => {
    assert.equal(u64(readGlobal(coll, "switches")), 0, "not attached yet: no switches counted");
    const link = coll.program("on_switch").attach();
    try {
      const info = link.info();
      // tp_btf programs attach through a raw tracepoint link (not a tracing link).
      assert.equal(info.type, LINK_TYPE.RAW_TRACEPOINT);
      assert.equal(info.progId, progInfo(coll.program("on_switch").fd).id);

      const child = spawnGated(triggerProgram(), ["sleep", "10"]);
      writeGlobal(coll, "target_tgid", u32(child.pid));
      child.go();
      assert.equal(await child.exited, 0);
      // Each of the ten 1 ms sleeps ends with the child being switched back in.
      assert.ok(u64(readGlobal(coll, "target_switch_ins")) >= 10, `child switched in ${readGlobal(coll, "target_switch_ins")} times`);
      await sleep(20);
      assert.ok(u64(readGlobal(coll, "switches")) > 10, "switches counted");
    } finally {
      link.close();
    }
    await sleep(10); // let a program run already under way on the other CPU finish
    const atClose = u64(readGlobal(coll, "switches"));
    // Node's own timer sleep switches this CPU away; an attached program would count it.
    await sleep(50);
    const child = spawnGated(triggerProgram(), ["sleep", "5"]);
    child.go();
    await child.exited;
    assert.equal(u64(readGlobal(coll, "switches")), atClose, "no switches counted after close");
  });
});
