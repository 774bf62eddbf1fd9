// Cgroup hooks on a child cgroup made by the test: each program is attached, a process in the cgroup
// triggers it (connect, bind, sendmsg, socket, sysctl read, device open, sockopt), the effect is
// asserted, and after detach the same action behaves normally again.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createSocket, type Socket } from "node:dgram";
import { createServer, type Server } from "node:net";
import { SyscallError, TsbpfError } from "../../src/errors.js";
import { loadCollection, type Collection } from "../../src/runtime/collection.js";
import { attachCgroup, cgroupPrograms } from "../../src/runtime/links/cgroup.js";
import { progInfo } from "../../src/sys/bpf.js";
import { LINK_TYPE } from "../../src/sys/constants.js";
import type { Link } from "../../src/runtime/links/link.js";
import { createCgroup, type TestCgroup } from "../helpers/cgroup.js";
import { compileAndRead, counterAt, u32 } from "../helpers/loader.js";
import { nettool } from "../helpers/nettool.js";
import { privileged } from "../helpers/privileges.js";

describe("attach: cgroup hooks", privileged(), () => {
  let cg: TestCgroup;
  let coll: Collection;
  let tcp: Server;
  let udp: Socket;
  const hits = (slot: number) => counterAt(coll.map("hits"), slot) ?? 0;
  const tool = async (...args: string[]) => (await cg.run(nettool(), args)).stdout.trim();
  const id = (name: string) => progInfo(coll.program(name).fd).id;

  before(async () => {
    cg = createCgroup("cg");
    const { spec } = await compileAndRead("test/fixtures/c/hooks/cgroup.bpf.c");
    coll = loadCollection(spec);
    for (let k = 0; k < 16; k++) coll.map("hits").setRaw(u32(k), new Uint8Array(8));
    tcp = createServer((s) => s.destroy());
    await new Promise<void>((r) => tcp.listen(7365, "127.0.0.1", r));
    udp = createSocket("udp4");
    udp.on("message", (msg, rinfo) => udp.send(msg, rinfo.port, rinfo.address));
    await new Promise<void>((r) => udp.bind(7367, "127.0.0.1", r));
  });

  after(() => {
    tcp?.close();
    udp?.close();
    coll?.close();
    cg?.cleanup();
  });

  /** Attach, check `during`, close, check `afterwards`. */
  async function cycle(name: string, during: () => Promise<void>, afterwards: () => Promise<void>, opts = {}): Promise<Link> {
    const link = coll.program(name).attach({ cgroup: cg.path, ...opts });
    try {
      await during();
    } finally {
      link.close();
    }
    await afterwards();
    return link;
  }

  test("connect4: refuses one port, rewrites another; getpeername4 hides the rewrite; sock_ops sees the connection", async () => {
    using peer = coll.program("getpeername4").attach({ cgroup: cg.path });
    const ops = coll.program("sock_ops_count").attach({ cgroup: cg.path });
    const link = coll.program("connect4").attach({ cgroup: cg.path });
    assert.equal(link.info().type, LINK_TYPE.CGROUP);
    assert.deepEqual(cgroupPrograms(cg.path, "CGROUP_INET4_CONNECT").progIds, [id("connect4")]);
    assert.equal(await tool("tcp", "127.0.0.1", "7360"), "connect:EPERM");
    assert.equal(hits(0), 1);
    assert.equal(await tool("tcp", "10.9.9.9", "7364"), "ok peer=10.9.9.9:7364");
    assert.equal(hits(1), 1, "rewritten once");
    assert.equal(hits(2), 1, "getpeername rewritten");
    assert.equal(hits(13), 1, "sock_ops saw the established connection");
    link.close();
    assert.deepEqual(cgroupPrograms(cg.path, "CGROUP_INET4_CONNECT").progIds, []);
    assert.equal(await tool("tcp", "127.0.0.1", "7360"), "connect:ECONNREFUSED");
    assert.equal(hits(0), 1, "not counted after close");
    assert.ok(ops.info().id > 0 && peer.info().progId === id("getpeername4"));
    assert.equal(await tool("tcp", "127.0.0.1", "7365"), "ok peer=10.9.9.9:7364", "getpeername4 still rewrites");
    assert.equal(hits(13), 2, "sock_ops saw the second connection");
    ops.close();
    assert.equal(await tool("tcp", "127.0.0.1", "7365"), "ok peer=10.9.9.9:7364");
    assert.equal(hits(13), 2, "sock_ops not run after close");
  });

  test("sock_create refuses UDP sockets; sock_release counts releases", async () => {
    await cycle("sock_create",
      async () => {
        assert.equal(await tool("udp", "127.0.0.1", "7367"), "socket:EPERM");
        assert.equal(hits(3), 1);
      },
      async () => {
        assert.equal(await tool("udp", "127.0.0.1", "7367"), "reply from 127.0.0.1:7367");
        assert.equal(hits(3), 1);
      });
    const before = hits(4);
    await cycle("sock_release",
      async () => { await tool("bind", "0"); assert.equal(hits(4), before + 1); },
      async () => { await tool("bind", "0"); assert.equal(hits(4), before + 1); });
  });

  test("cgroup_skb/egress drops datagrams to one port", async () => {
    await cycle("skb_egress",
      async () => {
        assert.match(await tool("udp", "127.0.0.1", "7361"), /^(sendto:EPERM|recvfrom:ETIMEDOUT)$/);
        assert.equal(hits(5), 1);
      },
      async () => {
        await tool("udp", "127.0.0.1", "7361");
        assert.equal(hits(5), 1);
      });
  });

  test("sysctl: reading kernel/ostype is refused", async () => {
    await cycle("sysctl_deny",
      async () => {
        const r = await cg.run("cat", ["/proc/sys/kernel/ostype"]);
        assert.notEqual(r.code, 0);
        assert.match(r.stderr, /Operation not permitted/);
        assert.equal(hits(6), 1);
      },
      async () => assert.equal((await cg.run("cat", ["/proc/sys/kernel/ostype"])).stdout.trim(), "Linux"));
  });

  test("device: opening /dev/zero is refused", async () => {
    await cycle("dev_deny",
      async () => {
        const r = await cg.run("head", ["-c", "1", "/dev/zero"]);
        assert.notEqual(r.code, 0);
        assert.match(r.stderr, /Operation not permitted/);
        assert.ok(hits(7) >= 1);
      },
      async () => assert.equal((await cg.run("head", ["-c", "1", "/dev/zero"])).code, 0));
  });

  test("setsockopt refused, getsockopt rewritten", async () => {
    using set = coll.program("setsockopt_deny").attach({ cgroup: cg.path });
    const get = coll.program("getsockopt_mark").attach({ cgroup: cg.path });
    assert.equal(await tool("sockopt"), "set:EPERM get:42");
    assert.equal(hits(8), 1);
    assert.equal(hits(9), 1);
    get.close();
    set.close();
    assert.equal(await tool("sockopt"), "set:ok get:0");
  });

  test("bind4 moves a bind to another port; getsockname4 rewrites what is reported", async () => {
    assert.equal(await tool("bind", "7362"), "bound 7362");
    const link = coll.program("bind4").attach({ cgroup: cg.path });
    assert.equal(await tool("bind", "7362"), "bound 7363");
    {
      using _name = coll.program("getsockname4").attach({ cgroup: cg.path });
      assert.equal(await tool("bind", "7362"), "bound 7369");
      assert.equal(hits(14), 1);
    }
    link.close();
    assert.equal(await tool("bind", "7362"), "bound 7362");
    assert.equal(hits(10), 2);
  });

  test("sendmsg4 + recvmsg4: a UDP exchange with a virtual address", async () => {
    using _s = coll.program("sendmsg4").attach({ cgroup: cg.path });
    const r = coll.program("recvmsg4").attach({ cgroup: cg.path });
    assert.equal(await tool("udp", "10.9.9.9", "7366"), "reply from 10.9.9.9:7366");
    assert.equal(hits(11), 1);
    assert.equal(hits(12), 1);
    r.close();
    assert.equal(await tool("udp", "10.9.9.9", "7366"), "reply from 127.0.0.1:7367");
  });

  test("PROG_ATTACH modes: exclusive refuses a second program, multi stacks, update replaces, close detaches", async () => {
    const first = attachCgroup(coll.program("connect4"), cg.path, { mode: "exclusive" });
    assert.equal(first.isBpfLink, false);
    assert.equal(first.info().progId, id("connect4"));
    assert.throws(() => attachCgroup(coll.program("allow_all"), cg.path, { mode: "multi" }),
      (e: unknown) => e instanceof SyscallError && e.operation === "BPF_PROG_ATTACH" && e.code === "EPERM" && e.message.includes(cg.path));
    assert.throws(() => attachCgroup(coll.program("allow_all"), cg.path),
      (e: unknown) => e instanceof SyscallError && e.operation === "BPF_LINK_CREATE" && e.code === "EPERM");
    assert.equal(await tool("tcp", "127.0.0.1", "7360"), "connect:EPERM");
    // An exclusive attach replaces the program in place.
    first.update(coll.program("allow_all").fd);
    assert.deepEqual(cgroupPrograms(cg.path, "CGROUP_INET4_CONNECT").progIds, [id("allow_all")]);
    assert.equal(await tool("tcp", "127.0.0.1", "7360"), "connect:ECONNREFUSED");
    first.close();
    assert.deepEqual(cgroupPrograms(cg.path, "CGROUP_INET4_CONNECT").progIds, []);

    using a = attachCgroup(coll.program("connect4"), cg.path, { mode: "multi" });
    const fd = cg.open();
    using b = attachCgroup(coll.program("allow_all"), fd, { mode: "multi" });
    assert.deepEqual(cgroupPrograms(fd, "CGROUP_INET4_CONNECT").progIds.sort(), [id("connect4"), id("allow_all")].sort());
    const before = hits(15);
    assert.equal(await tool("tcp", "127.0.0.1", "7360"), "connect:EPERM");
    assert.equal(hits(15), before + 1, "both programs ran");
    b.close();
    a.close();
    assert.deepEqual(cgroupPrograms(fd, "CGROUP_INET4_CONNECT").progIds, []);
  });

  test("bad input: missing cgroup, wrong program type, no cgroup, unknown mode", () => {
    const p = coll.program("connect4");
    assert.throws(() => p.attach({ cgroup: "/sys/fs/cgroup/tsbpf-does-not-exist" }),
      (e: unknown) => e instanceof TsbpfError && e.code === "NO_SUCH_CGROUP" && e.message.includes("tsbpf-does-not-exist"));
    assert.throws(() => p.attach(), (e: unknown) => e instanceof TsbpfError && e.code === "ATTACH_NEEDS_TARGET");
    assert.throws(() => attachCgroup(p, cg.path, { mode: "solo" as "multi" }),
      (e: unknown) => e instanceof TsbpfError && e.code === "INVALID_ARGUMENT");
    assert.throws(() => attachCgroup(p, cg.path, { attachType: "CGROUP_SYSCTL" }),
      (e: unknown) => e instanceof SyscallError && e.code === "EINVAL" && e.message.includes("cgroup_sysctl"));
  });
});
