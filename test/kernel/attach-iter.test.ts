// BPF iterators read for real: task (this process appears), bpf_map_elem over a map the test filled,
// tcp (a listening port appears); as async chunks, readAll/text and synchronously.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { dirname } from "node:path";
import { createServer } from "node:net";
import { TsbpfError } from "../../src/errors.js";
import { ProgramSet, unlessKernelRefuses } from "../helpers/program-set.js";
import { attachIter, IterLink } from "../../src/runtime/links/iter.js";
import { LINK_TYPE } from "../../src/sys/constants.js";
import { vmlinuxHeader } from "../helpers/toolchain.js";
import { bpffsProblem, bpffsScratch, compileAndRead, u32 } from "../helpers/loader.js";
import { haveIterTarget } from "../../src/features.js";
import { privileged } from "../helpers/privileges.js";
import { objGet } from "../../src/sys/bpf.js";
import { needs } from "../helpers/needs.js";

function u64(n: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
}

describe("attach: iterators", privileged(bpffsProblem), () => {
  let coll: ProgramSet;

  before(async () => {
    const { spec } = await compileAndRead("test/fixtures/c/hooks/misc.bpf.c", { includes: [dirname(vmlinuxHeader())] });
    coll = new ProgramSet(spec);
  });

  after(() => coll?.close());

  test("iter/task lists this process; chunks, text() and readAllSync() agree on it", async () => {
    const link = coll.program("dump_tasks").attach();
    assert.ok(link instanceof IterLink);
    assert.equal(link.info().type, LINK_TYPE.ITER);
    const mine = new RegExp(`^${process.pid} \\S+$`, "m");
    assert.match(await link.text(), mine);
    let chunks = 0;
    let all = "";
    for await (const c of link.open(256)) {
      chunks++;
      all += new TextDecoder().decode(c);
    }
    assert.ok(chunks > 1, `small reads give several chunks (${chunks})`);
    assert.match(all, mine);
    assert.match(new TextDecoder().decode(link.open().readAllSync()), mine, "read synchronously");
    link.close();
    assert.throws(() => link.open(), (e: unknown) => e instanceof TsbpfError);
  });

  test("iter/bpf_map_elem walks the map it was given", async (t) => {
    const prog = unlessKernelRefuses(t, "iter/bpf_map_elem programs", () => coll.program("dump_elems"), () => haveIterTarget("bpf_map_elem"));
    if (!prog) return;
    const elems = coll.map("elems");
    for (const [k, v] of [[1, 10], [2, 20], [40, 4000]]) elems.setRaw(u32(k), u64(v));
    using link = attachIter(prog, { map: elems });
    assert.equal(link.info().mapId, elems.info().id);
    assert.ok((link.info().mapId ?? 0) > 0, "the link names the map");
    const lines = (await link.text()).trim().split("\n").sort();
    assert.deepEqual(lines, ["1=10", "2=20", "40=4000"]);
    elems.deleteRaw(u32(2));
    assert.deepEqual((await link.text()).trim().split("\n").sort(), ["1=10", "40=4000"], "each open() is a fresh pass");
  });

  test("iter/tcp shows a listening socket", async (t) => {
    if (!needs(t, { iterTarget: "tcp" })) return;
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    try {
      using link = attachIter(coll.program("dump_tcp"));
      const bytes = await link.readAll();
      assert.ok(new TextDecoder().decode(bytes).split("\n").includes(String(port)), `port ${port} listed`);
    } finally {
      server.close();
    }
  });

  test("a pinned iterator link outlives its handle and can be read from the pin", async () => {
    const scratch = bpffsScratch("iter");
    try {
      const link = coll.program("dump_tasks").attach();
      link.pin(`${scratch.dir}/tasks`);
      link.close();
      const again = new IterLink(objGet(`${scratch.dir}/tasks`), "pinned iterator");
      assert.match(await again.text(), new RegExp(`^${process.pid} `, "m"));
      again.close();
    } finally {
      scratch.cleanup();
    }
  });

  test("bad input: a non-iterator program, a map iterator without a map, two parameters", () => {
    assert.throws(() => attachIter(coll.program("on_sample")), (e: unknown) => e instanceof TsbpfError && e.code === "WRONG_PROGRAM_TYPE");
    assert.throws(() => attachIter(coll.program("dump_elems")), (e: unknown) => e instanceof TsbpfError && e.message.includes("dump_elems"));
    assert.throws(() => attachIter(coll.program("dump_tasks"), { pid: 1, map: coll.map("elems") }),
      (e: unknown) => e instanceof TsbpfError && e.code === "INVALID_ARGUMENT");
  });
});
