// Socket-level program kinds written in TypeScript (test/fixtures/ts/kinds/), compiled, loaded,
// attached and triggered for real: sk_msg and sk_skb on live loopback TCP pairs in a SockMap, sk_lookup
// steering connections in a network namespace, sk_reuseport steering datagrams within a SO_REUSEPORT
// group, and a flow dissector run on crafted packets.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { createSocket } from "node:dgram";
import { createServer, connect, type Server, type Socket as TcpSocket } from "node:net";
import { SyscallError } from "../../src/errors.js";
import { loadCollection, readCollectionSpec } from "../../src/index.js";
import type { Collection } from "../../src/runtime/collection.js";
import { attachReuseport } from "../../src/runtime/links/socket.js";
import { attachSockmap } from "../../src/runtime/links/sockmap.js";
import { socketFd } from "../../src/runtime/links/targets.js";
import { SOCKET } from "../../src/sys/constants.js";
import { sockaddrIn } from "../helpers/nettool.js";
import { sys } from "../../src/sys/seam.js";
import { REPO_ROOT } from "../helpers/toolchain.js";
import { compileTs, loadSource } from "../helpers/compile-ts.js";
import { must, run, sleep, u32, waitFor } from "../helpers/loader.js";
import { createVethPair, netnsProblem } from "../helpers/netns.js";
import { privileged } from "../helpers/privileges.js";

const KINDS = resolve(REPO_ROOT, "test", "fixtures", "ts", "kinds");
const CHILD = resolve(REPO_ROOT, "test", "kernel", "kinds-sockets-child.ts");

function loadKind(file: string): Collection {
  return loadCollection(readCollectionSpec(compileTs(resolve(KINDS, file))));
}

function u64(n: number | bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
}

/** u64 array entry `k` of map `name`. */
function stat(coll: Collection, name: string, k: number): bigint {
  const raw = coll.map(name).getRaw(u32(k));
  return raw ? new DataView(raw.buffer, raw.byteOffset).getBigUint64(0, true) : 0n;
}

/** A loopback TCP listener handing out connected pairs, each end collecting what it reads. */
class Pairs {
  readonly server: Server = createServer();
  readonly #accepted: TcpSocket[] = [];
  readonly #open: TcpSocket[] = [];
  port = 0;

  constructor(readonly host = "127.0.0.1") {}

  async listen(): Promise<void> {
    this.server.on("connection", (c) => this.#accepted.push(c));
    await new Promise<void>((r) => this.server.listen(0, this.host, r));
    this.port = (this.server.address() as { port: number }).port;
  }

  async pair(): Promise<{ client: TcpSocket; srv: TcpSocket; read: () => string; clientRead: () => string; errors: string[] }> {
    const n = this.#accepted.length;
    const client = connect(this.port, this.host);
    const errors: string[] = [];
    const back: Buffer[] = [];
    client.on("data", (d) => back.push(d));
    client.on("error", (e: NodeJS.ErrnoException) => errors.push(e.code ?? e.message));
    await new Promise<void>((r) => client.on("connect", () => r()));
    assert.ok(await waitFor(() => this.#accepted.length > n));
    const srv = this.#accepted[this.#accepted.length - 1]!;
    const got: Buffer[] = [];
    srv.on("data", (d) => got.push(d));
    srv.on("error", () => {});
    this.#open.push(client, srv);
    return { client, srv, read: () => Buffer.concat(got).toString(), clientRead: () => Buffer.concat(back).toString(), errors };
  }

  close(): void {
    for (const s of this.#open) s.destroy();
    this.server.close();
  }
}

describe("kinds: socket-level programs in TypeScript", privileged(), () => {
  test("sk_msg: a send is passed, redirected out of another socket of the SockMap, or dropped", async () => {
    using coll = loadKind("sk-msg.bpf.ts");
    const pairs = new Pairs();
    await pairs.listen();
    try {
      const socks = coll.map("socks");
      const link = coll.program("steer").attach({ map: socks });
      const a = await pairs.pair(), b = await pairs.pair();
      socks.setRaw(u32(0), u64(socketFd(a.client)));
      socks.setRaw(u32(1), u64(socketFd(b.client)));

      a.client.write("hello");
      assert.ok(await waitFor(() => a.read() === "hello"), `passed: got ${JSON.stringify(a.read())}`);
      assert.equal(stat(coll, "stats", 3), BigInt(a.client.localPort!), "ctx.localPort is the sender's port");
      assert.equal(stat(coll, "stats", 5), BigInt(pairs.port), "bpf.ntohl(ctx.remotePort) is the peer's port");

      a.client.write("Redirected");
      assert.ok(await waitFor(() => b.read() === "Redirected"), `redirected to b's peer: got ${JSON.stringify(b.read())}`);
      assert.equal(a.read(), "hello", "a's peer got nothing more");

      a.client.write("Dropped");
      assert.ok(await waitFor(() => stat(coll, "stats", 1) === 1n), "the program dropped it");
      await sleep(50);
      assert.equal(a.read(), "hello", "nothing of the dropped message arrived");
      assert.equal(b.read(), "Redirected");
      assert.deepEqual(a.errors, ["EACCES"], "the dropped send fails with EACCES");
      assert.equal(stat(coll, "stats", 2), 1n);
      assert.equal(stat(coll, "stats", 0), BigInt("hello".length + "Redirected".length + "Dropped".length));
      link.close();
    } finally {
      pairs.close();
    }
  });

  test("sk_msg on IPv6 sockets: ctx.family and ctx.localIp6 describe the sender", async () => {
    using coll = loadKind("sk-msg.bpf.ts");
    const pairs = new Pairs("::1");
    await pairs.listen();
    try {
      const socks = coll.map("socks");
      const link = coll.program("steer").attach({ map: socks });
      const a = await pairs.pair();
      socks.setRaw(u32(0), u64(socketFd(a.client)));
      a.client.write("hello6");
      assert.ok(await waitFor(() => a.read() === "hello6"));
      assert.equal(stat(coll, "stats", 4), 0x01000000n, "the last word of ::1, network order, read little-endian");
      assert.equal(stat(coll, "stats", 3), BigInt(a.client.localPort!));
      link.close();
    } finally {
      pairs.close();
    }
  });

  test("sk_msg on a SockHash: a send is redirected by key into another socket's receive queue (BPF_F_INGRESS)", async () => {
    using coll = loadKind("sk-msg.bpf.ts");
    const pairs = new Pairs();
    await pairs.listen();
    try {
      const byId = coll.map("byId");
      const link = coll.program("steerHash").attach({ map: byId });
      const a = await pairs.pair(), b = await pairs.pair();
      byId.setRaw(u32(100), u64(socketFd(a.client)));
      byId.setRaw(u32(200), u64(socketFd(b.client)));
      a.client.write("Rin");
      assert.ok(await waitFor(() => b.clientRead() === "Rin"), `into b's own receive queue: got ${JSON.stringify(b.clientRead())}`);
      a.client.write("plain");
      assert.ok(await waitFor(() => a.read() === "plain"), `passed: got ${JSON.stringify(a.read())}`);
      assert.equal(b.read(), "", "b's peer got nothing");
      link.close();
    } finally {
      pairs.close();
    }
  });

  test("sk_skb: stream parser + verdict pass, drop, and redirect received data into another socket", async () => {
    using coll = loadKind("sk-skb.bpf.ts");
    const pairs = new Pairs();
    await pairs.listen();
    try {
      const socks = coll.map("socks");
      const parser = coll.program("parser").attach({ map: socks });
      const verdict = attachSockmap(coll.program("verdict"), socks);
      const a = await pairs.pair(), b = await pairs.pair();
      socks.setRaw(u32(0), u64(socketFd(a.srv)));
      socks.setRaw(u32(1), u64(socketFd(b.srv)));

      a.client.write("hello");
      assert.ok(await waitFor(() => a.read() === "hello"), `passed: got ${JSON.stringify(a.read())}`);
      a.client.write("Rerouted");
      assert.ok(await waitFor(() => b.read() === "Rerouted"), `redirected into b's receive queue: got ${JSON.stringify(b.read())}`);
      a.client.write("Dropped");
      assert.ok(await waitFor(() => stat(coll, "stats", 2) === 1n), "the verdict dropped it");
      a.client.write("tail");
      assert.ok(await waitFor(() => a.read() === "hellotail"), `only the passed data arrived: got ${JSON.stringify(a.read())}`);
      assert.equal(b.read(), "Rerouted");
      assert.equal(stat(coll, "stats", 3), 1n);
      assert.ok(stat(coll, "stats", 0) >= 4n, "the parser ran per message");
      assert.equal(stat(coll, "stats", 1), BigInt("hello".length + "Rerouted".length + "Dropped".length + "tail".length));
      parser.close();
      verdict.close();
    } finally {
      pairs.close();
    }
  });

  test("sk_skb verdict on a UDP socket in a SockMap: datagrams starting with D are dropped", async () => {
    using coll = loadKind("sk-skb-verdict.bpf.ts");
    const rx = createSocket("udp4");
    const got: string[] = [];
    rx.on("message", (m) => got.push(m.toString()));
    await new Promise<void>((r) => rx.bind(0, "127.0.0.1", r));
    try {
      const dgrams = coll.map("dgrams");
      const link = coll.program("udpVerdict").attach({ map: dgrams });
      dgrams.setRaw(u32(0), u64(socketFd(rx)));
      // Passed datagrams reach the socket through the sockmap's receive queue, where one read may take
      // several of them: compare the bytes.
      const text = () => got.join("");
      await udpSend(rx.address().port, ["Drop me", "keep me"]);
      assert.ok(await waitFor(() => text() === "keep me"), `only the kept one: ${JSON.stringify(got)}`);
      await udpSend(rx.address().port, ["Dismiss", "and me"]);
      assert.ok(await waitFor(() => text() === "keep meand me"), `only the kept ones: ${JSON.stringify(got)}`);
      await sleep(30);
      assert.equal(text(), "keep meand me");
      assert.equal(stat(coll, "runs", 0), 4n, "the verdict ran per datagram");
      link.close();
    } finally {
      rx.close();
    }
  });

  test("SockMap.delete and SockHash.delete from a TC program remove the sockets userspace put there", async () => {
    using coll = loadSource(`import { tc, SockMap, SockHash, ArrayMap, struct, u8, u32, i64 } from "tsbpf/kernel";
const Cmd = struct({ index: u8 });
export const socks = new SockMap({ maxEntries: 4 });
export const byId = new SockHash<u32>({ maxEntries: 4 });
export const rcs = new ArrayMap<i64>({ maxEntries: 2 });
export const evict = tc((ctx) => {
  const cmd = ctx.load(Cmd, 0);
  if (cmd === null) return 0;
  rcs.update(0, socks.delete(cmd.index));
  rcs.update(1, byId.delete(u32(cmd.index) + 100));
  return 0;
});
`);
    const pairs = new Pairs();
    await pairs.listen();
    try {
      const a = await pairs.pair();
      coll.map("socks").setRaw(u32(1), u64(socketFd(a.client)));
      coll.map("byId").setRaw(u32(101), u64(socketFd(a.client)));
      const pkt = new Uint8Array(64);
      pkt[0] = 1;
      const rcs = () => [0, 1].map((i) => new DataView(coll.map("rcs").getRaw(u32(i))!.buffer).getBigInt64(0, true));
      assert.equal(coll.program("evict").testRun({ data: pkt }).retval, 0);
      assert.deepEqual(rcs(), [0n, 0n]);
      assert.equal(coll.map("socks").getRaw(u32(1)), undefined, "gone from the SockMap");
      assert.equal(coll.map("byId").getRaw(u32(101)), undefined, "gone from the SockHash");
      coll.program("evict").testRun({ data: pkt });
      assert.deepEqual(rcs(), [-22n, -2n], "nothing left: -EINVAL (sockmap), -ENOENT (sockhash)");
    } finally {
      pairs.close();
    }
  });

  test("sk_reuseport: datagrams are steered within a SO_REUSEPORT group by their first payload byte", async () => {
    using coll = loadKind("sk-reuseport.bpf.ts");
    const s = sys();
    const fds = [0, 1].map(() => s.socket(SOCKET.AF_INET, SOCKET.SOCK_DGRAM | SOCKET.SOCK_CLOEXEC | SOCKET.SOCK_NONBLOCK, 0));
    try {
      const SOL_SOCKET = 1, SO_REUSEPORT = 15;
      for (const fd of fds) s.setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, new Uint8Array([1, 0, 0, 0]));
      s.bind(fds[0]!, sockaddrIn("127.0.0.1", 0));
      const addr = new Uint8Array(16);
      s.getsockname(fds[0]!, addr);
      const port = new DataView(addr.buffer).getUint16(2, false);
      s.bind(fds[1]!, sockaddrIn("127.0.0.1", port));
      const group = coll.map("group");
      group.setRaw(u32(0), u64(fds[0]!));
      group.setRaw(u32(1), u64(fds[1]!));
      const link = attachReuseport(coll.program("steer"), fds[0]!);
      const payloads = ["1a", "0b", "1c", "xd", "1e"];
      await udpSend(port, payloads);
      assert.ok(await waitFor(() => stat(coll, "stats", 0) === 5n), `the selector ran for each datagram, saw ${stat(coll, "stats", 0)}`);
      const got = fds.map((fd) => drain(fd));
      assert.deepEqual(got, [["0b", "xd"], ["1a", "1c", "1e"]]);
      assert.equal(stat(coll, "stats", 1), 0n, "every selection succeeded");
      assert.equal(stat(coll, "stats", 2), 8n + 2n, "ctx.len: the UDP header and the payload");
      link.close();
    } finally {
      for (const fd of fds) s.close(fd);
    }
  });

  test("flow_dissector: a test run on crafted IPv4 and IPv6 frames returns the flow keys the program filled in", () => {
    using coll = loadKind("flow-dissector.bpf.ts");
    const prog = coll.program("dissect");
    const udp = prog.testRun({ data: ipv4Frame(17, "10.1.2.3", "192.168.7.9", 4242, 53) });
    assert.equal(udp.retval, 0, "BPF_OK");
    const k = flowKeys(udp.data!);
    assert.deepEqual(k, { nhoff: 14, thoff: 34, addrProto: 0x0800, ipProto: 17, nProto: 0x0800, sport: 4242, dport: 53, src: "10.1.2.3", dst: "192.168.7.9" });
    const tcp = flowKeys(prog.testRun({ data: ipv4Frame(6, "172.16.0.1", "172.16.0.2", 80, 40000) }).data!);
    assert.deepEqual([tcp.ipProto, tcp.sport, tcp.dport, tcp.src, tcp.dst], [6, 80, 40000, "172.16.0.1", "172.16.0.2"]);
    // IPv6: the 16-byte addresses and the flow label.
    const v6 = prog.testRun({ data: ipv6Frame(17, 0xabcde, 5353, 5354) });
    assert.equal(v6.retval, 0);
    const k6 = flowKeys(v6.data!);
    assert.deepEqual([k6.nhoff, k6.thoff, k6.addrProto, k6.ipProto, k6.nProto, k6.sport, k6.dport], [14, 54, 0x86dd, 17, 0x86dd, 5353, 5354]);
    assert.deepEqual(flowKeys6(v6.data!), { src: "20010db8000000000000000000000001", dst: "20010db80000000000000000000000ff", flowLabel: 0xabcde });
    // A truncated IPv4 header: dissection fails (BPF_DROP).
    assert.equal(prog.testRun({ data: ipv4Frame(17, "10.0.0.1", "10.0.0.2", 1, 2).subarray(0, 14 + 12) }).retval, 2);
    // Not IPv4 (ARP): left to the kernel's dissector (BPF_FLOW_DISSECTOR_CONTINUE).
    const arp = new Uint8Array(60);
    arp.set([0x08, 0x06], 12);
    assert.equal(prog.testRun({ data: arp }).retval, 129);
    assert.deepEqual([0, 1, 2].map((i) => stat(coll, "stats", i)), [5n, 2n, 1n]);
  });

  test("flow_dissector: attached to a namespace, it dissects the IPv4 packets received there (RPS on) until closed", privileged(netnsProblem), async () => {
    using coll = loadKind("flow-dissector.bpf.ts");
    const veth = await createVethPair("ksk", 213);
    try {
      await veth.inNs("sh", ["-c", `echo 3 > /sys/class/net/${veth.peerIf}/queues/rx-0/rps_cpus`]);
      const link = coll.program("dissect").attach({ netns: veth.ns });
      const send = async (n: number) => {
        const tx = createSocket("udp4");
        for (let i = 0; i < n; i++) await new Promise<void>((r) => tx.send("flow", 9, veth.peerIp, () => r()));
        tx.close();
      };
      await send(5);
      assert.ok(await waitFor(() => stat(coll, "stats", 1) >= 5n), `dissected the received datagrams, saw ${stat(coll, "stats", 1)}`);
      link.close();
      const n = stat(coll, "stats", 0);
      await send(3);
      await sleep(50);
      assert.equal(stat(coll, "stats", 0), n, "not run after close");
    } finally {
      await veth.cleanup();
    }
  });

  test("sk_lookup: connections to an unused port of a namespace reach the listener assigned from a SockMap", privileged(netnsProblem), async () => {
    using coll = loadKind("sk-lookup.bpf.ts");
    const ns = `tsbpf-ksk-${process.pid}`;
    await run("ip", ["netns", "del", ns]);
    await must("ip", ["netns", "add", ns]);
    try {
      await must("ip", ["-n", ns, "link", "set", "lo", "up"]);
      // The child (in the namespace, where the listener must live) gets the map as its fd 3.
      const child = async (mode: "insert" | "empty") => {
        const r = spawnSync("ip", ["netns", "exec", ns, process.execPath, "--import", "tsx", CHILD, mode], { stdio: ["ignore", "pipe", "pipe", coll.map("listeners").fd.value], encoding: "utf8", timeout: 30_000 });
        assert.equal(r.status, 0, r.stderr);
        return JSON.parse(r.stdout) as Record<string, unknown>;
      };
      // Without the program, nothing listens on 7471.
      assert.deepEqual(pick(await child("insert"), "error"), { error: "ECONNREFUSED" });
      const link = coll.program("steer").attach({ netns: ns });
      const steered = await child("insert");
      assert.equal(steered.received, "via sk_lookup", JSON.stringify(steered));
      assert.notEqual(steered.listenPort, 7471);
      assert.equal(stat(coll, "stats", 0), 1n);
      assert.equal(stat(coll, "stats", 1), BigInt(steered.clientPort as number), "ctx.remotePort is the client's port");
      assert.equal(stat(coll, "stats", 2), 0n);
      // The listener closed with the child, which emptied its slot: assign fails (-ENOENT), the program drops.
      assert.equal(coll.map("listeners").getRaw(u32(0)), undefined);
      assert.deepEqual(pick(await child("empty"), "error"), { error: "ECONNREFUSED" });
      assert.equal(stat(coll, "stats", 2), 1n);
      link.close();
    } finally {
      await run("ip", ["netns", "del", ns]);
    }
  });
});

async function udpSend(port: number, payloads: readonly string[]): Promise<void> {
  const tx = createSocket("udp4");
  for (const p of payloads) await new Promise<void>((r) => tx.send(p, port, "127.0.0.1", () => r()));
  tx.close();
}

/** Every datagram waiting on a non-blocking socket. */
function drain(fd: number): string[] {
  const out: string[] = [];
  const buf = new Uint8Array(64);
  for (;;) {
    try {
      const n = sys().recv(fd, buf, SOCKET.MSG_DONTWAIT);
      out.push(Buffer.from(buf.subarray(0, n)).toString());
    } catch (e) {
      if (e instanceof SyscallError && e.code === "EAGAIN") return out;
      throw e;
    }
  }
}

/** An Ethernet + IPv4 (no options) + 8-byte transport header frame with `proto` and the given ports. */
function ipv4Frame(proto: number, src: string, dst: string, sport: number, dport: number): Uint8Array {
  const b = new Uint8Array(14 + 20 + 8 + 8);
  const v = new DataView(b.buffer);
  v.setUint16(12, 0x0800, false);
  b[14] = 0x45;
  v.setUint16(16, b.length - 14, false);
  b[22] = 64;
  b[23] = proto;
  b.set(src.split(".").map(Number), 26);
  b.set(dst.split(".").map(Number), 30);
  v.setUint16(34, sport, false);
  v.setUint16(36, dport, false);
  return b;
}

/** The fields of struct bpf_flow_keys a test run returns (ports and protocols in host order). */
function flowKeys(b: Uint8Array): Record<string, number | string> {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const ip = (o: number) => [...b.subarray(o, o + 4)].join(".");
  return {
    nhoff: v.getUint16(0, true), thoff: v.getUint16(2, true), addrProto: v.getUint16(4, true), ipProto: b[9]!,
    nProto: v.getUint16(10, false), sport: v.getUint16(12, false), dport: v.getUint16(14, false), src: ip(16), dst: ip(20),
  };
}

function pick(o: Record<string, unknown>, ...keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((k) => [k, o[k]]));
}

/** An Ethernet + IPv6 (no extension headers) + 8-byte transport header frame from 2001:db8::1 to 2001:db8::ff. */
function ipv6Frame(proto: number, flowLabel: number, sport: number, dport: number): Uint8Array {
  const b = new Uint8Array(14 + 40 + 8 + 8);
  const v = new DataView(b.buffer);
  v.setUint16(12, 0x86dd, false);
  v.setUint32(14, (6 << 28) | flowLabel, false);
  v.setUint16(18, 16, false);
  b[20] = proto;
  b[21] = 64;
  b.set([0x20, 0x01, 0x0d, 0xb8], 22);
  b[37] = 1;
  b.set([0x20, 0x01, 0x0d, 0xb8], 38);
  b[53] = 0xff;
  v.setUint16(54, sport, false);
  v.setUint16(56, dport, false);
  return b;
}

/** The IPv6 view of struct bpf_flow_keys: addresses as hex, the flow label in host order. */
function flowKeys6(b: Uint8Array): Record<string, number | string> {
  const hex = (o: number) => Buffer.from(b.subarray(o, o + 16)).toString("hex");
  return { src: hex(16), dst: hex(32), flowLabel: new DataView(b.buffer, b.byteOffset).getUint32(52, false) };
}
