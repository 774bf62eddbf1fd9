// examples/gethostlatency for real: main.ts puts uprobes and uretprobes on libc's lookup functions; a
// perl process's getaddrinfo calls (filtered by pid) and getent's gethostbyname2 calls are printed with
// the right process, function, host name and result.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import { privileged } from "../helpers/privileges.js";
import { runExample } from "./examples-run.js";

interface Row { pid: number; comm: string; func: string; ms: number; result: string; host: string }

function parse(line: string): Row | undefined {
  const m = /^\d\d:\d\d:\d\d\s+(\d+)\s+(\S+)\s+(getaddrinfo|gethostbyname\*)\s+([\d.]+)\s+(.+?)\s+(\S+)$/.exec(line);
  return m ? { pid: Number(m[1]), comm: m[2]!, func: m[3]!, ms: Number(m[4]), result: m[5]!, host: m[6]! } : undefined;
}

describe("examples/gethostlatency", privileged(), () => {
  test("getaddrinfo calls of one process (--pid): host, result and latency", async () => {
    // Waits for stdin, then resolves localhost twice: once fine, once with an unknown service (EAI_SERVICE).
    const script = `$|=1; use Socket; <STDIN>;
      my ($e) = Socket::getaddrinfo("localhost", "80"); print "ok:$e\\n";
      ($e) = Socket::getaddrinfo("localhost", "no-such-service-xyz"); print "bad:", 0+$e, "\\n";`;
    const perl = spawn("perl", ["-e", script], { stdio: ["pipe", "pipe", "inherit"] });
    const output = (async () => { let s = ""; for await (const c of perl.stdout!) s += c; return s; })();
    const run = runExample("gethostlatency", ["--pid", String(perl.pid), "--duration", "60"]);
    try {
      await run.waitForLine(/^TIME\s+PID/);
      // Another process's lookup, which the pid filter must keep out.
      await promisify(execFile)("getent", ["ahosts", "localhost"]);
      perl.stdin!.end("go\n");
      assert.match(await output, /ok:\nbad:-8\n/);
      await run.waitForLine(/EAI_SERVICE/, 10_000);
      const { code, lines, stderr } = await run.stop();
      assert.equal(code, 0, stderr);
      const rows = lines.map(parse).filter((r): r is Row => r !== undefined);
      assert.deepEqual(rows.map((r) => [r.pid, r.comm, r.func, r.result, r.host]), [
        [perl.pid, "perl", "getaddrinfo", "ok", "localhost"],
        [perl.pid, "perl", "getaddrinfo", "EAI_SERVICE", "localhost"],
      ], lines.join("\n"));
      assert.ok(rows.every((r) => r.ms > 0 && r.ms < 5000));
    } finally {
      perl.kill();
      await run.stop();
    }
  });

  test("gethostbyname2 through getent hosts", async () => {
    const run = runExample("gethostlatency", ["--duration", "60"]);
    try {
      await run.waitForLine(/^TIME\s+PID/);
      const child = spawn("getent", ["hosts", "localhost"], { stdio: "ignore" });
      await new Promise((r) => child.on("exit", r));
      await run.waitForLine(new RegExp(`^\\S+\\s+${child.pid}\\s+getent\\s+gethostbyname\\*\\s+[\\d.]+\\s+ok\\s+localhost$`), 10_000);
      const { code } = await run.stop();
      assert.equal(code, 0);
    } finally {
      await run.stop();
    }
  });
});
