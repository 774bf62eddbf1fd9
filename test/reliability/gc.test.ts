// Objects dropped without close(): when the garbage collector collects them their fds are closed (so
// programs unload, maps go, links detach — netlink attachments too) and a TSBPF_UNCLOSED warning names
// them; explicitly closed objects warn about nothing and never have a reused fd number closed late.
// Each scenario runs in a child process started with --expose-gc (test/reliability/gc-child.ts).

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { REPO_ROOT } from "../helpers/toolchain.js";
import { netnsProblem } from "../helpers/netns.js";
import { privileged } from "../helpers/privileges.js";

interface Warning { code: string | undefined; message: string }
interface Left { progs: number; maps?: number; links?: number; fds?: number }

async function scenario(mode: string): Promise<Record<string, unknown> & { warnings: Warning[]; left?: Left }> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["--expose-gc", "--import", "tsx", join(REPO_ROOT, "test/reliability/gc-child.ts"), mode],
    { cwd: REPO_ROOT, timeout: 120_000, maxBuffer: 16 << 20 },
  );
  const line = stdout.trim().split("\n").pop()!;
  return JSON.parse(line);
}

const unclosed = (ws: Warning[]) => ws.filter((w) => w.code === "TSBPF_UNCLOSED");

describe("reliability: objects collected without close()", privileged(), () => {
  test("20 forgotten collections with attached links leave no program, map, link or fd behind", async () => {
    const r = await scenario("forgotten");
    const created = r.created as Required<Left>;
    assert.equal(created.links, 40);
    assert.ok(created.progs === 40 && created.maps >= 40 && created.fds >= 120, JSON.stringify(created));
    assert.deepEqual(r.left, { progs: 0, maps: 0, links: 0, fds: 0 });
    const text = unclosed(r.warnings).map((w) => w.message).join("\n");
    assert.match(text, /collection "attach_syscalls"/);
    assert.match(text, /program "tp_getpid"/);
    assert.match(text, /program "raw_getpid"/);
    assert.match(text, /map "tp_counts"/);
    assert.match(text, /link tracepoint syscalls\/sys_enter_getpid/);
    assert.match(text, /link raw tracepoint sys_enter/);
  });

  test("forgotten ring and perf buffer readers (after a wait) release their rings, maps and fds", async () => {
    const r = await scenario("readers");
    assert.deepEqual(r.left, { progs: 0, maps: 0, links: 0, fds: 0 });
    const text = unclosed(r.warnings).map((w) => w.message).join("\n");
    assert.match(text, /ring buffer reader \(rb_a\)/);
    assert.match(text, /perf buffer reader/);
  });

  test("a forgotten netlink XDP attachment is detached when collected", privileged(netnsProblem), async () => {
    const r = await scenario("netlink");
    assert.equal(r.attachedProgId, "ours");
    assert.equal(r.xdpProgIdAfter, 0);
    assert.deepEqual(r.left, { progs: 0 });
    assert.match(unclosed(r.warnings).map((w) => w.message).join("\n"), /link xdp on lifecycle0 \(generic\) via netlink/);
  });

  test("closed objects: no warning, and fd numbers reused after close are never closed by a late finalizer", async () => {
    const r = await scenario("closed");
    assert.ok((r.reusedNumbers as number) >= 3, `fd numbers reused: ${String(r.reusedNumbers)}`);
    assert.equal(r.reusedWorking, r.reusedTotal);
    assert.deepEqual(unclosed(r.warnings), []);
  });
});
