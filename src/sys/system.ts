// Host setup the loader needs: kernel version, RLIMIT_MEMLOCK on old kernels, and the tracefs/bpffs
// mounts (mounted on demand when running as root, a clear error otherwise).

import { existsSync, mkdirSync, readFileSync, statfsSync } from "node:fs";
import { dirname } from "node:path";
import { PermissionError, TsbpfError } from "../errors.js";
import { MS, RLIM_INFINITY, RLIMIT } from "./constants.js";
import { sys } from "./seam.js";

/** A parsed kernel release. */
export interface KernelVersion {
  major: number;
  minor: number;
  patch: number;
  /** KERNEL_VERSION(major, minor, patch) as in LINUX_VERSION_CODE (patch clamped to 255). */
  code: number;
  /** The uname release string it was parsed from. */
  release: string;
}

/** KERNEL_VERSION(a, b, c). */
export function kernelVersionCode(major: number, minor: number, patch: number): number {
  return major * 65536 + minor * 256 + Math.min(patch, 255);
}

/** Parses a release like `6.18.44-fc-v669` or `5.4.0-150-generic`. */
export function parseKernelRelease(release: string): KernelVersion {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(release);
  if (!m) throw new TsbpfError("KERNEL_VERSION", `kernel version: cannot parse release "${release}"`);
  const major = Number(m[1]);
  const minor = Number(m[2]);
  const patch = Number(m[3] ?? 0);
  return { major, minor, patch, code: kernelVersionCode(major, minor, patch), release };
}

let cachedVersion: KernelVersion | undefined;

/**
 * The running kernel's version, from uname. On Ubuntu the upstream version in /proc/version_signature
 * is preferred (its uname patch level is the package ABI number, not the upstream patch).
 */
export function kernelVersion(): KernelVersion {
  if (cachedVersion) return cachedVersion;
  const release = sys().uname().release;
  let v = parseKernelRelease(release);
  try {
    const sig = readFileSync("/proc/version_signature", "utf8").trim();
    const upstream = sig.split(/\s+/).at(-1);
    if (upstream && /^\d+\.\d+/.test(upstream)) v = { ...parseKernelRelease(upstream), release };
  } catch {
    // not Ubuntu
  }
  cachedVersion = v;
  return v;
}

/** True when the running kernel is at least major.minor. */
export function kernelAtLeast(major: number, minor: number): boolean {
  return versionAtLeast(kernelVersion(), major, minor);
}

/** True when the kernel `release` (a uname release string) is at least major.minor; false when it does not parse. */
export function releaseAtLeast(release: string, major: number, minor: number): boolean {
  let v: KernelVersion;
  try {
    v = parseKernelRelease(release);
  } catch {
    return false;
  }
  return versionAtLeast(v, major, minor);
}

function versionAtLeast(v: { major: number; minor: number }, major: number, minor: number): boolean {
  return v.major > major || (v.major === major && v.minor >= minor);
}

let memlockDone = false;

/**
 * Raises RLIMIT_MEMLOCK to infinity on kernels before 5.11, which charge BPF maps and programs to it
 * (newer kernels use memory cgroups). Returns true when it changed the limit. Idempotent.
 */
export function ensureMemlock(): boolean {
  if (memlockDone) return false;
  memlockDone = true;
  if (kernelAtLeast(5, 11)) return false;
  const current = sys().getrlimit(RLIMIT.MEMLOCK);
  if (current.cur === RLIM_INFINITY) return false;
  sys().setrlimit(RLIMIT.MEMLOCK, RLIM_INFINITY, RLIM_INFINITY);
  return true;
}

/** Forget cached probes (tests). */
export function resetSystemCache(): void {
  cachedVersion = undefined;
  memlockDone = false;
  cachedTracefs = undefined;
  possibleCpuCount = undefined;
}

/* ---------- mounts ---------- */

/** Filesystem magic numbers (statfs f_type). */
export const FS_MAGIC = {
  BPF: 0xcafe4a11,
  TRACEFS: 0x74726163,
  DEBUGFS: 0x64626720,
} as const;

/** One line of /proc/mounts. */
export interface MountEntry {
  source: string;
  target: string;
  fstype: string;
  options: string;
}

/** Parses /proc/mounts (octal escapes in paths decoded). */
export function readMounts(text?: string): MountEntry[] {
  const body = text ?? readFileSync("/proc/mounts", "utf8");
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  const out: MountEntry[] = [];
  for (const line of body.split("\n")) {
    const parts = line.split(" ");
    if (parts.length < 4) continue;
    out.push({ source: unescape(parts[0]), target: unescape(parts[1]), fstype: parts[2], options: parts[3] });
  }
  return out;
}

function fsTypeOf(path: string): number | undefined {
  try {
    return Number(statfsSync(path).type);
  } catch {
    return undefined;
  }
}

function isRoot(): boolean {
  return sys().geteuid() === 0;
}

/**
 * Mounts `fstype` at `target` unless a filesystem of that type (by statfs magic) is already there.
 * Needs root; otherwise throws PermissionError naming the mount to make.
 * Returns true when it mounted.
 */
export function mountIfMissing(fstype: string, target: string, magic: number, data: string | null = null): boolean {
  if (fsTypeOf(target) === magic) return false;
  if (!isRoot()) {
    throw new PermissionError(
      "EPERM",
      `mount ${fstype} at ${target}: it is not mounted and mounting needs root (CAP_SYS_ADMIN); ` +
        `run: mount -t ${fstype} ${fstype} ${target}`,
    );
  }
  if (!existsSync(target)) mkdirSync(target, { recursive: true, mode: 0o700 });
  sys().mount(fstype, target, fstype, MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.RELATIME, data);
  return true;
}

let cachedTracefs: string | undefined;

/**
 * The tracefs directory: /sys/kernel/tracing, else /sys/kernel/debug/tracing. When neither is mounted
 * and we are root, mounts tracefs at /sys/kernel/tracing; otherwise throws a clear error.
 */
export function tracefsPath(): string {
  if (cachedTracefs) return cachedTracefs;
  const candidates = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"];
  for (const dir of candidates) {
    if (fsTypeOf(dir) === FS_MAGIC.TRACEFS && existsSync(`${dir}/events`)) {
      cachedTracefs = dir;
      return dir;
    }
  }
  if (existsSync("/sys/kernel/tracing")) {
    mountIfMissing("tracefs", "/sys/kernel/tracing", FS_MAGIC.TRACEFS);
    cachedTracefs = "/sys/kernel/tracing";
    return cachedTracefs;
  }
  throw new TsbpfError(
    "TRACEFS_MISSING",
    "tracefs: not found at /sys/kernel/tracing or /sys/kernel/debug/tracing (kernel built without CONFIG_TRACING?)",
  );
}

/** The default bpffs mount point. */
export const BPFFS_PATH = "/sys/fs/bpf";

/**
 * Makes sure `path` (default /sys/fs/bpf) lies on a bpf filesystem. A missing directory below an
 * existing bpffs is created; otherwise, when root, a bpffs is mounted at `path`. Returns the path.
 */
export function ensureBpffs(path: string = BPFFS_PATH): string {
  if (fsTypeOf(path) === FS_MAGIC.BPF) return path;
  if (!existsSync(path)) {
    let parent = dirname(path);
    while (!existsSync(parent) && parent !== dirname(parent)) parent = dirname(parent);
    if (fsTypeOf(parent) === FS_MAGIC.BPF) {
      mkdirSync(path, { recursive: true, mode: 0o700 });
      return path;
    }
  }
  mountIfMissing("bpf", path, FS_MAGIC.BPF, "mode=0700");
  return path;
}

/** Number of possible CPUs (size of per-CPU map values), from /sys/devices/system/cpu/possible. */
let possibleCpuCount: number | undefined;

export function possibleCpus(): number {
  // The possible-CPU set is fixed at boot, so one read is enough.
  return (possibleCpuCount ??= parseCpuList(readFileSync("/sys/devices/system/cpu/possible", "utf8")));
}

/** Online CPU ids, from /sys/devices/system/cpu/online. */
export function onlineCpus(): number[] {
  return expandCpuList(readFileSync("/sys/devices/system/cpu/online", "utf8"));
}

/** Expands a cpu list like "0-3,6" into ids. */
export function expandCpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(",")) {
    if (part === "") continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new TsbpfError("CPU_LIST", `cpu list: cannot parse "${text.trim()}"`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    for (let i = lo; i <= hi; i++) out.push(i);
  }
  return out;
}

/** The count implied by a possible-cpu list: highest id + 1. */
export function parseCpuList(text: string): number {
  const ids = expandCpuList(text);
  return ids.length === 0 ? 0 : Math.max(...ids) + 1;
}

/** The system page size. */
export function pageSize(): number {
  return sys().pageSize();
}
