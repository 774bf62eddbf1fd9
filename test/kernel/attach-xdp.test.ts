// XDP attachment on a veth pair whose peer lives in a fresh network namespace: UDP datagrams sent
// from the namespace are counted (and dropped) while attached, and pass uncounted after detaching;
// link updates, driver mode, and the errors for modes an interface cannot do.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { MissingFeatureError, SyscallError, TsbpfError } from "../../src/errors.js";
import { loadCollection, type Collection } from "../../src/runtime/collection.js";
import type { BpfMap } from "../../src/runtime/map.js";
import { attachXdp, xdpLinkMissing, xdpState } from "../../src/runtime/links/xdp.js";
import { progInfo } from "../../src/sys/bpf.js";
import { LINK_TYPE } from "../../src/sys/constants.js";
import { compileAndRead, counterAt, haveTool, must, run, sleep, waitFor } from "../helpers/loader.js";
import { privileged } from "../helpers/privileges.js";

const NS = `tsbpf-xdp-${process.pid}`;
const HOST_IF = `tsx${process.pid % 10_000_000}a`;
const PEER_IF = `tsx${process.pid % 10_000_000}b`;
const PEER_IP = "192.0.2.2";
const HOST_IP = "192.0.2.1";
const PAYLOAD = "tsbpf-xdp"; // 9 bytes
/** A unicast MAC nobody has: frames to it reach the host end and are dropped by the stack as "other host". */
const FAKE_MAC = "02:00:5e:00:53:01";

const noIp = () => (haveTool("ip") ? undefined : "needs iproute2 (`ip`)");

function rxPackets(): number {
  return Number(readFileSync(`/sys/class/net/${HOST_IF}/statistics/rx_packets`, "utf8"));
}

/** Send `n` UDP datagrams to port 7357 from inside the namespace. */
async function send(n: number): Promise<void> {
  const script = `for i in $(seq 1 ${n}); do printf '${PAYLOAD}' > /dev/udp/${HOST_IP}/7357; done`;
  await must("ip", ["netns", "exec", NS, "bash", "-c", script]);
}

describe("attach: XDP on a veth pair", privileged(noIp), () => {
  let coll: Collection;
  let counts: BpfMap;
  const matched = () => counterAt(counts, 0) ?? 0;
  const payloadBytes = () => counterAt(counts, 2) ?? 0;
  const reset = () => {
    for (const k of [0, 1, 2]) counts.setRaw(new Uint8Array([k, 0, 0, 0]), new Uint8Array(8));
  };

  before(async () => {
    await run("ip", ["netns", "del", NS]);
    await run("ip", ["link", "del", HOST_IF]);
    await must("ip", ["netns", "add", NS]);
    await must("ip", ["link", "add", HOST_IF, "type", "veth", "peer", "name", PEER_IF]);
    await must("ip", ["link", "set", PEER_IF, "netns", NS]);
    await must("ip", ["link", "set", HOST_IF, "up"]);
    await must("ip", ["-n", NS, "link", "set", PEER_IF, "up"]);
    await must("ip", ["-n", NS, "addr", "add", `${PEER_IP}/24`, "dev", PEER_IF]);
    await must("ip", ["-n", NS, "neigh", "add", HOST_IP, "lladdr", FAKE_MAC, "dev", PEER_IF]);
    const { spec } = await compileAndRead("test/fixtures/c/attach_xdp.bpf.c");
    coll = loadCollection(spec);
    counts = coll.map("xdp_counts");
  });

  after(async () => {
    coll?.close();
    await run("ip", ["link", "del", HOST_IF]);
    await run("ip", ["netns", "del", NS]);
  });

  for (const mode of [undefined, "generic"] as const) {
    test(`counts datagrams while attached (${mode ?? "mode chosen by the kernel"}), none after close`, async () => {
      reset();
      const link = coll.program("xdp_count").attach({ interface: HOST_IF, ...(mode ? { xdpMode: mode } : {}) });
      try {
        const info = link.info();
        assert.equal(info.type, LINK_TYPE.XDP);
        assert.equal(info.ifindex, Number(readFileSync(`/sys/class/net/${HOST_IF}/ifindex`, "utf8")));
        assert.equal(info.progId, progInfo(coll.program("xdp_count").fd).id);
        await send(20);
        assert.ok(await waitFor(() => matched() >= 20), `20 datagrams counted, saw ${matched()}`);
        await sleep(20);
        assert.equal(matched(), 20, "exactly 20");
        assert.equal(payloadBytes(), 20 * PAYLOAD.length, "payload bytes summed");
        assert.ok((counterAt(counts, 1) ?? 0) >= 20, "every frame counted");
      } finally {
        link.close();
      }
      const rx = rxPackets();
      await send(10);
      assert.ok(await waitFor(() => rxPackets() >= rx + 10), "the datagrams still reach the interface");
      assert.equal(matched(), 20, "but are no longer counted");
    });
  }

  test("by interface index; a second attach is refused with EBUSY; detach() stops it", async () => {
    reset();
    const ifindex = Number(readFileSync(`/sys/class/net/${HOST_IF}/ifindex`, "utf8"));
    using link = coll.program("xdp_count").attach({ interface: ifindex });
    assert.throws(
      () => coll.program("xdp_count").attach({ interface: HOST_IF }),
      (e: unknown) => e instanceof SyscallError && e.code === "EBUSY" && e.message.includes(HOST_IF),
    );
    await send(5);
    assert.ok(await waitFor(() => matched() === 5), `5 counted, saw ${matched()}`);
    link.detach();
    assert.equal(link.closed, false, "detached, fd still open");
    const rx = rxPackets();
    await send(5);
    assert.ok(await waitFor(() => rxPackets() >= rx + 5));
    assert.equal(matched(), 5, "not counted after detach()");
    // With the old link detached, the interface is free again.
    using again = coll.program("xdp_count").attach({ interface: HOST_IF });
    await send(3);
    assert.ok(await waitFor(() => matched() === 8), `3 more counted, saw ${matched()}`);
    assert.equal(again.closed, false);
  });

  test("driver mode by link; update() swaps the program atomically (BPF_LINK_UPDATE); close detaches", async () => {
    reset();
    const { spec } = await compileAndRead("test/fixtures/c/attach_xdp.bpf.c");
    using other = loadCollection(spec);
    const otherMatched = () => counterAt(other.map("xdp_counts"), 0) ?? 0;
    const link = coll.program("xdp_count").attach({ interface: HOST_IF, xdpMode: "driver" });
    try {
      assert.equal(xdpState(HOST_IF).mode, "driver");
      await send(3);
      assert.ok(await waitFor(() => matched() === 3), `3 counted, saw ${matched()}`);
      link.update(other.program("xdp_count").fd);
      assert.equal(link.info().progId, progInfo(other.program("xdp_count").fd).id);
      assert.equal(xdpState(HOST_IF).progId, progInfo(other.program("xdp_count").fd).id);
      await send(4);
      assert.ok(await waitFor(() => otherMatched() === 4), `the new program counted 4, saw ${otherMatched()}`);
      assert.equal(matched(), 3, "the old program no longer runs");
    } finally {
      link.close();
    }
    assert.equal(xdpState(HOST_IF).mode, "none");
    const rx = rxPackets();
    await send(2);
    assert.ok(await waitFor(() => rxPackets() >= rx + 2));
    assert.equal(otherMatched(), 4, "not counted after close");
  });

  test("offload on a NIC that cannot offload, driver mode where the driver has no XDP: typed errors", () => {
    for (const mechanism of ["link", "netlink"] as const) {
      assert.throws(() => attachXdp(coll.program("xdp_count"), HOST_IF, { mode: "offload", mechanism }),
        (e: unknown) => e instanceof MissingFeatureError && e.code === "XDP_OFFLOAD_UNSUPPORTED" && e.message.includes(HOST_IF));
    }
    assert.throws(() => attachXdp(coll.program("xdp_count"), "lo", { mode: "driver" }),
      (e: unknown) => e instanceof MissingFeatureError && e.code === "XDP_DRIVER_UNSUPPORTED" && e.message.includes("lo"));
    assert.equal(xdpState(HOST_IF).mode, "none", "nothing left attached");
  });

  test("the netlink fallback is chosen only for EINVAL from a kernel without XDP links (before 5.9)", () => {
    const einval = new SyscallError("BPF_LINK_CREATE", 22, "EINVAL", "Invalid argument");
    assert.equal(xdpLinkMissing(einval, undefined, false), true);
    assert.equal(xdpLinkMissing(einval, "link", false), false, "an explicit link mechanism never falls back");
    assert.equal(xdpLinkMissing(einval, undefined, true), false, "5.9+: EINVAL is a real answer");
    assert.equal(xdpLinkMissing(new SyscallError("BPF_LINK_CREATE", 16, "EBUSY", "busy"), undefined, false), false);
  });

  test("a missing interface is a typed error", () => {
    const prog = coll.program("xdp_count");
    assert.throws(
      () => prog.attach({ interface: "tsbpf-nope0" }),
      (e: unknown) => e instanceof TsbpfError && e.code === "NO_SUCH_INTERFACE" && e.message.includes("tsbpf-nope0"),
    );
    assert.throws(() => prog.attach(), (e: unknown) => e instanceof TsbpfError && e.code === "ATTACH_NEEDS_TARGET");
    // An index that names no interface is passed through; the kernel answers EINVAL.
    assert.throws(
      () => prog.attach({ interface: 0x7ffffff0 }),
      (e: unknown) => e instanceof SyscallError && e.code === "EINVAL" && e.operation === "BPF_LINK_CREATE",
    );
  });
});
