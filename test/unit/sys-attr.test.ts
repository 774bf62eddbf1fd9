// Unit tests of the sys layer: struct layouts vs the C compiler's offsetof (kernel BTF headers),
// constants vs the kernel, encoder bytes, and error conversion through a fake seam.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { release as osRelease } from "node:os";
import { PermissionError, SyscallError, TsbpfError } from "../../src/errors.js";
import {
  ATTR_LAYOUTS,
  encodeLinkCreate,
  encodeMapCreate,
  encodeMapElem,
  encodeProgLoad,
  encodeTestRun,
  LINK_CREATE_LAYOUT,
  MAP_CREATE_LAYOUT,
  PROG_LOAD_LAYOUT,
} from "../../src/sys/attr.js";
import * as bpf from "../../src/sys/bpf.js";
import * as C from "../../src/sys/constants.js";
import { FakeSys } from "../../src/sys/fake.js";
import { Fd } from "../../src/sys/fd.js";
import { INFO_LAYOUTS } from "../../src/sys/info.js";
import type { Layout } from "../../src/sys/layout.js";
import { encodePerfEventAttr, perfEventOpen, PERF_EVENT_ATTR_LAYOUT, PERF_LAYOUTS } from "../../src/sys/perf.js";
import { capabilityFor, setSys, sys, withSys } from "../../src/sys/seam.js";
import { CAP, parseCapEff, programLoadNeed, unmetGroups } from "../../src/sys/capabilities.js";
import { ensureBpffs, ensureMemlock, expandCpuList, kernelVersion, parseCpuList, parseKernelRelease, readMounts, resetSystemCache } from "../../src/sys/system.js";
import { parseHelperIds } from "../../scripts/gen-helper-ids.js";

const root = new URL("../..", import.meta.url).pathname;
const cacheDir = join(root, ".cache", "sys-layout");

/* ---------- compiling C probes (cached) ---------- */

function sha(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}

/** vmlinux.h of the running kernel (bpftool btf dump), cached; undefined when unavailable. */
function vmlinuxHeader(): string | undefined {
  const btf = "/sys/kernel/btf/vmlinux";
  if (!existsSync(btf)) return undefined;
  mkdirSync(cacheDir, { recursive: true });
  const path = join(cacheDir, `vmlinux-${osRelease()}-${statSync(btf).size}.h`);
  if (existsSync(path)) return path;
  const r = spawnSync("bpftool", ["btf", "dump", "file", btf, "format", "c"], { encoding: "utf8", maxBuffer: 512 << 20 });
  if (r.status !== 0) return undefined;
  writeFileSync(path, r.stdout);
  return path;
}

function hasGcc(): boolean {
  return spawnSync("gcc", ["--version"]).status === 0;
}

interface ProbeResult {
  output: string;
  /** Check lines the compiler rejected (members/constants this kernel or header does not have). */
  rejected: string[];
}

/**
 * Compiles and runs a C program made of a prologue and one check per line; lines the compiler rejects
 * are dropped (and reported) and the rest is retried. Output is cached by source and environment.
 */
function runProbe(name: string, prologue: string, checks: string[], envKey: string): ProbeResult {
  mkdirSync(cacheDir, { recursive: true });
  const key = sha([prologue, ...checks, envKey].join("\n"));
  const cached = join(cacheDir, `${name}-${key}.json`);
  if (existsSync(cached)) return JSON.parse(readFileSync(cached, "utf8")) as ProbeResult;
  let lines = [...checks];
  const rejected: string[] = [];
  for (let round = 0; round < 6; round++) {
    const head = `${prologue}\nint main(void) {\n`;
    // line number (1-based) → index of the check it belongs to; checks may span several lines
    const owner = new Map<number, number>();
    let lineNo = head.split("\n").length;
    lines.forEach((check, i) => {
      for (let k = 0; k < check.split("\n").length; k++) owner.set(lineNo++, i);
    });
    const src = `${head}${lines.join("\n")}\nreturn 0;\n}\n`;
    const file = join(cacheDir, `${name}-${key}.c`);
    const exe = join(cacheDir, `${name}-${key}`);
    writeFileSync(file, src);
    const r = spawnSync("gcc", ["-w", "-O0", "-x", "c", file, "-o", exe], { encoding: "utf8" });
    if (r.status === 0) {
      const output = execFileSync(exe, { encoding: "utf8" });
      const result = { output, rejected };
      writeFileSync(cached, JSON.stringify(result));
      return result;
    }
    const bad = new Set<number>();
    for (const m of r.stderr.matchAll(/^([^:\n]+):(\d+):\d+: error/gm)) {
      const idx = m[1] === file ? owner.get(Number(m[2])) : undefined;
      if (idx === undefined) throw new Error(`probe ${name}: compile error outside the checks:\n${r.stderr}`);
      bad.add(idx);
    }
    if (bad.size === 0) throw new Error(`probe ${name}: compile failed:\n${r.stderr}`);
    rejected.push(...[...bad].map((i) => lines[i]));
    lines = lines.filter((_, i) => !bad.has(i));
  }
  throw new Error(`probe ${name}: too many compile rounds`);
}

/* ---------- layout probe ---------- */

function layoutChecks(layouts: readonly Layout[]): string[] {
  const out: string[] = [];
  for (const l of layouts) {
    for (const [name, f] of Object.entries(l.fields)) {
      const member = l.cPrefix + name;
      const key = `${l.name}:${name}`;
      if (f.kind === "bits") {
        out.push(
          `{ union { ${l.cType} s; unsigned char b[sizeof(${l.cType})]; } u; __builtin_memset(&u, 0, sizeof u); ` +
            `u.s.${member} = ~0ULL; int first = -1, n = 0; for (unsigned i = 0; i < sizeof u.b * 8; i++) ` +
            `if (u.b[i / 8] >> (i % 8) & 1) { if (first < 0) first = i; n++; } printf("B ${key} %d %d\\n", first, n); }`,
        );
      } else {
        out.push(
          `printf("F ${key} %lu %lu\\n", (unsigned long)__builtin_offsetof(${l.cType}, ${member}), ` +
            `(unsigned long)sizeof(((${l.cType} *)0)->${member}));`,
        );
      }
    }
  }
  return out;
}

/** TS table name → (key → C enumerator name) for constants that are enums (present in kernel BTF). */
const ENUM_CONSTANTS: [string, Record<string, number>, (k: string) => string][] = [
  ["BPF_CMD", C.BPF_CMD, (k) => `BPF_${k}`],
  ["MAP_TYPE", C.MAP_TYPE, (k) => `BPF_MAP_TYPE_${k}`],
  ["PROG_TYPE", C.PROG_TYPE, (k) => `BPF_PROG_TYPE_${k}`],
  ["ATTACH_TYPE", C.ATTACH_TYPE, (k) => `BPF_${k}`],
  ["LINK_TYPE", C.LINK_TYPE, (k) => `BPF_LINK_TYPE_${k}`],
  ["MAP_FLAGS", C.MAP_FLAGS, (k) => `BPF_F_${k}`],
  ["UPDATE_FLAGS", C.UPDATE_FLAGS, (k) => (k === "LOCK" ? "BPF_F_LOCK" : `BPF_${k}`)],
  ["STATS_TYPE", C.STATS_TYPE, (k) => `BPF_STATS_${k}`],
  ["PERF_TYPE", C.PERF_TYPE, (k) => `PERF_TYPE_${k}`],
  ["PERF_COUNT_SW", C.PERF_COUNT_SW, (k) => `PERF_COUNT_SW_${k}`],
  ["PERF_SAMPLE", C.PERF_SAMPLE, (k) => `PERF_SAMPLE_${k}`],
  ["PERF_RECORD", C.PERF_RECORD, (k) => `PERF_RECORD_${k}`],
  ["PERF_EVENT_LINK_TYPE", C.PERF_EVENT_LINK_TYPE, (k) => `BPF_PERF_EVENT_${k}`],
  ["RINGBUF", C.RINGBUF, (k) => `BPF_RINGBUF_${k}`],
  ["HELPER_IDS", C.HELPER_IDS, (k) => `BPF_FUNC_${k}`],
];

/** Constants that are #defines in UAPI/libc headers (not in BTF): checked against the installed headers. */
const DEFINE_CONSTANTS: [string, Record<string, number>, (k: string) => string][] = [
  ["PROG_FLAGS", C.PROG_FLAGS, (k) => `BPF_F_${k}`],
  ["ATTACH_FLAGS", C.ATTACH_FLAGS, (k) => `BPF_F_${k}`],
  ["QUERY_FLAGS", C.QUERY_FLAGS, (k) => `BPF_F_QUERY_${k}`],
  ["TEST_RUN_FLAGS", C.TEST_RUN_FLAGS, (k) => (k === "ON_CPU" ? "BPF_F_TEST_RUN_ON_CPU" : `BPF_F_TEST_${k}`)],
  ["PSEUDO_LD", C.PSEUDO_LD, (k) => `BPF_PSEUDO_${k}`],
  ["PSEUDO_CALL", { CALL: C.PSEUDO_CALL.CALL, KFUNC_CALL: C.PSEUDO_CALL.KFUNC_CALL }, (k) => `BPF_PSEUDO_${k}`],
  ["PERF_EVENT_IOC", C.PERF_EVENT_IOC, (k) => `PERF_EVENT_IOC_${k}`],
  ["PERF_FLAG", C.PERF_FLAG, (k) => `PERF_FLAG_${k}`],
  ["RLIMIT", C.RLIMIT, (k) => `RLIMIT_${k}`],
  ["PROT", C.PROT, (k) => `PROT_${k}`],
  ["MAP", C.MAP, (k) => `MAP_${k}`],
  ["MS", C.MS, (k) => `MS_${k}`],
  ["SOCKET", C.SOCKET, (k) => k],
  ["misc", { BPF_OBJ_NAME_LEN: C.BPF_OBJ_NAME_LEN, BPF_TAG_SIZE: C.BPF_TAG_SIZE }, (k) => k],
];

function constantChecks(tables: typeof ENUM_CONSTANTS, guard: boolean): string[] {
  const out: string[] = [];
  for (const [table, values, cName] of tables) {
    for (const k of Object.keys(values)) {
      const c = cName(k);
      const print = `printf("E ${table}.${k} %lld\\n", (long long)(${c}));`;
      out.push(guard ? `#ifdef ${c}\n${print}\n#endif` : print);
    }
  }
  return out;
}

interface Parsed {
  fields: Map<string, [number, number]>;
  bits: Map<string, [number, number]>;
  values: Map<string, bigint>;
}

function parse(output: string): Parsed {
  const p: Parsed = { fields: new Map(), bits: new Map(), values: new Map() };
  for (const line of output.split("\n")) {
    const [tag, key, a, b] = line.split(" ");
    if (tag === "F") p.fields.set(key, [Number(a), Number(b)]);
    else if (tag === "B") p.bits.set(key, [Number(a), Number(b)]);
    else if (tag === "E") p.values.set(key, BigInt(a));
  }
  return p;
}

const ALL_LAYOUTS = [...ATTR_LAYOUTS, ...INFO_LAYOUTS, ...PERF_LAYOUTS];

const btfProblem = (): string | undefined => {
  if (!hasGcc()) return "gcc not installed";
  if (!vmlinuxHeader()) return "no kernel BTF (/sys/kernel/btf/vmlinux) or bpftool to generate vmlinux.h";
  return undefined;
};

describe("layouts vs the C compiler (vmlinux.h from kernel BTF)", { skip: btfProblem() }, () => {
  let parsed: Parsed;
  let rejected: string[] = [];
  const get = () => {
    if (!parsed) {
      const header = vmlinuxHeader()!;
      const prologue = `#include "${header}"\nint printf(const char *, ...);`;
      const checks = [...layoutChecks(ALL_LAYOUTS), ...constantChecks(ENUM_CONSTANTS, false)];
      const r = runProbe("btf", prologue, checks, `${osRelease()}:${statSync(header).size}`);
      parsed = parse(r.output);
      rejected = r.rejected;
    }
    return parsed;
  };

  for (const l of ALL_LAYOUTS) {
    test(`${l.name} (${l.cType} ${l.cPrefix || ""}) field offsets and sizes`, (t) => {
      const p = get();
      let checked = 0;
      for (const [name, f] of Object.entries(l.fields)) {
        const key = `${l.name}:${name}`;
        if (f.kind === "bits") {
          const got = p.bits.get(key);
          if (!got) continue;
          assert.deepEqual(got, [f.offset * 8 + (f.bit ?? 0), f.width ?? 1], `bit field ${key}`);
        } else {
          const got = p.fields.get(key);
          if (!got) continue;
          assert.deepEqual(got, [f.offset, f.size], `${key}: [offset, size]`);
        }
        checked++;
      }
      const missing = rejected.filter((line) => line.includes(` ${l.name}:`) || line.includes(`"F ${l.name}:`));
      if (missing.length) t.diagnostic(`${missing.length} member(s) unknown to this kernel were not checked`);
      assert.ok(checked >= Object.keys(l.fields).length - missing.length);
      assert.ok(checked > 0, "at least one field checked");
    });
  }

  test("enum constants match the running kernel", (t) => {
    const p = get();
    let checked = 0;
    for (const [table, values] of ENUM_CONSTANTS) {
      for (const [k, v] of Object.entries(values)) {
        const got = p.values.get(`${table}.${k}`);
        if (got === undefined) continue;
        assert.equal(got, BigInt(v), `${table}.${k}`);
        checked++;
      }
    }
    t.diagnostic(`${checked} enum constants checked, ${rejected.filter((l) => l.includes('"E ')).length} unknown to this kernel`);
    assert.ok(checked > 400);
  });
});

describe("#define constants vs the installed UAPI/libc headers", { skip: hasGcc() ? undefined : "gcc not installed" }, () => {
  test("values match where the headers define them", (t) => {
    const prologue = [
      "#include <stdio.h>",
      "#include <linux/bpf.h>",
      "#include <linux/perf_event.h>",
      "#include <sys/resource.h>",
      "#include <sys/mman.h>",
      "#include <sys/mount.h>",
      "#include <sys/socket.h>",
      "#include <linux/netlink.h>",
    ].join("\n");
    const checks = constantChecks(DEFINE_CONSTANTS, true);
    const r = runProbe("defines", prologue, checks, "v1");
    const p = parse(r.output);
    let checked = 0;
    const unknown: string[] = [];
    for (const [table, values, cName] of DEFINE_CONSTANTS) {
      for (const [k, v] of Object.entries(values)) {
        const got = p.values.get(`${table}.${k}`);
        if (got === undefined) {
          unknown.push(cName(k));
          continue;
        }
        assert.equal(BigInt.asUintN(64, got), BigInt.asUintN(64, BigInt(v)), `${table}.${k} (${cName(k)})`);
        checked++;
      }
    }
    t.diagnostic(`${checked} #define constants checked; not in these headers: ${unknown.join(" ") || "none"}`);
    assert.ok(checked > 50);
  });
});

/* ---------- encoders ---------- */

function dv(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function derefBytes(fake: FakeSys, addr: bigint): Uint8Array {
  const v = fake.deref(addr);
  assert.ok(v, `address 0x${addr.toString(16)} was produced by addressOf`);
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

describe("encoders", () => {
  test("MAP_CREATE writes every field at its offset", () => {
    const fake = new FakeSys();
    withSys(fake, () => {
      const a = encodeMapCreate({
        mapType: C.MAP_TYPE.HASH,
        keySize: 4,
        valueSize: 8,
        maxEntries: 1024,
        mapFlags: C.MAP_FLAGS.NO_PREALLOC,
        mapName: "events",
        btfFd: 7,
        btfKeyTypeId: 3,
        btfValueTypeId: 4,
        mapExtra: 0x1_0000_0001n,
        numaNode: 2,
      });
      const v = dv(a.bytes);
      assert.equal(a.op, "BPF_MAP_CREATE");
      assert.equal(a.bytes.length, MAP_CREATE_LAYOUT.size);
      assert.equal(v.getUint32(0, true), 1);
      assert.equal(v.getUint32(4, true), 4);
      assert.equal(v.getUint32(8, true), 8);
      assert.equal(v.getUint32(12, true), 1024);
      assert.equal(v.getUint32(16, true), 1);
      assert.equal(v.getUint32(24, true), 2);
      assert.equal(new TextDecoder().decode(a.bytes.subarray(28, 34)), "events");
      assert.equal(a.bytes[34], 0);
      assert.equal(v.getUint32(48, true), 7);
      assert.equal(v.getUint32(52, true), 3);
      assert.equal(v.getUint32(56, true), 4);
      assert.equal(v.getBigUint64(64, true), 0x1_0000_0001n);
    });
  });

  test("map element attrs point at the caller's key and value", () => {
    const fake = new FakeSys();
    withSys(fake, () => {
      const key = new Uint32Array([5]);
      const value = new BigUint64Array([9n]);
      const a = encodeMapElem(C.BPF_CMD.MAP_UPDATE_ELEM, 42, key, value, C.UPDATE_FLAGS.NOEXIST);
      const v = dv(a.bytes);
      assert.equal(v.getUint32(0, true), 42);
      assert.equal(fake.deref(v.getBigUint64(8, true)), key);
      assert.equal(fake.deref(v.getBigUint64(16, true)), value);
      assert.equal(v.getBigUint64(24, true), 1n);
      assert.deepEqual(a.refs, [key, value]);
      const first = encodeMapElem(C.BPF_CMD.MAP_GET_NEXT_KEY, 42, null, key);
      assert.equal(dv(first.bytes).getBigUint64(8, true), 0n, "null key encodes as 0");
    });
  });

  test("PROG_LOAD encodes insns, license, log, name, func/line info and fd_array", () => {
    const fake = new FakeSys();
    withSys(fake, () => {
      const insns = new Uint8Array(24);
      const log = new Uint8Array(4096);
      const funcInfo = new Uint8Array(16);
      const lineInfo = new Uint8Array(48);
      const fdArray = new Int32Array([3, 4]);
      const a = encodeProgLoad({
        progType: C.PROG_TYPE.XDP,
        insns,
        license: "GPL",
        logBuf: log,
        logLevel: 2,
        progName: "xdp_pass",
        expectedAttachType: C.ATTACH_TYPE.XDP,
        progBtfFd: 9,
        funcInfo,
        funcInfoRecSize: 8,
        lineInfo,
        lineInfoRecSize: 16,
        attachBtfId: 77,
        attachBtfObjFd: 11,
        fdArray,
        progFlags: C.PROG_FLAGS.XDP_HAS_FRAGS,
        kernVersion: 0x61200,
      });
      const v = dv(a.bytes);
      const f = PROG_LOAD_LAYOUT.fields;
      assert.equal(v.getUint32(f.prog_type.offset, true), 6);
      assert.equal(v.getUint32(f.insn_cnt.offset, true), 3);
      assert.equal(fake.deref(v.getBigUint64(f.insns.offset, true)), insns);
      assert.deepEqual([...derefBytes(fake, v.getBigUint64(f.license.offset, true))], [71, 80, 76, 0]);
      assert.equal(v.getUint32(f.log_level.offset, true), 2);
      assert.equal(v.getUint32(f.log_size.offset, true), 4096);
      assert.equal(fake.deref(v.getBigUint64(f.log_buf.offset, true)), log);
      assert.equal(v.getUint32(f.kern_version.offset, true), 0x61200);
      assert.equal(v.getUint32(f.prog_flags.offset, true), 32);
      assert.equal(new TextDecoder().decode(a.bytes.subarray(48, 56)), "xdp_pass");
      assert.equal(v.getUint32(f.expected_attach_type.offset, true), 37);
      assert.equal(v.getUint32(f.prog_btf_fd.offset, true), 9);
      assert.equal(v.getUint32(f.func_info_rec_size.offset, true), 8);
      assert.equal(v.getUint32(f.func_info_cnt.offset, true), 2);
      assert.equal(v.getUint32(f.line_info_rec_size.offset, true), 16);
      assert.equal(v.getUint32(f.line_info_cnt.offset, true), 3);
      assert.equal(v.getUint32(f.attach_btf_id.offset, true), 77);
      assert.equal(v.getUint32(f.attach_btf_obj_fd.offset, true), 11);
      assert.equal(fake.deref(v.getBigUint64(f.fd_array.offset, true)), fdArray);
      assert.equal(v.getUint32(f.fd_array_cnt.offset, true), 0, "fd_array_cnt stays 0 unless asked (old kernels)");
    });
  });

  test("PROG_LOAD rejects malformed input with INVALID_ARGUMENT", () => {
    withSys(new FakeSys(), () => {
      const bad = (o: Partial<Parameters<typeof encodeProgLoad>[0]>, re: RegExp) =>
        assert.throws(
          () => encodeProgLoad({ progType: 1, insns: new Uint8Array(8), license: "GPL", ...o }),
          (e: unknown) => e instanceof TsbpfError && e.code === "INVALID_ARGUMENT" && re.test(e.message),
        );
      bad({ insns: new Uint8Array(12) }, /multiple of 8/);
      bad({ insns: new Uint8Array(0) }, /non-empty/);
      bad({ progName: "a_very_long_program_name" }, /prog_name.*longer than 15/);
      bad({ funcInfo: new Uint8Array(10), funcInfoRecSize: 8 }, /func_info/);
      bad({ progType: 2 ** 32 }, /prog_type.*u32/);
      bad({ progType: -1 }, /prog_type/);
      bad({ license: "G\0PL" }, /NUL/);
    });
  });

  test("PROG_TEST_RUN sizes come from the buffers", () => {
    const fake = new FakeSys();
    withSys(fake, () => {
      const dataIn = new Uint8Array(64);
      const dataOut = new Uint8Array(128);
      const a = encodeTestRun({ progFd: 5, dataIn, dataOut, repeat: 10 });
      const v = dv(a.bytes);
      assert.equal(v.getUint32(0, true), 5);
      assert.equal(v.getUint32(8, true), 64);
      assert.equal(v.getUint32(12, true), 128);
      assert.equal(fake.deref(v.getBigUint64(16, true)), dataIn);
      assert.equal(fake.deref(v.getBigUint64(24, true)), dataOut);
      assert.equal(v.getUint32(32, true), 10);
    });
  });

  test("LINK_CREATE variants: perf_event cookie, kprobe_multi symbols, uprobe_multi, tcx, netfilter", () => {
    const fake = new FakeSys();
    withSys(fake, () => {
      const f = LINK_CREATE_LAYOUT.fields;
      const pe = dv(
        encodeLinkCreate({
          progFd: 3,
          target: 4,
          attachType: C.ATTACH_TYPE.PERF_EVENT,
          extra: { kind: "perf_event", bpfCookie: 0xdead_beef_cafen },
        }).bytes,
      );
      assert.equal(pe.getUint32(0, true), 3);
      assert.equal(pe.getUint32(4, true), 4);
      assert.equal(pe.getUint32(8, true), 41);
      assert.equal(pe.getBigUint64(f["perf_event.bpf_cookie"].offset, true), 0xdead_beef_cafen);

      const km = encodeLinkCreate({
        progFd: 3,
        attachType: C.ATTACH_TYPE.TRACE_KPROBE_MULTI,
        extra: { kind: "kprobe_multi", syms: ["do_sys_open", "vfs_read"], cookies: [1, 2], flags: 1 },
      });
      const kv = dv(km.bytes);
      assert.equal(kv.getUint32(f["kprobe_multi.flags"].offset, true), 1);
      assert.equal(kv.getUint32(f["kprobe_multi.cnt"].offset, true), 2);
      const syms = fake.deref(kv.getBigUint64(f["kprobe_multi.syms"].offset, true)) as BigUint64Array;
      assert.deepEqual(
        [...syms].map((p) => new TextDecoder().decode(derefBytes(fake, p))),
        ["do_sys_open\0", "vfs_read\0"],
      );
      assert.equal(kv.getBigUint64(f["kprobe_multi.addrs"].offset, true), 0n);
      assert.deepEqual([...(fake.deref(kv.getBigUint64(f["kprobe_multi.cookies"].offset, true)) as BigUint64Array)], [1n, 2n]);
      assert.ok(km.refs.length >= 4, "symbol strings are kept alive with the attr");

      const um = dv(
        encodeLinkCreate({
          progFd: 3,
          attachType: C.ATTACH_TYPE.TRACE_UPROBE_MULTI,
          extra: { kind: "uprobe_multi", path: "/bin/true", offsets: [0x1000n, 0x2000n], pid: 77 },
        }).bytes,
      );
      assert.equal(new TextDecoder().decode(derefBytes(fake, um.getBigUint64(16, true))), "/bin/true\0");
      assert.equal(um.getUint32(f["uprobe_multi.cnt"].offset, true), 2);
      assert.equal(um.getUint32(f["uprobe_multi.pid"].offset, true), 77);

      const tcx = dv(
        encodeLinkCreate({
          progFd: 3,
          target: 2,
          attachType: C.ATTACH_TYPE.TCX_INGRESS,
          flags: C.ATTACH_FLAGS.BEFORE,
          extra: { kind: "tcx", relativeFdOrId: 9, expectedRevision: 5n },
        }).bytes,
      );
      assert.equal(tcx.getUint32(12, true), 8);
      assert.equal(tcx.getUint32(16, true), 9);
      assert.equal(tcx.getBigUint64(24, true), 5n);

      const nf = dv(
        encodeLinkCreate({
          progFd: 3,
          attachType: C.ATTACH_TYPE.NETFILTER,
          extra: { kind: "netfilter", pf: 2, hooknum: 1, priority: -100 },
        }).bytes,
      );
      assert.equal(nf.getInt32(24, true), -100);

      assert.throws(
        () => encodeLinkCreate({ progFd: 3, attachType: 42, extra: { kind: "kprobe_multi", syms: ["a"], cookies: [1, 2] } }),
        (e: unknown) => e instanceof TsbpfError && /cookies has 2 entries, expected 1/.test(e.message),
      );
    });
  });

  test("perf_event_attr: kprobe PMU pointer in config1, flag bits, size", () => {
    const fake = new FakeSys();
    withSys(fake, () => {
      const a = encodePerfEventAttr({
        type: 8,
        config: 1,
        kprobeFunc: "do_sys_openat2",
        probeOffset: 0,
        samplePeriod: 1,
        wakeupEvents: 1,
        flags: { disabled: true, bpf_event: true, exclude_kernel: true },
        preciseIp: 2,
      });
      const v = dv(a.bytes);
      assert.equal(a.bytes.length, PERF_EVENT_ATTR_LAYOUT.size);
      assert.equal(v.getUint32(0, true), 8);
      assert.equal(v.getUint32(4, true), 128);
      assert.equal(v.getBigUint64(8, true), 1n);
      assert.equal(v.getBigUint64(16, true), 1n);
      assert.equal(v.getBigUint64(40, true), (1n << 0n) | (1n << 30n) | (1n << 5n) | (2n << 15n));
      assert.equal(v.getUint32(48, true), 1);
      assert.equal(new TextDecoder().decode(derefBytes(fake, v.getBigUint64(56, true))), "do_sys_openat2\0");
      const freq = dv(encodePerfEventAttr({ type: 1, sampleFreq: 99 }).bytes);
      assert.equal(freq.getBigUint64(16, true), 99n);
      assert.equal(freq.getBigUint64(40, true), 1n << 10n, "sampleFreq sets the freq bit");
      assert.throws(() => encodePerfEventAttr({ type: 1, flags: { nonsense: true } as never }), /unknown flag "nonsense"/);
    });
  });
});

/* ---------- error paths through the fake seam ---------- */

describe("seam error conversion", () => {
  test("an errno from bpf(2) becomes SyscallError with code, errno and operation", () => {
    const fake = new FakeSys().fail("bpf", "EINVAL");
    withSys(fake, () => {
      assert.throws(
        () => bpf.mapUpdate(5, new Uint32Array(1), new Uint32Array(1)),
        (e: unknown) =>
          e instanceof SyscallError &&
          e.code === "EINVAL" &&
          e.errno === 22 &&
          e.operation === "BPF_MAP_UPDATE_ELEM" &&
          e.message === "BPF_MAP_UPDATE_ELEM: Invalid argument (EINVAL)",
      );
    });
    assert.equal(fake.callsOf("bpf")[0].args[0], C.BPF_CMD.MAP_UPDATE_ELEM);
  });

  test("EPERM when not root names the capability (PermissionError); as root it stays a SyscallError", () => {
    const fake = new FakeSys().fail("bpf", "EPERM").fail("bpf", "EPERM");
    fake.euid = 1000;
    withSys(fake, () => {
      assert.throws(
        () => bpf.mapCreate({ mapType: 1, keySize: 4, valueSize: 4, maxEntries: 1 }),
        (e: unknown) =>
          e instanceof PermissionError &&
          e.code === "EPERM" &&
          /BPF_MAP_CREATE/.test(e.message) &&
          /CAP_BPF/.test(e.message) &&
          e.cause instanceof SyscallError,
      );
      fake.euid = 0;
      assert.throws(
        () => bpf.mapCreate({ mapType: 1, keySize: 4, valueSize: 4, maxEntries: 1 }),
        (e: unknown) => e instanceof SyscallError && e.code === "EPERM",
      );
    });
  });

  test("EPERM as root with dropped capabilities names the missing one; with the capability it is not blamed", () => {
    const fake = new FakeSys().fail("bpf", "EPERM").fail("bpf", "EPERM");
    fake.capEff = 1n << BigInt(CAP.NET_ADMIN); // root, but only CAP_NET_ADMIN left
    withSys(fake, () => {
      assert.throws(
        () => bpf.mapCreate({ mapType: 1, keySize: 4, valueSize: 4, maxEntries: 1 }),
        (e: unknown) => e instanceof PermissionError && /lacks CAP_BPF \(or CAP_SYS_ADMIN\)/.test(e.message) && /dropped/.test(e.message),
      );
      fake.euid = 1000;
      fake.capEff = 1n << BigInt(CAP.BPF); // a user granted CAP_BPF: EPERM has another cause
      assert.throws(
        () => bpf.mapCreate({ mapType: 1, keySize: 4, valueSize: 4, maxEntries: 1 }),
        (e: unknown) => e instanceof SyscallError && !(e instanceof PermissionError) && e.code === "EPERM",
      );
    });
    assert.equal(parseCapEff("Name:\tnode\nCapEff:\t000001fffeffffff\nCapBnd:\t0\n"), 0x1fffeffffffn);
    assert.deepEqual(unmetGroups(programLoadNeed("XDP"), 1n << BigInt(CAP.BPF)), [["NET_ADMIN", "SYS_ADMIN"]]);
    assert.deepEqual(unmetGroups(programLoadNeed("KPROBE"), 1n << BigInt(CAP.SYS_ADMIN)), []);
  });

  test("EACCES from PROG_LOAD is never a PermissionError (it is the verifier)", () => {
    const fake = new FakeSys().fail("bpf", "EACCES");
    fake.euid = 1000;
    withSys(fake, () => {
      assert.throws(
        () => bpf.progLoad({ progType: 1, insns: new Uint8Array(8), license: "GPL" }),
        (e: unknown) => e instanceof SyscallError && !(e instanceof PermissionError) && e.code === "EACCES",
      );
    });
  });

  test("capabilities per operation", () => {
    assert.match(capabilityFor("BPF_MAP_CREATE")!, /CAP_BPF/);
    assert.equal(capabilityFor("BPF_PROG_GET_FD_BY_ID"), "CAP_SYS_ADMIN");
    assert.match(capabilityFor("BPF_LINK_CREATE")!, /CAP_NET_ADMIN.*CAP_PERFMON/);
    assert.match(capabilityFor("perf_event_open")!, /CAP_PERFMON/);
    assert.equal(capabilityFor("BPF_PROG_LOAD"), undefined);
    assert.equal(capabilityFor("mmap"), undefined);
  });

  test("perf_event_open EACCES when not root asks for CAP_PERFMON", () => {
    const fake = new FakeSys().fail("perfEventOpen", "EACCES");
    fake.euid = 1000;
    withSys(fake, () => {
      assert.throws(
        () => perfEventOpen({ type: C.PERF_TYPE.TRACEPOINT, config: 1 }, -1, 0),
        (e: unknown) => e instanceof PermissionError && /perf_event_open.*CAP_PERFMON/.test(e.message),
      );
    });
    assert.equal((fake.callsOf("perfEventOpen")[0].args[4] as number) & C.PERF_FLAG.FD_CLOEXEC, C.PERF_FLAG.FD_CLOEXEC);
  });

  test("ENOENT means absent for lookup/delete/get_next_key and end for id iteration", () => {
    const fake = new FakeSys();
    for (let i = 0; i < 4; i++) fake.fail("bpf", "ENOENT");
    withSys(fake, () => {
      assert.equal(bpf.mapLookup(3, new Uint32Array(1), new Uint32Array(1)), false);
      assert.equal(bpf.mapDelete(3, new Uint32Array(1)), false);
      assert.equal(bpf.mapGetNextKey(3, null, new Uint32Array(1)), false);
      assert.deepEqual([...bpf.objectIds("prog")], []);
    });
  });

  test("errors other than ENOENT on the lookup fast path are still typed (and capability-aware)", () => {
    const fake = new FakeSys().fail("bpf", "EPERM").fail("bpf", "EPERM").fail("bpf", "EBADF");
    fake.euid = 1000;
    fake.release = "6.1.0-fake"; // before 6.5, unprivileged_bpf_disabled refused every command without CAP_BPF
    withSys(fake, () => {
      assert.throws(
        () => bpf.mapLookup(3, new Uint32Array(1), new Uint32Array(1)),
        (e: unknown) => e instanceof PermissionError && /BPF_MAP_LOOKUP_ELEM.*CAP_BPF/.test(e.message),
      );
      // Since 6.5 commands on an fd check no capability: EPERM there is the fd's access mode.
      fake.release = "6.18.0-fake";
      assert.throws(
        () => bpf.mapLookup(3, new Uint32Array(1), new Uint32Array(1)),
        (e: unknown) => e instanceof SyscallError && !(e instanceof PermissionError) && e.code === "EPERM",
      );
      assert.throws(
        () => bpf.mapGetNextKey(3, null, new Uint32Array(1)),
        (e: unknown) => e instanceof SyscallError && e.code === "EBADF" && e.operation === "BPF_MAP_GET_NEXT_KEY",
      );
    });
  });

  test("a batch lookup reports done on ENOENT with the count the kernel wrote", () => {
    const fake = new FakeSys().script("bpf", {
      run: (_cmd, attr) => {
        void attr;
        throw Object.assign(new Error("BPF_MAP_LOOKUP_BATCH: No such file or directory"), {
          code: "ENOENT",
          errno: 2,
          syscall: "BPF_MAP_LOOKUP_BATCH",
        });
      },
    });
    withSys(fake, () => {
      const r = bpf.mapLookupBatch(3, { keys: new Uint32Array(4), values: new Uint32Array(4), count: 4, outBatch: new Uint32Array(1) });
      assert.equal(r.done, true);
      assert.equal(r.count, 4, "count not rewritten by the fake stays at the request");
    });
  });

  test("context prefixes the message and PROG_LOAD retries EAGAIN", () => {
    const fake = new FakeSys().fail("bpf", "EAGAIN").fail("bpf", "EAGAIN").script("bpf", { value: 12 });
    withSys(fake, () => {
      const fd = bpf.progLoad({ progType: 1, insns: new Uint8Array(8), license: "GPL", progName: "p" });
      assert.equal(fd.value, 12);
      assert.equal(fake.callsOf("bpf").length, 3);
    });
    const fake2 = new FakeSys().fail("bpf", "E2BIG");
    withSys(fake2, () => {
      assert.throws(
        () => bpf.mapCreate({ mapType: 1, keySize: 4, valueSize: 4, maxEntries: 1, context: 'create map "m"' }),
        (e: unknown) => e instanceof SyscallError && e.message === 'create map "m": BPF_MAP_CREATE: Argument list too long (E2BIG)',
      );
    });
  });

  test("native argument errors become TsbpfError, not TypeError", () => {
    const fake = new FakeSys().script("ioctl", {
      run: () => {
        throw new TypeError("tsbpf native ioctl: expected a number or bigint");
      },
    });
    withSys(fake, () => {
      assert.throws(
        () => sys().ioctl(1, 2, 3),
        (e: unknown) => e instanceof TsbpfError && e.code === "INVALID_ARGUMENT" && /ioctl/.test(e.message),
      );
    });
  });

  test("withSys restores the previous implementation, also after async work and throws", async () => {
    const a = new FakeSys();
    const b = new FakeSys();
    const before = setSys(a);
    try {
      await withSys(b, async () => {
        await new Promise((r) => setTimeout(r, 1));
        sys().uname();
      });
      assert.throws(() => withSys(b, () => { throw new Error("x"); }), /x/);
      sys().uname();
      assert.equal(a.callsOf("uname").length, 1);
      assert.equal(b.callsOf("uname").length, 1);
    } finally {
      setSys(before ?? null);
    }
  });

  test("one poll handle per fd", () => {
    withSys(new FakeSys(), () => {
      const h = sys().poll(7, C.POLL.READABLE, () => {});
      assert.throws(() => sys().poll(7, C.POLL.READABLE, () => {}), (e: unknown) => e instanceof TsbpfError && e.code === "EEXIST");
      h.close();
      h.close();
      sys().poll(7, C.POLL.READABLE, () => {}).close();
    });
  });
});

/* ---------- Fd, system helpers, helper ids ---------- */

describe("Fd", () => {
  test("closes once, refuses use after close, dups independently, disposes", () => {
    const fake = new FakeSys();
    withSys(fake, () => {
      const fd = new Fd(10, "map \"x\"");
      const copy = fd.dup();
      const copyValue = copy.value;
      assert.notEqual(copyValue, 10);
      fd.close();
      fd.close();
      assert.deepEqual(fake.closed, [10]);
      assert.equal(fd.closed, true);
      assert.throws(() => fd.value, (e: unknown) => e instanceof TsbpfError && e.code === "EBADF" && /map "x"/.test(e.message));
      {
        using scoped = copy;
        assert.equal(scoped.closed, false);
      }
      assert.equal(copy.closed, true);
      assert.deepEqual(fake.closed, [10, copyValue]);
      const r = new Fd(11);
      assert.equal(r.release(), 11);
      r.close();
      assert.equal(fake.closed.includes(11), false);
      assert.throws(() => new Fd(-1), TsbpfError);
    });
  });
});

describe("system helpers", () => {
  test("kernel release parsing and version code", () => {
    assert.deepEqual(parseKernelRelease("6.18.44-fc-v669"), {
      major: 6,
      minor: 18,
      patch: 44,
      code: 0x6122c,
      release: "6.18.44-fc-v669",
    });
    assert.equal(parseKernelRelease("5.4.300-generic").code, (5 << 16) + (4 << 8) + 255);
    assert.equal(parseKernelRelease("4.19").patch, 0);
    assert.throws(() => parseKernelRelease("weird"), TsbpfError);
  });

  test("ensureMemlock raises the limit only before 5.11", () => {
    const old = new FakeSys();
    old.release = "5.10.0-21-amd64";
    resetSystemCache();
    withSys(old, () => {
      assert.equal(kernelVersion().minor, 10);
      assert.equal(ensureMemlock(), true);
      assert.equal(ensureMemlock(), false, "idempotent");
    });
    assert.deepEqual(old.callsOf("setrlimit")[0].args, [C.RLIMIT.MEMLOCK, C.RLIM_INFINITY, C.RLIM_INFINITY]);
    const recent = new FakeSys();
    resetSystemCache();
    withSys(recent, () => assert.equal(ensureMemlock(), false));
    assert.equal(recent.callsOf("setrlimit").length, 0);
    resetSystemCache();
  });

  test("ensureBpffs mounts only as root and explains what to do otherwise", () => {
    const dir = join(root, ".cache", "sys-layout", "not-bpffs");
    mkdirSync(dir, { recursive: true });
    const user = new FakeSys();
    user.euid = 1000;
    withSys(user, () => {
      assert.throws(
        () => ensureBpffs(dir),
        (e: unknown) => e instanceof PermissionError && /mount -t bpf bpf/.test(e.message) && /root/.test(e.message),
      );
    });
    assert.equal(user.callsOf("mount").length, 0);
    const rootSys = new FakeSys();
    withSys(rootSys, () => assert.equal(ensureBpffs(dir), dir));
    const [source, target, fstype, , data] = rootSys.callsOf("mount")[0].args;
    assert.deepEqual([source, target, fstype, data], ["bpf", dir, "bpf", "mode=0700"]);
  });

  test("cpu lists and /proc/mounts", () => {
    assert.deepEqual(expandCpuList("0-2,5\n"), [0, 1, 2, 5]);
    assert.equal(parseCpuList("0-3"), 4);
    assert.equal(parseCpuList("0"), 1);
    const m = readMounts("bpf /sys/fs/bpf bpf rw,relatime 0 0\nnone /a\\040b tmpfs rw 0 0\n");
    assert.deepEqual(m.map((e) => [e.target, e.fstype]), [["/sys/fs/bpf", "bpf"], ["/a b", "tmpfs"]]);
  });
});

describe("helper ids", () => {
  test("generated table and lookups", () => {
    assert.equal(C.HELPER_IDS.map_lookup_elem, 1);
    assert.equal(C.HELPER_IDS.ringbuf_output, 130);
    assert.equal(C.helperId("bpf_trace_printk"), 6);
    assert.equal(C.helperId("nope"), undefined);
    assert.equal(C.helperName(130), "bpf_ringbuf_output");
    assert.equal(C.mapTypeName(27), "BPF_MAP_TYPE_RINGBUF");
    assert.equal(C.progTypeName(6), "BPF_PROG_TYPE_XDP");
    assert.equal(C.attachTypeName(37), "BPF_XDP");
    assert.equal(C.bpfCmdName(5), "BPF_PROG_LOAD");
    assert.equal(C.bpfCmdName(99), "BPF_CMD_99");
    assert.match(readFileSync(join(root, "src/sys/helper-ids.ts"), "utf8"), /^\/\/ GENERATED by scripts\/gen-helper-ids\.ts/);
  });

  test("the generator reads both the mapper list and BTF enums", () => {
    const old = "#define __BPF_FUNC_MAPPER(FN) \\\n\tFN(unspec),\t\\\n\tFN(map_lookup_elem),\t\\\n\tFN(map_update_elem),\t\\\n\t/* */\n";
    assert.deepEqual([...parseHelperIds(old)], [["unspec", 0], ["map_lookup_elem", 1], ["map_update_elem", 2]]);
    const numbered = "#define ___BPF_FUNC_MAPPER(FN, ctx...) \\\n\tFN(unspec, 0, ##ctx) \\\n\tFN(ringbuf_output, 130, ##ctx) \\\n\t/* */\n";
    assert.deepEqual([...parseHelperIds(numbered)], [["unspec", 0], ["ringbuf_output", 130]]);
    const btf = "enum bpf_func_id {\n\tBPF_FUNC_unspec = 0,\n\tBPF_FUNC_cgrp_storage_get = 210,\n\t__BPF_FUNC_MAX_ID = 212,\n};";
    assert.deepEqual([...parseHelperIds(btf)], [["unspec", 0], ["cgrp_storage_get", 210]]);
  });
});
