// End to end for the TypeScript compiler: examples/execsnoop/execsnoop.bpf.ts loaded straight from
// source (compiled, cached by content), attached, fed real execs; `tsbpf build` output loads in libbpf.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ExecEvent } from "../../examples/execsnoop/common.js";
import { load } from "../../src/index.js";
import { RingBufReader } from "../../src/runtime/ringbuf.js";
import { bpftoolPath, REPO_ROOT } from "../helpers/toolchain.js";
import { privileged } from "../helpers/privileges.js";

type Exec = ReturnType<typeof ExecEvent.decode>;

function runChild(file: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: "ignore" });
    child.on("error", reject);
    child.on("exit", () => resolve(child.pid!));
  });
}

const cache = mkdtempSync(join(tmpdir(), "tsbpf-cache-"));
process.env.TSBPF_CACHE_DIR = cache;
process.on("exit", () => rmSync(cache, { recursive: true, force: true }));

test("execsnoop.bpf.ts: each exec arrives with its pid, parent (CO-RE read), uid, comm and filename, and is counted", privileged(), async () => {
  await using obj = await load(new URL("../../examples/execsnoop/execsnoop.bpf.ts", import.meta.url));
  assert.ok(readdirSync(cache).some((f) => f.endsWith(".o")), "the compiled object is cached");
  using events = new RingBufReader(obj.map("events"));
  const seen: Exec[] = [];
  const reading = (async () => {
    for await (const ev of events.records(ExecEvent)) seen.push(ev);
  })();
  const pids: number[] = [];
  {
    using link = obj.program("onExec").attach();
    assert.equal(link.description, "tracepoint sched/sched_process_exec");
    for (let i = 0; i < 3; i++) pids.push(await runChild("/bin/true", []));
    pids.push(await runChild("/bin/sh", ["-c", "exit 0"]));
    const deadline = Date.now() + 3000;
    while (!pids.every((p) => seen.some((e) => e.pid === p)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  }
  const afterDetach = await runChild("/bin/true", []);
  await new Promise((r) => setTimeout(r, 50));
  events.close();
  await reading;
  const execs = obj.map("execs");
  for (const [i, pid] of pids.entries()) {
    const mine = seen.filter((e) => e.pid === pid);
    assert.equal(mine.length, 1, `one event for child ${pid}`);
    const ev = mine[0]!;
    assert.equal(ev.ppid, process.pid, "parent is this process (task->real_parent->tgid)");
    assert.equal(ev.uid, process.getuid!());
    assert.equal(ev.comm, i < 3 ? "true" : "sh");
    assert.match(ev.filename, i < 3 ? /^\/(usr\/)?bin\/true$/ : /^\/(usr\/)?bin\/sh$/);
    const key = new Uint8Array(4);
    new DataView(key.buffer).setUint32(0, pid, true);
    const count = execs.getRaw(key);
    assert.ok(count, `execs[${pid}] exists`);
    assert.equal(new DataView(count.buffer, count.byteOffset).getBigUint64(0, true), 1n, "counted once");
  }
  assert.ok(!seen.some((e) => e.pid === afterDetach), "no event once the link is closed");
});

test("load() of a .bpf.ts reuses the cached object until a source file changes", privileged(), async () => {
  const dir = mkdtempSync(join(tmpdir(), "tsbpf-src-"));
  try {
    const file = join(dir, "count.bpf.ts");
    const src = (n: number) => `import { xdp, ArrayMap, type u64 } from "tsbpf/kernel";\nconst hits = new ArrayMap<u64>({ maxEntries: 1 });\nexport const count = xdp(() => { hits.increment(0, ${n}n); return 2; });\n`;
    writeFileSync(file, src(1));
    const run = async (): Promise<bigint> => {
      await using obj = await load(file);
      obj.program("count").testRun({ data: new Uint8Array(64), repeat: 3 });
      const v = obj.map("hits").getRaw(new Uint8Array(4))!;
      return new DataView(v.buffer, v.byteOffset).getBigUint64(0, true);
    };
    assert.equal(await run(), 3n);
    const cached = readdirSync(cache).filter((f) => f.endsWith(".o")).map((f) => readFileSync(join(cache, f)).length);
    assert.equal(await run(), 3n, "same result from the cache");
    writeFileSync(file, src(5));
    assert.equal(await run(), 15n, "a changed source is recompiled");
    assert.ok(cached.length > 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("tsbpf build writes an object that libbpf (bpftool prog loadall) loads; errors exit 1 with coded diagnostics", privileged(), () => {
  const dir = mkdtempSync(join(tmpdir(), "tsbpf-build-"));
  const pin = `/sys/fs/bpf/tsbpf-build-${process.pid}`;
  try {
    const out = join(dir, "execsnoop.bpf.o");
    const cli = [join(REPO_ROOT, "node_modules/tsx/dist/cli.mjs"), join(REPO_ROOT, "src/cli/main.ts")];
    const env = { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" }; // CI=true makes picocolors colour otherwise
    const ok = spawnSync(process.execPath, [...cli, "build", join(REPO_ROOT, "examples/execsnoop/execsnoop.bpf.ts"), "-o", out], { encoding: "utf8", env });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /program onExec \(tracepoint\/sched\/sched_process_exec/);
    assert.ok(existsSync(out));
    const bt = spawnSync(bpftoolPath(), ["prog", "loadall", out, pin], { encoding: "utf8" });
    assert.equal(bt.status, 0, bt.stderr);
    assert.ok(readdirSync(pin).includes("onExec"));

    const bad = join(dir, "bad.bpf.ts");
    writeFileSync(bad, `import { xdp } from "tsbpf/kernel";\nexport const p = xdp((ctx) => {\n  let x = 1.5;\n  do {} while (true);\n  return 2;\n});\n`);
    const fail = spawnSync(process.execPath, [...cli, "build", bad, "-o", join(dir, "bad.o")], { encoding: "utf8", env });
    assert.equal(fail.status, 1);
    assert.match(fail.stderr, /bad\.bpf\.ts:3:11 - error TSBPF1007: floating-point/);
    assert.match(fail.stderr, /bad\.bpf\.ts:4:3 - error TSBPF1006: do\.\.\.while loops are not supported/);
    assert.ok(!existsSync(join(dir, "bad.o")));
  } finally {
    rmSync(pin, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }
});
