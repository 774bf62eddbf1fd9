// The unix sock_addr hooks written in TypeScript (test/fixtures/ts/kinds/cgroup-sock-addr-unix.bpf.ts,
// Linux 6.7+), on a child cgroup: connect_unix rewrites the abstract name a client connects to, so it
// reaches another listener; getpeername_unix and getsockname_unix rewrite the names reported;
// sendmsg_unix sends a datagram to another receiver and recvmsg_unix rewrites its reported sender.
// socktool (the C tool of attach-cgroup-more) runs in the cgroup.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadCollection, type Collection } from "../../src/runtime/collection.js";
import { readCollectionSpec } from "../../src/object/reader.js";
import { createCgroup, type TestCgroup } from "../helpers/cgroup.js";
import { REPO_ROOT } from "../helpers/toolchain.js";
import { compileTs } from "../helpers/compile-ts.js";
import { counterAt, u32 } from "../helpers/loader.js";
import { needs } from "../helpers/needs.js";
import { socktool } from "../helpers/socktool.js";

const UNIX_HOOKS = { attachType: ["CGROUP_SOCK_ADDR", "CGROUP_UNIX_CONNECT"] } as const;

describe("kinds: cgroupSockAddr unix hooks (TypeScript)", needs(UNIX_HOOKS), () => {
  let cg: TestCgroup;
  let coll: Collection;
  const tool = async (...args: string[]) => (await cg.run(socktool(), args)).stdout.trim();
  const hits = (slot: number) => counterAt(coll.map("hits"), slot) ?? 0;

  before(() => {
    cg = createCgroup("wk2-unix");
    coll = loadCollection(readCollectionSpec(compileTs(join(REPO_ROOT, "test/fixtures/ts/kinds/cgroup-sock-addr-unix.bpf.ts"))));
    for (const k of [0, 1, 2, 3, 4]) coll.map("hits").setRaw(u32(k), new Uint8Array(8));
    socktool();
  });
  after(() => {
    coll?.close();
    cg?.cleanup();
  });

  test("connect_unix sends the client to another abstract name; getpeername_unix rewrites the reported peer; detached, neither", async () => {
    const client = ["unix", "tsbpf-wk2-virt", "tsbpf-wk2-real"];
    assert.equal(await tool(...client), "connect:ECONNREFUSED", "nobody listens on @tsbpf-wk2-virt");
    {
      using _c = coll.program("connectUnix").attach({ cgroup: cg.path });
      assert.equal(await tool(...client), "ok peer=@tsbpf-wk2-real", "connected to the real listener");
      using _p = coll.program("getpeernameUnix").attach({ cgroup: cg.path });
      assert.equal(await tool(...client), "ok peer=@tsbpf-wk2-virt", "getpeername reports the rewritten name");
    }
    assert.equal(await tool(...client), "connect:ECONNREFUSED");
    assert.equal(hits(0), 2);
    assert.ok(hits(1) >= 1, "getpeername_unix rewrote at least the client's getpeername");
  });

  test("getsockname_unix rewrites the reported name; sendmsg_unix sends to another receiver, recvmsg_unix rewrites the sender", async () => {
    {
      using _n = coll.program("getsocknameUnix").attach({ cgroup: cg.path });
      assert.equal(await tool("unixname", "tsbpf-wk2-b1"), "name=@tsbpf-wk2-b2");
    }
    assert.equal(await tool("unixname", "tsbpf-wk2-b1"), "name=@tsbpf-wk2-b1");
    assert.equal(hits(2), 1);

    const dgram = ["unixdgram", "tsbpf-wk2-dv", "tsbpf-wk2-s1", "tsbpf-wk2-dr"];
    assert.equal(await tool(...dgram), "sendto:ECONNREFUSED", "nobody is bound to @tsbpf-wk2-dv");
    {
      using _s = coll.program("sendmsgUnix").attach({ cgroup: cg.path });
      assert.equal(await tool(...dgram), "got from=@tsbpf-wk2-s1", "delivered to @tsbpf-wk2-dr");
      using _r = coll.program("recvmsgUnix").attach({ cgroup: cg.path });
      assert.equal(await tool(...dgram), "got from=@tsbpf-wk2-s2");
    }
    assert.equal(await tool(...dgram), "sendto:ECONNREFUSED");
    assert.deepEqual([hits(3), hits(4)], [2, 1]);
  });
});
