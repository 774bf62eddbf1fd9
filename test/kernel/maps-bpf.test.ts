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
  ArenaMap, ArrayMap, BloomFilter, CgroupArray, CgroupStorage, LocalStorage, PerCpuCgroupStorage, setVariable, CpuMap, DevMap, HashMap, LpmTrie, MapOfMaps, PerCpuArrayMap, PerCpuHashMap,
  ProgArray, QueueMap, SockMap, StackTraceMap, TaskStorage, UserRingBufWriter, XskMap, createMap, openPidfd, parseCidr,
} from "../../src/runtime/maps/index.js";
import { AluOp, R0, R1, R2, R6, R7, Size, addrSpaceCast, alu64Imm, alu64Reg, encode, exit, ldMapFd, loadMem, mov64Imm, storeMem } from "../../src/asm/index.js";
import { progAttach, progDetach, progInfo, progLoad, progTestRun } from "../../src/sys/bpf.js";
import { ATTACH_FLAGS, ATTACH_TYPE, MAP, PROG_FLAGS, PROG_TYPE, PROT, SOCKET } from "../../src/sys/constants.js";
import { pageSize, possibleCpus } from "../../src/sys/system.js";
import { sys } from "../../src/sys/seam.js";
import { bytes, struct, u32, u64, u8 } from "../../src/types/index.js";
import { vmlinuxHeader } from "../helpers/toolchain.js";
import { compileAndRead } from "../helpers/loader.js";
import { unlessKernelRefuses } from "../helpers/program-set.js";
import { haveMapType } from "../../src/features.js";
import { privileged } from "../helpers/privileges.js";
import { cgroup2Root, ownCgroup } from "./maps-common.js";
import { needs } from "../helpers/needs.js";

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
    stk.push(8);
    stk.push(9);
    bloom.push(7n);
    kinds.program("rw").testRun({ data: PACKET });
    assert.deepEqual([...qOut.drain()], [30, 40]);
    assert.equal(kinds.variable("stk_top").get(), 9); // userspace → program: the last push pops first
    assert.equal(stk.peek(), 6);
    assert.equal(stk.pop(), 6);
    assert.equal(stk.pop(), 5);
    assert.equal(stk.pop(), 8);
    assert.deepEqual([...stk.drain()], []);
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

  test("devmap and devmap hash read by BPF, cpumap redirect, empty xskmap falls through", () => {
    const devs = new DevMap(fds.map("devs"));
    const devsH = new DevMap(fds.map("devs_h"));
    const cpus = new CpuMap(fds.map("cpus"));
    const xsks = new XskMap(fds.map("xsks"));
    assert.equal(fds.program("redirect").testRun({ data: PACKET }).retval, XDP.PASS);
    devs.set(0, { ifindex: 1 });
    devsH.set(5, { ifindex: 1 });
    cpus.set(1, { queueSize: 128 });
    assert.equal(fds.program("redirect").testRun({ data: PACKET }).retval, XDP.REDIRECT);
    assert.equal(fds.variable("dev_ifindex").get(), 1);
    assert.equal(fds.variable("devh_ifindex").get(), 1);
    assert.deepEqual(devsH.get(5), { ifindex: 1, programId: 0 });
    devsH.delete(5);
    assert.deepEqual(cpus.get(1), { queueSize: 128, programId: 0 });
    cpus.delete(1);
    xsks.delete(0);
    assert.equal(fds.program("xsk").testRun({ data: PACKET }).retval, XDP.DROP);
  });

  test("xskmap: an AF_XDP socket set from userspace is the program's redirect target", () => {
    const xsks = new XskMap(fds.map("xsks"));
    using xsk = openXskSocket(1); // copy mode on lo, queue 0
    assert.equal(fds.program("xsk").testRun({ data: PACKET }).retval, XDP.DROP);
    xsks.set(0, xsk.fd);
    assert.equal(fds.program("xsk").testRun({ data: PACKET }).retval, XDP.REDIRECT);
    assert.equal(xsks.delete(0), true);
    assert.equal(fds.program("xsk").testRun({ data: PACKET }).retval, XDP.DROP);
  });

  test("sockmap and sockhash: sockets set from userspace are seen by BPF; sockets BPF stores read back", () => {
    const socks = new SockMap(fds.map("socks"));
    const sockh = new SockMap(fds.map("sockh"), u32);
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
      sockh.set(7, fd);
      assert.equal(socks.get(1), undefined);
      fds.program("sock").testRun({ data: PACKET });
      assert.equal(fds.variable("sock_port").get(), port);
      assert.equal(fds.variable("sockh_port").get(), port);
      const cookie = socks.get(0);
      assert.equal(typeof cookie, "bigint");
      assert.equal(socks.get(1), cookie, "the program stored the socket at socks[1]");
      assert.equal(sockh.get(42), cookie, "the program stored the socket at sockh[42]");
      assert.deepEqual(new Set(sockh.keys()), new Set([7, 42]));
      socks.delete(0);
      socks.delete(1);
      sockh.delete(7);
      sockh.delete(42);
      fds.program("sock").testRun({ data: PACKET });
      assert.equal(fds.variable("sock_port").get(), 0);
      assert.equal(fds.variable("sockh_port").get(), 0);
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

describe("user ring buffer", needs({ mapType: "USER_RINGBUF" }), () => {
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
      pcpu.set(keys[0]!, new Array(possibleCpus()).fill(500n)); // userspace → program, every CPU's slot
      await sendUdp(2);
      const after = pcpu.get(keys[0]!)!;
      assert.ok(after.every((v) => v >= 500n) && after.reduce((a, b) => a + b, 0n) >= 500n * BigInt(possibleCpus()) + 2n, `per-CPU ${after}`);
    } finally {
      progDetach(attach);
      closeSync(cg);
    }
  });

  test("cgrp storage: a value set from userspace (cgroup fd) is incremented by a tp_btf program", async (t) => {
    if (!needs(t, { mapType: "CGRP_STORAGE" })) return;
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

describe("socket storage", privileged(), () => {
  test("sk storage: a value set from userspace (socket fd) is incremented by a cgroup_skb program; one the program creates reads back", async () => {
    const { spec } = await compileAndRead("test/fixtures/c/maps/storage.bpf.c", { includes: [dirname(vmlinuxHeader())] });
    using coll = loadCollection(spec, { programs: ["sk_count"] });
    const sks = new LocalStorage(coll.map("sks"), u64);
    const cg = openSync(ownCgroup(), "r");
    const prog = coll.program("sk_count");
    const attach = { target: cg, attachBpfFd: prog.fd.value, attachType: ATTACH_TYPE.CGROUP_INET_EGRESS };
    const rx = createSocket("udp4");
    const preset = createSocket("udp4");
    const fresh = createSocket("udp4");
    await new Promise<void>((r) => rx.bind(0, "127.0.0.1", r));
    await Promise.all([preset, fresh].map((s) => new Promise<void>((r) => s.bind(0, "127.0.0.1", r))));
    let got = 0;
    rx.on("message", () => void got++);
    progAttach({ ...attach, attachFlags: ATTACH_FLAGS.ALLOW_MULTI });
    try {
      sks.set(udpFd(preset), 100n); // userspace → program
      assert.equal(sks.get(udpFd(fresh)), undefined);
      const send = (s: ReturnType<typeof createSocket>, n: number) =>
        Promise.all(Array.from({ length: n }, () => new Promise<void>((r, j) => s.send("x", rx.address().port, "127.0.0.1", (e) => (e ? j(e) : r())))));
      await send(preset, 3);
      await send(fresh, 2);
      while (got < 5) await new Promise((r) => setTimeout(r, 5));
      assert.equal(sks.get(udpFd(preset)), 103n);
      assert.equal(sks.get(udpFd(fresh)), 2n); // program → userspace
      assert.equal(sks.delete(udpFd(fresh)), true);
      assert.equal(sks.get(udpFd(fresh)), undefined);
    } finally {
      progDetach(attach);
      closeSync(cg);
      for (const s of [rx, preset, fresh]) s.close();
    }
  });
});

describe("arena", privileged(), () => {
  test("arena: values userspace writes through the mapping are read by a program, and what it writes reads back", (t) => {
    const created = unlessKernelRefuses(t, "arena maps", () => createMap({ type: "arena", name: "arena", maxEntries: 4 }), () => haveMapType("ARENA"));
    if (!created) return;
    using arena = created;
    assert.ok(arena instanceof ArenaMap);
    assert.equal(arena.byteLength, 4 * pageSize());
    const Pair = struct({ a: u32, b: u32 });
    arena.set(u32, 0, 41);
    arena.set(Pair, pageSize(), { a: 7, b: 9 }); // a second page, faulted in by this write
    // A sleepable syscall program: r6 = arena pointer from the user address in ctx; it reads u32 at +0
    // and +page and writes (first + 1) at +4 and (a + b) at +8.
    const insns = [
      ldMapFd(R2, arena.map.fd.value), // uses the arena, which lets the program cast to it
      loadMem(Size.DW, R6, R1, 0),
      addrSpaceCast(R6, R6, 0, 1),
      loadMem(Size.W, R0, R6, 0),
      alu64Imm(AluOp.ADD, R0, 1),
      storeMem(Size.W, R6, R0, 4),
      loadMem(Size.W, R0, R6, pageSize()),
      loadMem(Size.W, R7, R6, pageSize() + 4),
      alu64Reg(AluOp.ADD, R0, R7),
      storeMem(Size.W, R6, R0, 8),
      mov64Imm(R0, 0),
      exit(),
    ];
    using prog = progLoad({ progType: PROG_TYPE.SYSCALL, progFlags: PROG_FLAGS.SLEEPABLE, insns: encode(insns), license: "GPL" });
    const ctx = new Uint8Array(8);
    new DataView(ctx.buffer).setBigUint64(0, arena.address, true);
    assert.equal(progTestRun(prog, { ctxIn: ctx }).retval, 0);
    assert.equal(arena.get(u32, 4), 42);
    assert.equal(arena.get(u32, 8), 16);
    assert.deepEqual(arena.view(Pair, pageSize()).a, 7);
    assert.throws(() => arena.get(u64, 4 * pageSize() - 4), (e: unknown) => e instanceof MapError && e.code === "BAD_KEY" && e.map === "arena");
    arena.close();
    assert.throws(() => arena.get(u32, 0), (e: unknown) => e instanceof MapError && e.code === "MAP_CLOSED");
  });
});

describe("task storage from userspace", needs({ mapType: "TASK_STORAGE" }), () => {
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

/** The fd of a bound node UDP socket (node keeps it in an internal state object). */
function udpFd(s: ReturnType<typeof createSocket>): number {
  const state = Object.getOwnPropertySymbols(s).map((k) => (s as unknown as Record<symbol, { handle?: { fd?: number } }>)[k]).find((v) => v?.handle?.fd !== undefined);
  const fd = state?.handle?.fd;
  if (typeof fd !== "number" || fd < 0) throw new Error("cannot find the UDP socket's fd");
  return fd;
}

/**
 * A bound AF_XDP socket (copy mode) on `ifindex` queue 0, with a 16-frame umem and 16-slot rings — the
 * least an XSKMAP accepts. Disposing closes the socket and unmaps the umem.
 */
function openXskSocket(ifindex: number): { fd: number } & Disposable {
  const AF_XDP = 44, SOL_XDP = 283, XDP_RX_RING = 2, XDP_UMEM_REG = 4, XDP_UMEM_FILL_RING = 5, XDP_UMEM_COMPLETION_RING = 6, XDP_COPY = 2;
  const s = sys();
  const fd = s.socket(AF_XDP, SOCKET.SOCK_RAW | SOCKET.SOCK_CLOEXEC, 0);
  const frames = 16, frame = 4096;
  const umem = s.mmap(-1, frames * frame, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS, 0);
  try {
    const reg = new Uint8Array(24); // struct xdp_umem_reg up to headroom/flags
    const rv = new DataView(reg.buffer);
    rv.setBigUint64(0, s.addressOf(umem), true);
    rv.setBigUint64(8, BigInt(frames * frame), true);
    rv.setUint32(16, frame, true);
    s.setsockopt(fd, SOL_XDP, XDP_UMEM_REG, reg);
    const int = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
    for (const opt of [XDP_UMEM_FILL_RING, XDP_UMEM_COMPLETION_RING, XDP_RX_RING]) s.setsockopt(fd, SOL_XDP, opt, int(16));
    const sa = new Uint8Array(16); // struct sockaddr_xdp
    const av = new DataView(sa.buffer);
    av.setUint16(0, AF_XDP, true);
    av.setUint16(2, XDP_COPY, true);
    av.setUint32(4, ifindex, true);
    s.bind(fd, sa);
  } catch (e) {
    s.close(fd);
    s.munmap(umem);
    throw e;
  }
  return {
    fd,
    [Symbol.dispose]() {
      s.close(fd);
      s.munmap(umem);
    },
  };
}