// Iterators written in TypeScript (test/fixtures/ts/kinds/iter.bpf.ts), compiled, loaded, attached and
// read for real: the task iterator prints this process's "pid comm" line, task_file one of its fds, tcp a
// listening port the test opened; bpf_map_elem walks a map the test filled (or, where this kernel
// refuses map-element iterators, fails with the typed refusal its feature probe predicts).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { closeSync, openSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { resolve } from "node:path";
import { readCollectionSpec } from "../../src/index.js";
import { haveIterTarget } from "../../src/features.js";
import { attachIter } from "../../src/runtime/links/iter.js";
import { compileTs } from "../helpers/compile-ts.js";
import { u32 } from "../helpers/loader.js";
import { privileged } from "../helpers/privileges.js";
import { ProgramSet, unlessKernelRefuses } from "../helpers/program-set.js";

const FIXTURE = resolve("test/fixtures/ts/kinds/iter.bpf.ts");

function u64(n: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
}

describe("TypeScript iterators", privileged(), () => {
  let set: ProgramSet;

  before(() => {
    set = new ProgramSet(readCollectionSpec(compileTs(FIXTURE)));
  });
  after(() => set?.close());

  /** Objects the iterator `i` counted in map `seen` (the counter is reset first by the caller). */
  const seen = (i: number): bigint => new DataView(set.map("seen").getRaw(u32(i))!.buffer).getBigUint64(0, true);

  test("task: this process's pid and comm, one line per task", async () => {
    using link = attachIter(set.program("dumpTasks"));
    const text = await link.text();
    const comm = readFileSync("/proc/self/comm", "utf8").trim();
    const lines = text.split("\n").filter(Boolean);
    assert.ok(lines.includes(`${process.pid} ${comm}`), `"${process.pid} ${comm}" listed`);
    assert.ok(lines.every((l) => /^\d+ .*$/.test(l)), "every line is pid comm");
    assert.equal(seen(0), BigInt(lines.length), "the program ran once per task (threads too) and printed each");
  });

  test("iter.s/task (sleepable): thread group leaders, this process among them", async () => {
    using link = attachIter(set.program("dumpLeaders"));
    const lines = (await link.text()).split("\n").filter(Boolean);
    assert.ok(lines.includes(String(process.pid)), `${process.pid} listed`);
    assert.equal(new Set(lines).size, lines.length, "one line per process (threads skipped)");
  });

  test("task_file: an fd this process opened, only this process with { pid }", async () => {
    const fd = openSync("/proc/self/status", "r");
    try {
      using link = attachIter(set.program("dumpFiles"), { pid: process.pid });
      const lines = (await link.text()).split("\n").filter(Boolean);
      assert.equal(lines[0], `files of ${process.pid}:`, "meta.seq_num is 0 for the first object");
      const flags = readFileSync(`/proc/self/fdinfo/${fd}`, "utf8").match(/^flags:\s+(\d+)/m)![1]!;
      const mine = lines.find((l) => l.startsWith(`${process.pid} ${fd} `));
      assert.ok(mine, `fd ${fd} listed`);
      // fdinfo prints f_flags in octal, with O_CLOEXEC (a per-fd flag, not in f_flags) added; the program prints hex.
      assert.equal(parseInt(mine.split(" ")[2]!, 16), parseInt(flags, 8) & ~0o2000000, "f_flags read through the file BTF pointer");
      assert.ok(lines.slice(1).every((l) => l.startsWith(`${process.pid} `)), "only this process");
    } finally {
      closeSync(fd);
    }
  });

  test("task_vma: this process's first mapping, as /proc/<pid>/maps shows it", async () => {
    const first = readFileSync(`/proc/${process.pid}/maps`, "utf8").split(" ", 1)[0]!
      .split("-").map((h) => BigInt(`0x${h}`).toString(16)).join("-"); // unpadded, as %lx prints
    using link = attachIter(set.program("dumpVmas"), { pid: process.pid });
    const lines = (await link.text()).split("\n").filter(Boolean);
    assert.ok(lines.includes(first), `mapping ${first} listed`);
  });

  test("bpf_map: the test's own maps by id and name", async () => {
    using link = attachIter(set.program("dumpMaps"));
    const lines = (await link.text()).split("\n");
    const elems = set.map("elems").info();
    assert.ok(lines.includes(`map ${elems.id} ${elems.name}`), `map ${elems.id} ${elems.name} listed`);
  });

  test("tcp: a listening socket's port", async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    try {
      using link = attachIter(set.program("dumpTcp"));
      const lines = (await link.text()).split("\n");
      assert.ok(lines.includes(`listen ${port}`), `port ${port} listed`);
      assert.ok(seen(2) > 0n, "the program counted sockets");
    } finally {
      server.close();
    }
  });

  test("bpf_map_elem: the map's elements, typed key and value", async (t) => {
    const prog = unlessKernelRefuses(t, "iter/bpf_map_elem programs", () => set.program("dumpElems"), () => haveIterTarget("bpf_map_elem"));
    if (!prog) return;
    const elems = set.map("elems");
    for (const [k, v] of [[1, 10], [2, 20], [40, 4000]] as const) elems.setRaw(u32(k), u64(v));
    using link = attachIter(prog, { map: elems });
    assert.deepEqual((await link.text()).split("\n").filter(Boolean).sort(), ["1=10", "2=20", "40=4000"]);
  });
});
