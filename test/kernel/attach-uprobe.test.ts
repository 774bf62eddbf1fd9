// uprobe/uretprobe/uprobe.multi attachment with real triggers: the probe_target test binary calls
// tsbpf_add/tsbpf_mul; attached programs count per pid and record arguments; detaching stops them.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ElfError, SyscallError, TsbpfError } from "../../src/errors.js";
import { readElfImage, resolveElfSymbol } from "../../src/elf/symbols.js";
import { loadCollection, type Collection } from "../../src/runtime/collection.js";
import { attachUprobe, attachUprobeMulti } from "../../src/runtime/links/uprobe.js";
import { resolveBinaryPath } from "../../src/runtime/links/binary-path.js";
import { listLinks, openPinnedLink } from "../../src/runtime/links/list.js";
import { progInfo } from "../../src/sys/bpf.js";
import { bpffsProblem, bpffsScratch, compileAndRead, counterAt, readGlobal, waitFor } from "../helpers/loader.js";
import { privileged } from "../helpers/privileges.js";
import { probeTarget, runProbeTarget as runTarget } from "../helpers/probes.js";
import { needs } from "../helpers/needs.js";

const SOURCE = "test/fixtures/c/probes/uprobe.bpf.c";


describe("attach: uprobe", privileged(bpffsProblem), () => {
  let coll: Collection;
  let bin: string;
  before(async () => {
    bin = probeTarget();
    coll = loadCollection((await compileAndRead(SOURCE)).spec);
  });
  after(() => coll?.close());

  test("uprobe by symbol counts every call with the right arguments; stops after close", async () => {
    const calls = coll.map("calls");
    const link = coll.program("on_add").attach({ binary: bin, symbol: "tsbpf_add", cookie: 0xabcdefn });
    let first: number;
    try {
      assert.equal(link.isBpfLink, true);
      const r = await runTarget(10);
      assert.equal(r.code, 0);
      first = r.pid;
      assert.equal(counterAt(calls, first), 10);
      assert.equal(Number(readGlobal(coll, "last_a")), 10);
      assert.equal(Number(readGlobal(coll, "last_b")), 20);
      assert.equal(BigInt(readGlobal(coll, "last_cookie") as bigint), 0xabcdefn);
    } finally {
      link.close();
    }
    const r2 = await runTarget(5);
    assert.equal(counterAt(calls, r2.pid), undefined, "nothing counted after close");
  });

  test("uretprobe sees return values", async () => {
    using _link = coll.program("on_add_ret").attach({ binary: bin, symbol: "tsbpf_add" });
    const r = await runTarget(4);
    assert.equal(counterAt(coll.map("rets"), r.pid), 4);
    assert.equal(Number(readGlobal(coll, "last_ret")), 12, "tsbpf_add(4, 8)");
  });

  test("per-pid uprobe ignores other processes", async () => {
    const calls = coll.map("calls");
    let link: ReturnType<typeof attachUprobe> | undefined;
    const mine = await runTarget(6, (pid) => {
      link = attachUprobe(coll.program("on_add"), { binary: bin, symbol: "tsbpf_add", pid });
    });
    const other = await runTarget(6);
    link!.close();
    assert.equal(counterAt(calls, mine.pid), 6);
    assert.equal(counterAt(calls, other.pid), undefined);
  });

  test("uprobe by file offset and by virtual address", async () => {
    const img = readElfImage(new Uint8Array(readFileSync(bin)), bin);
    const sym = resolveElfSymbol(img, "tsbpf_add");
    {
      using _l = attachUprobe(coll.program("on_add"), { binary: bin, offset: sym.fileOffset });
      const r = await runTarget(3);
      assert.equal(counterAt(coll.map("calls"), r.pid), 3);
    }
    {
      using _l = attachUprobe(coll.program("on_add"), { binary: bin, address: sym.address });
      const r = await runTarget(2);
      assert.equal(counterAt(coll.map("calls"), r.pid), 2);
    }
  });

  test("tracefs uprobe_events fallback works and removes its event", async () => {
    const link = attachUprobe(coll.program("on_add"), { binary: bin, symbol: "tsbpf_add", mode: "tracefs" });
    try {
      assert.match(link.description, /tracefs/);
      const r = await runTarget(3);
      assert.equal(counterAt(coll.map("calls"), r.pid), 3);
    } finally {
      link.close();
    }
    const events = readFileSync("/sys/kernel/tracing/uprobe_events", "utf8");
    assert.doesNotMatch(events, new RegExp(`tsbpf/up_${process.pid}_`), "event removed on close");
  });

  test("uprobe on a shared library found through ld.so.cache", async () => {
    const libc = resolveBinaryPath("libc.so.6");
    assert.match(libc, /libc\.so\.6$/);
    // printf in libc, filtered to one probe_target run (which calls it once).
    const calls = coll.map("calls");
    let link: ReturnType<typeof attachUprobe> | undefined;
    const r = await runTarget(1, (pid) => {
      link = attachUprobe(coll.program("on_add"), { binary: "libc.so.6", symbol: "printf", pid });
    });
    link!.close();
    assert.equal(counterAt(calls, r.pid), 1, "probe_target calls printf once");
  });

  test("uprobe.multi over a glob: one link, every matching function", async (t) => {
    if (!needs(t, { linkType: "UPROBE_MULTI" })) return;
    let link;
    try {
      link = attachUprobeMulti(coll.program("on_multi"), { binary: bin, pattern: "tsbpf_*" });
    } catch (e) {
      if (e instanceof TsbpfError && (e.code === "UPROBE_MULTI_UNSUPPORTED" || e.code === "WRONG_PROGRAM_TYPE")) {
        t.skip(e.message);
        return;
      }
      throw e;
    }
    try {
      const r = await runTarget(5);
      assert.equal(counterAt(coll.map("multi"), r.pid), 10, "tsbpf_add and tsbpf_mul, 5 rounds each");
      assert.equal(link.info().uprobeMulti?.count, 2);
    } finally {
      link.close();
    }
    const r = await runTarget(5);
    assert.equal(counterAt(coll.map("multi"), r.pid), undefined);
  });

  test("links: listed with their program, a pinned one outlives its Link, reopened from the pin, gone when unpinned", async () => {
    const scratch = bpffsScratch("uprobe-pin");
    try {
      const pin = join(scratch.dir, "on_add");
      const link = coll.program("on_add").attach({ binary: bin, symbol: "tsbpf_add" });
      const id = link.id;
      const listed = listLinks().find((l) => l.id === id);
      assert.ok(listed, "listLinks() shows the new link");
      assert.equal(listed.typeName, "perf_event");
      assert.equal(listed.progId, progInfo(coll.program("on_add").fd).id);
      link.pin(pin);
      link.close();
      const r = await runTarget(4);
      assert.equal(counterAt(coll.map("calls"), r.pid), 4, "still attached through the pin");
      {
        using reopened = openPinnedLink(pin);
        assert.equal(reopened.id, id);
        // perf_event links have no BPF_LINK_DETACH: the kernel says so with a typed error.
        assert.throws(() => reopened.detach(), (e: unknown) => e instanceof SyscallError && e.code === "EOPNOTSUPP");
      }
      rmSync(pin); // the last reference: the attachment goes away
      assert.ok(await waitFor(() => !listLinks().some((l) => l.id === id)), "the link is gone once unpinned and closed");
      const r2 = await runTarget(4);
      assert.equal(counterAt(coll.map("calls"), r2.pid), undefined, "no longer attached");
    } finally {
      scratch.cleanup();
    }
  });

  test("bad input: unknown symbol, missing binary, bad target, wrong program type, no such pid", () => {
    const p = coll.program("on_add");
    assert.throws(() => p.attach({ binary: bin, symbol: "tsbpf_no_such_function" }), (e: unknown) => e instanceof ElfError && e.code === "SYMBOL_NOT_FOUND" && /tsbpf_no_such_function/.test(e.message));
    assert.throws(() => p.attach({ binary: "/nonexistent/tsbpf-bin", symbol: "main" }), (e: unknown) => e instanceof TsbpfError && e.code === "BINARY_NOT_FOUND");
    assert.throws(() => p.attach({ binary: "libtsbpf-no-such-lib.so.9", symbol: "f" }), (e: unknown) => e instanceof TsbpfError && e.code === "BINARY_NOT_FOUND");
    assert.throws(() => p.attach({ target: "no-colon" }), (e: unknown) => e instanceof TsbpfError && e.code === "ATTACH_BAD_TARGET");
    assert.throws(() => p.attach(), (e: unknown) => e instanceof TsbpfError && e.code === "ATTACH_NEEDS_TARGET");
    assert.throws(() => attachUprobe(coll.program("not_a_uprobe"), { binary: bin, symbol: "tsbpf_add" }), (e: unknown) => e instanceof TsbpfError && e.code === "WRONG_PROGRAM_TYPE");
    assert.throws(() => p.attach({ binary: bin, symbol: "tsbpf_add", pid: 0x3ffffff0 }), (e: unknown) => e instanceof TsbpfError && (e.code === "NO_SUCH_PROCESS" || e instanceof SyscallError));
  });
});
