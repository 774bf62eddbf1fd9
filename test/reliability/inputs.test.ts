// Bad input to the CLI and to load(): devices, FIFOs, directories, missing and oversized files, an
// unwritable -o, a C file given to `tsbpf build`, a syntax error. Each must end quickly (a child process
// bounded by a timeout, so a hang or an unbounded read fails the test instead of the machine) with a
// typed error naming the cause: exit 1 or 2, `error [CODE]: ...`, never exit 70 or a JavaScript stack.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type SpawnSyncReturns } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileC, CORPUS_DIR, REPO_ROOT } from "../helpers/toolchain.js";
import { privileged } from "../helpers/privileges.js";

const CLI = join(REPO_ROOT, "src", "cli", "main.ts");
const LOAD_CHILD = join(REPO_ROOT, "test", "reliability", "load-child.ts");
const TESTRUN_CHILD = join(REPO_ROOT, "test", "reliability", "testrun-child.ts");
/** Generous bound: a hang or an unbounded read is killed here and fails the test. */
const TIMEOUT_MS = 20_000;
const MiB = 1024 * 1024;

let dir: string;
let fifo: string;
let sparseObject: string;
let sparseSource: string;
let goodSource: string;
let syntaxSource: string;
let producerC: string;
let importsFifo: string;
let fifoSource: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), "tsbpf-loadercli-inputs-"));
  fifo = join(dir, "events.fifo");
  assert.equal(spawnSync("mkfifo", [fifo]).status, 0, "mkfifo");
  fifoSource = join(dir, "fifo.bpf.ts");
  assert.equal(spawnSync("mkfifo", [fifoSource]).status, 0, "mkfifo");
  mkdirSync(join(dir, "a-directory.o"));
  sparseObject = join(dir, "huge.o");
  writeFileSync(sparseObject, "");
  truncateSync(sparseObject, 256 * MiB + 1);
  sparseSource = join(dir, "huge.bpf.ts");
  writeFileSync(sparseSource, "");
  truncateSync(sparseSource, 16 * MiB + 1);
  goodSource = join(dir, "good.bpf.ts");
  writeFileSync(goodSource, `import { xdp, XdpAction } from "tsbpf/kernel";\n\nexport const pass = xdp(() => XdpAction.PASS);\n`);
  syntaxSource = join(dir, "syntax.bpf.ts");
  writeFileSync(syntaxSource, `import { xdp, XdpAction } from "tsbpf/kernel";\n\nexport const prog = xdp((ctx) => {\n  const x = ;\n  return XdpAction.PASS;\n});\n`);
  producerC = join(dir, "producer.c");
  writeFileSync(producerC, "int x;\n");
  importsFifo = join(dir, "imports-fifo.bpf.ts");
  assert.equal(spawnSync("mkfifo", [join(dir, "shared.ts")]).status, 0, "mkfifo");
  writeFileSync(importsFifo, `import { xdp, XdpAction } from "tsbpf/kernel";\nimport { K } from "./shared.ts";\n\nexport const p = xdp(() => (K ? XdpAction.PASS : XdpAction.DROP));\n`);
});

after(() => rmSync(dir, { recursive: true, force: true }));

function tsbpf(...args: string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, ["--import", "tsx", CLI, ...args], {
    cwd: REPO_ROOT,
    encoding: "utf8",
    timeout: TIMEOUT_MS,
    killSignal: "SIGKILL",
    env: { ...process.env, NO_COLOR: "1", TSBPF_CACHE_DIR: join(dir, "cache") },
  });
}

/** The run ended by itself with a user error: exit 1 or 2, the code in `error [CODE]`, no stack. */
function assertUserError(r: SpawnSyncReturns<string>, code: string | RegExp, message: RegExp): void {
  assert.equal(r.signal, null, `killed by ${r.signal} after ${TIMEOUT_MS} ms (hang or unbounded read); stderr: ${r.stderr}`);
  assert.ok(r.status === 1 || r.status === 2, `exit ${r.status}; stderr: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /^ {4}at /m, "no JavaScript stack");
  assert.doesNotMatch(r.stderr, /internal error/);
  const m = /error \[([A-Z_0-9]+)\]/.exec(r.stderr);
  assert.ok(m, `a coded error: ${r.stderr}`);
  if (typeof code === "string") assert.equal(m[1], code, r.stderr);
  else assert.match(m[1]!, code, r.stderr);
  assert.match(r.stderr, message);
}

describe("tsbpf inspect / load on files that are not regular files", () => {
  test("/dev/zero is refused as a character device", () => {
    assertUserError(tsbpf("inspect", "/dev/zero"), "FILE_NOT_REGULAR", /\/dev\/zero is a character device/);
  });
  test("/dev/urandom is refused as a character device (load)", () => {
    assertUserError(tsbpf("load", "/dev/urandom"), "FILE_NOT_REGULAR", /\/dev\/urandom is a character device/);
  });
  test("a FIFO nobody writes to is refused without blocking", () => {
    assertUserError(tsbpf("inspect", fifo), "FILE_NOT_REGULAR", /events\.fifo is a FIFO/);
  });
  test("a directory is refused", () => {
    assertUserError(tsbpf("load", join(dir, "a-directory.o")), "FILE_NOT_REGULAR", /a-directory\.o is a directory/);
  });
  test("a missing file names the path", () => {
    assertUserError(tsbpf("inspect", join(dir, "missing.o")), "FILE_NOT_FOUND", /missing\.o.*does not exist/);
  });
  test("an object over the size cap is refused by its size", () => {
    assertUserError(tsbpf("inspect", sparseObject), "FILE_TOO_LARGE", /huge\.o.*256 MiB/);
  });
});

describe("tsbpf build on bad input", () => {
  test("a FIFO source is refused", () => {
    assertUserError(tsbpf("build", fifoSource), "FILE_NOT_REGULAR", /fifo\.bpf\.ts is a FIFO/);
  });
  test("a missing source names the path", () => {
    assertUserError(tsbpf("build", join(dir, "missing.bpf.ts")), "FILE_NOT_FOUND", /missing\.bpf\.ts.*does not exist/);
  });
  test("a source over the size cap is refused by its size", () => {
    assertUserError(tsbpf("build", sparseSource), "FILE_TOO_LARGE", /huge\.bpf\.ts.*16 MiB/);
  });
  test("an import that is a FIFO is reported, not read", () => {
    const r = tsbpf("build", importsFifo, "-o", join(dir, "imports-fifo.o"));
    assert.equal(r.signal, null, `killed: ${r.stderr}`);
    assert.equal(r.status, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /^ {4}at /m);
    assert.match(r.stderr, /shared\.ts is a FIFO/);
  });
  test("a C file gets told how C objects are built and loaded", () => {
    assertUserError(tsbpf("build", producerC), "FILE_WRONG_KIND", /compiles TypeScript kernel programs.*\n?.*clang.*tsbpf load/s);
  });
  test("-o under a directory that does not exist", () => {
    assertUserError(tsbpf("build", goodSource, "-o", join(dir, "no-such-dir", "x.o")), "FILE_UNWRITABLE", /no-such-dir\/x\.o/);
  });
  test("-o in /proc", () => {
    assertUserError(tsbpf("build", goodSource, "-o", "/proc/tsbpf-loadercli.o"), "FILE_UNWRITABLE", /\/proc\/tsbpf-loadercli\.o/);
  });
  test("-o naming a directory", () => {
    assertUserError(tsbpf("build", goodSource, "-o", join(dir, "a-directory.o")), /^FILE_/, /a-directory\.o is a directory/);
  });
  test("a syntax error is reported once, alone", () => {
    const r = tsbpf("build", syntaxSource);
    assert.equal(r.status, 1, r.stderr);
    const errors = r.stderr.match(/ - error \S+:.*/g) ?? [];
    assert.equal(errors.length, 1, r.stderr);
    assert.match(errors[0]!, /error TS1109: Expression expected/);
    assert.match(r.stderr, /^1 error$/m);
  });
});

describe("tsbpf gen vmlinux --btf on bad input", () => {
  test("a character device is refused", () => {
    assertUserError(tsbpf("gen", "vmlinux", "--btf", "/dev/zero", "--types", "task_struct"), /^(FILE|BTF)_/, /\/dev\/zero is a character device/);
  });
  test("a FIFO is refused", () => {
    assertUserError(tsbpf("gen", "vmlinux", "--btf", fifo, "--types", "task_struct"), /^(FILE|BTF)_/, /events\.fifo is a FIFO/);
  });
  test("a --tracefs whose event format is a FIFO is not read", () => {
    const tracefs = join(dir, "tracefs");
    mkdirSync(join(tracefs, "events", "sched", "sched_switch"), { recursive: true });
    assert.equal(spawnSync("mkfifo", [join(tracefs, "events", "sched", "sched_switch", "format")]).status, 0, "mkfifo");
    assertUserError(tsbpf("gen", "vmlinux", "--tracepoints", "--tracefs", tracefs), "BTF_GEN_BAD_OPTION", /no tracepoint event formats under/);
  });
});

/** Runs load(path) in a child (bounded); returns what it threw. */
function loadInChild(path: string): { name: string; tsbpf: boolean; code?: string; message: string } {
  const r = spawnSync(process.execPath, ["--import", "tsx", LOAD_CHILD, path], {
    cwd: REPO_ROOT,
    encoding: "utf8",
    timeout: TIMEOUT_MS,
    killSignal: "SIGKILL",
    env: { ...process.env, TSBPF_CACHE_DIR: join(dir, "cache") },
  });
  assert.equal(r.signal, null, `load(${path}) killed after ${TIMEOUT_MS} ms; stderr: ${r.stderr}`);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { name: string; tsbpf: boolean; code?: string; message: string };
}

describe("load() on bad paths throws a TsbpfError", () => {
  const cases: [string, () => string, string, RegExp][] = [
    ["/dev/zero", () => "/dev/zero", "FILE_NOT_REGULAR", /character device/],
    ["a FIFO", () => fifo, "FILE_NOT_REGULAR", /FIFO/],
    ["a FIFO .bpf.ts source", () => fifoSource, "FILE_NOT_REGULAR", /FIFO/],
    ["a directory", () => join(dir, "a-directory.o"), "FILE_NOT_REGULAR", /directory/],
    ["a missing object", () => join(dir, "missing.o"), "FILE_NOT_FOUND", /does not exist/],
    ["a missing source", () => join(dir, "missing.bpf.ts"), "FILE_NOT_FOUND", /does not exist/],
    ["an oversized object", () => sparseObject, "FILE_TOO_LARGE", /256 MiB/],
  ];
  for (const [what, path, code, message] of cases) {
    test(what, () => {
      const e = loadInChild(path());
      assert.ok(e.tsbpf, `a TsbpfError, got ${e.name}: ${e.message}`);
      assert.equal(e.name, "FileError");
      assert.equal(e.code, code);
      assert.match(e.message, message);
      assert.ok(e.message.includes(path()), `names the path: ${e.message}`);
    });
  }
});

describe("testRun with repeat under signals", () => {
  test("no EINTR escapes while the process is signalled", privileged(), async () => {
    const obj = await compileC(join(CORPUS_DIR, "attach_xdp.bpf.c"));
    const child = spawn(process.execPath, ["--import", "tsx", TESTRUN_CHILD, obj, "100000"], { cwd: REPO_ROOT, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    // The child prints "ready" once its SIGUSR2 handler is installed and the program loaded.
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`child not ready: ${stderr}`)), TIMEOUT_MS);
      child.stdout.on("data", () => {
        if (stdout.includes("ready\n")) {
          clearTimeout(t);
          resolve();
        }
      });
      child.on("exit", () => reject(new Error(`child exited early: ${stderr}`)));
    });
    // One signal every 100 ms: a test run takes a few ms (more on a loaded machine), so most signals land
    // inside one and interrupt it, while a retried run is rarely interrupted again.
    let sent = 0;
    const pump = setInterval(() => {
      if (child.exitCode === null && child.kill("SIGUSR2")) sent++;
    }, 100);
    // The child prints its counts on one line, then waits until the signals stop (stdin closed).
    child.stdout.on("data", () => {
      if (/ready\n\{.*\}\n/s.test(stdout)) {
        clearInterval(pump);
        child.stdin.end();
      }
    });
    const killer = setTimeout(() => child.kill("SIGKILL"), TIMEOUT_MS);
    const status = await new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    clearInterval(pump);
    clearTimeout(killer);
    assert.equal(status, 0, `child failed: ${stderr}`);
    const result = JSON.parse(stdout.slice(stdout.indexOf("ready\n") + 6).trim()) as { calls: number; eintr: number; other: string[]; signals: number };
    assert.ok(result.signals >= 5, `the child saw signals while running (${result.signals} of ${sent} sent)`);
    assert.deepEqual(result.other, []);
    assert.equal(result.eintr, 0, `${result.eintr} of ${result.calls} test runs failed with EINTR`);
  });
});
