// Kernel tests of the raw bpf(2) wrappers: maps, hand-encoded programs with PROG_TEST_RUN, the verifier
// log, pinning, mmap'd arrays, ringbuf readiness through poll, BTF load, ids, links and perf events.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { privileged } from "../helpers/privileges.js";
import { SyscallError } from "../../src/errors.js";
import * as bpf from "../../src/sys/bpf.js";
import {
  ATTACH_TYPE,
  HELPER_IDS,
  LINK_TYPE,
  MAP,
  MAP_FLAGS,
  MAP_TYPE,
  POLL,
  PROG_TYPE,
  PROT,
  PSEUDO_LD,
  STATS_TYPE,
  UPDATE_FLAGS,
} from "../../src/sys/constants.js";
import type { Fd } from "../../src/sys/fd.js";
import { openTracepoint } from "../../src/sys/perf.js";
import { sys } from "../../src/sys/seam.js";
import { ensureBpffs, ensureMemlock, pageSize } from "../../src/sys/system.js";

/* ---------- hand-encoded instructions ---------- */

/** One 8-byte instruction: opcode, dst, src, off, imm (little-endian). */
function insn(op: number, dst: number, src: number, off: number, imm: number): Uint8Array {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  b[0] = op;
  b[1] = (src << 4) | dst;
  v.setInt16(2, off, true);
  v.setInt32(4, imm, true);
  return b;
}

function program(...insns: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(insns.length * 8);
  insns.forEach((x, i) => out.set(x, i * 8));
  return out;
}

const MOV64_IMM = 0xb7; // r_dst = imm
const MOV64_REG = 0xbf; // r_dst = r_src
const ADD64_IMM = 0x07; // r_dst += imm
const ST_DW = 0x7a; // *(u64 *)(r_dst + off) = imm
const LD_IMM64 = 0x18; // r_dst = imm64 (two slots)
const CALL = 0x85;
const EXIT = 0x95;

const ret42 = () => program(insn(MOV64_IMM, 0, 0, 0, 42), insn(EXIT, 0, 0, 0, 0));
const ret0 = () => program(insn(MOV64_IMM, 0, 0, 0, 0), insn(EXIT, 0, 0, 0, 0));

/** A program that calls bpf_ringbuf_output(&ringbuf, &(u64)42, 8, 0) and returns 0. */
function ringbufOutput(mapFd: number): Uint8Array {
  return program(
    insn(LD_IMM64, 1, PSEUDO_LD.MAP_FD, 0, mapFd),
    insn(0, 0, 0, 0, 0),
    insn(MOV64_REG, 2, 10, 0, 0),
    insn(ADD64_IMM, 2, 0, 0, -8),
    insn(ST_DW, 10, 0, -8, 42),
    insn(MOV64_IMM, 3, 0, 0, 8),
    insn(MOV64_IMM, 4, 0, 0, 0),
    insn(CALL, 0, 0, 0, HELPER_IDS.ringbuf_output),
    insn(MOV64_IMM, 0, 0, 0, 0),
    insn(EXIT, 0, 0, 0, 0),
  );
}

const u32 = (n: number) => new Uint32Array([n]);
const u64 = (n: bigint) => new BigUint64Array([n]);

describe("raw bpf(2) wrappers", privileged(), () => {
  const owned: Fd[] = [];
  const keep = <T extends Fd>(fd: T): T => {
    owned.push(fd);
    return fd;
  };
  before(() => {
    ensureMemlock();
  });
  after(() => {
    for (const fd of owned) fd.close();
  });

  test("hash map: update, lookup, get_next_key, delete round trip", () => {
    const m = keep(bpf.mapCreate({ mapType: MAP_TYPE.HASH, keySize: 4, valueSize: 8, maxEntries: 64, mapName: "t_hash" }));
    for (let k = 1; k <= 5; k++) bpf.mapUpdate(m, u32(k), u64(BigInt(k) * 100n), UPDATE_FLAGS.NOEXIST);
    assert.throws(() => bpf.mapUpdate(m, u32(1), u64(0n), UPDATE_FLAGS.NOEXIST), (e: unknown) => e instanceof SyscallError && e.code === "EEXIST" && e.operation === "BPF_MAP_UPDATE_ELEM");
    const v = new BigUint64Array(1);
    assert.equal(bpf.mapLookup(m, u32(3), v), true);
    assert.equal(v[0], 300n);
    assert.equal(bpf.mapLookup(m, u32(99), v), false);
    const keys: number[] = [];
    const cur = new Uint32Array(1);
    for (let ok = bpf.mapGetNextKey(m, null, cur); ok; ok = bpf.mapGetNextKey(m, cur, cur)) keys.push(cur[0]);
    assert.deepEqual(keys.sort(), [1, 2, 3, 4, 5]);
    assert.equal(bpf.mapDelete(m, u32(3)), true);
    assert.equal(bpf.mapDelete(m, u32(3)), false);
    assert.equal(bpf.mapLookup(m, u32(3), v), false);
    const info = bpf.mapInfo(m);
    assert.equal(info.type, MAP_TYPE.HASH);
    assert.equal(info.name, "t_hash");
    assert.deepEqual([info.keySize, info.valueSize, info.maxEntries], [4, 8, 64]);
  });

  test("array map and batch lookup walk every element", () => {
    const a = keep(bpf.mapCreate({ mapType: MAP_TYPE.ARRAY, keySize: 4, valueSize: 4, maxEntries: 10, mapName: "t_array" }));
    for (let k = 0; k < 10; k++) bpf.mapUpdate(a, u32(k), u32(k * k));
    assert.throws(() => bpf.mapUpdate(a, u32(10), u32(0)), (e: unknown) => e instanceof SyscallError && e.code === "E2BIG");
    const seen = new Map<number, number>();
    const inBatch = new Uint32Array(1);
    const outBatch = new Uint32Array(1);
    let first = true;
    for (let round = 0; round < 10; round++) {
      const keys = new Uint32Array(4);
      const values = new Uint32Array(4);
      const r = bpf.mapLookupBatch(a, { inBatch: first ? null : inBatch, outBatch, keys, values, count: 4 });
      for (let i = 0; i < r.count; i++) seen.set(keys[i], values[i]);
      if (r.done) break;
      inBatch[0] = outBatch[0];
      first = false;
    }
    assert.equal(seen.size, 10);
    for (const [k, v] of seen) assert.equal(v, k * k);

    const h = keep(bpf.mapCreate({ mapType: MAP_TYPE.HASH, keySize: 4, valueSize: 4, maxEntries: 16 }));
    assert.equal(bpf.mapUpdateBatch(h, new Uint32Array([1, 2, 3]), new Uint32Array([10, 20, 30]), 3), 3);
    assert.equal(bpf.mapDeleteBatch(h, new Uint32Array([2]), 1), 1);
    const v = new Uint32Array(1);
    assert.equal(bpf.mapLookup(h, u32(3), v) && v[0], 30);
    assert.equal(bpf.mapLookup(h, u32(2), v), false);
  });

  test("hand-encoded r0 = 42; exit returns 42 under PROG_TEST_RUN (XDP and socket filter)", () => {
    const log = new Uint8Array(1 << 16);
    const out = { logTrueSize: 0 };
    const xdp = keep(bpf.progLoad({ progType: PROG_TYPE.XDP, insns: ret42(), license: "GPL", progName: "t_ret42", logBuf: log, logLevel: 2 }, out));
    assert.match(bpf.logText(log), /processed 2 insns/);
    assert.ok(out.logTrueSize > 0, "log_true_size read back");
    const packet = new Uint8Array(64).fill(7);
    const dataOut = new Uint8Array(128);
    const r = bpf.progTestRun(xdp, { dataIn: packet, dataOut, repeat: 100 });
    assert.equal(r.retval, 42);
    assert.deepEqual(r.dataOut, packet, "packet passes through unchanged");
    const sk = keep(bpf.progLoad({ progType: PROG_TYPE.SOCKET_FILTER, insns: ret42(), license: "MIT" }));
    assert.equal(bpf.progTestRun(sk, { dataIn: new Uint8Array(64) }).retval, 42);
    const info = bpf.progInfo(xdp, { xlatedInsns: true });
    assert.equal(info.type, PROG_TYPE.XDP);
    assert.equal(info.name, "t_ret42");
    assert.equal(info.gplCompatible, true);
    assert.equal(info.xlatedInsns?.length, 16);
    assert.equal(bpf.progInfo(sk).gplCompatible, false);
  });

  test("a rejected program fails with the verifier's message in the caller's log buffer", () => {
    const log = new Uint8Array(1 << 16);
    assert.throws(
      () => bpf.progLoad({ progType: PROG_TYPE.XDP, insns: program(insn(EXIT, 0, 0, 0, 0)), license: "GPL", logBuf: log, logLevel: 1 }),
      (e: unknown) => e instanceof SyscallError && e.code === "EACCES" && e.operation === "BPF_PROG_LOAD",
    );
    assert.match(bpf.logText(log), /R0 !read_ok/);
  });

  test("pin in bpffs and open again with OBJ_GET", () => {
    const dir = join(ensureBpffs(), `tsbpf-sys-test-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    try {
      const m = keep(bpf.mapCreate({ mapType: MAP_TYPE.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, mapName: "t_pin" }));
      bpf.mapUpdate(m, u32(0), u32(1234));
      bpf.objPin(m, join(dir, "map"));
      assert.throws(() => bpf.objPin(m, join(dir, "map")), (e: unknown) => e instanceof SyscallError && e.code === "EEXIST" && /pin at/.test(e.message));
      using again = bpf.objGet(join(dir, "map"));
      assert.equal(bpf.mapInfo(again).id, bpf.mapInfo(m).id);
      const v = new Uint32Array(1);
      assert.equal(bpf.mapLookup(again, u32(0), v) && v[0], 1234);
      assert.throws(() => bpf.objGet(join(dir, "missing")), (e: unknown) => e instanceof SyscallError && e.code === "ENOENT");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a BPF_F_MMAPABLE array is shared memory: updates appear in the ArrayBuffer and back", () => {
    const m = keep(bpf.mapCreate({ mapType: MAP_TYPE.ARRAY, keySize: 4, valueSize: 8, maxEntries: 16, mapFlags: MAP_FLAGS.MMAPABLE }));
    const ab = sys().mmap(m.value, pageSize(), PROT.READ | PROT.WRITE, MAP.SHARED, 0);
    try {
      const values = new BigUint64Array(ab);
      bpf.mapUpdate(m, u32(3), u64(0x1122334455n));
      assert.equal(values[3], 0x1122334455n);
      values[5] = 99n;
      const v = new BigUint64Array(1);
      assert.equal(bpf.mapLookup(m, u32(5), v) && v[0], 99n);
    } finally {
      sys().munmap(ab);
    }
    assert.equal(ab.byteLength, 0);
  });

  test("ringbuf: poll fires when a program run by PROG_TEST_RUN calls bpf_ringbuf_output", async () => {
    const page = pageSize();
    const size = 4 * page;
    const rb = keep(bpf.mapCreate({ mapType: MAP_TYPE.RINGBUF, keySize: 0, valueSize: 0, maxEntries: size, mapName: "t_rb" }));
    const consumer = sys().mmap(rb.value, page, PROT.READ | PROT.WRITE, MAP.SHARED, 0);
    const producer = sys().mmap(rb.value, page + 2 * size, PROT.READ, MAP.SHARED, page);
    const log = new Uint8Array(1 << 16);
    let prog: Fd;
    try {
      prog = keep(bpf.progLoad({ progType: PROG_TYPE.XDP, insns: ringbufOutput(rb.value), license: "GPL", logBuf: log }));
    } catch (e) {
      throw new Error(`ringbuf program rejected:\n${bpf.logText(log)}`, { cause: e });
    }
    assert.deepEqual(bpf.progInfo(prog, { mapIds: true }).mapIds, [bpf.mapInfo(rb).id]);
    const cons = new DataView(consumer);
    const prod = new DataView(producer);
    try {
      const ready = new Promise<number>((resolve, reject) => {
        const h = sys().poll(rb.value, POLL.READABLE, (status, events) => {
          h.close();
          if (status < 0) reject(new Error(`poll status ${status}`));
          else resolve(events);
        });
        setTimeout(() => {
          h.close();
          reject(new Error("poll did not fire within 5 s"));
        }, 5000).unref();
      });
      assert.equal(prod.getBigUint64(0, true), 0n, "empty before the run");
      assert.equal(bpf.progTestRun(prog, { dataIn: new Uint8Array(64) }).retval, 0);
      const events = await ready;
      assert.equal(events & POLL.READABLE, POLL.READABLE);
      const producerPos = prod.getBigUint64(0, true);
      assert.equal(producerPos, 16n, "one 8-byte header + 8-byte record");
      const hdrLen = prod.getUint32(page, true);
      assert.equal(hdrLen, 8, "record length, not busy, not discarded");
      assert.equal(prod.getBigUint64(page + 8, true), 42n);
      cons.setBigUint64(0, producerPos, true); // consume
      assert.equal(cons.getBigUint64(0, true), 16n);
    } finally {
      sys().munmap(consumer);
      sys().munmap(producer);
    }
  });

  test("BTF load, info with name and raw data; a bad blob reports the BTF log", () => {
    const strings = new TextEncoder().encode("\0int\0");
    const types = new Uint8Array(16);
    const tv = new DataView(types.buffer);
    tv.setUint32(0, 1, true); // name_off "int"
    tv.setUint32(4, 1 << 24, true); // kind INT, vlen 0
    tv.setUint32(8, 4, true); // size
    tv.setUint32(12, (1 << 24) | 32, true); // signed, 32 bits
    const blob = new Uint8Array(24 + types.length + strings.length);
    const hv = new DataView(blob.buffer);
    hv.setUint16(0, 0xeb9f, true);
    blob[2] = 1;
    hv.setUint32(4, 24, true);
    hv.setUint32(8, 0, true);
    hv.setUint32(12, types.length, true);
    hv.setUint32(16, types.length, true);
    hv.setUint32(20, strings.length, true);
    blob.set(types, 24);
    blob.set(strings, 24 + types.length);
    const btf = keep(bpf.btfLoad(blob));
    const info = bpf.btfInfo(btf, { data: true });
    assert.equal(info.btfSize, blob.length);
    assert.equal(info.kernelBtf, false);
    assert.deepEqual(info.data, blob);
    assert.ok([...bpf.objectIds("btf")].includes(info.id));

    const bad = blob.slice();
    new DataView(bad.buffer).setUint32(12, 15, true); // type section length not a multiple of 4
    assert.throws(
      () => bpf.btfLoad(bad, { context: "load BTF of object \"t\"" }),
      (e: unknown) => e instanceof SyscallError && e.code === "EINVAL" && /^load BTF of object "t": BPF_BTF_LOAD/.test(e.message) && /BTF log:/.test(e.message),
    );
  });

  test("ids: iterate maps and programs and open them by id", () => {
    const m = keep(bpf.mapCreate({ mapType: MAP_TYPE.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, mapName: "t_ids" }));
    const id = bpf.mapInfo(m).id;
    assert.ok([...bpf.objectIds("map")].includes(id));
    using byId = bpf.getFdById("map", id);
    assert.equal(bpf.mapInfo(byId).name, "t_ids");
    assert.throws(() => bpf.getFdById("prog", 0x7fffffff), (e: unknown) => e instanceof SyscallError && e.code === "ENOENT");
  });

  test("raw tracepoint link and tracepoint perf-event link with run statistics", () => {
    const raw = keep(bpf.progLoad({ progType: PROG_TYPE.RAW_TRACEPOINT, insns: ret0(), license: "GPL" }));
    using rawLink = bpf.rawTracepointOpen("sys_enter", raw);
    assert.equal(bpf.linkInfo(rawLink).type, LINK_TYPE.RAW_TRACEPOINT);

    const tp = keep(bpf.progLoad({ progType: PROG_TYPE.TRACEPOINT, insns: ret0(), license: "GPL" }));
    using stats = bpf.enableStats(STATS_TYPE.RUN_TIME);
    using pe = openTracepoint("syscalls", "sys_enter_getppid", 0);
    using link = bpf.linkCreate({
      progFd: tp.value,
      target: pe.value,
      attachType: ATTACH_TYPE.PERF_EVENT,
      extra: { kind: "perf_event", bpfCookie: 7n },
    });
    const li = bpf.linkInfo(link);
    assert.equal(li.type, LINK_TYPE.PERF_EVENT);
    assert.equal(li.progId, bpf.progInfo(tp).id);
    // the event is per-cpu (cpu 0): trigger getppid until it has run there
    for (let i = 0; i < 2000 && bpf.progInfo(tp).runCnt === 0n; i++) void process.ppid;
    assert.ok(stats.value >= 0);
    assert.ok(bpf.progInfo(tp).runCnt > 0n, "program ran on sys_enter_getppid");
    // perf-event links may not support detach: EOPNOTSUPP still proves the command found the link
    try {
      bpf.linkDetach(link);
    } catch (e) {
      assert.ok(e instanceof SyscallError && e.code === "EOPNOTSUPP" && e.operation === "BPF_LINK_DETACH", String(e));
    }
  });
});
