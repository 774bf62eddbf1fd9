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
import { privileged } from "../helpers/privileges.js";

const FIXTURE = resolve(REPO_ROOT, "test", "fixtures", "ts", "log", "log.bpf.ts");
const object = compileTs(FIXTURE);

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
  test("every record arrives, formatted exactly, with its program, pid and level", () => {
    const { lines, records } = run();
    assert.deepEqual(lines, [
      `info pid ${process.pid} comm node addr 10.1.2.3`,
      "warn small 10 hex 302010a low 266 const 42",
    ]);
    for (const r of records) {
      assert.equal(r.program, "onGetppid");
      assert.equal(r.pid, process.pid);
      assert.equal(r.tid, process.pid);
      assert.ok(Math.abs(r.time.getTime() - Date.now()) < 60_000, `the record's time ${r.time.toISOString()} is today's`);
    }
    assert.deepEqual(records.map((r) => r.level), ["info", "warn"]);
  });

  test("minLevel prunes disabled calls in the verifier: no records, fewer instructions", () => {
    const all = run();
    const warn = run("warn");
    const error = run("error");
    assert.deepEqual(warn.lines, ["warn small 10 hex 302010a low 266 const 42"]);
    assert.deepEqual(error.lines, []);
    assert.ok(warn.insns < all.insns, `info pruned: ${warn.insns} < ${all.insns} xlated instructions`);
    assert.ok(error.insns < warn.insns, `warn pruned too: ${error.insns} < ${warn.insns}`);
    console.log(`xlated instructions: all levels ${all.insns}, minLevel warn ${warn.insns}, minLevel error ${error.insns}`);
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
