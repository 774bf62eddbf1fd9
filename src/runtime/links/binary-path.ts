// Finds the file a uprobe names: an absolute path, a program on PATH, a shared library mapped by a
// process (/proc/PID/maps) or known to the dynamic linker (/etc/ld.so.cache, then the standard dirs).

import { existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import { join } from "node:path";
import { TsbpfError } from "../../errors.js";

const CACHE_MAGIC = "glibc-ld.so.cache1.1";

/** Entries of /etc/ld.so.cache (new format): library name → path, in file order. */
export function parseLdSoCache(bytes: Uint8Array): { name: string; path: string; flags: number }[] {
  const text = new TextDecoder("latin1");
  // The new format follows an optional old-format block; find its magic.
  let base = -1;
  const needle = new TextEncoder().encode(CACHE_MAGIC);
  for (let i = 0; i + needle.length <= Math.min(bytes.length, 1 << 20); i++) {
    let ok = true;
    for (let j = 0; j < needle.length && ok; j++) ok = bytes[i + j] === needle[j];
    if (ok) { base = i; break; }
  }
  if (base < 0 || base + 48 > bytes.length) return [];
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = v.getUint32(base + 20, true);
  const str = (off: number) => {
    const start = base + off;
    let end = start;
    while (end < bytes.length && bytes[end] !== 0) end++;
    return text.decode(bytes.subarray(start, end));
  };
  const out: { name: string; path: string; flags: number }[] = [];
  for (let i = 0; i < n; i++) {
    const o = base + 48 + i * 24;
    if (o + 24 > bytes.length) break;
    out.push({ flags: v.getInt32(o, true), name: str(v.getUint32(o + 4, true)), path: str(v.getUint32(o + 8, true)) });
  }
  return out;
}

const LIB_DIRS = ["/lib64", "/usr/lib64", "/lib", "/usr/lib"];

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** The multiarch directories (`/lib/x86_64-linux-gnu`...) for this process's architecture. */
function multiarchDirs(): string[] {
  const triple = process.arch === "x64" ? "x86_64-linux-gnu" : process.arch === "arm64" ? "aarch64-linux-gnu" : `${process.arch}-linux-gnu`;
  return [`/lib/${triple}`, `/usr/lib/${triple}`];
}

/** This architecture's ld.so.cache flag bits (FLAG_X8664_LIB64, FLAG_AARCH64_LIB64), or undefined. */
function cacheArchFlags(): number | undefined {
  return process.arch === "x64" ? 0x0300 : process.arch === "arm64" ? 0x0a00 : undefined;
}

/** A library from /proc/PID/maps whose file name is `name` or starts with `name` followed by `.` or `-`. */
function fromMaps(pid: number, name: string): string | undefined {
  let maps: string;
  try {
    maps = readFileSync(`/proc/${pid}/maps`, "utf8");
  } catch (cause) {
    throw new TsbpfError("NO_SUCH_PROCESS", `find "${name}" in process ${pid}: cannot read /proc/${pid}/maps: ${(cause as Error).message}`, { cause });
  }
  for (const line of maps.split("\n")) {
    const path = line.split(/\s+/).slice(5).join(" ");
    if (!path.startsWith("/")) continue;
    const base = path.slice(path.lastIndexOf("/") + 1);
    if (base === name || base.startsWith(`${name}.`) || base.startsWith(`${name}-`)) return `/proc/${pid}/root${path}`;
  }
  return undefined;
}

/**
 * Resolve the binary a uprobe names to a readable path: paths containing `/` are used as given; a
 * library (`libc.so.6`, `libc`) is looked up in the maps of `pid` (if given), /etc/ld.so.cache and the
 * standard library directories; other names are searched on PATH.
 *
 * @example
 * resolveBinaryPath("libc.so.6")   // "/lib/x86_64-linux-gnu/libc.so.6"
 */
export function resolveBinaryPath(binary: string, pid?: number): string {
  if (!binary) throw new TsbpfError("ATTACH_BAD_TARGET", "uprobe: empty binary path");
  if (binary.includes("/")) {
    if (!isFile(binary)) throw new TsbpfError("BINARY_NOT_FOUND", `uprobe: binary ${binary} does not exist`);
    return binary;
  }
  const isLib = binary.startsWith("lib") || binary.includes(".so");
  if (isLib) {
    if (pid !== undefined && pid >= 0) {
      const p = fromMaps(pid, binary);
      if (p) return p;
    }
    const want = binary.includes(".so") ? binary : undefined;
    try {
      const flags = cacheArchFlags();
      for (const e of parseLdSoCache(new Uint8Array(readFileSync("/etc/ld.so.cache")))) {
        if (flags !== undefined && (e.flags & 0xff00) !== flags && (e.flags & 0xff00) !== 0) continue;
        if ((want ? e.name === want : e.name.startsWith(`${binary}.so`)) && isFile(e.path)) return e.path;
      }
    } catch {
      // No cache: fall through to the directories.
    }
    for (const dir of [...multiarchDirs(), ...LIB_DIRS]) {
      const p = join(dir, want ?? `${binary}.so`);
      if (isFile(p)) return p;
    }
    throw new TsbpfError("BINARY_NOT_FOUND", `uprobe: library "${binary}" not found${pid !== undefined ? ` in process ${pid}'s maps,` : ""} in /etc/ld.so.cache or the standard library directories`);
  }
  for (const dir of (process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin").split(":")) {
    if (!dir) continue;
    const p = join(dir, binary);
    if (isFile(p)) return p;
  }
  throw new TsbpfError("BINARY_NOT_FOUND", `uprobe: program "${binary}" not found on PATH`);
}

/** The canonical path of `p` (for tracefs probe definitions, which must not contain `/proc/PID/root` tricks). */
export function canonicalPath(p: string): string {
  try {
    return existsSync(p) ? realpathSync(p) : p;
  } catch {
    return p;
  }
}
