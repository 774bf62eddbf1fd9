// The cgroup hooks attach-cgroup.test.ts leaves out, on a child cgroup made by the test: skb ingress,
// post_bind4/6, the IPv6 and unix sock_addr hooks, and program ordering (BPF_F_BEFORE/AFTER, 6.16+).
// Each is attached, triggered by socktool in the cgroup, asserted, detached and asserted gone.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createSocket, type Socket } from "node:dgram";
import { createServer, type Server } from "node:net";
import { dirname } from "node:path";
import { MissingFeatureError, SyscallError, TsbpfError } from "../../src/errors.js";
import { loadCollection, type Collection } from "../../src/runtime/collection.js";
import { attachCgroup, cgroupPrograms } from "../../src/runtime/links/cgroup.js";
import { progInfo } from "../../src/sys/bpf.js";
import { kernelAtLeast } from "../../src/sys/system.js";
import { createCgroup, type TestCgroup } from "../helpers/cgroup.js";
import { vmlinuxHeader } from "../helpers/toolchain.js";
import { compileAndRead, counterAt, u32 } from "../helpers/loader.js";
import { nettool } from "../helpers/nettool.js";
import { privileged } from "../helpers/privileges.js";
import { socktool } from "../helpers/socktool.js";
import { featureProblem, needs, type Needs } from "../helpers/needs.js";

const UNIX_HOOKS: Needs = { attachType: ["CGROUP_SOCK_ADDR", "CGROUP_UNIX_CONNECT"] };
const ordering = kernelAtLeast(6, 16) ? undefined : "cgroup program ordering needs Linux 6.16+";

describe("attach: more cgroup hooks (ingress, post_bind, IPv6, unix, ordering)", privileged(), () => {
  let cg: TestCgroup;
  let coll: Collection;
  let tcp6: Server;
  let udp6: Socket;
  const hits = (slot: number) => counterAt(coll.map("hits"), slot) ?? 0;
  const tool = async (...args: string[]) => (await cg.run(socktool(), args)).stdout.trim();
  const id = (name: string) => progInfo(coll.program(name).fd).id;

  before(async () => {
    cg = createCgroup("cgm");
    // The unix hooks and their kfuncs need 6.7: left out of the object on kernels without them.
    const unixHooks = featureProblem(UNIX_HOOKS);
    const { spec } = await compileAndRead("test/fixtures/c/hooks/cgroup_more.bpf.c",
      { includes: [dirname(vmlinuxHeader())], ...(unixHooks ? { defines: { NO_UNIX_HOOKS: true } } : {}) });
    coll = loadCollection(spec);
    for (let k = 0; k < 16; k++) coll.map("hits").setRaw(u32(k), new Uint8Array(8));
    tcp6 = createServer((s) => s.destroy());
    await new Promise<void>((r) => tcp6.listen(7385, "::1", r));
    udp6 = createSocket("udp6");
    udp6.on("message", (msg, rinfo) => udp6.send(msg, rinfo.port, rinfo.address));
    await new Promise<void>((r) => udp6.bind(7387, "::1", r));
    socktool();
  });

  after(() => {
    tcp6?.close();
    udp6?.close();
    coll?.close();
    cg?.cleanup();
  });

  test("cgroup_skb/ingress drops datagrams to one port for sockets of the cgroup", async () => {
    assert.equal(await tool("selfudp", "7391", "3"), "got 3");
    const link = coll.program("skb_ingress").attach({ cgroup: cg.path });
    assert.deepEqual(cgroupPrograms(cg.path, "CGROUP_INET_INGRESS").progIds, [id("skb_ingress")]);
    assert.equal(await tool("selfudp", "7391", "3"), "got 0");
    assert.equal(await tool("selfudp", "7392", "2"), "got 2", "other ports pass");
    assert.equal(hits(0), 3);
    link.close();
    assert.equal(await tool("selfudp", "7391", "3"), "got 3");
    assert.equal(hits(0), 3, "not run after close");
  });

  test("post_bind4 and post_bind6 refuse one port each", async () => {
    {
      using _4 = coll.program("post_bind4").attach({ cgroup: cg.path });
      using _6 = coll.program("post_bind6").attach({ cgroup: cg.path });
      assert.equal(await tool("bind4", "7378"), "bind:EPERM");
      assert.equal(await tool("bind6", "7388"), "bind:EPERM");
      assert.equal(await tool("bind4", "7379"), "bound 7379");
      assert.equal([hits(1), hits(2)].join(), "1,1");
    }
    assert.equal(await tool("bind4", "7378"), "bound 7378");
    assert.equal(await tool("bind6", "7388"), "bound 7388");
    assert.equal([hits(1), hits(2)].join(), "1,1", "not run after close");
  });

  test("connect6 refuses a port and rewrites an address; getpeername6 hides the rewrite", async () => {
    const connect = coll.program("connect6").attach({ cgroup: cg.path });
    const peer = coll.program("getpeername6").attach({ cgroup: cg.path });
    assert.equal(await tool("tcp6", "::1", "7380"), "connect:EPERM");
    assert.equal(await tool("tcp6", "2001:db8::9", "7384"), "ok peer=[2001:db8::9]:7384");
    assert.equal([hits(3), hits(4), hits(5)].join(), "1,1,1");
    peer.close();
    assert.equal(await tool("tcp6", "2001:db8::9", "7384"), "ok peer=[::1]:7385", "the real peer shows without getpeername6");
    connect.close();
    assert.equal(await tool("tcp6", "::1", "7380"), "connect:ECONNREFUSED");
    assert.equal([hits(3), hits(4), hits(5)].join(), "1,2,1", "nothing runs after close");
  });

  test("bind6 moves a bind; getsockname6 rewrites what is reported", async () => {
    const bind = coll.program("bind6").attach({ cgroup: cg.path });
    assert.equal(await tool("bind6", "7382"), "bound 7383");
    {
      using _name = coll.program("getsockname6").attach({ cgroup: cg.path });
      assert.equal(await tool("bind6", "7382"), "bound 7389");
    }
    assert.equal(await tool("bind6", "7382"), "bound 7383");
    bind.close();
    assert.equal(await tool("bind6", "7382"), "bound 7382");
    assert.equal([hits(6), hits(7)].join(), "3,1");
  });

  test("sendmsg6 + recvmsg6: a UDP exchange with a virtual IPv6 address", async () => {
    const send = coll.program("sendmsg6").attach({ cgroup: cg.path });
    const recv = coll.program("recvmsg6").attach({ cgroup: cg.path });
    assert.equal(await tool("udp6", "2001:db8::9", "7386"), "reply from [2001:db8::9]:7386");
    recv.close();
    assert.equal(await tool("udp6", "2001:db8::9", "7386"), "reply from [::1]:7387");
    send.close();
    assert.match(await tool("udp6", "2001:db8::9", "7386"), /^(sendto|recvfrom):E/, "no rewrite: the virtual address is unreachable");
    assert.equal([hits(8), hits(9)].join(), "2,1");
  });

  test("unix sock_addr hooks: connect and sendmsg rewrite abstract names, getpeername/getsockname/recvmsg rewrite what is reported", async (t) => {
    if (!needs(t, UNIX_HOOKS)) return;
    assert.equal(await tool("unix", "tsbpf-hooks-virt", "tsbpf-hooks-real"), "connect:ECONNREFUSED");
    {
      using _c = coll.program("connect_unix").attach({ cgroup: cg.path });
      assert.equal(await tool("unix", "tsbpf-hooks-virt", "tsbpf-hooks-real"), "ok peer=@tsbpf-hooks-real");
      using _p = coll.program("getpeername_unix").attach({ cgroup: cg.path });
      assert.equal(await tool("unix", "tsbpf-hooks-virt", "tsbpf-hooks-real"), "ok peer=@tsbpf-hooks-virt");
    }
    assert.equal(await tool("unix", "tsbpf-hooks-virt", "tsbpf-hooks-real"), "connect:ECONNREFUSED");
    assert.equal([hits(10), hits(11)].join(), "2,1");

    {
      using _n = coll.program("getsockname_unix").attach({ cgroup: cg.path });
      assert.equal(await tool("unixname", "tsbpf-hooks-b1"), "name=@tsbpf-hooks-b2");
    }
    assert.equal(await tool("unixname", "tsbpf-hooks-b1"), "name=@tsbpf-hooks-b1");

    const dgram = ["unixdgram", "tsbpf-hooks-dv", "tsbpf-hooks-s1", "tsbpf-hooks-dr"];
    assert.equal(await tool(...dgram), "sendto:ECONNREFUSED", "nobody is bound to @tsbpf-hooks-dv");
    {
      using _s = coll.program("sendmsg_unix").attach({ cgroup: cg.path });
      assert.equal(await tool(...dgram), "got from=@tsbpf-hooks-s1");
      using _r = coll.program("recvmsg_unix").attach({ cgroup: cg.path });
      assert.equal(await tool(...dgram), "got from=@tsbpf-hooks-s2");
    }
    assert.equal(await tool(...dgram), "sendto:ECONNREFUSED");
    assert.equal([hits(12), hits(13), hits(14)].join(), "1,2,1");
  });

  test("ordering: links before/after links, multi attachments before/after programs; revisions; stale revision refused", { skip: ordering }, async () => {
    const connect4 = "CGROUP_INET4_CONNECT" as const;
    const stamps = () => [0, 1, 2].map((k) => counterAt(coll.map("order"), k) ?? 0);
    const trigger = () => cg.run(nettool(), ["tcp", "127.0.0.1", "7390"]);
    const rev0 = cgroupPrograms(cg.path, connect4).revision;
    {
      using a = coll.program("order_a").attach({ cgroup: cg.path });
      using b = attachCgroup(coll.program("order_b"), cg.path, { before: a, expectedRevision: rev0 + 1n });
      using _c = attachCgroup(coll.program("order_c"), cg.path, { after: { linkId: b.id } });
      const q = cgroupPrograms(cg.path, connect4);
      assert.deepEqual(q.progIds, [id("order_b"), id("order_c"), id("order_a")]);
      assert.equal(q.revision, rev0 + 3n);
      assert.equal((await trigger()).stdout.trim(), "connect:ECONNREFUSED");
      const [sa, sb, sc] = stamps();
      assert.ok(sb < sc && sc < sa, `links run b, c, a; stamps a=${sa} b=${sb} c=${sc}`);
      assert.throws(() => attachCgroup(coll.program("order_a"), cg.path, { before: "all", expectedRevision: rev0 }),
        (e: unknown) => e instanceof SyscallError && e.code === "ESTALE" && e.operation === "BPF_LINK_CREATE");
      assert.throws(() => attachCgroup(coll.program("order_a"), cg.path, { before: { progId: id("order_b") } }),
        (e: unknown) => e instanceof TsbpfError && e.code === "INVALID_ARGUMENT" && /another link/.test(e.message));
    }
    assert.deepEqual(cgroupPrograms(cg.path, connect4).progIds, []);

    using p = attachCgroup(coll.program("order_a"), cg.path, { mode: "multi" });
    using _q = attachCgroup(coll.program("order_b"), cg.path, { mode: "multi", before: { progId: id("order_a") } });
    using r = attachCgroup(coll.program("order_c"), cg.path, { mode: "multi", after: coll.program("order_b") });
    assert.deepEqual(cgroupPrograms(cg.path, connect4).progIds, [id("order_b"), id("order_c"), id("order_a")]);
    r.close();
    using _s = attachCgroup(coll.program("order_c"), cg.path, { mode: "multi", before: p });
    assert.deepEqual(cgroupPrograms(cg.path, connect4).progIds, [id("order_b"), id("order_c"), id("order_a")]);
    const before = stamps();
    await trigger();
    const [ta, tb, tc] = stamps();
    assert.ok(ta > before[0] && tb < tc && tc < ta, `multi attachments run b, c, a; stamps a=${ta} b=${tb} c=${tc}`);
    assert.throws(() => attachCgroup(coll.program("order_a"), cg.path, { mode: "multi", after: { linkId: 1 } }),
      (e: unknown) => e instanceof TsbpfError && e.code === "INVALID_ARGUMENT");
  });

  test("bad input: ordering an exclusive attachment, before and after together", () => {
    assert.throws(() => attachCgroup(coll.program("order_a"), cg.path, { mode: "exclusive", before: "all" }),
      (e: unknown) => e instanceof TsbpfError && e.code === "INVALID_ARGUMENT");
    assert.throws(() => attachCgroup(coll.program("order_a"), cg.path, { before: "all", after: "all" }),
      (e: unknown) => e instanceof TsbpfError && e.code === "INVALID_ARGUMENT");
    if (ordering) {
      assert.throws(() => attachCgroup(coll.program("order_a"), cg.path, { before: "all" }),
        (e: unknown) => e instanceof MissingFeatureError && e.code === "CGROUP_ORDERING_UNSUPPORTED");
    }
  });
});
