// uprobes on the VM kernels: with the uprobe PMU hidden, attach() falls back to tracefs uprobe_events on
// its own; uprobe_multi links (6.6+) count real calls on 6.12 and are a typed missing feature on 6.1.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { MissingFeatureError } from "../../src/errors.js";
import { readCollectionSpec } from "../../src/object/reader.js";
import { loadCollection, type Collection } from "../../src/runtime/collection.js";
import { attachUprobeMulti, uprobeSupport } from "../../src/runtime/links/uprobe.js";
import { kernelAtLeast } from "../../src/sys/system.js";
import { counterAt, spawnGated } from "../helpers/loader.js";
import { IN_VM, vmBinary, vmObject } from "./fixtures.js";

const skip = IN_VM ? undefined : "hides the uprobe PMU (runs in the VM: npm run test:vm)";

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

  // uprobe_multi links arrived in 6.6 (no config option of their own beyond CONFIG_UPROBES and BPF events).
  const multi = kernelAtLeast(6, 6);
  test(multi ? "uprobe.multi / uretprobe.multi over a glob count every call of the matching functions; nothing after close"
    : "uprobe.multi: attaching says the kernel lacks it", async () => {
    const spec = readCollectionSpec(new Uint8Array(readFileSync(await vmObject("uprobe"))), { name: "uprobe" });
    // The program loads everywhere (6.1 does not check a kprobe program's expected attach type); the link needs 6.6.
    using c = loadCollection(spec, { programs: ["on_multi"] });
    if (!multi) {
      assert.throws(() => c.program("on_multi").attach({ binary: bin, pattern: "tsbpf_*" }),
        (e: unknown) => e instanceof MissingFeatureError && e.code === "UPROBE_MULTI_UNSUPPORTED" && /6\.6/.test(e.message));
      return;
    }
    for (const retprobe of [false, true]) {
      const link = attachUprobeMulti(c.program("on_multi"), { binary: bin, pattern: "tsbpf_*", retprobe });
      try {
        assert.equal(link.info().type, 12 /* BPF_LINK_TYPE_UPROBE_MULTI */);
        assert.deepEqual(link.info().uprobeMulti && { count: link.info().uprobeMulti!.count, flags: link.info().uprobeMulti!.flags }, { count: 2, flags: retprobe ? 1 : 0 });
        const pid = await runTarget(5);
        assert.equal(counterAt(c.map("multi"), pid), 10, `${retprobe ? "returns" : "entries"} of tsbpf_add and tsbpf_mul, 5 rounds each`);
      } finally {
        link.close();
      }
      const pid = await runTarget(3);
      assert.equal(counterAt(c.map("multi"), pid), undefined, "nothing after close");
    }
  });
});
