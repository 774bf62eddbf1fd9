// Reading and writing files the user names (objects, .bpf.ts sources, BTF, binaries, -o outputs) safely:
// only regular files, never more than a size cap for their kind, never blocking on a FIFO or device.
// Every failure is a FileError naming the path and the cause.

import { closeSync, constants, fstatSync, openSync, readSync, statSync, writeSync, type Stats } from "node:fs";
import { dirname } from "node:path";
import { FileError } from "../errors.js";

const MiB = 1024 * 1024;

/**
 * Size caps by kind of file. An ELF object or BTF blob larger than these is not something a kernel
 * would load (vmlinux BTF is ~6 MiB, big objects a few MiB); the caps only stop runaway reads.
 */
export const USER_FILE_LIMITS = {
  /** eBPF ELF objects (`tsbpf load`, `inspect`, `load()`). */
  object: 256 * MiB,
  /** `.bpf.ts` sources and the modules they import. */
  source: 16 * MiB,
  /** BTF files (`--btf`, /sys/kernel/btf/*). */
  btf: 256 * MiB,
  /** Executables and libraries read for uprobe/USDT symbol lookup. */
  binary: 2048 * MiB - 1,
} as const;

/** "a directory", "a FIFO", "a character device"... for a stat result. */
export function describeFileType(st: Stats): string {
  if (st.isFile()) return "a regular file";
  if (st.isDirectory()) return "a directory";
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  if (st.isFIFO()) return "a FIFO";
  if (st.isSocket()) return "a socket";
  if (st.isSymbolicLink()) return "a symbolic link";
  return "not a regular file";
}

function formatSize(bytes: number): string {
  return bytes % MiB === 0 ? `${bytes / MiB} MiB` : `${bytes} bytes`;
}

function errnoCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException).code;
}

/** The errno text without Node's "open '<path>'" decoration: "permission denied (EACCES)". */
function errnoText(e: unknown): string {
  const code = errnoCode(e);
  const text = ((e as Error).message ?? String(e)).replace(/^[A-Z0-9]+: /, "").replace(/, \w+ '.*'$/, "");
  return code ? `${text} (${code})` : text;
}

function notRegular(what: string, path: string, st: Stats): FileError {
  return new FileError("FILE_NOT_REGULAR", path, `${what} ${path} is ${describeFileType(st)}, not a regular file`);
}

function tooLarge(what: string, path: string, size: number | undefined, maxBytes: number): FileError {
  const is = size === undefined ? "grew while being read" : `is ${formatSize(size)}`;
  return new FileError("FILE_TOO_LARGE", path, `${what} ${path} ${is}, over the ${formatSize(maxBytes)} limit for this kind of file (is it the right file?)`);
}

function statError(what: string, path: string, e: unknown): FileError {
  const code = errnoCode(e);
  if (code === "ENOENT" || code === "ENOTDIR") return new FileError("FILE_NOT_FOUND", path, `${what} ${path} does not exist`, { cause: e });
  return new FileError("FILE_UNREADABLE", path, `cannot read ${what} ${path}: ${errnoText(e)}`, { cause: e });
}

/**
 * Checks, without opening it, that `path` is an existing regular file of at most `maxBytes`.
 * @throws FileError `FILE_NOT_FOUND`, `FILE_NOT_REGULAR`, `FILE_TOO_LARGE`, `FILE_UNREADABLE`.
 */
export function checkUserFile(path: string, what: string, maxBytes: number): Stats {
  let st: Stats;
  try {
    st = statSync(path);
  } catch (e) {
    throw statError(what, path, e);
  }
  if (!st.isFile()) throw notRegular(what, path, st);
  if (st.size > maxBytes) throw tooLarge(what, path, st.size, maxBytes);
  return st;
}

/**
 * Reads a file the user named: refuses anything but a regular file (before opening it, so that no
 * device is opened, and again on the opened descriptor, so that a swap in between cannot slip a FIFO
 * or device through) and anything larger than `maxBytes` (by fstat, and while reading for files that
 * grow or report no size). `what` names the kind in messages ("ELF object", "kernel BTF").
 * @throws FileError `FILE_NOT_FOUND`, `FILE_NOT_REGULAR`, `FILE_TOO_LARGE`, `FILE_UNREADABLE`.
 */
export function readUserFile(path: string, what: string, maxBytes: number): Buffer {
  checkUserFile(path, what, maxBytes);
  let fd: number;
  try {
    // O_NONBLOCK: should a FIFO have replaced the file since the check, opening it does not wait for a writer.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    throw statError(what, path, e);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw notRegular(what, path, st);
    if (st.size > maxBytes) throw tooLarge(what, path, st.size, maxBytes);
    // Files that report size 0 (procfs, sysfs) or change while read are read in chunks up to the cap.
    let buf = Buffer.allocUnsafe(Math.min(maxBytes, Math.max(st.size, 4096)) + 1);
    let total = 0;
    for (;;) {
      if (total === buf.length) {
        if (total > maxBytes) throw tooLarge(what, path, undefined, maxBytes);
        const bigger = Buffer.allocUnsafe(Math.min(maxBytes + 1, buf.length * 2));
        buf.copy(bigger, 0, 0, total);
        buf = bigger;
      }
      let n: number;
      try {
        n = readSync(fd, buf, total, buf.length - total, null);
      } catch (e) {
        throw new FileError("FILE_UNREADABLE", path, `cannot read ${what} ${path}: ${errnoText(e)}`, { cause: e });
      }
      if (n === 0) break;
      total += n;
    }
    if (total > maxBytes) throw tooLarge(what, path, undefined, maxBytes);
    return buf.subarray(0, total);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes an output file the user named (`-o`): a regular file (created or truncated) or a character
 * device such as /dev/null; never a directory, FIFO or socket.
 * @throws FileError `FILE_NOT_REGULAR`, `FILE_UNWRITABLE`.
 */
export function writeUserFile(path: string, bytes: Uint8Array | string, what: string): void {
  const isOutput = (st: Stats): boolean => st.isFile() || st.isCharacterDevice();
  let st: Stats | undefined;
  try {
    st = statSync(path);
  } catch {
    st = undefined; // created below
  }
  if (st && !isOutput(st)) throw notRegular(what, path, st);
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NONBLOCK | constants.O_NOCTTY, 0o666);
  } catch (e) {
    const code = errnoCode(e);
    const dir = dirname(path);
    let why = errnoText(e);
    if (code === "ENOENT" || code === "ENOTDIR") {
      let dirSt: Stats | undefined;
      try {
        dirSt = statSync(dir);
      } catch {
        dirSt = undefined;
      }
      why = !dirSt ? `directory ${dir} does not exist` : !dirSt.isDirectory() ? `${dir} is ${describeFileType(dirSt)}, not a directory` : `${dir} does not accept new files (${code})`;
    }
    throw new FileError("FILE_UNWRITABLE", path, `cannot write ${what} ${path}: ${why}`, { cause: e });
  }
  try {
    const fst = fstatSync(fd);
    if (!isOutput(fst)) throw notRegular(what, path, fst);
    const data = typeof bytes === "string" ? Buffer.from(bytes) : bytes;
    let off = 0;
    while (off < data.length) {
      try {
        off += writeSync(fd, data, off, data.length - off);
      } catch (e) {
        throw new FileError("FILE_UNWRITABLE", path, `cannot write ${what} ${path}: ${errnoText(e)}`, { cause: e });
      }
    }
  } finally {
    closeSync(fd);
  }
}
