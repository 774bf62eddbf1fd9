// USDT attachment with libbpf's usdt.bpf.h: the probe_target binary fires tsbpf:tick (register and
// constant arguments, a pointer) and tsbpf:gated (only while its semaphore is raised by an attached probe).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { readUsdtNotes } from "../../src/elf/notes.js";
import { readElfImage } from "../../src/elf/symbols.js";
import { TsbpfError } from "../../src/errors.js";
import { loadCollection, type Collection } from "../../src/runtime/collection.js";
import { attachUsdt, type UsdtLink } from "../../src/runtime/links/usdt.js";
import { bpffsProblem, compileAndRead, readGlobal, spawnGated, writeGlobal } from "../helpers/loader.js";
import { privileged } from "../helpers/privileges.js";
import { probeTarget } from "../helpers/probes.js";

const SOURCE = "test/fixtures/c/probes/usdt.bpf.c";

async function runTarget(n: number, setup?: (pid: number) => void): Promise<{ pid: number; code: number; out: string }> {
  const child = spawnGated(probeTarget(), [String(n)]);
  try {
    setup?.(child.pid);
  } finally {
    child.go();
  }
  return { pid: child.pid, code: await child.exited, out: "" };
}

const n = (v: unknown) => Number(v as number | bigint);
const zero8 = () => new Uint8Array(8);

describe("attach: usdt", privileged(bpffsProblem), () => {
  let coll: Collection;
  let bin: string;
  before(async () => {
    bin = probeTarget();
    coll = loadCollection((await compileAndRead(SOURCE)).spec);
  });
  after(() => coll?.close());

  test("the test binary's notes parse: tick has 4 args (reg, reg, const, reg), both probes have semaphores", () => {
    const notes = readUsdtNotes(readElfImage(new Uint8Array(readFileSync(bin)), bin));
    const tick = notes.find((x) => x.name === "tick");
    const gated = notes.find((x) => x.name === "gated");
    assert.ok(tick && gated);
    assert.equal(tick.provider, "tsbpf");
    assert.equal(tick.args.length, 4);
    assert.deepEqual(tick.args.map((a) => a.size), [4, 8, 4, 8]);
    assert.equal(tick.args[2].kind, "const");
    assert.equal(tick.args[2].value, 42n);
    assert.ok(tick.semaphoreOffset > 0n && gated.semaphoreOffset > 0n);
  });

  test("bpf_usdt_arg reads every argument; bpf_usdt_cookie and bpf_usdt_arg_cnt work; stops after close", async () => {
    const link = coll.program("on_tick").attach({ binary: bin, usdt: { provider: "tsbpf", name: "tick" }, cookie: 777n }) as UsdtLink;
    try {
      assert.equal(link.sites.length, 1);
      const r = await runTarget(5);
      assert.equal(r.code, 0);
      assert.equal(n(readGlobal(coll, "ticks")), 5);
      assert.equal(n(readGlobal(coll, "tick_sum")), 15, "1+2+3+4+5");
      assert.equal(n(readGlobal(coll, "neg_sum")), -15000, "signed 8-byte argument");
      assert.equal(n(readGlobal(coll, "const_arg")), 42, "constant argument");
      assert.equal(n(readGlobal(coll, "deref_arg")), 35, "pointer argument read with bpf_probe_read_user (5 * 7)");
      assert.equal(n(readGlobal(coll, "arg_cnt")), 4);
      assert.equal(n(readGlobal(coll, "cookie")), 777);
    } finally {
      link.close();
    }
    await runTarget(3);
    assert.equal(n(readGlobal(coll, "ticks")), 5, "no more ticks after close");
  });

  test("the semaphore is raised only while attached (per pid)", async () => {
    writeGlobal(coll, "gated", zero8());
    let link: ReturnType<typeof attachUsdt> | undefined;
    const r = await runTarget(7, (pid) => {
      link = attachUsdt(coll.program("on_gated"), { binary: bin, provider: "tsbpf", name: "gated", pid });
    });
    link!.close();
    assert.equal(r.code, 0);
    assert.equal(n(readGlobal(coll, "gated")), 7, "every round saw the semaphore set and fired the probe");
    await runTarget(4);
    assert.equal(n(readGlobal(coll, "gated")), 7, "no probe, no semaphore: the gated branch is skipped");
  });

  test("two USDT attachments use separate spec slots", async () => {
    writeGlobal(coll, "gated", zero8());
    writeGlobal(coll, "ticks", zero8());
    using _a = coll.program("on_tick").attach({ binary: bin, usdt: { provider: "tsbpf", name: "tick" }, cookie: 1n });
    using _b = coll.program("on_gated").attach({ binary: bin, usdt: { provider: "tsbpf", name: "gated" } });
    await runTarget(3);
    assert.equal(n(readGlobal(coll, "ticks")), 3);
    assert.equal(n(readGlobal(coll, "gated")), 3);
    assert.equal(n(readGlobal(coll, "cookie")), 1);
  });

  test("bad input: unknown probe, bad target, binary without notes", () => {
    const p = coll.program("on_tick");
    assert.throws(() => p.attach({ binary: bin, usdt: { provider: "tsbpf", name: "nope" } }), (e: unknown) => e instanceof TsbpfError && e.code === "USDT_NOT_FOUND" && /tsbpf:nope/.test(e.message));
    assert.throws(() => p.attach({ target: "just-a-binary" }), (e: unknown) => e instanceof TsbpfError && e.code === "ATTACH_BAD_TARGET");
    assert.throws(() => p.attach({ binary: "/bin/true", usdt: { provider: "x", name: "y" } }), (e: unknown) => e instanceof TsbpfError && e.code === "USDT_NOT_FOUND");
  });
});
