// Every other iterator kind read for real (task, bpf_map_elem and tcp are in attach-iter.test.ts):
// task_file/task_vma of this process, bpf_map/prog/link, udp, unix, netlink, ipv6_route, cgroup, ksym,
// kmem_cache, sockmap and sk storage; each shows an object the test made, and stops once closed.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { closeSync, mkdirSync, openSync, readFileSync, rmdirSync, rmSync, statSync } from "node:fs";
import { createSocket, type Socket } from "node:dgram";
import { createServer, type Server } from "node:net";
import { dirname, join } from "node:path";
import { TsbpfError } from "../../src/errors.js";
import { ProgramSet, unlessKernelRefuses } from "../helpers/program-set.js";
import { attachIter, type IterAttachOptions, type IterLink } from "../../src/runtime/links/iter.js";
import { socketFd } from "../../src/runtime/links/targets.js";
import { progInfo } from "../../src/sys/bpf.js";
import { createCgroup, type TestCgroup } from "../helpers/cgroup.js";
import { vmlinuxHeader } from "../helpers/toolchain.js";
import { compileAndRead, u32 } from "../helpers/loader.js";
import { haveIterTarget } from "../../src/features.js";
import { privileged } from "../helpers/privileges.js";
import { needs } from "../helpers/needs.js";

function u64(n: number | bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
}

describe("attach: iterator kinds", privileged(), () => {
  let coll: ProgramSet;
  let udp: Socket;
  let unixServer: Server;
  let cg: TestCgroup;
  const unixPath = `/tmp/tsbpf-it-${process.pid}.sock`;

  before(async () => {
    const { spec } = await compileAndRead("test/fixtures/c/hooks/iters.bpf.c", { includes: [dirname(vmlinuxHeader())] });
    coll = new ProgramSet(spec);
    udp = createSocket("udp4");
    await new Promise<void>((r) => udp.bind(0, "127.0.0.1", r));
    rmSync(unixPath, { force: true });
    unixServer = createServer();
    await new Promise<void>((r) => unixServer.listen(unixPath, r));
    cg = createCgroup("iter");
  });

  after(() => {
    udp?.close();
    unixServer?.close();
    rmSync(unixPath, { force: true });
    coll?.close();
    cg?.cleanup();
  });

  /** Attach, read one pass as lines, check, close, and check that the closed link cannot be read. */
  async function pass(name: string, opts: IterAttachOptions, check: (lines: string[], link: IterLink) => void): Promise<void> {
    const link = attachIter(coll.program(name), opts);
    try {
      check((await link.text()).split("\n").filter(Boolean), link);
    } finally {
      link.close();
    }
    assert.throws(() => link.open(), (e: unknown) => e instanceof TsbpfError, `${name}: no pass after close`);
  }

  test("task_file and task_vma of one process: an fd it opened, its first mapping", async (t) => {
    if (!needs(t, { iterTarget: ["task_file", "task_vma"] })) return;
    const fd = openSync("/proc/self/status", "r");
    try {
      await pass("it_task_file", { pid: process.pid }, (lines) => {
        assert.ok(lines.includes(`${process.pid} ${fd}`), `fd ${fd} listed`);
        assert.ok(lines.every((l) => l.startsWith(`${process.pid} `)), "only this process");
      });
    } finally {
      closeSync(fd);
    }
    const first = readFileSync(`/proc/${process.pid}/maps`, "utf8").split(" ", 1)[0]
      .split("-").map((h) => BigInt(`0x${h}`).toString(16)).join("-"); // unpadded, as %lx prints
    await pass("it_task_vma", { pid: process.pid }, (lines) => {
      assert.ok(lines.includes(first), `mapping ${first} listed`);
      assert.ok(lines.length > 10, `many mappings (${lines.length})`);
    });
  });

  test("bpf_map, bpf_prog and bpf_link list the test's own objects", async (t) => {
    if (!needs(t, { iterTarget: ["bpf_map", "bpf_prog", "bpf_link"] })) return;
    await pass("it_bpf_map", {}, (lines) => assert.ok(lines.includes(`map ${coll.map("iter_socks").info().id}`)));
    await pass("it_bpf_prog", {}, (lines) => assert.ok(lines.includes(`prog ${progInfo(coll.program("it_bpf_prog").fd).id}`)));
    await pass("it_bpf_link", {}, (lines, link) => assert.ok(lines.includes(`link ${link.id}`), "its own link"));
  });

  test("udp, unix and netlink sockets", async (t) => {
    if (!needs(t, { iterTarget: ["udp", "unix", "netlink"] })) return;
    await pass("it_udp", {}, (lines) => assert.ok(lines.includes(String(udp.address().port)), `udp port ${udp.address().port} listed`));
    await pass("it_unix", {}, (lines) => assert.ok(lines.includes(unixPath), `${unixPath} listed`));
    await pass("it_netlink", {}, (lines) => assert.ok(lines.includes("0 0"), "the kernel's NETLINK_ROUTE socket"));
  });

  test("ipv6_route shows the loopback route", async (t) => {
    if (!needs(t, { iterTarget: "ipv6_route" })) return;
    await pass("it_ipv6_route", {}, (lines) => assert.ok(lines.includes("0000:0000:0000:0000:0000:0000:0000:0001/128"), lines.slice(0, 5).join(" | ")));
  });

  test("cgroup: self, and a pre-order walk of descendants", async (t) => {
    if (!needs(t, { iterTarget: "cgroup" })) return;
    const child = join(cg.path, "child");
    mkdirSync(child);
    try {
      const id = String(statSync(cg.path).ino);
      await pass("it_cgroup", { cgroup: cg.path, cgroupOrder: "self" }, (lines) => assert.deepEqual(lines, [id]));
      await pass("it_cgroup", { cgroup: cg.path, cgroupOrder: "descendants_pre" }, (lines) => assert.deepEqual(lines, [id, String(statSync(child).ino)]));
    } finally {
      rmdirSync(child);
    }
  });

  test("ksym read as a stream: many chunks, the same text as one read", async (t) => {
    if (!needs(t, { iterTarget: "ksym" })) return;
    const link = attachIter(coll.program("it_ksym"));
    try {
      let chunks = 0;
      let streamed = "";
      const decoder = new TextDecoder();
      for await (const c of link.open(4096)) {
        chunks++;
        streamed += decoder.decode(c, { stream: true });
      }
      assert.ok(chunks > 10, `${chunks} chunks`);
      const names = new Set(streamed.split("\n"));
      assert.ok(names.has("schedule") && names.has("bpf_prog_load"), "kernel symbols listed");
      const whole = new Set((await link.text()).split("\n"));
      assert.ok(Math.abs(whole.size - names.size) < names.size / 100, `a second pass sees about as many (${whole.size} vs ${names.size})`);
    } finally {
      link.close();
    }
  });

  test("kmem_cache lists the slab caches", async (t) => {
    if (!needs(t, { iterTarget: "kmem_cache" })) return;
    await pass("it_kmem_cache", {}, (lines) => assert.ok(lines.includes("task_struct")));
  });

  test("sockmap and sk storage iterators walk the map they are given", async (t) => {
    if (!unlessKernelRefuses(t, "map-element iterators (iter/sockmap)", () => coll.program("it_sockmap"), () => haveIterTarget("sockmap"))) return;
    if (!unlessKernelRefuses(t, "map-element iterators (iter/bpf_sk_storage_map)", () => coll.program("it_sk_storage"), () => haveIterTarget("bpf_sk_storage_map"))) return;
    const socks = coll.map("iter_socks");
    const storage = coll.map("iter_storage");
    const fd = socketFd(udp);
    socks.setRaw(u32(5), u64(fd));
    storage.setRaw(u32(fd), u64(4242));
    try {
      await pass("it_sockmap", { map: socks }, (lines) => assert.deepEqual(lines, ["5"]));
      await pass("it_sk_storage", { map: storage }, (lines) => assert.deepEqual(lines, ["4242"]));
    } finally {
      socks.deleteRaw(u32(5));
      storage.deleteRaw(u32(fd));
    }
  });
});
