// Tracepoint records laid out by tracefs, compiled from TypeScript and run on real events: syscall
// tracepoints typed from their format files (sys_enter_openat's ctx.args.filename/flags, sys_exit_openat's
// ctx.ret) and sched_process_exec's __data_loc filename read with one call; and a USDT program whose
// ctx.arg(n) decodes the probe's note through the argument specs the loader writes.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { closeSync, constants, copyFileSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { runGenVmlinux } from "../../src/cli/commands/gen.js";
import { BtfError } from "../../src/errors.js";
import { loadCollection, readCollectionSpec } from "../../src/index.js";
import type { Collection } from "../../src/runtime/collection.js";
import { compileTs, loadSource } from "../helpers/compile-ts.js";
import { REPO_ROOT } from "../helpers/toolchain.js";
import { spawnGated } from "../helpers/loader.js";
import { privileged } from "../helpers/privileges.js";
import { probeTarget } from "../helpers/probes.js";

const KINDS = resolve(REPO_ROOT, "test", "fixtures", "ts", "kinds");
const u32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
const cstr = (b: Uint8Array) => Buffer.from(b.subarray(0, b.indexOf(0) < 0 ? b.length : b.indexOf(0))).toString();

describe("kinds: syscall tracepoints and __data_loc strings", privileged(), () => {
  let coll: Collection;
  let dir: string;
  before(() => {
    coll = loadCollection(readCollectionSpec(compileTs(join(KINDS, "syscall-tracepoint.bpf.ts"))));
    dir = mkdtempSync(join(tmpdir(), "tsbpf-ktf-"));
  });
  after(() => {
    coll?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("sys_enter_openat reads ctx.args.filename and ctx.args.flags; sys_exit_openat's ctx.ret is the fd", () => {
    using _e = coll.program("openEnter").attach();
    using _x = coll.program("openExit").attach();
    const path = join(dir, `open-${process.pid}-${Date.now()}`);
    const flags = constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_APPEND;
    coll.variable("target").set(process.pid); // fs.openSync runs on the main thread: tid == pid
    let fd: number;
    try {
      fd = openSync(path, flags, 0o600);
    } finally {
      coll.variable("target").set(0);
    }
    closeSync(fd);
    const raw = coll.map("opens").getRaw(u32(0))!;
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    assert.equal(cstr(raw.subarray(16, 144)), path, "the path from the user pointer");
    // libuv adds O_CLOEXEC (0o2000000 on Linux; node's fs.constants lacks it) to every open.
    assert.equal(dv.getInt32(0, true), flags | 0o2000000, "the flags argument");
    assert.equal(dv.getInt32(4, true), 257, "__syscall_nr is openat's (x86-64)");
    assert.equal(dv.getBigInt64(8, true), BigInt(fd), "ctx.ret is the fd openat returned");
  });

  test("sched_process_exec: ctx.filename (__data_loc) is read with one probeReadKernelStr", () => {
    using _l = coll.program("exec").attach();
    const bin = join(dir, `exec-me-${process.pid}`);
    copyFileSync("/bin/true", bin);
    const child = spawnSync(bin, [], { stdio: "ignore" });
    assert.equal(child.status, 0);
    const raw = coll.map("execs").getRaw(u32(child.pid!));
    assert.ok(raw, `sched_process_exec recorded pid ${child.pid}`);
    const len = new DataView(raw.buffer, raw.byteOffset).getBigInt64(0, true);
    assert.equal(cstr(raw.subarray(8)), bin, "the exec'd path");
    assert.equal(len, BigInt(Buffer.byteLength(bin) + 1), "probe_read_kernel_str counts the NUL");
  });
});

describe("kinds: usdt", privileged(), () => {
  let coll: Collection;
  before(() => {
    coll = loadCollection(readCollectionSpec(compileTs(join(KINDS, "usdt.bpf.ts"))));
  });
  after(() => coll?.close());

  test("ctx.arg(n) reads register, signed, constant and pointer arguments; argCount() and cookie() work", async () => {
    const bin = probeTarget();
    const link = coll.program("onTick").attach({ binary: bin, usdt: { provider: "tsbpf", name: "tick" }, cookie: 4242n });
    try {
      const child = spawnGated(bin, ["5"]);
      child.go();
      assert.equal(await child.exited, 0);
    } finally {
      link.close();
    }
    const v = (i: number) => new DataView(coll.map("seen").getRaw(u32(i))!.buffer).getBigInt64(0, true);
    assert.equal(v(0), 5n, "five ticks");
    assert.equal(v(1), 15n, "1+2+3+4+5 (4-byte register argument)");
    assert.equal(v(2), -15000n, "signed 8-byte argument");
    assert.equal(v(3), 42n, "constant argument");
    assert.equal(v(4), 35n, "pointer argument, read with probeReadUser (5 * 7)");
    assert.equal(v(5), 4n, "argCount()");
    assert.equal(v(6), 4242n, "cookie()");
    assert.equal(v(7), 0n, "an argument beyond the count is 0");
  });
});

describe("kinds: usdt with its target in the section", privileged(), () => {
  test("usdt(\"<binary>:tsbpf:tick\") attaches from SEC(\"usdt/<binary>:tsbpf:tick\") alone", async () => {
    const bin = probeTarget();
    const coll = loadSource(`
import { usdt, ArrayMap, i64 } from "tsbpf/kernel";
const sum = new ArrayMap<i64>({ maxEntries: 1 });
export const tick = usdt(${JSON.stringify(`${bin}:tsbpf:tick`)}, (ctx) => {
  const s = sum.lookup(0);
  if (s !== null) sum.update(0, s + ctx.arg(0));
  return 0;
});
`);
    try {
      assert.equal(coll.program("tick").spec.sectionName, `usdt/${bin}:tsbpf:tick`);
      const link = coll.program("tick").attach();
      try {
        const child = spawnGated(bin, ["4"]);
        child.go();
        assert.equal(await child.exited, 0);
      } finally {
        link.close();
      }
      assert.equal(new DataView(coll.map("sum").getRaw(u32(0))!.buffer).getBigInt64(0, true), 10n, "1+2+3+4");
    } finally {
      coll.close();
    }
  });
});

describe("gen vmlinux --syscalls (this kernel's tracefs)", privileged(), () => {
  test("writes SyscallTracepoints from the format files; a syscall tracefs lacks is BTF_GEN_UNKNOWN_TYPE", () => {
    const r = runGenVmlinux({ syscalls: ["openat", "execve"], source: "test" });
    assert.equal(r.syscalls, 4, "enter and exit of both");
    assert.match(r.text, /\/\*\* @tracefs 24 8 const char \* filename \*\/\n {6}readonly filename: UserPtr<u8>;/);
    assert.match(r.text, /\/\*\* @tracefs 40 8 umode_t mode \*\/\n {6}readonly mode: u16;/, "umode_t resolved through BTF");
    assert.match(r.text, /^import type \{[^}]*UserPtr[^}]*\} from "tsbpf\/kernel";$/m);
    assert.throws(() => runGenVmlinux({ syscalls: ["no_such_call"] }), (e: unknown) => e instanceof BtfError && e.code === "BTF_GEN_UNKNOWN_TYPE" && /no_such_call/.test(e.message));
    const dir = mkdtempSync(join(tmpdir(), "tsbpf-ktf-notracefs-"));
    try {
      assert.throws(() => runGenVmlinux({ syscalls: ["openat"], tracefs: dir }), (e: unknown) => e instanceof BtfError && e.code === "BTF_GEN_BAD_OPTION" && /needs tracefs/.test(e.message));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
