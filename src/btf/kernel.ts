// Kernel BTF: vmlinux from /sys/kernel/btf/vmlinux and module BTF (split on top of vmlinux), parsed lazily and cached.
// The CO-RE engine uses kernelBtfWithModules() to search candidate types in the running kernel.

import { readdirSync } from "node:fs";
import { join } from "node:path";
import { BtfError, FileError } from "../errors.js";
import { readUserFile, USER_FILE_LIMITS } from "../sys/user-file.js";
import { Btf } from "./btf.js";

/** Directory where the kernel exposes BTF (vmlinux plus one file per module). */
export const KERNEL_BTF_DIR = "/sys/kernel/btf";
/** Path of the running kernel's BTF. */
export const VMLINUX_BTF_PATH = `${KERNEL_BTF_DIR}/vmlinux`;

const cache = new Map<string, Btf>();

function readBtfFile(path: string, what: string): Uint8Array {
  try {
    // A BTF path may be anything the user typed (`--btf /dev/zero`): only regular files, capped in size.
    return readUserFile(path, what, USER_FILE_LIMITS.btf);
  } catch (e) {
    if (!(e instanceof FileError)) throw e;
    if (e.code === "FILE_NOT_FOUND") {
      const hint = path === VMLINUX_BTF_PATH ? " (CONFIG_DEBUG_INFO_BTF)" : "";
      throw new BtfError("BTF_KERNEL_NOT_FOUND", `${what} not found at ${path}${hint}`, { cause: e });
    }
    throw new BtfError("BTF_KERNEL_READ", e.message, { cause: e });
  }
}

/**
 * The running kernel's BTF (cached after the first call; ~1-2 ms to read and parse).
 * `path` overrides the location (e.g. a vmlinux BTF of another kernel for portability checks).
 * @throws BtfError `BTF_KERNEL_NOT_FOUND`: "kernel BTF not found at /sys/kernel/btf/vmlinux (CONFIG_DEBUG_INFO_BTF)".
 */
export function kernelBtf(path: string = VMLINUX_BTF_PATH): Btf {
  let btf = cache.get(path);
  if (!btf) {
    btf = Btf.parse(readBtfFile(path, "kernel BTF"));
    cache.set(path, btf);
  }
  return btf;
}

/**
 * BTF of a loaded kernel module (`/sys/kernel/btf/<name>`), as split BTF on top of vmlinux: its ids
 * continue after vmlinux's. Cached.
 * @throws BtfError `BTF_KERNEL_NOT_FOUND` when the module is not loaded or has no BTF.
 */
export function moduleBtf(name: string): Btf {
  if (name === "vmlinux") return kernelBtf();
  if (name === "" || name.includes("/") || name === "." || name === "..") {
    throw new BtfError("BTF_KERNEL_NOT_FOUND", `module BTF: ${JSON.stringify(name)} is not a module name`);
  }
  const path = join(KERNEL_BTF_DIR, name);
  let btf = cache.get(path);
  if (!btf) {
    btf = Btf.parse(readBtfFile(path, `BTF of kernel module "${name}"`), { base: kernelBtf() });
    cache.set(path, btf);
  }
  return btf;
}

/** Names of the kernel modules that expose BTF (sorted; empty when none or when the directory is missing). */
export function kernelModuleBtfNames(): string[] {
  try {
    return readdirSync(KERNEL_BTF_DIR).filter((n) => n !== "vmlinux").sort();
  } catch {
    return [];
  }
}

/** One BTF blob of the running kernel: vmlinux or a module. */
export interface KernelBtfEntry {
  /** "vmlinux" or the module name. */
  readonly name: string;
  readonly btf: Btf;
}

/**
 * vmlinux first, then every module with BTF (each parsed only when the iteration reaches it).
 * For candidate search, look at all of vmlinux and only the module's own types
 * (`btf.findOwn(...)`, or ids >= `btf.firstId`), since a module's base is vmlinux.
 * A module that disappears or fails to parse while iterating is skipped.
 */
export function* kernelBtfWithModules(): IterableIterator<KernelBtfEntry> {
  yield { name: "vmlinux", btf: kernelBtf() };
  for (const name of kernelModuleBtfNames()) {
    let btf: Btf;
    try {
      btf = moduleBtf(name);
    } catch (e) {
      if (e instanceof BtfError) continue;
      throw e;
    }
    yield { name, btf };
  }
}

/** Forget every cached kernel and module BTF (e.g. after modules were loaded or unloaded). */
export function clearKernelBtfCache(): void {
  cache.clear();
}
