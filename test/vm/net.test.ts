// Network hooks on the VM kernel (6.1, which has no TCX): TC attach() takes the netlink clsact +
// cls_bpf path on its own, attachTcx says why it cannot; XDP links and netlink on a veth pair; cgroup
// links work while cgroup ordering (6.16+) is a typed missing feature.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createSocket, type Socket } from "node:dgram";
import { createServer, type Server } from "node:net";
import { MissingFeatureError } from "../../src/errors.js";
import { readCollectionSpec } from "../../src/object/reader.js";
import { loadCollection, type Collection } from "../../src/runtime/collection.js";
import { attachCgroup, cgroupPrograms } from "../../src/runtime/links/cgroup.js";
import { attachTc, tcFilters } from "../../src/runtime/links/tc.js";
import { attachTcx } from "../../src/runtime/links/tcx.js";
import { attachXdp, xdpState } from "../../src/runtime/links/xdp.js";
import { progInfo } from "../../src/sys/bpf.js";
import { kernelAtLeast } from "../../src/sys/system.js";
import { createCgroup, type TestCgroup } from "../helpers/cgroup.js";
import { counterAt, sleep, u32, waitFor } from "../helpers/loader.js";
import { createVethPair, sendUdpFromNs, type VethPair } from "../helpers/netns.js";
import { IN_VM, vmBinary, vmObject } from "./fixtures.js";

const skip = IN_VM ? undefined : "checks the fallbacks of a kernel without TCX (runs in the VM: npm run test:vm)";

async function load(name: string): Promise<Collection> {
  return loadCollection(readCollectionSpec(new Uint8Array(readFileSync(await vmObject(name))), { name }));
}

describe("vm: TC, XDP and cgroup fallbacks on a kernel without TCX", { skip }, () => {
  let veth: VethPair;
  let tc: Collection;
  let xdp: Collection;
  let rx: Socket;
  let received = 0;

  before(async () => {
    veth = await createVethPair("vm", 51);
    tc = await load("tc");
    xdp = await load("xdp");
    rx = createSocket("udp4");
    rx.on("message", () => { received++; });
    await new Promise<void>((r) => rx.bind(7358, veth.hostIp, r));
  });

  after(async () => {
    rx?.close();
    tc?.close();
    xdp?.close();
    await veth?.cleanup();
  });

  test("TC: attach() falls back to a netlink clsact + cls_bpf filter; drops while attached, passes after close", async () => {
    assert.equal(kernelAtLeast(6, 6), false, "this kernel predates TCX");
    const counts = tc.map("counts");
    const dropped = () => counterAt(counts, 0) ?? 0;
    const link = tc.program("tc_drop_udp").attach({ interface: veth.hostIf, direction: "ingress" });
    try {
      assert.equal(link.isBpfLink, false, "a netlink filter, not a TCX link");
      assert.match(link.description, /tc ingress filter/);
      assert.deepEqual(tcFilters(veth.hostIf, "ingress").map((f) => [f.progId, f.directAction]), [[progInfo(tc.program("tc_drop_udp").fd).id, true]]);
      await sendUdpFromNs(veth.ns, veth.hostIp, 7358, 5, "vm-tc");
      assert.ok(await waitFor(() => dropped() === 5, 5000), `5 dropped, saw ${dropped()}`);
      assert.equal(received, 0);
    } finally {
      link.close();
    }
    assert.deepEqual(tcFilters(veth.hostIf, "ingress"), []);
    await sendUdpFromNs(veth.ns, veth.hostIp, 7358, 3, "vm-tc");
    assert.ok(await waitFor(() => received === 3, 5000), `3 received after close, got ${received}`);
    assert.equal(dropped(), 5);
    // Egress the same way, through attachTc.
    {
      using _egress = attachTc(tc.program("tc_drop_udp"), veth.hostIf, "egress");
      assert.equal(tcFilters(veth.hostIf, "egress").length, 1);
    }
    assert.deepEqual(tcFilters(veth.hostIf, "egress"), []);
  });

  test("TC: asking for a TCX link says the kernel has none", () => {
    assert.throws(() => attachTcx(tc.program("tc_drop_udp"), veth.hostIf, "ingress"),
      (e: unknown) => e instanceof MissingFeatureError && e.code === "TCX_UNSUPPORTED" && /6\.6/.test(e.message));
    assert.throws(() => tc.program("tc_drop_udp").attach({ interface: veth.hostIf, direction: "ingress", mechanism: "link" }),
      (e: unknown) => e instanceof MissingFeatureError && e.code === "TCX_UNSUPPORTED");
  });

  test("XDP: a link (5.9+) in driver and generic mode, and the netlink mechanism, on a veth", async () => {
    const counts = xdp.map("xdp_counts");
    const matched = () => counterAt(counts, 0) ?? 0;
    for (const [mode, mechanism] of [["driver", "link"], ["generic", "link"], ["generic", "netlink"]] as const) {
      const before = matched();
      const link = attachXdp(xdp.program("xdp_count"), veth.hostIf, { mode, mechanism });
      try {
        assert.equal(link.isBpfLink, mechanism === "link");
        assert.equal(xdpState(veth.hostIf).mode, mode);
        await sendUdpFromNs(veth.ns, veth.hostIp, 7357, 4, "vm-xdp");
        assert.ok(await waitFor(() => matched() === before + 4, 5000), `${mode}/${mechanism}: 4 counted, saw ${matched() - before}`);
      } finally {
        link.close();
      }
      assert.equal(xdpState(veth.hostIf).mode, "none");
      await sendUdpFromNs(veth.ns, veth.hostIp, 7357, 2, "vm-xdp");
      await sleep(50);
      assert.equal(matched(), before + 4, `${mode}/${mechanism}: nothing after close`);
    }
  });
});

describe("vm: cgroup links on 6.1, ordering missing", { skip }, () => {
  let cg: TestCgroup;
  let coll: Collection;
  let server: Server;

  before(async () => {
    cg = createCgroup("vmcg");
    coll = await load("cgroup");
    for (let k = 0; k < 16; k++) coll.map("hits").setRaw(u32(k), new Uint8Array(8));
    server = createServer((s) => s.destroy());
    await new Promise<void>((r) => server.listen(7365, "127.0.0.1", r));
  });

  after(() => {
    server?.close();
    coll?.close();
    cg?.cleanup();
  });

  test("connect4 through a cgroup link refuses a port while attached", async () => {
    const tool = async () => (await cg.run(vmBinary("nettool"), ["tcp", "127.0.0.1", "7360"])).stdout.trim();
    const link = coll.program("connect4").attach({ cgroup: cg.path });
    try {
      assert.equal(link.isBpfLink, true);
      assert.equal(await tool(), "connect:EPERM");
    } finally {
      link.close();
    }
    assert.equal(await tool(), "connect:ECONNREFUSED");
    assert.deepEqual(cgroupPrograms(cg.path, "CGROUP_INET4_CONNECT").progIds, []);
  });

  test("before/after on a cgroup is a typed missing feature before 6.16", () => {
    for (const mode of ["link", "multi"] as const) {
      assert.throws(() => attachCgroup(coll.program("allow_all"), cg.path, { mode, before: "all" }),
        (e: unknown) => e instanceof MissingFeatureError && e.code === "CGROUP_ORDERING_UNSUPPORTED" && /6\.16/.test(e.message), mode);
    }
    assert.deepEqual(cgroupPrograms(cg.path, "CGROUP_INET4_CONNECT").progIds, [], "nothing left attached");
  });
});
