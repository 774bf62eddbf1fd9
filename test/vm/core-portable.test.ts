// CO-RE portability: one object, compiled once against the host's (6.18) vmlinux.h, reads task_struct
// fields correctly on whichever kernel runs this file — the host (scripts/test-vm.sh runs it there
// first) and the 6.1 VM — although the two kernels lay task_struct out differently.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { release } from "node:os";
import { readCollectionSpec } from "../../src/object/reader.js";
import { loadCollection } from "../../src/runtime/collection.js";
import { cString, readGlobal, u32, writeGlobal } from "../helpers/loader.js";
import { privileged } from "../helpers/privileges.js";
import { runSyscaller, vmObject } from "./fixtures.js";

describe(`vm: CO-RE portability (kernel ${release()})`, privileged(), () => {
  test("pid, tgid, parent tgid and comm of a child read through CO-RE relocations are right", async () => {
    const path = await vmObject("core");
    using coll = loadCollection(readCollectionSpec(new Uint8Array(readFileSync(path)), { name: "core_portable" }));
    using _l = coll.program("on_getppid").attach();
    const r = await runSyscaller("getppid", 3, (pid) => writeGlobal(coll, "target_tgid", u32(pid)));
    assert.equal(r.ok, 3);
    assert.equal(Number(readGlobal(coll, "hits")), 3);
    assert.equal(Number(readGlobal(coll, "seen_pid")), r.pid);
    assert.equal(Number(readGlobal(coll, "seen_tgid")), r.pid);
    assert.equal(Number(readGlobal(coll, "seen_ppid")), process.pid, "real_parent->tgid is this node process");
    assert.equal(Number(readGlobal(coll, "seen_flags_nonzero")), 1);
    const comm = coll.spec.variables.get("seen_comm")!;
    const bytes = coll.map(comm.map).getRaw(u32(0))!;
    assert.match(cString(bytes, comm.offset, 16), /^syscaller/, "comm (the binary name, cut to 15 bytes)");
    const offset = Number(readGlobal(coll, "real_parent_offset"));
    console.log(`# kernel ${release()}: task_struct.real_parent at offset ${offset}`);
    assert.ok(offset > 0);
  });
});
