// examples/opensnoop for real: main.ts runs as a child filtered on this test's pid; files this process
// opens (an existing one, a new one, a missing one) are printed with the right fd, errno, flags and path.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { privileged } from "../helpers/privileges.js";
import { runExample } from "./examples-run.js";

interface Row { pid: number; tid: number; comm: string; fd: number; err: string; flags: string; path: string }

function parse(line: string): Row | undefined {
  const m = /^(\d+)\s+(\d+)\s+(\S+)\s+(-?\d+) (E[A-Z0-9]+)?\s+[\d.]+\s+(O_\S+)\s+(.*)$/.exec(line);
  if (!m) return undefined;
  return { pid: Number(m[1]), tid: Number(m[2]), comm: m[3]!, fd: Number(m[4]), err: m[5] ?? "", flags: m[6]!, path: m[7]! };
}

function tryOpen(path: string, flags: string): number | string {
  try {
    return openSync(path, flags);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? "error";
  }
}

describe("examples/opensnoop", privileged(), () => {
  const dir = mkdtempSync(join(tmpdir(), "tsbpf-opensnoop-"));
  const existing = join(dir, "existing.txt");
  writeFileSync(existing, "hello");
  const created = join(dir, "created.txt");
  const missing = join(dir, "no-such-dir", "missing.txt");

  test("prints this process's opens with fd, errno, flags and path", async () => {
    const run = runExample("opensnoop", ["--pid", String(process.pid), "--duration", "20"]);
    try {
      await run.waitForLine(/^PID\s+TID\s+COMM/);
      const fdA = tryOpen(existing, "r");
      const fdB = tryOpen(created, "w");
      const errC = tryOpen(missing, "r");
      assert.equal(typeof fdA, "number");
      assert.equal(typeof fdB, "number");
      assert.equal(errC, "ENOENT");
      await run.waitForLine(/missing\.txt$/, 10_000);
      const { lines, code } = await run.stop();
      assert.equal(code, 0);
      const rows = lines.map(parse).filter((r): r is Row => r !== undefined);
      assert.ok(rows.every((r) => r.pid === process.pid), "only this process (the --pid filter in the kernel)");
      const a = rows.find((r) => r.path === existing);
      const b = rows.find((r) => r.path === created);
      const c = rows.find((r) => r.path === missing);
      assert.ok(a && b && c, `all three opens seen:\n${lines.join("\n")}`);
      assert.equal(a.fd, fdA);
      assert.equal(a.tid, process.pid, "opened on the main thread");
      assert.equal(a.err, "");
      assert.match(a.flags, /^O_RDONLY\|O_CLOEXEC$/);
      assert.equal(b.fd, fdB);
      assert.match(b.flags, /^O_WRONLY\|O_CREAT\|O_TRUNC\|O_CLOEXEC$/);
      assert.equal(c.fd, -1);
      assert.equal(c.err, "ENOENT");
      closeSync(fdA as number);
      closeSync(fdB as number);
    } finally {
      await run.stop();
    }
  });

  test("--failed prints only the failed opens", async () => {
    const run = runExample("opensnoop", ["--pid", String(process.pid), "--failed", "--duration", "20"]);
    try {
      await run.waitForLine(/^PID\s+TID\s+COMM/);
      const fd = tryOpen(existing, "r");
      assert.equal(typeof fd, "number");
      closeSync(fd as number);
      assert.equal(tryOpen(missing, "r"), "ENOENT");
      await run.waitForLine(/missing\.txt$/, 10_000);
      const { lines } = await run.stop();
      const rows = lines.map(parse).filter((r): r is Row => r !== undefined);
      assert.ok(rows.length > 0);
      assert.ok(rows.every((r) => r.fd === -1 && r.err !== ""), `only failures:\n${lines.join("\n")}`);
      assert.ok(!rows.some((r) => r.path === existing), "the successful open is filtered in the kernel");
    } finally {
      await run.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
