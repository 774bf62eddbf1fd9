// A scriptable fake of the syscall seam for unit tests of encoders and error paths: it records every
// call, hands out synthetic addresses and fds, and returns scripted results or errno failures.

import { constants } from "node:os";
import type { PollHandle, Rlimit, Uname } from "./native.js";
import { bpfCmdName } from "./constants.js";
import { ALL_CAPABILITIES } from "./capabilities.js";
import type { Sys } from "./seam.js";

/** One recorded call. `args` are the arguments as passed (attr bytes are copied at call time). */
export interface FakeCall {
  name: string;
  args: unknown[];
}

/** What a scripted call does: return a value, fail with an errno name, or run a function. */
export type FakeResult = { value: unknown } | { errno: string } | { run: (...args: unknown[]) => unknown };

const errnoByName = constants.errno as Record<string, number>;
const nameByErrno = new Map<number, string>(Object.entries(errnoByName).map(([k, v]) => [v, k]));

const MESSAGES: Record<string, string> = {
  EPERM: "Operation not permitted",
  ENOENT: "No such file or directory",
  EINTR: "Interrupted system call",
  EBADF: "Bad file descriptor",
  EAGAIN: "Resource temporarily unavailable",
  ENOMEM: "Cannot allocate memory",
  EACCES: "Permission denied",
  EFAULT: "Bad address",
  EBUSY: "Device or resource busy",
  EEXIST: "File exists",
  EINVAL: "Invalid argument",
  ENOSPC: "No space left on device",
  E2BIG: "Argument list too long",
  ENOTSUPP: "Unknown error 524",
  EOPNOTSUPP: "Operation not supported",
};

/** The Error shape the native addon throws, for scripting failures by hand. */
export function nativeErrnoError(code: string, operation: string): Error & { code: string; errno: number; syscall: string } {
  const errno = errnoByName[code] ?? (code === "ENOTSUPP" ? 524 : 0);
  const err = new Error(`${operation}: ${MESSAGES[code] ?? code}`) as Error & {
    code: string;
    errno: number;
    syscall: string;
  };
  err.code = code;
  err.errno = errno;
  err.syscall = operation;
  return err;
}

/** A fake Sys. Unscripted calls succeed with plausible defaults (fresh fds from 100, zero results). */
export class FakeSys implements Sys {
  /** Every call in order. */
  readonly calls: FakeCall[] = [];
  /** Effective uid reported to the seam (0 = root). */
  euid = 0;
  /** Effective capability set reported to the seam; default: all when euid is 0, none otherwise. */
  capEff: bigint | undefined;
  /** Kernel release reported by uname(). */
  release = "6.18.0-fake";
  private nextFd = 100;
  private nextAddr = 0x10000n;
  private readonly scripts = new Map<string, FakeResult[]>();
  private readonly memory = new Map<bigint, ArrayBufferView>();
  /** Descriptors closed, in order. */
  readonly closed: number[] = [];

  /** Queues results for the next calls of `name` (bpf results are per call, in order). */
  script(name: keyof Sys, ...results: FakeResult[]): this {
    const list = this.scripts.get(name) ?? [];
    list.push(...results);
    this.scripts.set(name, list);
    return this;
  }

  /** Shorthand: the next `name` call fails with errno `code`. */
  fail(name: keyof Sys, code: string): this {
    return this.script(name, { errno: code });
  }

  /** Calls of one function. */
  callsOf(name: keyof Sys): FakeCall[] {
    return this.calls.filter((c) => c.name === name);
  }

  /** The memory registered at `addr` by addressOf (to inspect what an attr points at). */
  deref(addr: bigint): ArrayBufferView | undefined {
    return this.memory.get(addr);
  }

  private run(name: string, args: unknown[], operation: string, fallback: () => unknown): unknown {
    this.calls.push({ name, args });
    const next = this.scripts.get(name)?.shift();
    if (!next) return fallback();
    if ("errno" in next) throw nativeErrnoError(next.errno, operation);
    if ("run" in next) return next.run(...args);
    return next.value;
  }

  bpf(cmd: number, attr: Uint8Array, op: string): number {
    return this.run("bpf", [cmd, attr.slice(), op], op, () => this.nextFd++) as number;
  }

  /** Shares the "bpf" script: a scripted errno becomes a negative return value. */
  bpfTry(cmd: number, attr: Uint8Array): number {
    try {
      return this.bpf(cmd, attr, bpfCmdName(cmd));
    } catch (e) {
      const errno = (e as { errno?: unknown }).errno;
      if (typeof errno === "number") return -errno;
      throw e;
    }
  }

  addressOf(view: ArrayBufferView | ArrayBuffer): bigint {
    const addr = this.nextAddr;
    this.nextAddr += 0x1000n;
    this.memory.set(addr, view instanceof ArrayBuffer ? new Uint8Array(view) : view);
    return addr;
  }

  perfEventOpen(attr: Uint8Array, pid: number, cpu: number, groupFd: number, flags: number): number {
    return this.run("perfEventOpen", [attr.slice(), pid, cpu, groupFd, flags], "perf_event_open", () => this.nextFd++) as number;
  }

  ioctl(fd: number, request: number, arg: number | bigint): number {
    return this.run("ioctl", [fd, request, arg], "ioctl", () => 0) as number;
  }

  close(fd: number): void {
    this.run("close", [fd], "close", () => undefined);
    this.closed.push(fd);
  }

  dup(fd: number): number {
    return this.run("dup", [fd], "dup", () => this.nextFd++) as number;
  }

  pidfdOpen(pid: number, flags: number): number {
    return this.run("pidfdOpen", [pid, flags], "pidfd_open", () => this.nextFd++) as number;
  }

  mmap(fd: number, length: number, prot: number, flags: number, offset: number): ArrayBuffer {
    return this.run("mmap", [fd, length, prot, flags, offset], "mmap", () => new ArrayBuffer(length)) as ArrayBuffer;
  }

  munmap(buffer: ArrayBuffer): void {
    this.run("munmap", [buffer], "munmap", () => undefined);
  }

  poll(fd: number, events: number, callback: (status: number, events: number) => void): PollHandle {
    return this.run("poll", [fd, events, callback], "poll", () => ({
      start() {},
      stop() {},
      close() {},
      ref() {},
      unref() {},
    })) as PollHandle;
  }

  socket(domain: number, type: number, protocol: number): number {
    return this.run("socket", [domain, type, protocol], "socket", () => this.nextFd++) as number;
  }

  bind(fd: number, sockaddr: Uint8Array): void {
    this.run("bind", [fd, sockaddr.slice()], "bind", () => undefined);
  }

  getsockname(fd: number, sockaddr: Uint8Array): number {
    return this.run("getsockname", [fd, sockaddr], "getsockname", () => sockaddr.length) as number;
  }

  setsockopt(fd: number, level: number, name: number, value: Uint8Array): void {
    this.run("setsockopt", [fd, level, name, value.slice()], "setsockopt", () => undefined);
  }

  send(fd: number, buf: Uint8Array, flags: number): number {
    return this.run("send", [fd, buf.slice(), flags], "send", () => buf.length) as number;
  }

  recv(fd: number, buf: Uint8Array, flags: number): number {
    return this.run("recv", [fd, buf, flags], "recv", () => 0) as number;
  }

  setrlimit(resource: number, cur: bigint, max: bigint): void {
    this.run("setrlimit", [resource, cur, max], "setrlimit", () => undefined);
  }

  getrlimit(resource: number): Rlimit {
    return this.run("getrlimit", [resource], "getrlimit", () => ({ cur: 8n << 20n, max: 8n << 20n })) as Rlimit;
  }

  uname(): Uname {
    return this.run("uname", [], "uname", () => ({
      sysname: "Linux",
      release: this.release,
      version: "#1 fake",
      machine: "x86_64",
    })) as Uname;
  }

  ifNameToIndex(name: string): number {
    return this.run("ifNameToIndex", [name], "if_nametoindex", () => 1) as number;
  }

  ifIndexToName(index: number): string {
    return this.run("ifIndexToName", [index], "if_indextoname", () => "lo") as string;
  }

  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void {
    this.run("mount", [source, target, fstype, flags, data], "mount", () => undefined);
  }

  rename2(from: string, to: string, flags: number): void {
    this.run("rename2", [from, to, flags], "renameat2", () => undefined);
  }

  strerror(errno: number): string {
    const name = nameByErrno.get(errno);
    return (name && MESSAGES[name]) ?? `Unknown error ${errno}`;
  }

  errnoName(errno: number): string | undefined {
    return nameByErrno.get(errno);
  }

  pageSize(): number {
    return 4096;
  }

  geteuid(): number {
    return this.euid;
  }

  effectiveCapabilities(): bigint | undefined {
    return this.capEff ?? (this.euid === 0 ? ALL_CAPABILITIES : 0n);
  }

  /** Reported to the seam: false simulates a process in a child user namespace. */
  initialUserNs: boolean | undefined = true;

  initialUserNamespace(): boolean | undefined {
    return this.initialUserNs;
  }
}
