// Unprivileged tests of the native addon through the seam: error shape, addresses, anonymous mmap,
// poll readiness and loop liveness, netlink send/recv, system information.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { SyscallError, TsbpfError } from "../../src/errors.js";
import { MAP, POLL, PROT, SOCKET } from "../../src/sys/constants.js";
import { Fd } from "../../src/sys/fd.js";
import { loadNative, packageRoot } from "../../src/sys/native.js";
import { pollStatusError, sys } from "../../src/sys/seam.js";
import { kernelVersion, pageSize, possibleCpus, tracefsPath } from "../../src/sys/system.js";

const root = packageRoot();

/** Runs node with `args` in the package root; resolves with stdout (killed after `timeoutMs`). */
function runChild(args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
    let text = "";
    child.stdout.on("data", (d) => (text += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("exit", () => {
      clearTimeout(timer);
      resolve(text);
    });
  });
}

describe("native addon", () => {
  test("the package root holds the addon", () => {
    assert.match(root, /\/$|[^/]$/);
    assert.equal(typeof loadNative().bpf, "function");
  });

  test("a raw failure carries code, errno and syscall; the seam makes it a SyscallError", () => {
    const native = loadNative();
    assert.throws(
      () => native.close(1 << 20),
      (e: unknown) => {
        const err = e as { code: string; errno: number; syscall: string; message: string };
        return err.code === "EBADF" && err.errno === 9 && err.syscall === "close" && err.message === "close: Bad file descriptor";
      },
    );
    assert.throws(
      () => native.bpf(0, new Uint8Array(8), "BPF_MAP_CREATE"),
      (e: unknown) => (e as { syscall: string }).syscall === "BPF_MAP_CREATE",
    );
    assert.ok(native.bpfTry(0, new Uint8Array(8)) < 0, "bpfTry returns -errno");
    assert.throws(
      () => sys().ioctl(1 << 20, 0x2400, 1n << 40n),
      (e: unknown) => e instanceof SyscallError && e.code === "EBADF" && e.operation === "ioctl",
    );
  });

  test("bad argument types become INVALID_ARGUMENT", () => {
    assert.throws(() => sys().close("3" as never), (e: unknown) => e instanceof TsbpfError && e.code === "INVALID_ARGUMENT");
    assert.throws(() => sys().bpf(0, 5 as never, "X"), (e: unknown) => e instanceof TsbpfError && e.code === "INVALID_ARGUMENT");
    assert.throws(() => sys().close(1.5), (e: unknown) => e instanceof TsbpfError && e.code === "INVALID_ARGUMENT");
  });

  test("addressOf gives stable data addresses, including for small on-heap arrays", () => {
    const small = new Uint8Array(4);
    const a1 = sys().addressOf(small);
    const a2 = sys().addressOf(small);
    assert.equal(a1, a2);
    assert.notEqual(a1, 0n);
    const buf = new ArrayBuffer(64);
    assert.equal(sys().addressOf(new Uint8Array(buf, 16)) - sys().addressOf(new Uint8Array(buf)), 16n);
    assert.equal(sys().addressOf(new DataView(buf, 8)) - sys().addressOf(buf), 8n);
  });

  test("anonymous mmap is a zero-copy ArrayBuffer; munmap detaches it first and is idempotent", () => {
    const len = pageSize() * 2;
    const ab = sys().mmap(-1, len, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS, 0);
    assert.equal(ab.byteLength, len);
    const view = new Uint32Array(ab);
    view[1000] = 0xabcdef;
    assert.equal(new DataView(ab).getUint32(4000, true), 0xabcdef);
    sys().munmap(ab);
    assert.equal(ab.byteLength, 0, "detached: JS can no longer reach the unmapped pages");
    assert.equal(view.length, 0);
    sys().munmap(ab);
    assert.throws(() => sys().munmap(new ArrayBuffer(8)), (e: unknown) => e instanceof TsbpfError && e.code === "INVALID_ARGUMENT");
    assert.throws(() => sys().mmap(-1, 0, PROT.READ, MAP.PRIVATE | MAP.ANONYMOUS, 0), (e: unknown) => e instanceof SyscallError && e.code === "EINVAL");
  });

  test("an unreferenced mapping is unmapped by its finalizer", async () => {
    const script = `
      import { sys } from ${JSON.stringify(new URL("../../src/sys/seam.ts", import.meta.url).href)};
      import { readFileSync } from "node:fs";
      const vm = () => Number(/VmSize:\\s+(\\d+)/.exec(readFileSync("/proc/self/status", "utf8"))[1]);
      const before = vm();
      (() => { for (let i = 0; i < 100; i++) sys().mmap(-1, 1 << 20, 3, 0x22, 0); })();
      const mapped = vm() - before;
      for (let i = 0; i < 3; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 30)); }
      console.log(JSON.stringify({ mapped, after: vm() - before }));
    `;
    const out = await runChild(["--expose-gc", "--import", "tsx", "--input-type=module", "-e", script], 10000);
    const { mapped, after } = JSON.parse(out.trim()) as { mapped: number; after: number };
    assert.ok(mapped >= 90 * 1024, `about 100 MiB mapped (VmSize grew ${mapped} KiB)`);
    assert.ok(after < 20 * 1024, `finalizers unmapped them (VmSize now +${after} KiB)`);
  });

  test("system information", () => {
    const u = sys().uname();
    assert.equal(u.sysname, "Linux");
    assert.equal(kernelVersion().release, u.release);
    assert.ok(pageSize() >= 4096);
    assert.ok(possibleCpus() >= 1);
    assert.match(tracefsPath(), /^\/sys\/kernel\/(debug\/)?tracing$/);
    const lim = sys().getrlimit(7);
    assert.equal(typeof lim.cur, "bigint");
    assert.equal(sys().ifNameToIndex("lo"), 1);
    assert.equal(sys().ifIndexToName(1), "lo");
    assert.throws(() => sys().ifNameToIndex("nope-if0"), (e: unknown) => e instanceof SyscallError && e.code === "ENODEV");
    assert.equal(sys().strerror(2), "No such file or directory");
    assert.equal(sys().errnoName(2), "ENOENT");
    assert.equal(pollStatusError(-11)?.code, "EAGAIN");
    assert.equal(pollStatusError(0), undefined);
  });

  test("netlink: RTM_GETLINK dump over send/recv lists the loopback device", () => {
    using fd = new Fd(sys().socket(SOCKET.AF_NETLINK, SOCKET.SOCK_RAW | SOCKET.SOCK_CLOEXEC, SOCKET.NETLINK_ROUTE), "netlink");
    const sa = new Uint8Array(12);
    new DataView(sa.buffer).setUint16(0, SOCKET.AF_NETLINK, true);
    sys().bind(fd.value, sa);
    const got = new Uint8Array(12);
    assert.equal(sys().getsockname(fd.value, got), 12);
    assert.notEqual(new DataView(got.buffer).getUint32(4, true), 0, "kernel assigned a port id");
    const req = new Uint8Array(32);
    const v = new DataView(req.buffer);
    v.setUint32(0, 32, true); // nlmsg_len
    v.setUint16(4, 18, true); // RTM_GETLINK
    v.setUint16(6, 0x301, true); // NLM_F_REQUEST | NLM_F_DUMP
    v.setUint32(8, 1, true); // seq
    assert.equal(sys().send(fd.value, req, 0), 32);
    const buf = new Uint8Array(1 << 16);
    const n = sys().recv(fd.value, buf, 0);
    assert.ok(n > 16);
    const r = new DataView(buf.buffer);
    assert.equal(r.getUint16(4, true), 16, "RTM_NEWLINK");
    assert.equal(r.getUint32(8, true), 1, "sequence echoed");
  });
});

describe("poll", () => {
  test("fires for a ready fd on the libuv loop and stops after close", async () => {
    using fd = new Fd(sys().socket(SOCKET.AF_INET, SOCKET.SOCK_DGRAM | SOCKET.SOCK_CLOEXEC, 0), "udp");
    let calls = 0;
    const seen = await new Promise<number>((resolve) => {
      const h = sys().poll(fd.value, POLL.WRITABLE, (status, events) => {
        calls++;
        assert.equal(status, 0);
        h.close();
        resolve(events);
      });
    });
    assert.equal(seen & POLL.WRITABLE, POLL.WRITABLE);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(calls, 1, "no callbacks after close");
  });

  test("stop() and unref() let the process exit; an active handle keeps it alive", async () => {
    const script = (mode: string) => `
      import { sys } from ${JSON.stringify(new URL("../../src/sys/seam.ts", import.meta.url).href)};
      const fd = sys().socket(2, 2 | 0o2000000, 0);
      const h = sys().poll(fd, 1, () => {});
      if (${JSON.stringify(mode)} === "stop") h.stop();
      if (${JSON.stringify(mode)} === "unref") h.unref();
      if (${JSON.stringify(mode)} === "close") h.close();
      console.log("ready");
    `;
    // the clock starts when the child says it is set up, so slow start-up does not count
    const run = (mode: string) =>
      new Promise<"exited" | "alive">((resolve) => {
        const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script(mode)], {
          cwd: root,
          stdio: ["ignore", "pipe", "inherit"],
        });
        let timer: NodeJS.Timeout | undefined;
        const guard = setTimeout(() => child.kill("SIGKILL"), 20000);
        child.stdout.on("data", () => {
          timer ??= setTimeout(() => {
            child.kill("SIGKILL");
            resolve("alive");
          }, 1000);
        });
        child.on("exit", () => {
          clearTimeout(timer);
          clearTimeout(guard);
          resolve("exited");
        });
      });
    const [stop, unref, close, active] = await Promise.all([run("stop"), run("unref"), run("close"), run("active")]);
    assert.deepEqual({ stop, unref, close, active }, { stop: "exited", unref: "exited", close: "exited", active: "alive" });
  });

  test("a callback that throws reaches uncaughtException instead of being lost", async () => {
    const script = `
      import { sys } from ${JSON.stringify(new URL("../../src/sys/seam.ts", import.meta.url).href)};
      process.on("uncaughtException", (e) => { console.log("caught:" + e.message); process.exit(0); });
      const fd = sys().socket(2, 2 | 0o2000000, 0);
      sys().poll(fd, 2, () => { throw new Error("boom"); });
    `;
    const out = await runChild(["--import", "tsx", "--input-type=module", "-e", script], 5000);
    assert.match(out, /caught:boom/);
  });
});
