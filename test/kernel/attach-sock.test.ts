// Socket-level hooks for real: socket filters on a UDP socket, a reuseport selector on a SO_REUSEPORT
// group, sk_msg/sk_skb (stream parser, stream verdict, verdict) on sockmaps holding live TCP and UDP
// sockets, sk_lookup and flow_dissector on a netns.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { createServer, connect, type Socket as TcpSocket } from "node:net";
import { SyscallError, TsbpfError } from "../../src/errors.js";
import { loadCollection, type Collection } from "../../src/runtime/collection.js";
import { attachNetns } from "../../src/runtime/links/netns.js";
import { attachReuseport, attachSocketFilter } from "../../src/runtime/links/socket.js";
import { attachSockmap } from "../../src/runtime/links/sockmap.js";
import { socketFd } from "../../src/runtime/links/targets.js";
import { progInfo } from "../../src/sys/bpf.js";
import { ATTACH_TYPE, LINK_TYPE, SOCKET } from "../../src/sys/constants.js";
import { sys } from "../../src/sys/seam.js";
import { compileAndRead, counterAt, sleep, u32, waitFor } from "../helpers/loader.js";
import { createVethPair, netnsProblem, type VethPair } from "../helpers/netns.js";
import { nettool, sockaddrIn } from "../helpers/nettool.js";
import { privileged } from "../helpers/privileges.js";
import { needs } from "../helpers/needs.js";

function u64(n: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
}

async function udpSend(port: number, payload: string, times = 1): Promise<void> {
  const tx = createSocket("udp4");
  for (let i = 0; i < times; i++) await new Promise<void>((r) => tx.send(payload, port, "127.0.0.1", () => r()));
  tx.close();
}

describe("attach: socket hooks", privileged(netnsProblem), () => {
  let coll: Collection;
  let veth: VethPair;
  const hits = (k: number) => counterAt(coll.map("hits"), k) ?? 0;

  before(async () => {
    const { spec } = await compileAndRead("test/fixtures/c/hooks/sock.bpf.c");
    coll = loadCollection(spec);
    for (let k = 0; k < 16; k++) coll.map("hits").setRaw(u32(k), new Uint8Array(8));
    veth = await createVethPair("sk", 44);
  });

  after(async () => {
    coll?.close();
    await veth?.cleanup();
  });

  test("socket filter: drops everything while attached; update() swaps in a keeping filter; detach restores", async () => {
    const rx = createSocket("udp4");
    const got: string[] = [];
    rx.on("message", (m) => got.push(m.toString()));
    await new Promise<void>((r) => rx.bind(0, "127.0.0.1", r));
    const port = rx.address().port;
    try {
      const filter = coll.program("sock_drop").attach({ socket: rx });
      assert.equal(filter.isBpfLink, false);
      assert.equal(filter.info().progId, progInfo(coll.program("sock_drop").fd).id);
      await udpSend(port, "one", 3);
      assert.ok(await waitFor(() => hits(0) === 3), `3 filtered, saw ${hits(0)}`);
      await sleep(20);
      assert.deepEqual(got, [], "all dropped");
      filter.update(coll.program("sock_keep").fd);
      await udpSend(port, "two");
      assert.ok(await waitFor(() => got.length === 1));
      assert.equal(hits(1), 1);
      filter.close();
      await udpSend(port, "three");
      assert.ok(await waitFor(() => got.length === 2));
      assert.deepEqual(got, ["two", "three"]);
      assert.equal(hits(0), 3);
      assert.equal(hits(1), 1, "no filter runs after detach");
    } finally {
      rx.close();
    }
  });

  test("reuseport selector: SK_DROP drops datagrams for the whole group; detach restores delivery", async (t) => {
    if (!needs(t, { programType: "SK_REUSEPORT", mapType: "REUSEPORT_SOCKARRAY" })) return;
    const s = sys();
    const fds = [0, 1].map(() => s.socket(SOCKET.AF_INET, SOCKET.SOCK_DGRAM | SOCKET.SOCK_CLOEXEC | SOCKET.SOCK_NONBLOCK, 0));
    try {
      const one = new Uint8Array([1, 0, 0, 0]);
      for (const fd of fds) s.setsockopt(fd, 1, 15, one);
      s.bind(fds[0], sockaddrIn("127.0.0.1", 0));
      const addr = new Uint8Array(16);
      s.getsockname(fds[0], addr);
      const port = new DataView(addr.buffer).getUint16(2, false);
      s.bind(fds[1], sockaddrIn("127.0.0.1", port));
      const pending = () => fds.reduce((n, fd) => {
        const buf = new Uint8Array(64);
        let k = 0;
        for (;;) {
          try { s.recv(fd, buf, SOCKET.MSG_DONTWAIT); k++; } catch (e) { if (e instanceof SyscallError && e.code === "EAGAIN") return n + k; throw e; }
        }
      }, 0);
      const sel = attachReuseport(coll.program("reuse_drop"), fds[0]);
      await udpSend(port, "x", 4);
      assert.ok(await waitFor(() => hits(2) === 4), `selector ran 4 times, saw ${hits(2)}`);
      assert.equal(pending(), 0, "nothing delivered");
      sel.close();
      await udpSend(port, "y", 2);
      await sleep(20);
      assert.equal(pending(), 2, "delivered after detach");
      assert.equal(hits(2), 4);
    } finally {
      for (const fd of fds) s.close(fd);
    }
  });

  test("sk_msg and sk_skb stream verdict on a sockmap holding a live TCP pair", async () => {
    const server = createServer();
    const accepted: TcpSocket[] = [];
    server.on("connection", (c) => accepted.push(c));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    const socks = coll.map("socks");
    try {
      const msg = coll.program("msg_count").attach({ map: socks });
      const skb = attachSockmap(coll.program("skb_count"), socks);
      assert.equal(msg.info().type, LINK_TYPE.SOCKMAP);
      const client = connect(port, "127.0.0.1");
      await new Promise<void>((r) => client.on("connect", () => r()));
      assert.ok(await waitFor(() => accepted.length === 1));
      const srv = accepted[0];
      const received: Buffer[] = [];
      srv.on("data", (d) => received.push(d));
      socks.setRaw(u32(0), u64(socketFd(client)));
      socks.setRaw(u32(1), u64(socketFd(srv)));
      client.write("hello sockmap");
      assert.ok(await waitFor(() => Buffer.concat(received).toString() === "hello sockmap"), "data still flows");
      assert.equal(hits(3), 13, "sk_msg counted the sent bytes");
      assert.equal(hits(4), 13, "sk_skb counted the received bytes");
      msg.close();
      skb.close();
      socks.deleteRaw(u32(0));
      client.destroy();
      srv.destroy();
      // A fresh pair after detach: nothing counted.
      const c2 = connect(port, "127.0.0.1");
      await new Promise<void>((r) => c2.on("connect", () => r()));
      assert.ok(await waitFor(() => accepted.length === 2));
      socks.setRaw(u32(2), u64(socketFd(c2)));
      const got2: Buffer[] = [];
      accepted[1].on("data", (d) => got2.push(d));
      c2.write("again");
      assert.ok(await waitFor(() => Buffer.concat(got2).toString() === "again"));
      assert.equal(hits(3), 13);
      c2.destroy();
      accepted[1].destroy();
    } finally {
      server.close();
    }
  });

  test("sk_skb stream parser + stream verdict: each TCP segment parsed and passed; nothing after detach", async () => {
    const server = createServer();
    const accepted: TcpSocket[] = [];
    server.on("connection", (c) => accepted.push(c));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    const map = coll.map("parsed");
    const pair = async () => {
      const n = accepted.length;
      const client = connect(port, "127.0.0.1");
      await new Promise<void>((r) => client.on("connect", () => r()));
      assert.ok(await waitFor(() => accepted.length > n));
      return { client, srv: accepted[accepted.length - 1] };
    };
    try {
      const parser = coll.program("parse_all").attach({ map });
      const verdict = attachSockmap(coll.program("skb_count2"), map);
      assert.equal(parser.info().attachType, ATTACH_TYPE.SK_SKB_STREAM_PARSER);
      // A verdict of the other kind on the same map is refused while a stream verdict is there.
      assert.throws(() => attachSockmap(coll.program("verdict_d"), map),
        (e: unknown) => e instanceof SyscallError && e.code === "EBUSY" && e.message.includes('map "parsed"'));
      const { client, srv } = await pair();
      const got: Buffer[] = [];
      srv.on("data", (d) => got.push(d));
      map.setRaw(u32(0), u64(socketFd(srv)));
      client.write("parsed-1");
      assert.ok(await waitFor(() => Buffer.concat(got).toString() === "parsed-1"), "data still flows");
      client.write("parsed-22");
      assert.ok(await waitFor(() => Buffer.concat(got).toString() === "parsed-1parsed-22"));
      assert.ok(hits(7) >= 2, `parser ran per message, saw ${hits(7)}`);
      assert.equal(hits(9), 17, "the verdict saw both messages whole");
      parser.close();
      verdict.close();
      client.destroy();
      srv.destroy();
      const again = await pair();
      map.setRaw(u32(1), u64(socketFd(again.srv)));
      const got2: Buffer[] = [];
      again.srv.on("data", (d) => got2.push(d));
      const p7 = hits(7);
      again.client.write("plain");
      assert.ok(await waitFor(() => Buffer.concat(got2).toString() === "plain"));
      assert.deepEqual([hits(7), hits(9)], [p7, 17], "not run after detach");
      again.client.destroy();
      again.srv.destroy();
    } finally {
      server.close();
    }
  });

  test("sk_skb verdict on a UDP socket in a sockmap: drops datagrams starting with D; detach restores them", async () => {
    const rx = createSocket("udp4");
    const got: string[] = [];
    rx.on("message", (m) => got.push(m.toString()));
    await new Promise<void>((r) => rx.bind(0, "127.0.0.1", r));
    const port = rx.address().port;
    const map = coll.map("dgrams");
    try {
      // Programs reach the sockets added after they were attached.
      const verdict = coll.program("verdict_d").attach({ map });
      map.setRaw(u32(0), u64(socketFd(rx)));
      assert.equal(verdict.info().attachType, ATTACH_TYPE.SK_SKB_VERDICT);
      await udpSend(port, "Drop me");
      await udpSend(port, "keep me");
      assert.ok(await waitFor(() => got.length === 1 && hits(8) === 2), `one delivered, verdict ran twice: ${got} / ${hits(8)}`);
      await sleep(20);
      assert.deepEqual(got, ["keep me"]);
      verdict.close();
      map.deleteRaw(u32(0));
      await udpSend(port, "Dropped no more");
      assert.ok(await waitFor(() => got.length === 2));
      assert.equal(got[1], "Dropped no more");
      assert.equal(hits(8), 2, "not run after detach");
    } finally {
      rx.close();
    }
  });

  test("sk_lookup on a network namespace drops connections to one port", async (t) => {
    if (!needs(t, { programType: "SK_LOOKUP", linkType: "NETNS" })) return;
    const link = coll.program("lookup_drop").attach({ netns: veth.ns });
    try {
      assert.equal(link.info().type, LINK_TYPE.NETNS);
      const r = await veth.inNs(nettool(), ["tcp", "127.0.0.1", "7370"]);
      assert.match(r.trim(), /^connect:(ETIMEDOUT|ECONNREFUSED)$/);
      assert.ok(hits(5) >= 1, "sk_lookup ran");
    } finally {
      link.close();
    }
    const n = hits(5);
    assert.equal((await veth.inNs(nettool(), ["tcp", "127.0.0.1", "7370"])).trim(), "connect:ECONNREFUSED");
    assert.equal(hits(5), n, "not run after close");
  });

  test("flow_dissector on a namespace: runs for received packets with RPS on, stops after close", async (t) => {
    if (!needs(t, { programType: "FLOW_DISSECTOR", linkType: "NETNS" })) return;
    await veth.inNs("sh", ["-c", `echo 3 > /sys/class/net/${veth.peerIf}/queues/rx-0/rps_cpus`]);
    const link = attachNetns(coll.program("dissect"), `/run/netns/${veth.ns}`);
    try {
      assert.equal(link.info().type, LINK_TYPE.NETNS);
      assert.throws(() => attachNetns(coll.program("dissect"), veth.ns),
        (e: unknown) => e instanceof SyscallError && e.code === "E2BIG" && e.operation === "BPF_LINK_CREATE"); // one per namespace
      const tx = createSocket("udp4");
      for (let i = 0; i < 5; i++) await new Promise<void>((r) => tx.send("flow", 9, veth.peerIp, () => r()));
      tx.close();
      assert.ok(await waitFor(() => hits(6) >= 5), `dissector ran for received packets, saw ${hits(6)}`);
    } finally {
      link.close();
    }
    const n = hits(6);
    const tx = createSocket("udp4");
    for (let i = 0; i < 3; i++) await new Promise<void>((r) => tx.send("flow", 9, veth.peerIp, () => r()));
    tx.close();
    await sleep(30);
    assert.equal(hits(6), n);
  });

  test("bad input: wrong program types, missing socket/map/netns", () => {
    assert.throws(() => attachSocketFilter(coll.program("reuse_drop"), 0),
      (e: unknown) => e instanceof TsbpfError && e.code === "WRONG_PROGRAM_TYPE");
    assert.throws(() => attachSockmap(coll.program("sock_drop"), coll.map("socks")),
      (e: unknown) => e instanceof TsbpfError && e.code === "WRONG_PROGRAM_TYPE");
    assert.throws(() => attachNetns(coll.program("sock_drop")),
      (e: unknown) => e instanceof TsbpfError && e.code === "WRONG_PROGRAM_TYPE");
    assert.throws(() => coll.program("sock_drop").attach(),
      (e: unknown) => e instanceof TsbpfError && e.code === "ATTACH_NEEDS_TARGET");
    assert.throws(() => coll.program("lookup_drop").attach({ netns: "tsbpf-no-such-ns" }),
      (e: unknown) => e instanceof TsbpfError && e.code === "NO_SUCH_NETNS");
    assert.throws(() => coll.program("sock_drop").attach({ socket: createSocket("udp4") }),
      (e: unknown) => e instanceof TsbpfError && e.code === "INVALID_ARGUMENT");
    // A map that is not a sockmap.
    assert.throws(() => attachSockmap(coll.program("msg_count"), coll.map("hits")),
      (e: unknown) => e instanceof SyscallError && e.message.includes(`map "hits"`));
  });
});
