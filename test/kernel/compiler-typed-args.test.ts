// Typed arguments of tracing programs compiled from TypeScript: `ctx.args.<name>` from the kernel's BTF
// prototypes (tp_btf with direct BTF loads, raw_tp with probe reads) and `ctx.arg<T>(n)`, checked on real forks.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { disassemble } from "../../src/asm/index.js";
import type { Collection } from "../../src/runtime/collection.js";
import { readCollectionSpec } from "../../src/object/reader.js";
import { attachPerfEvent } from "../../src/runtime/links/sampling.js";
import { compileSource, loadSource } from "../helpers/compile-ts.js";
import { privileged } from "../helpers/privileges.js";

const SOURCE = `
import { btfTracepoint, rawTracepoint, bpf, HashMap, type u32, type i32, type task_struct } from "tsbpf/kernel";

/** child pid → what each program saw of the fork */
const viaBtf = new HashMap<u32, u32>({ maxEntries: 1024 });
const viaRaw = new HashMap<u32, u32>({ maxEntries: 1024 });

export const forkBtf = btfTracepoint("sched_process_fork", (ctx) => {
  const child = ctx.args.child;
  const me = bpf.currentTask();
  // parent tgid in the high half, the current task's tgid in the low half: both should be the forker
  viaBtf.update(child.pid, ((ctx.args.parent.tgid as u32) << 16) ^ (me.tgid as u32));
  return 0;
});

export const forkRaw = rawTracepoint("sched_process_fork", (ctx) => {
  const child = ctx.arg<task_struct>(1);
  const pid: i32 = child.pid;
  viaRaw.update(pid as u32, ctx.args.parent.real_parent.tgid as u32);
  return 0;
});
`;

describe("compiler: typed tracing arguments", privileged(), () => {
  let coll: Collection;
  before(() => {
    coll = loadSource(SOURCE);
  });
  after(() => coll?.close());

  test("tp_btf reads ctx.args.child/parent and currentTask() with direct loads; raw_tp with probe reads", () => {
    using _a = coll.program("forkBtf").attach();
    using _b = coll.program("forkRaw").attach();
    const child = spawnSync("/bin/true");
    assert.equal(child.status, 0);
    const key = new Uint8Array(new Uint32Array([child.pid!]).buffer);
    const btf = coll.map("viaBtf").getRaw(key);
    assert.ok(btf, `tp_btf saw the fork of ${child.pid}`);
    const v = new DataView(btf.buffer, btf.byteOffset).getUint32(0, true);
    assert.equal(v, ((process.pid << 16) ^ process.pid) >>> 0, "parent tgid and current tgid are this process");
    const raw = coll.map("viaRaw").getRaw(key);
    assert.ok(raw, `raw_tp saw the fork of ${child.pid}`);
    assert.equal(new DataView(raw.buffer, raw.byteOffset).getUint32(0, true), process.ppid, "the forker's real_parent is our parent");
  });
});

describe("compiler: perf_event context", privileged(), () => {
  test("ctx.samplePeriod is the period the event was opened with", async () => {
    const coll = loadSource(`
import { perfEvent, ArrayMap, type u64 } from "tsbpf/kernel";
const seen = new ArrayMap<u64>({ maxEntries: 2 });
export const sample = perfEvent((ctx) => {
  seen.update(0, ctx.samplePeriod);
  seen.increment(1);
  return 0;
});
`);
    try {
      using _s = attachPerfEvent(coll.program("sample"), { pid: process.pid, period: 250_000n });
      const end = Date.now() + 200;
      while (Date.now() < end) { /* spin: cpu-clock samples this process */ }
      const v = (i: number) => new DataView(coll.map("seen").getRaw(new Uint8Array(new Uint32Array([i]).buffer))!.buffer).getBigUint64(0, true);
      assert.ok(v(1) > 0n, "samples were taken");
      assert.equal(v(0), 250_000n);
    } finally {
      coll.close();
    }
  });
});

describe("compiler: tracepoint record arrays", privileged(), () => {
  test("ctx.args[i] of sys_enter reads u64 elements, by constant and by loop index; ctx.saddr[i] loads", () => {
    const coll = loadSource(`
import { tracepoint, ArrayMap, bpf, u64, type u32 } from "tsbpf/kernel";
const seen = new ArrayMap<u64>({ maxEntries: 4 });
const me = new ArrayMap<u32>({ maxEntries: 1 });
export const enter = tracepoint("raw_syscalls/sys_enter", (ctx) => {
  const want = me.lookup(0);
  if (want === null || want !== bpf.pid() || ctx.id !== 62n) return 0;
  seen.update(0, ctx.args[0]);
  let sum: u64 = 0n;
  for (let i = 0; i < 2; i++) sum += ctx.args[i] * u64(i + 1);
  seen.update(1, sum);
  return 0;
});
export const state = tracepoint("sock/inet_sock_set_state", (ctx) => {
  let s: u32 = 0;
  for (let i = 0; i < 4; i++) s += ctx.saddr[i];
  seen.update(2, u64(s));
  return 0;
});
`);
    try {
      coll.map("me").setRaw(new Uint8Array(4), new Uint8Array(new Uint32Array([process.pid]).buffer));
      using _e = coll.program("enter").attach();
      process.kill(process.pid, 0); // kill(2) is syscall 62: args (pid, 0)
      const v = (i: number) => new DataView(coll.map("seen").getRaw(new Uint8Array(new Uint32Array([i]).buffer))!.buffer).getBigUint64(0, true);
      assert.equal(v(0), BigInt(process.pid));
      assert.equal(v(1), BigInt(process.pid) * 1n + 0n * 2n);
    } finally {
      coll.close();
    }
  });
});

describe("compiler: kernel enum constants", privileged(), () => {
  test("constants from the kernel declarations fold to their BTF values, in switch cases and 64-bit", () => {
    const coll = loadSource(`
import { xdp, ArrayMap, u64, XdpAction, TCP_ESTABLISHED, TCP_CLOSE, IPPROTO_UDP, BPF_F_CURRENT_CPU, XDP_PASS } from "tsbpf/kernel";
const out = new ArrayMap<u64>({ maxEntries: 4 });
export const consts = xdp((ctx) => {
  const state = ctx.len > 10 ? TCP_ESTABLISHED : TCP_CLOSE;
  switch (state) {
    case TCP_ESTABLISHED: out.update(0, u64(TCP_ESTABLISHED * 100 + IPPROTO_UDP)); break;
    case TCP_CLOSE: out.update(0, 7n); break;
  }
  out.update(1, BPF_F_CURRENT_CPU);
  return XDP_PASS === XdpAction.PASS ? XdpAction.PASS : XdpAction.DROP;
});
`);
    try {
      assert.equal(coll.program("consts").testRun({ data: new Uint8Array(64) }).retval, 2);
      const v = (i: number) => new DataView(coll.map("out").getRaw(new Uint8Array(new Uint32Array([i]).buffer))!.buffer).getBigUint64(0, true);
      assert.equal(v(0), 117n, "TCP_ESTABLISHED (1) * 100 + IPPROTO_UDP (17)");
      assert.equal(v(1), 0xffffffffn, "BPF_F_CURRENT_CPU");
    } finally {
      coll.close();
    }
  });
});

describe("compiler: typed tracing arguments (code shape)", () => {
  const prog = (obj: Uint8Array, section: string) => {
    const spec = readCollectionSpec(obj);
    const p = [...spec.programs.values()].find((x) => x.sectionName === section);
    assert.ok(p, `program in ${section}`);
    return disassemble(p.instructions).join("\n");
  };

  test("BTF pointers are read with direct loads, raw_tp pointers with bpf_probe_read_kernel", () => {
    const obj = compileSource(SOURCE);
    const btf = prog(obj, "tp_btf/sched_process_fork");
    assert.doesNotMatch(btf, /probe_read/, "no probe reads in tp_btf");
    assert.match(btf, /get_current_task_btf/, "currentTask() is the BTF-typed task");
    const raw = prog(obj, "raw_tp/sched_process_fork");
    assert.match(raw, /probe_read_kernel/, "raw_tp pointers are probe-read");
  });

  test("fentry/fexit/LSM: named arguments and the return value compile to their context slots", () => {
    const obj = compileSource(`
import { fentry, fexit, lsm, ArrayMap, u64, type i32 } from "tsbpf/kernel";
const out = new ArrayMap<u64>({ maxEntries: 4 });
export const enter = fentry("do_unlinkat", (ctx) => { out.update(0, u64(ctx.args.dfd)); return 0; });
export const leave = fexit("do_unlinkat", (ctx) => { const r: i32 = ctx.ret; out.update(1, u64(r)); return 0; });
export const open = lsm("file_open", (ctx) => { out.update(2, u64(ctx.args.file.f_flags)); return 0; });
`);
    const enter = prog(obj, "fentry/do_unlinkat");
    assert.match(enter, /= \*\(u64 \*\)\(r1 \+0\)/, "dfd is the first slot");
    const leave = prog(obj, "fexit/do_unlinkat");
    assert.match(leave, /= \*\(u64 \*\)\(r1 \+16\)/, "the return value follows do_unlinkat's two arguments");
    const open = prog(obj, "lsm/file_open");
    assert.doesNotMatch(open, /probe_read/, "file->f_flags is a direct load");
  });
});
