// Every map kind round-trips between userspace and a BPF program: values written through the typed
// API are read by programs (BPF_PROG_TEST_RUN), and what programs write reads back typed.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { closeSync, openSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { MapError } from "../../src/errors.js";
import { loadCollection, type Collection } from "../../src/runtime/collection.js";
import {
  ArrayMap, BloomFilter, CgroupArray, CgroupStorage, LocalStorage, PerCpuCgroupStorage, setVariable, CpuMap, DevMap, HashMap, LpmTrie, MapOfMaps, PerCpuArrayMap, PerCpuHashMap,
  ProgArray, QueueMap, SockMap, StackTraceMap, TaskStorage, UserRingBufWriter, XskMap, createMap, openPidfd, parseCidr,
} from "../../src/runtime/maps/index.js";
import { progAttach, progDetach, progInfo } from "../../src/sys/bpf.js";
import { ATTACH_FLAGS, ATTACH_TYPE, SOCKET } from "../../src/sys/constants.js";
import { possibleCpus } from "../../src/sys/system.js";
import { sys } from "../../src/sys/seam.js";
import { bytes, struct, u32, u64, u8 } from "../../src/types/index.js";
import { vmlinuxHeader } from "../helpers/clang.js";
import { compileAndRead } from "../helpers/loader.js";
import { privileged } from "../helpers/privileges.js";
import { cgroup2Root, ownCgroup } from "./maps-common.js";

const PACKET = new Uint8Array(64);
const XDP = { ABORTED: 0, DROP: 1, PASS: 2, TX: 3, REDIRECT: 4 } as const;
const Stats = struct({ packets: u64, bytes: u64, proto: u8 });

describe("map kinds round-trip with a BPF program", privileged(), () => {
  let kinds: Collection;
  let fds: Collection;

  before(async () => {
    kinds = loadCollection((await compileAndRead("test/fixtures/c/maps/kinds.bpf.c")).spec);
    fds = loadCollection((await compileAndRead("test/fixtures/c/maps/fds.bpf.c")).spec);
  });
  after(() => {
    kinds?.close();
    fds?.close();
  });

  test("hash, LRU hash, array, per-CPU array/hash, LRU per-CPU hash", () => {
    const hash = new HashMap(kinds.map("hash"), u32, Stats);
    const lru = new HashMap(kinds.map("lru"), u32, u64);
    const arr = new ArrayMap(kinds.map("arr"), u64);
    const pArr = new PerCpuArrayMap(kinds.map("pcpu_arr"), u64);
    const pHash = new PerCpuHashMap(kinds.map("pcpu_hash"), u32, u64);
    const lruP = new PerCpuHashMap(kinds.map("lru_pcpu"), u32, u64);
    hash.set(1, { packets: 10n, bytes: 100n, proto: 17 });
    lru.set(1, 41n);
    arr.set(0, 6n);
    const cpus = pArr.cpus;
    pArr.set(0, Array.from({ length: cpus }, (_, i) => BigInt(100 * (i + 1))));
    pHash.set(1, Array.from({ length: cpus }, (_, i) => BigInt(200 * (i + 1))));
    lruP.set(1, Array.from({ length: cpus }, (_, i) => BigInt(300 * (i + 1))));
    assert.equal(kinds.program("rw").testRun({ data: PACKET }).retval, XDP.PASS);
    const cpu = kinds.variable("cpu").get() as number;
    assert.deepEqual(hash.get(2), { packets: 11n, bytes: 200n, proto: 17 });
    assert.equal(lru.get(2), 42n);
    assert.equal(arr.get(1), 7n);
    assert.equal(arr.mmap().get(1), 7n);
    assert.equal(pArr.get(1)![cpu], BigInt(100 * (cpu + 1)) + 1n);
    assert.equal(pHash.get(2)![cpu], BigInt(200 * (cpu + 1)) + 1n);
    assert.equal(lruP.get(2)![cpu], BigInt(300 * (cpu + 1)) + 1n);
    // other CPUs' slots of new elements stay zero
    assert.ok(pHash.get(2)!.every((v, i) => i === cpu || v === 0n));
  });

  test("LPM trie: userspace prefixes matched in BPF, BPF's prefix matched in userspace", () => {
    const lpm = new LpmTrie(kinds.map("lpm"), bytes(4), u32);
    lpm.set(parseCidr("10.0.0.0/8"), 8);
    lpm.set(parseCidr("10.1.0.0/16"), 16);
    kinds.program("rw").testRun({ data: PACKET });
    assert.equal(kinds.variable("lpm_result").get(), 16);
    assert.equal(lpm.match(parseCidr("192.168.3.4").data), 77);
    assert.deepEqual(lpm.get(parseCidr("192.168.0.0/16")), 77);
  });

  test("queue, stack, bloom filter", () => {
    const qIn = new QueueMap(kinds.map("q_in"), u32);
    const qOut = new QueueMap(kinds.map("q_out"), u32);
    const stk = new QueueMap(kinds.map("stk"), u32);
    const bloom = new BloomFilter(kinds.map("bloom"), u64);
    [...qOut.drain()];
    [...stk.drain()];
    qIn.push(3);
    qIn.push(4);
    bloom.push(7n);
    kinds.program("rw").testRun({ data: PACKET });
    assert.deepEqual([...qOut.drain()], [30, 40]);
    assert.equal(stk.peek(), 6);
    assert.deepEqual([...stk.drain()], [6, 5]);
    assert.equal(kinds.variable("has7").get(), 1);
    assert.equal(kinds.variable("has8").get(), 0);
    assert.equal(bloom.has(9n), true);
  });

  test("prog array: a program set from userspace is tail-called, deleting restores the fall-through", () => {
    const jumps = new ProgArray(fds.map("jumps"));
    const caller = fds.program("tail_caller");
    assert.equal(caller.testRun({ data: PACKET }).retval, XDP.PASS);
    jumps.set(0, fds.program("tail_target"));
    assert.equal(jumps.get(0), progInfo(fds.program("tail_target").fd).id);
    assert.equal(caller.testRun({ data: PACKET }).retval, XDP.TX);
    assert.equal(jumps.delete(0), true);
    assert.equal(caller.testRun({ data: PACKET }).retval, XDP.PASS);
  });

  test("array of maps / hash of maps: inner maps from userspace, written by BPF", () => {
    const outer = new MapOfMaps(fds.map("outer"), u32);
    const outerHash = new MapOfMaps(fds.map("outer_hash"), u32);
    using inner = createMap({ type: "hash", key: u32, value: u32, maxEntries: 4 });
    using inner2 = createMap({ type: "hash", key: u32, value: u32, maxEntries: 4 });
    assert.equal(fds.program("mim").testRun({ data: PACKET }).retval, XDP.ABORTED);
    inner.set(1, 41);
    outer.set(0, inner);
    assert.equal(fds.program("mim").testRun({ data: PACKET }).retval, XDP.DROP);
    outerHash.set(7, inner2);
    assert.equal(fds.program("mim").testRun({ data: PACKET }).retval, XDP.PASS);
    assert.equal(inner.get(2), 42);
    assert.equal(inner2.get(3), 33);
    assert.equal(outer.get(0), inner.map.info().id);
  });

  test("devmap read by BPF, cpumap redirect, empty xskmap falls through", () => {
    const devs = new DevMap(fds.map("devs"));
    const cpus = new CpuMap(fds.map("cpus"));
    const xsks = new XskMap(fds.map("xsks"));
    assert.equal(fds.program("redirect").testRun({ data: PACKET }).retval, XDP.PASS);
    devs.set(0, { ifindex: 1 });
    cpus.set(1, { queueSize: 128 });
    assert.equal(fds.program("redirect").testRun({ data: PACKET }).retval, XDP.REDIRECT);
    assert.equal(fds.variable("dev_ifindex").get(), 1);
    assert.deepEqual(cpus.get(1), { queueSize: 128, programId: 0 });
    cpus.delete(1);
    xsks.delete(0);
    assert.equal(fds.program("xsk").testRun({ data: PACKET }).retval, XDP.DROP);
  });

  test("sockmap: a socket set from userspace is seen by BPF", () => {
    const socks = new SockMap(fds.map("socks"));
    const s = sys();
    const fd = s.socket(SOCKET.AF_INET, SOCKET.SOCK_DGRAM | SOCKET.SOCK_CLOEXEC, 0);
    try {
      const sa = new Uint8Array(16);
      const dv = new DataView(sa.buffer);
      dv.setUint16(0, SOCKET.AF_INET, true);
      dv.setUint16(2, 0, false);
      sa.set([127, 0, 0, 1], 4);
      s.bind(fd, sa);
      const got = new Uint8Array(16);
      s.getsockname(fd, got);
      const port = new DataView(got.buffer).getUint16(2, false);
      socks.set(0, fd);
      fds.program("sock").testRun({ data: PACKET });
      assert.equal(fds.variable("sock_port").get(), port);
      assert.equal(typeof socks.get(0), "bigint");
      socks.delete(0);
      fds.program("sock").testRun({ data: PACKET });
      assert.equal(fds.variable("sock_port").get(), 0);
    } finally {
      s.close(fd);
    }
  });

  test("stack trace map filled by bpf_get_stackid, cgroup array used by bpf_current_task_under_cgroup", () => {
    const cgs = new CgroupArray(fds.map("cgs"));
    const stacks = new StackTraceMap(fds.map("stacks"));
    const root = openSync(cgroup2Root(), "r");
    try {
      cgs.set(0, root);
      fds.program("stack").testRun();
    } finally {
      closeSync(root);
    }
    assert.equal(fds.variable("under_cg").get(), 1n);
    const id = Number(fds.variable("stack_id").get());
    assert.ok(id >= 0, `bpf_get_stackid returned ${id}`);
    const frames = stacks.get(id)!;
    assert.ok(frames.length > 0 && frames.length <= 32);
    assert.ok(frames.every((ip) => ip >= 0xffff000000000000n), "kernel addresses");
    assert.deepEqual([...stacks.keys()], [id]);
    assert.equal(stacks.delete(id), true);
  });
});

describe("user ring buffer", privileged(), () => {
  const Cmd = struct({ op: u32, seq: u32, arg: u64 });
  let coll: Collection;
  before(async () => {
    coll = loadCollection((await compileAndRead("test/fixtures/c/maps/userrb.bpf.c")).spec);
  });
  after(() => coll?.close());

  test("records written from userspace are drained by the program in order; full ring waits", async () => {
    using w = new UserRingBufWriter(coll.map("urb"));
    let seq = 0;
    let written = 0;
    let sum = 0n;
    // fill the ring to the brim: 4096 / 24 bytes per record
    while (w.write(Cmd, { op: 1, seq, arg: BigInt(seq) * 3n })) {
      sum += BigInt(seq) * 3n;
      seq++;
      written++;
    }
    assert.equal(written, Math.floor(4096 / UserRingBufWriter.footprint(Cmd.size)));
    const pending = w.writeAsync(Cmd, { op: 2, seq, arg: 1n });
    sum += 1n;
    seq++;
    coll.program("drain").testRun({ data: PACKET });
    await pending;
    // a reserved-then-discarded record is skipped by the kernel
    const d = w.reserve(Cmd.size)!;
    d.discard();
    coll.program("drain").testRun({ data: PACKET });
    assert.equal(coll.variable("count").get(), seq);
    assert.equal(coll.variable("sum").get(), sum);
    assert.equal(coll.variable("last_op").get(), 2);
    assert.equal(coll.variable("order_ok").get(), 1);
    assert.equal(w.free, 4096);
  });
});

describe("storage maps written by programs", privileged(), () => {
  test("cgroup storage and per-CPU cgroup storage: attached cgroup_skb counts, userspace reads and resets", async () => {
    const { spec } = await compileAndRead("test/fixtures/c/maps/storage.bpf.c", { includes: [dirname(vmlinuxHeader())] });
    using coll = loadCollection(spec, { programs: ["count_egress"] });
    const store = new CgroupStorage(coll.map("cg_store"), u64);
    const pcpu = new PerCpuCgroupStorage(coll.map("cg_pcpu"), u64);
    const cg = openSync(ownCgroup(), "r");
    const prog = coll.program("count_egress");
    const attach = { target: cg, attachBpfFd: prog.fd.value, attachType: ATTACH_TYPE.CGROUP_INET_EGRESS };
    progAttach({ ...attach, attachFlags: ATTACH_FLAGS.ALLOW_MULTI });
    try {
      await sendUdp(3);
      const keys = [...store.keys()];
      assert.equal(keys.length, 1);
      assert.equal(keys[0]!.attachType, ATTACH_TYPE.CGROUP_INET_EGRESS);
      const first = store.get(keys[0]!)!;
      assert.ok(first >= 3n, `counted ${first}`);
      store.set(keys[0]!, 1000n);
      await sendUdp(2);
      assert.ok(store.get(keys[0]!)! >= 1002n);
      const perCpu = pcpu.get(keys[0]!)!;
      assert.equal(perCpu.length, possibleCpus());
      assert.ok(perCpu.reduce((a, b) => a + b, 0n) >= 5n);
    } finally {
      progDetach(attach);
      closeSync(cg);
    }
  });

  test("cgrp storage: a value set from userspace (cgroup fd) is incremented by a tp_btf program", async () => {
    const { spec } = await compileAndRead("test/fixtures/c/maps/storage.bpf.c", { includes: [dirname(vmlinuxHeader())] });
    setVariable(spec, "target_tgid", process.pid);
    using coll = loadCollection(spec, { programs: ["on_enter"] });
    const cgs = new LocalStorage(coll.map("cgs"), u64);
    const fd = openSync(ownCgroup(), "r");
    try {
      cgs.set(fd, 100n);
      const link = coll.program("on_enter").attach();
      for (let i = 0; i < 10; i++) statSync("/");
      link.close();
      const v = cgs.get(fd)!;
      assert.ok(v >= 110n, `cgroup storage is ${v}`);
      assert.equal(cgs.delete(fd), true);
      assert.equal(cgs.get(fd), undefined);
    } finally {
      closeSync(fd);
    }
  });
});

describe("task storage from userspace", privileged(), () => {
  test("task storage by pid: a value set from userspace is incremented by a tp_btf program; one the program creates reads back", async () => {
    const { spec } = await compileAndRead("test/fixtures/c/maps/storage.bpf.c", { includes: [dirname(vmlinuxHeader())] });
    setVariable(spec, "target_tgid", process.pid);
    using coll = loadCollection(spec, { programs: ["on_enter"] });
    const tasks = new TaskStorage(coll.map("tasks"), u64);
    assert.equal(tasks.getPid(process.pid), undefined);
    tasks.setPid(process.pid, 100n); // userspace → program
    const link = coll.program("on_enter").attach();
    try {
      for (let i = 0; i < 10; i++) statSync("/");
      assert.ok(tasks.getPid(process.pid)! >= 110n, `task storage is ${tasks.getPid(process.pid)}`);
      assert.equal(tasks.deletePid(process.pid), true);
      for (let i = 0; i < 5; i++) statSync("/"); // program → userspace: created at 0 and counted
      const v = tasks.getPid(process.pid)!;
      assert.ok(v >= 5n && v < 100n, `recreated task storage is ${v}`);
    } finally {
      link.close();
    }
    assert.equal(tasks.deletePid(process.pid), true);
    assert.equal(tasks.deletePid(process.pid), false);
    assert.equal(tasks.getPid(process.pid), undefined);
    // pidfds work as keys too, and another process has its own element.
    const child = spawn("sleep", ["10"], { stdio: "ignore" });
    try {
      using pidfd = openPidfd(child.pid!);
      tasks.set(pidfd, 7n);
      assert.equal(tasks.getPid(child.pid!), 7n);
      assert.deepEqual(tasks.get(pidfd), 7n);
    } finally {
      child.kill();
    }
    await new Promise((r) => child.once("exit", r));
    assert.throws(() => tasks.getPid(child.pid!), (e: unknown) => e instanceof Error && /lookup.*map "tasks"/.test(e.message) && /ESRCH/.test(e.message));
    assert.throws(() => tasks.getPid(-1), (e: unknown) => e instanceof MapError && e.code === "BAD_KEY" && e.map === "tasks");
    using fresh = createMap({ type: "task_storage", name: "fresh", value: u32 });
    assert.ok(fresh instanceof TaskStorage);
    fresh.setPid(process.pid, 5);
    assert.equal(fresh.getPid(process.pid), 5);
  });
});

/** Send `n` UDP datagrams to a local socket and wait until they arrived. */
async function sendUdp(n: number): Promise<void> {
  const rx = createSocket("udp4");
  const tx = createSocket("udp4");
  await new Promise<void>((r) => rx.bind(0, "127.0.0.1", r));
  let got = 0;
  const all = new Promise<void>((r) => rx.on("message", () => { if (++got === n) r(); }));
  for (let i = 0; i < n; i++) tx.send("x", rx.address().port, "127.0.0.1");
  await all;
  rx.close();
  tx.close();
}
