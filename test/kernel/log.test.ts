// Logging from a TypeScript kernel program, for real: log.info/log.warn records written by a syscall
// tracepoint reach the logger passed to the load as exactly formatted lines (pid, a comm, an IPv4
// address, integers by width and sign, hex); a min level above a call's removes it in the verifier
// (fewer translated instructions, no records); closing the collection drains what was written.

import assert from "node:assert/strict";
import { resolve } from "node:path";
import { describe, test } from "node:test";
import { loadCollection, readCollectionSpec } from "../../src/index.js";
import type { LogLevel, LogRecord } from "../../src/runtime/log.js";
import { progInfo } from "../../src/sys/bpf.js";
import { compileTs } from "../helpers/compile-ts.js";
import { REPO_ROOT } from "../helpers/toolchain.js";
import { bool, bytes, cstring, i64, struct, u64 } from "../../src/types/index.js";
import { privileged } from "../helpers/privileges.js";

const FIXTURE = resolve(REPO_ROOT, "test", "fixtures", "ts", "log", "log.bpf.ts");
const object = compileTs(FIXTURE);
const Net = struct({ hw: bytes(6), v6: bytes(16), name: cstring(8), big: i64, huge: u64, flag: bool });
const DEBUG_LINE = "debug hw 02:42:ac:11:00:0a v6 2001:db8::1 name eth0 big -5 huge 18446744073709551615 flag true bytes 0242ac11000a";

/** Loads the fixture with `minLevel`, triggers it once from this thread, closes; the records and the program's xlated length. */
function run(minLevel?: LogLevel): { lines: string[]; records: LogRecord[]; insns: number } {
  const lines: string[] = [];
  const records: LogRecord[] = [];
  const sink = (level: string) => (m: string, r: LogRecord) => {
    lines.push(`${level} ${m}`);
    records.push(r);
  };
  const coll = loadCollection(readCollectionSpec(object, { name: "log" }), {
    logger: { trace: sink("trace"), debug: sink("debug"), info: sink("info"), warn: sink("warn"), error: sink("error") },
    ...(minLevel ? { minLevel } : {}),
  });
  try {
    const insns = progInfo(coll.program("onGetppid").fd).xlatedProgLen / 8;
    coll.variable("addr").set(0x0302010a); // bytes 10.1.2.3 in memory: network order
    const v6 = Uint8Array.of(0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1);
    coll.map("nets").setRaw(new Uint8Array(4), Net.encode(Net.from({ hw: Uint8Array.of(2, 0x42, 0xac, 0x11, 0, 10), v6, name: "eth0", big: -5n, huge: 2n ** 64n - 1n, flag: true })));
    {
      using _l = coll.program("onGetppid").attach();
      coll.variable("target").set(process.pid); // process.ppid calls getppid(2) on the main thread: tid == pid
      void process.ppid;
      coll.variable("target").set(0);
    }
    return { lines, records, insns };
  } finally {
    coll.close(); // drains: the records are delivered before close returns
  }
}

describe("log: kernel log calls reach the logger", privileged(), () => {
  // The collection is closed right after the trigger, with no turn of the event loop between: the
  // records arrive through close()'s drain.
  test("every record arrives, formatted exactly, with its program, pid and level", () => {
    const { lines, records } = run();
    assert.deepEqual(lines, [
      `info pid ${process.pid} comm node addr 10.1.2.3`,
      "warn small 10 hex 302010a low 266 const 42",
      DEBUG_LINE,
    ]);
    for (const r of records) {
      assert.equal(r.program, "onGetppid");
      assert.equal(r.pid, process.pid);
      assert.equal(r.tid, process.pid);
      assert.ok(Math.abs(r.time.getTime() - Date.now()) < 60_000, `the record's time ${r.time.toISOString()} is today's`);
    }
    assert.deepEqual(records.map((r) => r.level), ["info", "warn", "debug"]);
  });

  test("minLevel prunes disabled calls in the verifier: no records, fewer instructions", () => {
    const all = run();
    const info = run("info");
    const warn = run("warn");
    const error = run("error");
    assert.deepEqual(info.lines.length, 2);
    assert.ok(info.insns < all.insns, `debug pruned: ${info.insns} < ${all.insns} xlated instructions`);
    assert.deepEqual(warn.lines, ["warn small 10 hex 302010a low 266 const 42"]);
    assert.deepEqual(error.lines, []);
    assert.ok(warn.insns < info.insns, `info pruned: ${warn.insns} < ${info.insns} xlated instructions`);
    assert.ok(error.insns < warn.insns, `warn pruned too: ${error.insns} < ${warn.insns}`);
    console.log(`xlated instructions: all levels ${all.insns}, minLevel info ${info.insns}, minLevel warn ${warn.insns}, minLevel error ${error.insns}`);
  });

  test("a flood drops records without blocking the program, and counts each drop", () => {
    const received: string[] = [];
    const coll = loadCollection(readCollectionSpec(compileTs(resolve(REPO_ROOT, "test", "fixtures", "ts", "log", "flood.bpf.ts")), { name: "flood" }), {
      logger: { info: (m) => void received.push(m) },
    });
    const TRIGGERS = 200;
    try {
      coll.map("pads").setRaw(new Uint8Array(4), new Uint8Array(400).fill(0x61));
      using _l = coll.program("flood").attach();
      coll.variable("target").set(process.pid);
      for (let i = 0; i < TRIGGERS; i++) void process.ppid; // synchronous: the reader gets no turn meanwhile
      coll.variable("target").set(0);
      assert.equal(received.length, 0, "nothing is read while the program runs");
    } finally {
      coll.close();
    }
    const dropped = coll.log!.dropped;
    assert.ok(dropped > 0n, "the 256 KiB ring cannot hold 1600 records of 432 bytes");
    assert.ok(received.length > 0);
    assert.equal(BigInt(received.length) + dropped, BigInt(TRIGGERS * 8), "every record was either delivered (at close) or counted as dropped");
    assert.equal(received[0], `0 ${"a".repeat(400)}`);
  });

  test("logger: false starts no reader; the records stay in the ring buffer", () => {
    const coll = loadCollection(readCollectionSpec(object, { name: "log" }), { logger: false });
    try {
      assert.equal(coll.log, undefined);
      assert.equal(coll.map("__tsbpf_log").type, "RINGBUF");
    } finally {
      coll.close();
    }
  });
});
