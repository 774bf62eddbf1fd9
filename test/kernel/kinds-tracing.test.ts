// Tracing kinds written in TypeScript on this host's kernel (test/fixtures/ts/kinds/): a syscall program run
// with a test run on its declared context, uprobe.multi / uretprobe.multi over a glob on the probe_target
// binary, a sleepable uprobe copying user memory with bpf_copy_from_user, and kprobe/ksyscall/kprobe.multi,
// which load here but attach with a typed error (no kprobes on this host; they run in test/vm/).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { MissingFeatureError, TsbpfError } from "../../src/errors.js";
import { loadCollection, type Collection } from "../../src/runtime/collection.js";
import { readCollectionSpec } from "../../src/object/reader.js";
import { kprobeSupport } from "../../src/runtime/links/kprobe.js";
import { attachUprobe, attachUprobeMulti } from "../../src/runtime/links/uprobe.js";
import { REPO_ROOT } from "../helpers/toolchain.js";
import { compileTs } from "../helpers/compile-ts.js";
import { bpffsProblem, counterAt, u32 } from "../helpers/loader.js";
import { privileged } from "../helpers/privileges.js";
import { probeTarget, runProbeTarget as runTarget } from "../helpers/probes.js";

const KINDS = join(REPO_ROOT, "test/fixtures/ts/kinds");
const loadKind = (name: string): Collection => loadCollection(readCollectionSpec(compileTs(join(KINDS, `${name}.bpf.ts`))));


const u64At = (coll: Collection, map: string, key: number): bigint | undefined => {
  const raw = coll.map(map).getRaw(u32(key));
  return raw && new DataView(raw.buffer, raw.byteOffset, raw.byteLength).getBigUint64(0, true);
};

describe("kinds: syscall program", privileged(), () => {
  test("a test run reads the declared context, writes it back, updates a map and returns the program's value", () => {
    using coll = loadKind("syscall");
    const ctx = new Uint8Array(32);
    const v = new DataView(ctx.buffer);
    v.setBigUint64(0, 40n, true);
    v.setBigUint64(8, 2n, true);
    v.setUint32(28, 6, true);
    // Syscall programs take no ctx_out: the kernel writes the context back into the input buffer.
    assert.equal(coll.program("add").testRun({ ctx, ctxOutSize: 0 }).retval, 0);
    assert.equal(v.getBigUint64(16, true), 42n, "ctx.sum = ctx.a + ctx.b");
    assert.equal(v.getUint32(24, true), process.pid, "ctx.pid = bpf.pid(): the caller");
    assert.equal(v.getUint32(28, true), 7, "ctx.calls += 1");
    v.setBigUint64(0, 100n, true);
    assert.equal(coll.program("add").testRun({ ctx, ctxOutSize: 0 }).retval, 1, "sum 102 > 100");
    assert.equal(u64At(coll, "results", 0), 102n);
    assert.equal(u64At(coll, "results", 1), 2n, "two runs");
    assert.equal(coll.program("add").spec.sleepable, true);
    assert.throws(() => coll.program("add").testRun({ ctx: new Uint8Array(16), ctxOutSize: 0 }), (e: unknown) => e instanceof TsbpfError,
      "a context shorter than the fields the program touches is refused");
  });
});

describe("kinds: uprobe.multi and sleepable uprobes", privileged(bpffsProblem), () => {
  let coll: Collection;
  let bin: string;
  before(() => {
    bin = probeTarget();
    coll = loadKind("uprobe-multi");
  });
  after(() => coll?.close());

  test("uprobeMulti / uretprobeMulti over tsbpf_* see every call's first argument and return value; nothing after close", async () => {
    const entry = attachUprobeMulti(coll.program("onCall"), { binary: bin, pattern: "tsbpf_*" });
    const exit = attachUprobeMulti(coll.program("onReturn"), { binary: bin, pattern: "tsbpf_*" });
    let r;
    try {
      assert.equal(entry.info().uprobeMulti?.count, 2, "tsbpf_add and tsbpf_mul");
      r = await runTarget(5);
      assert.equal(r.code, 0);
    } finally {
      entry.close();
      exit.close();
    }
    assert.equal(counterAt(coll.map("calls"), r.pid), 10, "both functions, 5 rounds each");
    // rounds i = 1..5: tsbpf_add(i, 2i) and tsbpf_mul(i, 3): first arguments 2 * 15, returns 3i + 3i.
    assert.equal(u64At(coll, "argSums", r.pid), 30n);
    assert.equal(u64At(coll, "retSums", r.pid), 90n);
    const r2 = await runTarget(3);
    assert.equal(counterAt(coll.map("calls"), r2.pid), undefined, "nothing after close");
  });

  test("uprobeSleepable copies printf's format string from user memory with bpf.copyFromUser", async () => {
    using coll = loadKind("uprobe-sleepable");
    assert.equal(coll.program("onPrintf").spec.sleepable, true);
    let link: ReturnType<typeof attachUprobe> | undefined;
    const r = await runTarget(2, (pid) => {
      link = attachUprobe(coll.program("onPrintf"), { binary: "libc.so.6", symbol: "printf", pid });
    });
    link!.close();
    assert.equal(r.code, 0);
    const raw = coll.map("formats").getRaw(u32(r.pid));
    assert.ok(raw, "the sleepable uprobe ran in probe_target");
    assert.equal(new TextDecoder().decode(raw), "gated=%l", "the first 8 bytes of \"gated=%ld sum=%ld\\n\"");
  });
});

const kprobes = kprobeSupport();
describe("kinds: kprobe, ksyscall and kprobe.multi on a kernel without kprobes", {
  ...privileged(),
  ...(kprobes.pmu || kprobes.tracefs ? { skip: "this kernel has kprobes (test/vm/compiler-kprobe.test.ts attaches them)" } : {}),
}, () => {
  test("they load; attaching says kprobes are missing", () => {
    using coll = loadKind("kprobe");
    for (const name of ["sending", "sendDone", "opening", "opened"]) {
      assert.throws(() => coll.program(name).attach(), (e: unknown) => e instanceof MissingFeatureError && e.code === "KPROBES_UNSUPPORTED", name);
    }
    for (const name of ["vfsEnter", "vfsExit"]) {
      assert.throws(() => coll.program(name).attach(), (e: unknown) => e instanceof TsbpfError && /KPROBE/.test(e.code), name);
    }
  });
});
