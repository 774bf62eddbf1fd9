// uprobes on the VM kernel (6.1): with the uprobe PMU hidden, attach() falls back to tracefs
// uprobe_events on its own; uprobe_multi (6.6+) is a typed missing feature here.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { MissingFeatureError } from "../../src/errors.js";
import { readCollectionSpec } from "../../src/object/reader.js";
import { loadCollection, type Collection } from "../../src/runtime/collection.js";
import { uprobeSupport } from "../../src/runtime/links/uprobe.js";
import { kernelAtLeast } from "../../src/sys/system.js";
import { counterAt, spawnGated } from "../helpers/loader.js";
import { IN_VM, vmBinary, vmObject } from "./fixtures.js";

const skip = IN_VM ? undefined : "hides the uprobe PMU and needs a kernel without uprobe_multi (runs in the VM: npm run test:vm)";

async function runTarget(n: number): Promise<number> {
  const child = spawnGated(vmBinary("probe_target"), [String(n)]);
  child.go();
  assert.equal(await child.exited, 0);
  return child.pid;
}

describe("vm: uprobe fallbacks", { skip }, () => {
  let coll: Collection;
  let bin: string;
  before(async () => {
    bin = vmBinary("probe_target");
    const spec = readCollectionSpec(new Uint8Array(readFileSync(await vmObject("uprobe"))), { name: "uprobe" });
    // Only the programs this suite attaches (on_multi has a test of its own).
    coll = loadCollection(spec, { programs: ["on_add", "on_add_ret"].filter((p) => spec.programs.has(p)) });
  });
  after(() => coll?.close());

  test("without the uprobe PMU, attach() falls back to tracefs uprobe_events on its own", async () => {
    const pmu = "/sys/bus/event_source/devices/uprobe";
    execFileSync("mount", ["-t", "tmpfs", "tsbpf-no-pmu", pmu]);
    let link;
    try {
      assert.deepEqual(uprobeSupport(), { pmu: false, tracefs: true });
      link = coll.program("on_add").attach({ binary: bin, symbol: "tsbpf_add" });
      assert.match(link.description, /\(tracefs\)/);
      assert.match(readFileSync("/sys/kernel/tracing/uprobe_events", "utf8"), /tsbpf\//);
      const pid = await runTarget(4);
      assert.equal(counterAt(coll.map("calls"), pid), 4);
    } finally {
      link?.close();
      execFileSync("umount", [pmu]);
    }
    assert.doesNotMatch(readFileSync("/sys/kernel/tracing/uprobe_events", "utf8"), new RegExp(`tsbpf/up_${process.pid}_`));
    const pid = await runTarget(2);
    assert.equal(counterAt(coll.map("calls"), pid), undefined, "nothing after close");
  });

  test("uprobe.multi: attaching says the kernel lacks it", async () => {
    assert.equal(kernelAtLeast(6, 6), false);
    const spec = readCollectionSpec(new Uint8Array(readFileSync(await vmObject("uprobe"))), { name: "uprobe" });
    // The program loads (6.1 does not check a kprobe program's expected attach type); the link does not.
    using c = loadCollection(spec, { programs: ["on_multi"] });
    assert.throws(() => c.program("on_multi").attach({ binary: bin, pattern: "tsbpf_*" }),
      (e: unknown) => e instanceof MissingFeatureError && e.code === "UPROBE_MULTI_UNSUPPORTED" && /6\.6/.test(e.message));
  });
});
