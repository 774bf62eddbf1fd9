// The capabilities docs/token.md lists are enough: a process that is not root (uid 65534) and holds only
// CAP_BPF + CAP_NET_ADMIN loads an XDP program and runs it; one holding only CAP_BPF + CAP_PERFMON loads
// a raw tracepoint program, attaches it and counts real getpid() calls. Each runs in a child under
// setpriv with exactly those capabilities (ambient), and the outcome is read from the program's maps.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { compileC, REPO_ROOT } from "../helpers/toolchain.js";
import { privileged } from "../helpers/privileges.js";

/** Runs `body` (TypeScript; `tsbpf`, `args` in scope) as uid 65534 holding only `caps`; returns its JSON line. */
function asUserWith(caps: string[], body: string, args: string[]): Record<string, unknown> {
  const dir = mkdtempSync(join(tmpdir(), "tsbpf-caps-"));
  chmodSync(dir, 0o755);
  const script = join(dir, "child.mts");
  writeFileSync(script, `import * as tsbpf from ${JSON.stringify(join(REPO_ROOT, "src", "index.ts"))};
const args = process.argv.slice(2);
const report = (e: unknown) => { const x = e as { constructor: { name: string }; code?: string; message: string }; return { error: x.constructor.name, code: x.code, message: x.message }; };
try {
${body}
} catch (e) { console.log(JSON.stringify(report(e))); }
`);
  chmodSync(script, 0o644);
  const list = caps.map((c) => `+${c}`).join(",");
  const r = spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", `--inh-caps=-all,${list}`, `--ambient-caps=-all,${list}`, `--bounding-set=-all,${list}`,
    process.execPath, "--import", "tsx", script, ...args], { cwd: REPO_ROOT, encoding: "utf8", timeout: 60_000, env: { ...process.env, HOME: dir } });
  rmSync(dir, { recursive: true, force: true });
  assert.equal(r.status, 0, `child failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as Record<string, unknown>;
}

describe("least privilege: the documented capabilities are enough", privileged(), () => {
  let dir: string;
  let xdpObj: string;
  let sysObj: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "tsbpf-capobj-"));
    chmodSync(dir, 0o755);
    xdpObj = join(dir, "attach_xdp.o");
    sysObj = join(dir, "attach_syscalls.o");
    copyFileSync(await compileC("test/fixtures/c/attach_xdp.bpf.c"), xdpObj);
    copyFileSync(await compileC("test/fixtures/c/attach_syscalls.bpf.c"), sysObj);
    chmodSync(xdpObj, 0o644);
    chmodSync(sysObj, 0o644);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("CAP_BPF + CAP_NET_ADMIN (not root): load XDP and run it on a packet", () => {
    const out = asUserWith(["bpf", "net_admin"], `
await using coll = await tsbpf.load(args[0]);
const r = coll.program("xdp_count").testRun({ data: new Uint8Array(64), repeat: 3 });
const v = coll.map("xdp_counts").getRaw(new Uint8Array([1, 0, 0, 0]));
console.log(JSON.stringify({ uid: process.getuid!(), retval: r.retval, frames: v ? Number(new DataView(v.buffer, v.byteOffset).getBigUint64(0, true)) : null }));
`, [xdpObj]);
    assert.deepEqual(out, { uid: 65534, retval: 2, frames: 3 }, JSON.stringify(out));
  });

  test("without CAP_NET_ADMIN the XDP load is refused, naming CAP_NET_ADMIN", () => {
    const out = asUserWith(["bpf"], `
await using coll = await tsbpf.load(args[0]);
console.log(JSON.stringify({ loaded: true }));
`, [xdpObj]);
    assert.equal(out.code, "EPERM", JSON.stringify(out));
    assert.match(String(out.message), /CAP_NET_ADMIN/);
  });

  test("CAP_BPF + CAP_PERFMON (not root): load and attach a raw tracepoint, count real getpid() calls", () => {
    const out = asUserWith(["bpf", "perfmon"], `
const { spawnSync } = await import("node:child_process");
await using coll = await tsbpf.load(args[0], { programs: ["raw_getpid"] });
using link = coll.program("raw_getpid").attach();
const calls = (n: number) => {
  const r = spawnSync("python3", ["-c", "import os, sys\\nfor _ in range(int(sys.argv[1])): os.getpid()\\nprint(os.getpid())", String(n)], { encoding: "utf8" });
  const pid = Number(r.stdout.trim());
  const v = coll.map("raw_counts").getRaw(new Uint8Array(new Uint32Array([pid]).buffer));
  return v ? Number(new DataView(v.buffer, v.byteOffset).getBigUint64(0, true)) : 0;
};
const few = calls(5), many = calls(105);
console.log(JSON.stringify({ uid: process.getuid!(), extra: many - few }));
`, [sysObj]);
    assert.deepEqual(out, { uid: 65534, extra: 100 }, JSON.stringify(out));
  });
});
