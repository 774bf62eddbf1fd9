// Network hooks on the VM kernels: TC attach() takes a TCX link on 6.12 and the netlink clsact + cls_bpf
// path on its own on 6.1, where attachTcx says why it cannot; XDP links and netlink on a veth pair; cgroup
// links, and cgroup ordering where the kernel has it (Debian's 6.12 does; 6.1 gives a typed missing feature).

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

const skip = IN_VM ? undefined : "checks the TC/XDP/cgroup fallbacks of older kernels (runs in the VM: npm run test:vm)";

async function load(name: string): Promise<Collection> {
  return loadCollection(readCollectionSpec(new Uint8Array(readFileSync(await vmObject(name))), { name }));
}

// TCX links arrived in 6.6.
const tcx = kernelAtLeast(6, 6);

describe(`vm: TC (${tcx ? "TCX" : "no TCX"}) and XDP`, { skip }, () => {
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

  /** 5 UDP datagrams dropped while `link` is attached; 3 received after it is closed. */
  async function dropsWhileAttached(link: { close(): void }, what: string): Promise<void> {
    const counts = tc.map("counts");
    const dropped = () => counterAt(counts, 0) ?? 0;
    const before = dropped();
    const got = received;
    try {
      await sendUdpFromNs(veth.ns, veth.hostIp, 7358, 5, "vm-tc");
      assert.ok(await waitFor(() => dropped() === before + 5, 5000), `${what}: 5 dropped, saw ${dropped() - before}`);
      assert.equal(received, got);
    } finally {
      link.close();
    }
    await sendUdpFromNs(veth.ns, veth.hostIp, 7358, 3, "vm-tc");
    assert.ok(await waitFor(() => received === got + 3, 5000), `${what}: 3 received after close, got ${received - got}`);
    assert.equal(dropped(), before + 5);
  }

  test(tcx ? "TC: attach() takes a TCX link; drops while attached, passes after close"
    : "TC: attach() falls back to a netlink clsact + cls_bpf filter; drops while attached, passes after close", async () => {
    const link = tc.program("tc_drop_udp").attach({ interface: veth.hostIf, direction: "ingress" });
    assert.equal(link.isBpfLink, tcx, tcx ? "a TCX link" : "a netlink filter, not a TCX link");
    if (tcx) assert.equal(link.info().type, 11 /* BPF_LINK_TYPE_TCX */);
    else {
      assert.match(link.description, /tc ingress filter/);
      assert.deepEqual(tcFilters(veth.hostIf, "ingress").map((f) => [f.progId, f.directAction]), [[progInfo(tc.program("tc_drop_udp").fd).id, true]]);
    }
    await dropsWhileAttached(link, "attach()");
    assert.deepEqual(tcFilters(veth.hostIf, "ingress"), []);
  });

  test("TC: the netlink clsact + cls_bpf filter on request, ingress and egress", async () => {
    const link = tc.program("tc_drop_udp").attach({ interface: veth.hostIf, direction: "ingress", mechanism: "netlink" });
    assert.equal(link.isBpfLink, false);
    assert.deepEqual(tcFilters(veth.hostIf, "ingress").map((f) => [f.progId, f.directAction]), [[progInfo(tc.program("tc_drop_udp").fd).id, true]]);
    await dropsWhileAttached(link, "netlink");
    assert.deepEqual(tcFilters(veth.hostIf, "ingress"), []);
    // Egress the same way, through attachTc.
    {
      using _egress = attachTc(tc.program("tc_drop_udp"), veth.hostIf, "egress", { mechanism: "netlink" });
      assert.equal(tcFilters(veth.hostIf, "egress").length, 1);
    }
    assert.deepEqual(tcFilters(veth.hostIf, "egress"), []);
  });

  test(tcx ? "TC: attachTcx gives a TCX link that drops while attached" : "TC: asking for a TCX link says the kernel has none", async () => {
    if (tcx) {
      const link = attachTcx(tc.program("tc_drop_udp"), veth.hostIf, "ingress");
      assert.equal(link.info().type, 11 /* BPF_LINK_TYPE_TCX */);
      await dropsWhileAttached(link, "attachTcx");
      return;
    }
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

describe("vm: cgroup links and ordering", { skip }, () => {
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

  test("before/after on a cgroup: ordered where the kernel has cgroup revisions, else a typed missing feature", () => {
    // Probe: kernels with cgroup ordering (6.16, and Debian's 6.12 by backport) count a revision per hook
    // in BPF_PROG_QUERY; older ones report 0.
    const first = coll.program("connect4").attach({ cgroup: cg.path });
    try {
      const ordering = cgroupPrograms(cg.path, "CGROUP_INET4_CONNECT").revision > 0n;
      for (const mode of ["link", "multi"] as const) {
        if (!ordering) {
          assert.throws(() => attachCgroup(coll.program("allow_all"), cg.path, { mode, before: "all" }),
            (e: unknown) => e instanceof MissingFeatureError && e.code === "CGROUP_ORDERING_UNSUPPORTED" && /6\.16/.test(e.message), mode);
          continue;
        }
        const link = attachCgroup(coll.program("allow_all"), cg.path, { mode, before: "all" });
        try {
          const ids = cgroupPrograms(cg.path, "CGROUP_INET4_CONNECT").progIds;
          assert.deepEqual(ids, [progInfo(coll.program("allow_all").fd).id, progInfo(coll.program("connect4").fd).id], `${mode}: allow_all first`);
        } finally {
          link.close();
        }
      }
    } finally {
      first.close();
    }
    assert.deepEqual(cgroupPrograms(cg.path, "CGROUP_INET4_CONNECT").progIds, [], "nothing left attached");
  });
});
