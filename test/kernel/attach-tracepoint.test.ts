// Tracepoint and raw tracepoint attachment with real triggers: a child process makes getpid() calls,
// the attached programs count them per pid; closing, pinning and unpinning links start and stop that.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { SyscallError, TsbpfError } from "../../src/errors.js";
import { loadCollection, type Collection } from "../../src/runtime/collection.js";
import type { BpfMap } from "../../src/runtime/map.js";
import { attachKprobe } from "../../src/runtime/links/kprobe.js";
import { attachRawTracepoint } from "../../src/runtime/links/raw-tracepoint.js";
import { attachTracepoint } from "../../src/runtime/links/tracepoint.js";
import { attachTracing } from "../../src/runtime/links/tracing.js";
import { linkInfo, progInfo } from "../../src/sys/bpf.js";
import { LINK_TYPE } from "../../src/sys/constants.js";
import {
  bpffsProblem,
  bpffsScratch,
  compileAndRead,
  counterAt,
  readGlobal,
  runTrigger,
  sleep,
  spawnGated,
  triggerProgram,
  u32,
  waitFor,
  writeGlobal,
} from "../helpers/loader.js";
import { privileged } from "../helpers/privileges.js";

const SOURCE = "test/fixtures/c/attach_syscalls.bpf.c";

describe("attach: tracepoint and raw tracepoint", privileged(bpffsProblem), () => {
  let coll: Collection;
  let tpCounts: BpfMap;
  let rawCounts: BpfMap;

  before(async () => {
    const { spec } = await compileAndRead(SOURCE);
    coll = loadCollection(spec);
    tpCounts = coll.map("tp_counts");
    rawCounts = coll.map("raw_counts");
    triggerProgram(); // build it before timing-sensitive tests
  });
  after(() => coll?.close());

  for (const [prog, mapName, what] of [
    ["tp_getpid", "tp_counts", "tracepoint syscalls/sys_enter_getpid"],
    ["raw_getpid", "raw_counts", "raw tracepoint sys_enter"],
  ] as const) {
    test(`${what}: counts a child's getpid calls exactly while attached, nothing after close`, async () => {
      const map = coll.map(mapName);
      const link = coll.program(prog).attach();
      let first: number;
      let second: number;
      try {
        assert.equal(link.closed, false);
        // A tracepoint is a perf event bound with a BPF perf_event link; a raw tracepoint is its own link.
        assert.equal(link.info().type, prog === "tp_getpid" ? LINK_TYPE.PERF_EVENT : LINK_TYPE.RAW_TRACEPOINT);
        first = await runTrigger("getpid", 25);
        second = await runTrigger("getpid", 3);
        assert.equal(counterAt(map, first), 25, "25 calls counted under the first child's pid");
        assert.equal(counterAt(map, second), 3, "3 calls under the second's");
      } finally {
        link.close();
      }
      assert.equal(link.closed, true);
      const third = await runTrigger("getpid", 25);
      assert.equal(counterAt(map, third), undefined, "nothing counted after close");
      assert.equal(counterAt(map, first), 25, "earlier counts stay");
    });
  }

  test("a .bss global written while attached steers the program (target_tgid)", async () => {
    using link = coll.program("tp_getpid").attach();
    using link2 = coll.program("raw_getpid").attach();
    const child = spawnGated(triggerProgram(), ["getpid", "40"]);
    writeGlobal(coll, "target_tgid", u32(child.pid));
    child.go();
    assert.equal(await child.exited, 0);
    assert.equal(readGlobal(coll, "target_tgid"), child.pid);
    assert.equal(readGlobal(coll, "tp_target_hits"), 40);
    assert.equal(readGlobal(coll, "raw_target_hits"), 40);
    // Another process does not count as the target.
    await runTrigger("getpid", 5);
    assert.equal(readGlobal(coll, "tp_target_hits"), 40);
    writeGlobal(coll, "target_tgid", u32(0));
    assert.ok(link.isBpfLink && link2.isBpfLink);
  });

  test("attach cookies reach bpf_get_attach_cookie", async () => {
    const tpCookie = 0x0123_4567_89ab_cdefn;
    const rawCookie = 0xfedc_ba98_7654_3210n;
    {
      using _tp = coll.program("tp_getpid").attach({ cookie: tpCookie });
      using _raw = coll.program("raw_getpid").attach({ cookie: rawCookie });
      await runTrigger("getpid", 1);
    }
    assert.equal(BigInt(readGlobal(coll, "tp_cookie") as number | bigint), tpCookie);
    assert.equal(BigInt(readGlobal(coll, "raw_cookie") as number | bigint), rawCookie);
  });

  test("link info names the program", () => {
    using link = coll.program("raw_getpid").attach();
    const info = link.info();
    assert.ok(info.id > 0);
    assert.equal(link.id, info.id);
    assert.equal(info.progId, progInfo(coll.program("raw_getpid").fd).id);
    assert.equal(linkInfo(link.fd).id, info.id);
  });

  test("a pinned link outlives its Link object; removing the pin detaches", async () => {
    const scratch = bpffsScratch("link-pin");
    try {
      const pin = join(scratch.dir, "raw_getpid");
      const link = coll.program("raw_getpid").attach();
      link.pin(pin);
      assert.equal(link.pinnedAt, pin);
      link.close();
      assert.ok(link.closed);
      assert.ok(existsSync(pin));
      const whileClosed = await runTrigger("getpid", 7);
      assert.equal(counterAt(rawCounts, whileClosed), 7, "the pinned link still runs the program");

      rmSync(pin);
      // The kernel releases an unpinned link asynchronously: wait until a trigger is no longer counted.
      let stopped = false;
      for (let i = 0; i < 40 && !stopped; i++) {
        const pid = await runTrigger("getpid", 1);
        stopped = counterAt(rawCounts, pid) === undefined;
        if (!stopped) await sleep(50);
      }
      assert.ok(stopped, "removing the pin detached the program");
      const after = await runTrigger("getpid", 7);
      assert.equal(counterAt(rawCounts, after), undefined);
    } finally {
      scratch.cleanup();
    }
  });

  test("closing the program closes its unpinned links", async () => {
    const { spec } = await compileAndRead(SOURCE);
    const own = loadCollection(spec, { programs: ["tp_getpid"] });
    const link = own.program("tp_getpid").attach();
    const counted = await runTrigger("getpid", 2);
    assert.equal(counterAt(own.map("tp_counts"), counted), 2);
    const counts = own.map("tp_counts");
    own.program("tp_getpid").close();
    assert.ok(link.closed, "the link closed with its program");
    // The map is still open; the detached program no longer counts.
    const notCounted = await runTrigger("getpid", 2);
    assert.equal(counterAt(counts, notCounted), undefined);
    own.close();
  });

  test("bad attach targets fail with typed errors", () => {
    const tp = coll.program("tp_getpid");
    assert.throws(() => tp.attach({ target: "no_slash" }), (e: unknown) => e instanceof TsbpfError && e.code === "ATTACH_BAD_TARGET");
    assert.throws(
      () => tp.attach({ target: "syscalls/sys_enter_tsbpf_no_such_call" }),
      (e: unknown) => e instanceof TsbpfError && e.code === "TRACEPOINT_MISSING" && /sys_enter_tsbpf_no_such_call/.test(e.message),
    );
    assert.throws(
      () => coll.program("raw_getpid").attach({ target: "tsbpf_no_such_raw_tp" }),
      (e: unknown) => e instanceof TsbpfError && e.code === "TRACEPOINT_MISSING" && /tsbpf_no_such_raw_tp/.test(e.message) && (e.cause as SyscallError).code === "ENOENT",
    );
    assert.throws(() => attachTracepoint(coll.program("raw_getpid"), "syscalls/sys_enter_getpid"),
      (e: unknown) => e instanceof TsbpfError && e.code === "WRONG_PROGRAM_TYPE" && /RAW_TRACEPOINT program/.test(e.message));
    assert.throws(() => attachRawTracepoint(tp, "sys_enter"),
      (e: unknown) => e instanceof TsbpfError && e.code === "WRONG_PROGRAM_TYPE");
    assert.throws(() => attachKprobe(tp, { symbol: "do_nanosleep" }),
      (e: unknown) => e instanceof TsbpfError && e.code === "WRONG_PROGRAM_TYPE");
    assert.throws(() => attachTracing(tp),
      (e: unknown) => e instanceof TsbpfError && e.code === "WRONG_PROGRAM_TYPE");
    // A failed attach leaves nothing behind: a normal attach still works.
    using link = tp.attach();
    assert.equal(link.closed, false);
  });
});
