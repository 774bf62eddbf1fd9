// Unit tests of reading and writing user-named files safely (src/sys/user-file.ts) and of the bounded
// EINTR retry of BPF_PROG_TEST_RUN (through the fake syscall seam). The end-to-end cases (CLI, load())
// are in test/reliability/inputs.test.ts.

import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileError, SyscallError } from "../../src/errors.js";
import { progTestRun, TEST_RUN_EINTR_RETRIES } from "../../src/sys/bpf.js";
import { FakeSys } from "../../src/sys/fake.js";
import { withSys } from "../../src/sys/seam.js";
import { checkUserFile, readUserFile, writeUserFile } from "../../src/sys/user-file.js";

const dir = mkdtempSync(join(tmpdir(), "tsbpf-loadercli-unit-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function fileError(code: string, message: RegExp): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof FileError, `a FileError, got ${String(e)}`);
    assert.equal(e.code, code);
    assert.match(e.message, message);
    return true;
  };
}

describe("readUserFile", () => {
  test("reads a regular file, and one through a symbolic link", () => {
    const p = join(dir, "obj.o");
    const bytes = new Uint8Array(10_000).map((_, i) => i & 0xff);
    writeFileSync(p, bytes);
    symlinkSync(p, join(dir, "link.o"));
    assert.deepEqual(new Uint8Array(readUserFile(p, "ELF object", 1 << 20)), bytes);
    assert.deepEqual(new Uint8Array(readUserFile(join(dir, "link.o"), "ELF object", 1 << 20)), bytes);
    assert.equal(readUserFile(p, "ELF object", 10_000).length, 10_000, "exactly the cap is allowed");
  });

  test("an empty file reads as empty", () => {
    writeFileSync(join(dir, "empty"), "");
    assert.equal(readUserFile(join(dir, "empty"), "x", 100).length, 0);
  });

  test("files that report size 0 (procfs) are read to the end, in chunks", () => {
    const text = readUserFile("/proc/self/maps", "maps", 64 << 20).toString("utf8");
    assert.match(text, /\n$/);
    assert.ok(text.length > 4096, `read ${text.length} bytes, more than one chunk`);
  });

  test("a file with no size that outgrows the cap is refused while reading", () => {
    assert.throws(() => readUserFile("/proc/self/maps", "maps", 64), fileError("FILE_TOO_LARGE", /\/proc\/self\/maps grew while being read, over the 64 bytes limit/));
  });

  test("refuses devices, FIFOs, directories and sockets by what they are", () => {
    const fifo = join(dir, "fifo");
    assert.equal(spawnSync("mkfifo", [fifo]).status, 0);
    assert.throws(() => readUserFile("/dev/zero", "ELF object", 1 << 20), fileError("FILE_NOT_REGULAR", /^ELF object \/dev\/zero is a character device, not a regular file$/));
    assert.throws(() => readUserFile(fifo, "ELF object", 1 << 20), fileError("FILE_NOT_REGULAR", /fifo is a FIFO/));
    assert.throws(() => readUserFile(dir, "ELF object", 1 << 20), fileError("FILE_NOT_REGULAR", /is a directory/));
    const sock = spawnSync("python3", ["-c", `import socket; s = socket.socket(socket.AF_UNIX); s.bind(${JSON.stringify(join(dir, "sock"))})`]);
    if (sock.status === 0) assert.throws(() => readUserFile(join(dir, "sock"), "x", 100), fileError("FILE_NOT_REGULAR", /sock is a socket/));
  });

  test("missing files and missing directories are FILE_NOT_FOUND", () => {
    assert.throws(() => readUserFile(join(dir, "nope.o"), "ELF object", 100), fileError("FILE_NOT_FOUND", /nope\.o does not exist/));
    writeFileSync(join(dir, "plain"), "x");
    assert.throws(() => readUserFile(join(dir, "plain", "under-a-file.o"), "ELF object", 100), fileError("FILE_NOT_FOUND", /under-a-file\.o does not exist/));
  });

  test("an oversized file is refused by its size, before reading (sparse, so reading it would be slow)", () => {
    const p = join(dir, "sparse.o");
    writeFileSync(p, "");
    truncateSync(p, 4 * 2 ** 30);
    assert.throws(() => readUserFile(p, "ELF object", 256 << 20), fileError("FILE_TOO_LARGE", /is 4096 MiB, over the 256 MiB limit/));
    assert.throws(() => checkUserFile(p, "ELF object", 256 << 20), fileError("FILE_TOO_LARGE", /256 MiB/));
  });
});

describe("writeUserFile", () => {
  test("creates, truncates and writes to a character device", () => {
    const p = join(dir, "out.o");
    writeUserFile(p, new Uint8Array([1, 2, 3, 4]), "object file");
    writeUserFile(p, "ab", "object file");
    assert.equal(readFileSync(p, "utf8"), "ab");
    writeUserFile("/dev/null", new Uint8Array(100), "object file");
  });

  test("refuses directories and FIFOs, names missing directories and read-only places", () => {
    const fifo = join(dir, "out-fifo");
    assert.equal(spawnSync("mkfifo", [fifo]).status, 0);
    assert.throws(() => writeUserFile(fifo, "x", "object file"), fileError("FILE_NOT_REGULAR", /out-fifo is a FIFO/));
    assert.throws(() => writeUserFile(dir, "x", "object file"), fileError("FILE_NOT_REGULAR", /is a directory/));
    assert.throws(() => writeUserFile(join(dir, "no", "x.o"), "x", "object file"), fileError("FILE_UNWRITABLE", /directory .*\/no does not exist/));
    assert.throws(() => writeUserFile("/proc/tsbpf-x.o", "x", "object file"), fileError("FILE_UNWRITABLE", /cannot write object file \/proc\/tsbpf-x\.o/));
    assert.throws(() => writeUserFile("/dev/full", "x", "object file"), fileError("FILE_UNWRITABLE", /ENOSPC/));
  });
});

describe("progTestRun and EINTR", () => {
  const EINTR = { errno: "EINTR" };

  test("a run interrupted by a signal is started again", () => {
    const fake = new FakeSys().script("bpf", EINTR, EINTR, EINTR, { value: 0 });
    const r = withSys(fake, () => progTestRun(7, { dataIn: new Uint8Array(14), repeat: 1000 }));
    assert.equal(r.retval, 0);
    assert.equal(fake.callsOf("bpf").length, 4);
  });

  test("the retries are bounded: past the bound the EINTR is thrown, saying why", () => {
    const fake = new FakeSys().script("bpf", ...Array.from({ length: TEST_RUN_EINTR_RETRIES + 1 }, () => EINTR), { value: 0 });
    assert.throws(
      () => withSys(fake, () => progTestRun(7, { dataIn: new Uint8Array(14), repeat: 1000 })),
      (e: unknown) => e instanceof SyscallError && e.code === "EINTR" && /interrupted by a signal on \d+ attempts in a row/.test(e.message),
    );
    assert.equal(fake.callsOf("bpf").length, TEST_RUN_EINTR_RETRIES + 1);
  });

  test("other errors are not retried", () => {
    const fake = new FakeSys().script("bpf", { errno: "EINVAL" }, { value: 0 });
    assert.throws(() => withSys(fake, () => progTestRun(7, { repeat: 2 })), (e: unknown) => e instanceof SyscallError && e.code === "EINVAL");
    assert.equal(fake.callsOf("bpf").length, 1);
  });
});
