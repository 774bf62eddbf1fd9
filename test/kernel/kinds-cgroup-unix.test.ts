// The unix sock_addr hooks written in TypeScript (test/fixtures/ts/kinds/cgroup-sock-addr-unix.bpf.ts,
// Linux 6.7+), on a child cgroup: connect_unix rewrites the abstract name a client connects to, so it
// reaches another listener; getpeername_unix rewrites the name getpeername reports. socktool (the C
// tool of attach-cgroup-more) runs in the cgroup: it listens on the real name and connects to the other.

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
    for (const k of [0, 1]) coll.map("hits").setRaw(u32(k), new Uint8Array(8));
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
});
