// Packet program kinds written in TypeScript (test/fixtures/ts/kinds/), attached for real and fed
// real traffic on veth pairs: TC/TCX rewriting, dropping and cloning UDP datagrams with the skb helpers.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createSocket, type Socket } from "node:dgram";
import { resolve } from "node:path";
import { loadCollection, readCollectionSpec } from "../../src/index.js";
import type { Collection } from "../../src/runtime/collection.js";
import { compileTs } from "../helpers/compile-ts.js";
import { REPO_ROOT } from "../helpers/toolchain.js";
import { readFileSync } from "node:fs";
import { counterAt, must, run, sleep, u32, waitFor } from "../helpers/loader.js";
import { createVethPair, netnsProblem, type VethPair } from "../helpers/netns.js";
import { privileged } from "../helpers/privileges.js";

const KINDS = resolve(REPO_ROOT, "test", "fixtures", "ts", "kinds");
const loadKind = (file: string): Collection => loadCollection(readCollectionSpec(compileTs(resolve(KINDS, file))));

const FROM_PORT = 7461, TO_PORT = 7462, DROP_PORT = 7463, CLONE_PORT = 7464, REDIRECT_PORT = 7465;

/**
 * Sends `n` UDP datagrams from namespace `ns` through a raw socket with the UDP checksum computed here
 * in full (no checksum offload), so the receiving stack verifies it in software.
 */
async function sendRawUdp(ns: string, src: string, dst: string, port: number, n: number, payload = "tsbpf-kpk"): Promise<void> {
  const py = `
import socket, struct, sys
src, dst, port, n, payload = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5].encode()
def csum(b):
    if len(b) % 2: b += b"\\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
ulen = 8 + len(payload)
hdr = struct.pack("!HHHH", 40000, port, ulen, 0)
pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 17, ulen)
c = csum(pseudo + hdr + payload) or 0xffff
pkt = struct.pack("!HHHH", 40000, port, ulen, c) + payload
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
for _ in range(n): s.sendto(pkt, (dst, 0))
`;
  await must("ip", ["netns", "exec", ns, "python3", "-c", py, src, dst, String(port), String(n), payload]);
}

/**
 * Captures IPv4 frames arriving on `ifname` inside namespace `ns` with a packet socket until `n` were
 * seen or `timeoutMs` passed; resolves (after `ready`) with their bytes.
 */
async function captureInNs(ns: string, ifname: string, n: number, timeoutMs: number): Promise<{ done: Promise<Uint8Array[]> }> {
  const py = `
import socket, select, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
s.bind((sys.argv[1], 0))
n, deadline, got = int(sys.argv[2]), time.time() + int(sys.argv[3]) / 1000, 0
print("ready", flush=True)
while got < n and time.time() < deadline:
    r, _, _ = select.select([s], [], [], 0.05)
    if not r: continue
    f, addr = s.recvfrom(65535)
    if addr[2] == socket.PACKET_OUTGOING: continue
    got += 1
    print(f.hex(), flush=True)
`;
  const child = spawn("ip", ["netns", "exec", ns, "python3", "-c", py, ifname, String(n), String(timeoutMs)], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  let readyResolve!: () => void;
  const ready = new Promise<void>((r) => { readyResolve = r; });
  child.stdout.on("data", (d: Buffer) => { out += d.toString(); if (out.includes("ready\n")) readyResolve(); });
  const done = new Promise<Uint8Array[]>((resolveDone, reject) => {
    child.on("error", reject);
    child.on("exit", () => {
      readyResolve();
      resolveDone(out.split("\n").filter((l) => l && l !== "ready").map((h) => Uint8Array.from(Buffer.from(h, "hex"))));
    });
  });
  await ready;
  return { done };
}

/** A UDP receiver on ip:port counting datagrams. */
async function receiver(ip: string, port: number): Promise<{ sock: Socket; count: () => number }> {
  const sock = createSocket("udp4");
  let n = 0;
  sock.on("message", () => { n++; });
  await new Promise<void>((r) => sock.bind(port, ip, r));
  return { sock, count: () => n };
}

describe("kinds: TC/TCX programs in TypeScript on a veth pair", privileged(netnsProblem), () => {
  let veth: VethPair;
  let other: VethPair;
  let coll: Collection;
  const count = (k: number) => counterAt(coll.map("counts"), k) ?? 0;
  const reset = () => { for (const k of [0, 1, 2, 3]) coll.map("counts").setRaw(u32(k), new Uint8Array(8)); };
  const sockets: Socket[] = [];

  before(async () => {
    veth = await createVethPair("kpk", 173);
    other = await createVethPair("kpko", 174);
    coll = loadKind("tcx.bpf.ts");
  });

  after(async () => {
    for (const s of sockets) s.close();
    coll?.close();
    await veth?.cleanup();
    await other?.cleanup();
  });

  test("tcx/ingress: storeBytes + l4CsumReplace move a datagram to another port with a valid checksum", async () => {
    reset();
    const from = await receiver(veth.hostIp, FROM_PORT);
    const to = await receiver(veth.hostIp, TO_PORT);
    sockets.push(from.sock, to.sock);
    {
      using link = coll.program("rewritePort").attach({ interface: veth.hostIf });
      assert.equal(link.isBpfLink, true, "a tcx/ingress program attaches with a TCX link");
      await sendRawUdp(veth.ns, veth.peerIp, veth.hostIp, FROM_PORT, 5);
      assert.ok(await waitFor(() => to.count() === 5), `5 datagrams at the new port (checksum verified by the stack), got ${to.count()}`);
      assert.equal(count(0), 5);
      assert.equal(from.count(), 0, "none at the original port");
    }
    // Control: the same rewrite without the checksum fix is discarded by the receiving stack.
    reset();
    {
      using _link = coll.program("rewriteNoCsum").attach({ interface: veth.hostIf });
      await sendRawUdp(veth.ns, veth.peerIp, veth.hostIp, FROM_PORT, 5);
      assert.ok(await waitFor(() => count(0) === 5), `5 rewritten, saw ${count(0)}`);
      await sleep(50);
      assert.equal(to.count(), 5, "no datagram with a stale checksum was delivered");
      assert.equal(from.count(), 0);
    }
    // Detached: datagrams reach the original port again.
    await sendRawUdp(veth.ns, veth.peerIp, veth.hostIp, FROM_PORT, 3);
    assert.ok(await waitFor(() => from.count() === 3), `3 at the original port after detach, got ${from.count()}`);
  });

  test("tcx/ingress: TcAction.SHOT drops datagrams to one port", async () => {
    reset();
    const drop = await receiver(veth.hostIp, DROP_PORT);
    sockets.push(drop.sock);
    {
      using _link = coll.program("dropPort").attach({ interface: veth.hostIf });
      await sendRawUdp(veth.ns, veth.peerIp, veth.hostIp, DROP_PORT, 4);
      assert.ok(await waitFor(() => count(1) === 4), `4 dropped, saw ${count(1)}`);
      await sleep(50);
      assert.equal(drop.count(), 0, "nothing delivered while attached");
    }
    await sendRawUdp(veth.ns, veth.peerIp, veth.hostIp, DROP_PORT, 2);
    assert.ok(await waitFor(() => drop.count() === 2), `delivered after detach, got ${drop.count()}`);
  });

  test("tc (netlink cls_bpf): cloneRedirect sends a copy out of another interface, the original is delivered", async () => {
    reset();
    const rx = await receiver(veth.hostIp, CLONE_PORT);
    sockets.push(rx.sock);
    coll.map("cloneTarget").setRaw(u32(0), u32(other.hostIfindex()));
    const txBefore = other.hostStat("tx_packets");
    {
      using _link = coll.program("cloneTo").attach({ interface: veth.hostIf, direction: "ingress", mechanism: "netlink" });
      await sendRawUdp(veth.ns, veth.peerIp, veth.hostIp, CLONE_PORT, 6);
      assert.ok(await waitFor(() => rx.count() === 6), `6 originals delivered, got ${rx.count()}`);
      assert.ok(await waitFor(() => count(2) === 6), `6 clones sent, saw ${count(2)} (errors ${count(3)})`);
    }
    assert.equal(count(3), 0);
    assert.ok(other.hostStat("tx_packets") - txBefore >= 6, "the copies left through the other interface");
  });
});

describe("kinds: XDP redirects through maps in TypeScript", privileged(netnsProblem), () => {
  let veth: VethPair;
  let coll: Collection;
  // A second veth pair, both ends in this namespace: redirected frames leave through D0 and arrive at D1.
  const D0 = `kpk${process.pid % 100_000}d0`, D1 = `kpk${process.pid % 100_000}d1`;
  const count = (k: number) => counterAt(coll.map("counts"), k) ?? 0;
  const ifindex = (name: string) => Number(readFileSync(`/sys/class/net/${name}/ifindex`, "utf8"));

  before(async () => {
    veth = await createVethPair("kpkx", 175);
    await run("ip", ["link", "del", D0]);
    await must("ip", ["link", "add", D0, "type", "veth", "peer", "name", D1]);
    await must("ip", ["link", "set", D0, "up"]);
    await must("ip", ["link", "set", D1, "up"]);
    coll = loadKind("xdp-redirect.bpf.ts");
  });

  after(async () => {
    coll?.close();
    await run("ip", ["link", "del", D0]);
    await veth?.cleanup();
  });

  test("DevMap.redirect sends frames out of the interface in the map; an XDP program there sees them", async () => {
    coll.map("devs").setRaw(u32(0), u32(ifindex(D0)));
    using _target = coll.program("countOnTarget").attach({ interface: D1 });
    using _source = coll.program("redirectOut").attach({ interface: veth.hostIf });
    const rx = await receiver(veth.hostIp, REDIRECT_PORT);
    try {
      await sendRawUdp(veth.ns, veth.peerIp, veth.hostIp, REDIRECT_PORT, 7);
      assert.ok(await waitFor(() => count(1) === 7), `7 frames arrived at ${D1}, saw ${count(1)} (redirected ${count(0)})`);
      assert.equal(count(0), 7);
      assert.equal(rx.count(), 0, "redirected frames did not reach the local stack");
    } finally {
      rx.sock.close();
    }
  });

  test("a DevMap entry with an xdpDevmap program runs it on the way out, egressIfindex naming the interface", async () => {
    const value = new Uint8Array(8);
    new DataView(value.buffer).setUint32(0, ifindex(D0), true);
    new DataView(value.buffer).setInt32(4, coll.program("onEgress").fd.value, true);
    coll.map("devsWithProgram").setRaw(u32(0), value);
    for (const k of [0, 1, 2, 3]) coll.map("counts").setRaw(u32(k), new Uint8Array(8));
    using _target = coll.program("countOnTarget").attach({ interface: D1 });
    using _source = coll.program("redirectWithProgram").attach({ interface: veth.hostIf });
    await sendRawUdp(veth.ns, veth.peerIp, veth.hostIp, REDIRECT_PORT, 5);
    assert.ok(await waitFor(() => count(1) === 5), `5 frames arrived at ${D1}, saw ${count(1)} (redirected ${count(0)}, devmap program ${count(2)})`);
    assert.equal(count(2), 5, "the devmap program ran for each");
    assert.equal(count(3), ifindex(D0), "ctx.egressIfindex is the DevMap entry's interface");
  });

  test("redirect with a missing entry returns the fallback action from the flags (DevMapHash, CpuMap, XskMap)", () => {
    const p = coll.program("redirectOthers");
    for (const size of [14, 40, 80]) {
      const r = p.testRun({ data: new Uint8Array(size) });
      assert.equal(r.retval, 2, `a ${size}-byte frame: XDP_PASS from the fallback`);
    }
  });
});

describe("kinds: XDP adjustHead and xdp.frags in TypeScript (BPF_PROG_TEST_RUN)", privileged(), () => {
  let coll: Collection;
  before(() => { coll = loadKind("xdp-adjust.bpf.ts"); });
  after(() => coll?.close());
  const seen = (k: number) => { const v = coll.map("seen").getRaw(u32(k))!; return new DataView(v.buffer, v.byteOffset).getBigUint64(0, true); };

  const MACS = [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
  const ipv4 = (protocol: number, payload: number[]): number[] => {
    const total = 20 + payload.length;
    return [0x45, 0, total >> 8, total & 0xff, 0, 1, 0, 0, 64, protocol, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, ...payload];
  };

  test("decap: adjustHead(20) strips the IPIP outer header and the Ethernet header is rewritten in front", () => {
    const inner = ipv4(17, [0x1f, 0x90, 0x1f, 0x91, 0, 12, 0, 0, 0xde, 0xad, 0xbe, 0xef]);
    const frame = new Uint8Array([...MACS, 0x08, 0x00, ...ipv4(4, inner)]);
    const r = coll.program("decap").testRun({ data: frame });
    assert.equal(r.retval, 3, "XDP_TX");
    assert.deepEqual([...r.data!], [...MACS, 0x08, 0x00, ...inner]);
  });

  test("pushVlan: adjustHead(-4) makes room for an 802.1Q tag", () => {
    const payload = ipv4(17, [1, 2, 3, 4, 0, 8, 0, 0]);
    const frame = new Uint8Array([...MACS, 0x08, 0x00, ...payload]);
    const r = coll.program("pushVlan").testRun({ data: frame });
    assert.equal(r.retval, 3, "XDP_TX");
    assert.deepEqual([...r.data!], [...MACS, 0x81, 0x00, 0x00, 42, 0x08, 0x00, ...payload]);
    assert.equal(seen(3), 0n, "no adjust failed");
  });

  test("xdp.frags: bufLen, loadBytes and storeBytes reach past the first buffer of a 9000-byte packet", () => {
    const frame = new Uint8Array(9000);
    frame.set(MACS);
    new DataView(frame.buffer).setUint32(4500, 0x01020304, true);
    const r = coll.program("frags").testRun({ data: frame, dataOutSize: 9000 });
    assert.equal(r.retval, 2, "XDP_PASS");
    assert.equal(seen(0), 9000n, "bufLen counts every fragment");
    assert.ok(seen(1) < 9000n, `ctx.len is the first buffer only (${seen(1)})`);
    assert.equal(seen(2), 0x01020304n, "loadBytes read the fragment");
    assert.equal(r.data!.byteLength, 9000);
    assert.equal(new DataView(r.data!.buffer, r.data!.byteOffset).getUint32(4600, true), 0x5a5a5a5a, "storeBytes wrote the fragment");
  });
});

describe("kinds: netfilter in TypeScript", privileged(netnsProblem), () => {
  let veth: VethPair;
  let coll: Collection;
  const NF_PORT = 7466;

  before(async () => {
    veth = await createVethPair("kpkn", 176);
    coll = loadKind("netfilter.bpf.ts");
  });
  after(async () => {
    coll?.close();
    await veth?.cleanup();
  });

  test("NF_INET_LOCAL_IN: UDP to one port is dropped (NfAction.DROP) while attached, other ports pass", async () => {
    const drop = await receiver(veth.hostIp, NF_PORT);
    const pass = await receiver(veth.hostIp, NF_PORT + 1);
    try {
      {
        using link = coll.program("nfDrop").attach({ netfilter: { family: "ipv4", hook: "input", priority: -100 } });
        assert.deepEqual(link.info().netfilter, { pf: 2, hooknum: 1, priority: -100, flags: 0 });
        await sendRawUdp(veth.ns, veth.peerIp, veth.hostIp, NF_PORT, 4);
        await sendRawUdp(veth.ns, veth.peerIp, veth.hostIp, NF_PORT + 1, 2);
        assert.ok(await waitFor(() => (counterAt(coll.map("drops"), 1) ?? 0) === 4), `4 drops counted at hook 1 (LOCAL_IN), saw ${counterAt(coll.map("drops"), 1)}`);
        assert.ok(await waitFor(() => pass.count() === 2), `the other port got its 2, saw ${pass.count()}`);
        await sleep(30);
        assert.equal(drop.count(), 0, "nothing delivered to the dropped port");
      }
      await sendRawUdp(veth.ns, veth.peerIp, veth.hostIp, NF_PORT, 1);
      assert.ok(await waitFor(() => drop.count() === 1), "delivered after detach");
    } finally {
      drop.sock.close();
      pass.sock.close();
    }
  });
});

describe("kinds: lwt_in/lwt_out/lwt_xmit in TypeScript on routes with BPF encapsulation", privileged(netnsProblem), () => {
  let veth: VethPair;
  let coll: Collection;
  const LWT_PORT = 7467, PAYLOAD = "tsbpf-kpk";
  const hits = (k: number) => counterAt(coll.map("hits"), k) ?? 0;
  const sendLocal = async (ip: string, n: number) => {
    const tx = createSocket("udp4");
    for (let i = 0; i < n; i++) await new Promise<void>((r) => tx.send(PAYLOAD, LWT_PORT, ip, () => r()));
    tx.close();
  };

  before(async () => {
    veth = await createVethPair("kpkl", 179);
    coll = loadKind("lwt.bpf.ts");
  });
  after(async () => {
    coll?.close();
    await veth?.cleanup();
  });

  test("lwt_xmit: drops UDP to the port (LwtAction.DROP), reading the UDP header with loadBytes", async () => {
    const route = "198.18.177.0/24";
    {
      using _link = coll.program("xmitDrop").attach({ route, interface: veth.hostIf });
      assert.match(await must("ip", ["route", "show", route]), /encap bpf xmit xmitDrop/);
      await sendLocal("198.18.177.7", 3);
      assert.ok(await waitFor(() => hits(0) === 3), `3 dropped, saw ${hits(0)}`);
      assert.equal(hits(3), 3 * (8 + PAYLOAD.length), "UDP lengths read with loadBytes");
    }
    assert.equal((await must("ip", ["route", "show", route])).trim(), "", "route removed on close");
  });

  test("lwt_out: counts and passes (LwtAction.OK) locally generated UDP; the frames leave the device", async () => {
    const route = "198.18.178.0/24";
    // The namespace answers ARP for the destination, so passed packets are transmitted.
    await veth.inNs("ip", ["addr", "add", "198.18.178.7/32", "dev", veth.peerIf]);
    using _link = coll.program("outCount").attach({ route, interface: veth.hostIf });
    const before = veth.hostStat("tx_packets");
    await sendLocal("198.18.178.7", 4);
    assert.ok(await waitFor(() => hits(1) === 4), `4 through lwt_out, saw ${hits(1)}`);
    assert.ok(await waitFor(() => veth.hostStat("tx_packets") - before >= 4), "the 4 datagrams were transmitted");
  });

  test("lwt_xmit: pushEncap(IP) wraps datagrams in IPIP and REROUTE sends them to the outer destination", async () => {
    const route = "198.18.181.0/24";
    const peer = veth.peerIp.split(".").map(Number);
    coll.map("tunnel").setRaw(u32(0), Uint8Array.from(peer));
    using _link = coll.program("xmitEncap").attach({ route, interface: veth.hostIf });
    const cap = await captureInNs(veth.ns, veth.peerIf, 3, 5000);
    await sendLocal("198.18.181.7", 3);
    const frames = (await cap.done).filter((f) => f[12] === 0x08 && f[13] === 0 && f[23] === 4);
    assert.equal(frames.length, 3, `3 IPIP frames reached the peer, got ${frames.length}`);
    for (const f of frames) {
      const outer = f.subarray(14, 34), inner = f.subarray(34);
      assert.deepEqual([...outer.subarray(16, 20)], peer, "outer destination from the map");
      assert.deepEqual([...inner.subarray(16, 20)], [198, 18, 181, 7], "inner destination kept");
      assert.equal(inner[9], 17, "inner protocol UDP");
      assert.equal(new DataView(inner.buffer, inner.byteOffset).getUint16(22), LWT_PORT);
      assert.equal(new DataView(outer.buffer, outer.byteOffset).getUint16(2), 20 + 20 + 8 + PAYLOAD.length, "outer total length");
      let sum = 0;
      for (let i = 0; i < 20; i += 2) sum += (outer[i]! << 8) | outer[i + 1]!;
      while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
      assert.equal(sum, 0xffff, "valid outer IPv4 header checksum");
    }
  });

  test("lwt_in: forwarded packets matching the route are counted and dropped on input", async () => {
    const route = "198.18.180.0/24";
    await must("sysctl", ["-qw", `net.ipv4.conf.${veth.hostIf}.forwarding=1`]);
    await veth.inNs("ip", ["route", "replace", route, "via", veth.hostIp]);
    using _link = coll.program("inCount").attach({ route, interface: veth.hostIf });
    await sendRawUdp(veth.ns, veth.peerIp, "198.18.180.7", LWT_PORT, 3);
    assert.ok(await waitFor(() => hits(2) === 3), `3 through lwt_in, saw ${hits(2)}`);
  });
});

describe("kinds: TC programs that resize packets (BPF_PROG_TEST_RUN)", privileged(), () => {
  let coll: Collection;
  before(() => { coll = loadKind("tc-adjust.bpf.ts"); });
  after(() => coll?.close());

  const MACS = [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
  const inner = [0x45, 0, 0, 48, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, ...new Array<number>(28).fill(7)];
  const frame = () => new Uint8Array([...MACS, 0x08, 0x00, ...inner]);

  test("adjustRoom(20, MAC, ENCAP_L3_IPV4) + storeBytes wrap the packet in an outer IPv4 header", () => {
    const r = coll.program("encapIpip").testRun({ data: frame() });
    assert.equal(r.retval, 0, "TC_ACT_OK");
    const outer = [0x45, 0, 0, 68, 0, 0, 0, 0, 64, 4, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2];
    assert.deepEqual([...r.data!], [...MACS, 0x08, 0x00, ...outer, ...inner]);
  });

  test("changeTail trims the packet", () => {
    const r = coll.program("trimTail").testRun({ data: frame() });
    assert.equal(r.retval, 0);
    assert.deepEqual([...r.data!], [...frame()].slice(0, frame().length - 4));
  });

  test("vlanPush sets the packet's VLAN tag and vlanPop removes it", () => {
    assert.equal(coll.program("vlanTag").testRun({ data: frame() }).retval, 0);
    const at = (k: number) => new DataView(coll.map("vlan").getRaw(u32(k))!.buffer).getUint32(0, true);
    assert.deepEqual([at(0), at(1) & 0xfff, at(2)], [1, 42, 0]);
  });

  test("redirectPeer and redirectNeigh return TC_ACT_REDIRECT", () => {
    assert.equal(coll.program("toPeer").testRun({ data: frame() }).retval, 7);
    assert.equal(coll.program("toNeigh").testRun({ data: frame() }).retval, 7);
  });
});
