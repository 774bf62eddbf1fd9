// Loads the compiled N-API addon (build/Release/tsbpf.node) and describes its functions.
// Only src/sys/seam.ts should import this: everything else goes through the seam.

import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { TsbpfError } from "../errors.js";

/** A readiness watch on a file descriptor, driven by the libuv loop (uv_poll). */
export interface PollHandle {
  /** Start (or restart) watching for `events` (POLL.READABLE, ...). */
  start(events: number): void;
  /** Stop watching; the handle no longer keeps the process alive. It can be started again. */
  stop(): void;
  /** Stop and release the handle. Idempotent. */
  close(): void;
  /** Make an active handle keep the event loop alive (the default). */
  ref(): void;
  /** Let the process exit even while this handle is active. */
  unref(): void;
}

/** Result of uname(2). */
export interface Uname {
  sysname: string;
  release: string;
  version: string;
  machine: string;
}

/** Resource limit pair; RLIM_INFINITY is 2n**64n-1n. */
export interface Rlimit {
  cur: bigint;
  max: bigint;
}

/**
 * The functions exported by native/tsbpf.c. Each throws an Error with `code` (errno name), `errno`
 * (positive) and `syscall` (the operation) when the call fails.
 */
export interface NativeAddon {
  bpf(cmd: number, attr: Uint8Array, op: string): number;
  /** bpf(2) returning -errno instead of throwing, for expected failures (ENOENT on lookups). */
  bpfTry(cmd: number, attr: Uint8Array): number;
  addressOf(view: ArrayBufferView | ArrayBuffer): bigint;
  perfEventOpen(attr: Uint8Array, pid: number, cpu: number, groupFd: number, flags: number): number;
  ioctl(fd: number, request: number, arg: number | bigint): number;
  close(fd: number): void;
  dup(fd: number): number;
  /** pidfd_open(2): an fd referring to process `pid` (task storage maps are keyed by one). */
  pidfdOpen(pid: number, flags: number): number;
  mmap(fd: number, length: number, prot: number, flags: number, offset: number): ArrayBuffer;
  munmap(buffer: ArrayBuffer): void;
  poll(fd: number, events: number, callback: (status: number, events: number) => void): PollHandle;
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, sockaddr: Uint8Array): void;
  getsockname(fd: number, sockaddr: Uint8Array): number;
  setsockopt(fd: number, level: number, name: number, value: Uint8Array): void;
  send(fd: number, buf: Uint8Array, flags: number): number;
  recv(fd: number, buf: Uint8Array, flags: number): number;
  setrlimit(resource: number, cur: bigint, max: bigint): void;
  getrlimit(resource: number): Rlimit;
  uname(): Uname;
  ifNameToIndex(name: string): number;
  ifIndexToName(index: number): string;
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void;
  /** renameat2(AT_FDCWD, from, AT_FDCWD, to, flags): RENAME.EXCHANGE swaps two directories atomically. */
  rename2(from: string, to: string, flags: number): void;
  strerror(errno: number): string;
  errnoName(errno: number): string | undefined;
  pageSize(): number;
}

/** Where the addon is looked for, from the package root. */
export const ADDON_RELATIVE_PATH = join("build", "Release", "tsbpf.node");

/** The package root: the nearest ancestor of this file that holds package.json (works from src/ and dist/). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "binding.gyp"))) return dir;
    const up = dirname(dir);
    if (up === dir) return dirname(dirname(fileURLToPath(import.meta.url)));
    dir = up;
  }
}

let cached: NativeAddon | undefined;

/**
 * Loads the addon once. Throws a TsbpfError with code `NATIVE_UNSUPPORTED_PLATFORM` off Linux and
 * `NATIVE_NOT_BUILT` when build/Release/tsbpf.node is missing.
 */
export function loadNative(): NativeAddon {
  if (cached) return cached;
  if (process.platform !== "linux") {
    throw new TsbpfError(
      "NATIVE_UNSUPPORTED_PLATFORM",
      `load native addon: eBPF needs Linux, this is ${process.platform}`,
    );
  }
  const root = packageRoot();
  const path = join(root, ADDON_RELATIVE_PATH);
  if (!existsSync(path)) {
    throw new TsbpfError(
      "NATIVE_NOT_BUILT",
      `load native addon: ${path} is missing; native addon not built: run npm install (or npx node-gyp rebuild) in ${root}`,
    );
  }
  const require = createRequire(join(root, "package.json"));
  try {
    cached = require(path) as NativeAddon;
  } catch (cause) {
    throw new TsbpfError(
      "NATIVE_LOAD_FAILED",
      `load native addon: ${path}: ${(cause as Error).message}; rebuild it with npx node-gyp rebuild`,
      { cause },
    );
  }
  return cached;
}
