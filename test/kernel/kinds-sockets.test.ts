// Socket-level program kinds written in TypeScript (test/fixtures/ts/kinds/), compiled, loaded,
// attached and triggered for real: sk_msg and sk_skb on live loopback TCP pairs in a SockMap, sk_lookup
// steering connections in a network namespace, sk_reuseport steering datagrams within a SO_REUSEPORT
// group, and a flow dissector run on crafted packets.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { resolve } from "node:path";
import { createServer, connect, type Server, type Socket as TcpSocket } from "node:net";
import { loadCollection, readCollectionSpec } from "../../src/index.js";
import type { Collection } from "../../src/runtime/collection.js";
import { attachSockmap } from "../../src/runtime/links/sockmap.js";
import { socketFd } from "../../src/runtime/links/targets.js";
import { REPO_ROOT } from "../helpers/clang.js";
import { compileTs } from "../helpers/compile-ts.js";
import { sleep, u32, waitFor } from "../helpers/loader.js";
import { privileged } from "../helpers/privileges.js";

const KINDS = resolve(REPO_ROOT, "test", "fixtures", "ts", "kinds");

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

  async listen(): Promise<void> {
    this.server.on("connection", (c) => this.#accepted.push(c));
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.port = (this.server.address() as { port: number }).port;
  }

  async pair(): Promise<{ client: TcpSocket; srv: TcpSocket; read: () => string; errors: string[] }> {
    const n = this.#accepted.length;
    const client = connect(this.port, "127.0.0.1");
    const errors: string[] = [];
    client.on("error", (e: NodeJS.ErrnoException) => errors.push(e.code ?? e.message));
    await new Promise<void>((r) => client.on("connect", () => r()));
    assert.ok(await waitFor(() => this.#accepted.length > n));
    const srv = this.#accepted[this.#accepted.length - 1]!;
    const got: Buffer[] = [];
    srv.on("data", (d) => got.push(d));
    srv.on("error", () => {});
    this.#open.push(client, srv);
    return { client, srv, read: () => Buffer.concat(got).toString(), errors };
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
});
