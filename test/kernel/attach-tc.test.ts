// TC attachment on a veth pair: TCX links (ordering, revisions) and netlink clsact + cls_bpf filters
// (update in place), dropping UDP datagrams for real and letting them through again after detach.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createSocket, type Socket } from "node:dgram";
import { SyscallError, TsbpfError } from "../../src/errors.js";
import { loadCollection, type Collection } from "../../src/runtime/collection.js";
import type { BpfMap } from "../../src/runtime/map.js";
import { attachTc, attachTcFilter, removeClsact, tcFilters } from "../../src/runtime/links/tc.js";
import { attachTcx, tcxPrograms } from "../../src/runtime/links/tcx.js";
import { progInfo } from "../../src/sys/bpf.js";
import { LINK_TYPE } from "../../src/sys/constants.js";
import { compileAndRead, counterAt, sleep, u32, waitFor } from "../helpers/loader.js";
import { createVethPair, netnsProblem, sendUdpFromNs, type VethPair } from "../helpers/netns.js";
import { privileged } from "../helpers/privileges.js";
import { needs } from "../helpers/needs.js";

const PORT = 7358;

describe("attach: TC (tcx and netlink cls_bpf) on a veth pair", privileged(netnsProblem), () => {
  let veth: VethPair;
  let coll: Collection;
  let counts: BpfMap;
  let stamps: BpfMap;
  let rx: Socket;
  let received = 0;
  const count = (k: number) => counterAt(counts, k) ?? 0;
  const reset = () => {
    for (const k of [0, 1, 2, 3]) counts.setRaw(u32(k), new Uint8Array(8));
    for (const k of [0, 1]) stamps.setRaw(u32(k), new Uint8Array(8));
  };
  const progId = (name: string) => progInfo(coll.program(name).fd).id;

  before(async () => {
    veth = await createVethPair("tc", 41);
    const { spec } = await compileAndRead("test/fixtures/c/hooks/tc.bpf.c");
    coll = loadCollection(spec);
    counts = coll.map("counts");
    stamps = coll.map("stamp");
    rx = createSocket("udp4");
    rx.on("message", () => { received++; });
    await new Promise<void>((resolve) => rx.bind(PORT, veth.hostIp, resolve));
  });

  after(async () => {
    rx?.close();
    coll?.close();
    await veth?.cleanup();
  });

  /** Send n datagrams from the namespace to the host; resolves once they were seen or dropped. */
  async function ingress(n: number): Promise<void> {
    await sendUdpFromNs(veth.ns, veth.hostIp, PORT, n, "hello-tc");
    await sleep(30);
  }

  for (const mechanism of ["link", "netlink"] as const) {
    test(`ingress via ${mechanism}: drops while attached, passes after close`, async (t) => {
      if (mechanism === "link" && !needs(t, { linkType: "TCX" })) return;
      reset();
      received = 0;
      const link = coll.program("tc_drop_udp").attach({ interface: veth.hostIf, direction: "ingress", mechanism });
      try {
        if (mechanism === "link") {
          assert.equal(link.isBpfLink, true);
          const info = link.info();
          assert.equal(info.type, LINK_TYPE.TCX);
          assert.equal(info.ifindex, veth.hostIfindex());
          assert.deepEqual(tcxPrograms(veth.hostIf, "ingress").progIds, [progId("tc_drop_udp")]);
        } else {
          assert.equal(link.isBpfLink, false);
          const filters = tcFilters(veth.hostIf, "ingress");
          assert.equal(filters.length, 1);
          assert.equal(filters[0].progId, progId("tc_drop_udp"));
          assert.equal(filters[0].directAction, true);
          assert.equal(link.info().progId, progId("tc_drop_udp"));
        }
        await ingress(10);
        assert.ok(await waitFor(() => count(0) === 10), `10 dropped, saw ${count(0)}`);
        assert.equal(count(1), 10 * "hello-tc".length);
        assert.equal(received, 0, "nothing reached the receiver");
      } finally {
        link.close();
      }
      assert.deepEqual(tcFilters(veth.hostIf, "ingress"), []);
      assert.deepEqual(tcxPrograms(veth.hostIf, "ingress").progIds, []);
      await ingress(5);
      assert.ok(await waitFor(() => received === 5), `5 received after close, got ${received}`);
      assert.equal(count(0), 10, "no longer counted");
    });
  }

  test("egress via tcx and via netlink: datagrams the host sends are dropped", async (t) => {
    if (!needs(t, { linkType: "TCX" })) return;
    for (const mechanism of ["link", "netlink"] as const) {
      reset();
      const tx = createSocket("udp4");
      try {
        {
          using _link = attachTc(coll.program("tc_drop_udp"), veth.hostIf, "egress", { mechanism });
          for (let i = 0; i < 4; i++) await new Promise<void>((r) => tx.send("out", PORT, veth.peerIp, () => r()));
          assert.ok(await waitFor(() => count(0) === 4), `${mechanism}: 4 dropped on egress, saw ${count(0)}`);
        }
        await new Promise<void>((r) => tx.send("out", PORT, veth.peerIp, () => r()));
        await sleep(30);
        assert.equal(count(0), 4, `${mechanism}: not counted after close`);
      } finally {
        tx.close();
      }
    }
  });

  test("netlink filter: update() swaps the program in place; explicit priority/handle; EEXIST on a duplicate", async () => {
    reset();
    received = 0;
    using filter = attachTcFilter(coll.program("tc_drop_udp"), veth.hostIf, "ingress", { priority: 7, handle: 3 });
    assert.match(filter.description, /priority 7, handle 3/);
    assert.throws(
      () => attachTcFilter(coll.program("tc_pass_udp"), veth.hostIf, "ingress", { priority: 7, handle: 3 }),
      (e: unknown) => e instanceof SyscallError && e.code === "EEXIST" && e.operation === "RTM_NEWTFILTER" && e.message.includes(veth.hostIf),
    );
    await ingress(3);
    assert.ok(await waitFor(() => count(0) === 3));
    filter.update(coll.program("tc_pass_udp").fd);
    const [f] = tcFilters(veth.hostIf, "ingress");
    assert.deepEqual([f.priority, f.handle, f.progId], [7, 3, progId("tc_pass_udp")]);
    await ingress(4);
    assert.ok(await waitFor(() => count(2) === 4 && received === 4), `passed and counted: ${count(2)} / ${received}`);
    assert.equal(count(0), 3);
    filter.close();
    assert.deepEqual(tcFilters(veth.hostIf, "ingress"), []);
    assert.throws(() => filter.pin("/sys/fs/bpf/x"), (e: unknown) => e instanceof TsbpfError && e.code === "NOT_A_LINK");
  });

  test("tcx ordering: before/after a link, a program or an id; stale revision refused", async (t) => {
    if (!needs(t, { linkType: "TCX" })) return;
    reset();
    using first = coll.program("tcx_first").attach({ interface: veth.hostIf });
    const rev = tcxPrograms(veth.hostIf, "ingress").revision;
    using second = attachTcx(coll.program("tcx_second"), veth.hostIf, "ingress", { before: first, expectedRevision: rev });
    assert.deepEqual(tcxPrograms(veth.hostIf, "ingress").progIds, [progId("tcx_second"), progId("tcx_first")]);
    await ingress(1);
    assert.ok(await waitFor(() => (counterAt(stamps, 0) ?? 0) > 0));
    assert.ok(counterAt(stamps, 1)! < counterAt(stamps, 0)!, "tcx_second ran before tcx_first");
    assert.throws(
      () => attachTcx(coll.program("tc_pass_udp"), veth.hostIf, "ingress", { after: "all", expectedRevision: rev }),
      (e: unknown) => e instanceof SyscallError && e.code === "ESTALE",
    );
    second.close();
    using third = attachTcx(coll.program("tcx_second"), veth.hostIf, "ingress", { after: { progId: progId("tcx_first") } });
    assert.deepEqual(tcxPrograms(veth.hostIf, "ingress").progIds, [progId("tcx_first"), progId("tcx_second")]);
    using fourth = attachTcx(coll.program("tc_pass_udp"), veth.hostIf, "ingress", { before: "all" });
    assert.equal(tcxPrograms(veth.hostIf, "ingress").progIds[0], progId("tc_pass_udp"));
    assert.ok(third.id > 0 && fourth.id > 0);
  });

  test("bad input: missing interface, wrong program type, no direction, netlink-only options on tcx", () => {
    const prog = coll.program("tc_drop_udp");
    assert.throws(() => prog.attach({ interface: "tsbpf-nope0", direction: "ingress" }),
      (e: unknown) => e instanceof TsbpfError && e.code === "NO_SUCH_INTERFACE" && e.message.includes("tsbpf-nope0"));
    assert.throws(() => prog.attach({ interface: veth.hostIf }),
      (e: unknown) => e instanceof TsbpfError && e.code === "ATTACH_NEEDS_TARGET" && e.message.includes("direction"));
    assert.throws(() => attachTc(prog, veth.hostIf, "ingress", { mechanism: "link", priority: 1 }),
      (e: unknown) => e instanceof TsbpfError && e.code === "INVALID_ARGUMENT");
    assert.throws(() => attachTcFilter(prog, veth.hostIf, "ingress", { priority: 0x10000 }),
      (e: unknown) => e instanceof TsbpfError && e.code === "INVALID_ARGUMENT" && e.message.includes("priority"));
  });

  test("wrong program type: an XDP program is refused by every TC entry point", async () => {
    const { spec } = await compileAndRead("test/fixtures/c/attach_xdp.bpf.c");
    using xdp = loadCollection(spec);
    const p = xdp.program("xdp_count");
    for (const attach of [
      () => attachTc(p, veth.hostIf, "ingress"),
      () => attachTcx(p, veth.hostIf, "egress"),
      () => attachTcFilter(p, veth.hostIf, "ingress"),
    ]) {
      assert.throws(attach, (e: unknown) => e instanceof TsbpfError && e.code === "WRONG_PROGRAM_TYPE" && e.message.includes("XDP"));
    }
  });

  test("removeClsact clears the qdisc; a second removal reports none", () => {
    using _f = attachTcFilter(coll.program("tc_drop_udp"), veth.hostIf, "egress");
    assert.equal(tcFilters(veth.hostIf, "egress").length, 1);
    assert.equal(removeClsact(veth.hostIf), true);
    assert.deepEqual(tcFilters(veth.hostIf, "egress"), []);
    assert.equal(removeClsact(veth.hostIf), false);
  });
});
