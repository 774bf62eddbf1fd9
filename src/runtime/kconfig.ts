// Fills the `.kconfig` map: reads the running kernel's configuration (/proc/config.gz or
// /boot/config-$(uname -r)) and the values libbpf computes itself (LINUX_KERNEL_VERSION, ...).

import { existsSync, readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { MissingFeatureError, ObjectError } from "../errors.js";
import type { KconfigExtern } from "../object/spec.js";
import { kernelVersion } from "../sys/system.js";

let cached: Map<string, string> | undefined;

/** Parse `CONFIG_X=value` lines (comments and `# CONFIG_X is not set` are skipped). */
export function parseKconfig(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}

/** The running kernel's configuration, or undefined if neither /proc/config.gz nor /boot/config-* exists. */
export function kernelConfig(): Map<string, string> | undefined {
  if (cached) return cached;
  try {
    if (existsSync("/proc/config.gz")) cached = parseKconfig(gunzipSync(readFileSync("/proc/config.gz")).toString("utf8"));
    else {
      const boot = `/boot/config-${kernelVersion().release}`;
      if (existsSync(boot)) cached = parseKconfig(readFileSync(boot, "utf8"));
    }
  } catch {
    cached = undefined;
  }
  return cached;
}

function writeInt(buf: Uint8Array, off: number, size: number, v: bigint): void {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const u = BigInt.asUintN(size * 8, v);
  for (let i = 0; i < size; i++) dv.setUint8(off + i, Number((u >> BigInt(8 * i)) & 0xffn));
}

/**
 * Compute the `.kconfig` map's initial value for these externs.
 * Throws ObjectError for a non-weak extern the kernel does not define, or a value that does not fit.
 */
export function kconfigData(externs: readonly KconfigExtern[], size: number, config = kernelConfig()): Uint8Array {
  const data = new Uint8Array(size);
  for (const e of externs) {
    let raw: string | undefined;
    if (e.name === "LINUX_KERNEL_VERSION") raw = String(kernelVersion().code);
    else if (e.name === "LINUX_HAS_BPF_COOKIE") raw = "y";
    else if (e.name === "LINUX_HAS_SYSCALL_WRAPPER") raw = "y";
    else if (e.name.startsWith("CONFIG_")) {
      if (!config) {
        if (e.weak) continue;
        throw new MissingFeatureError("KCONFIG_UNAVAILABLE", `kconfig extern "${e.name}": the kernel configuration is not available (no /proc/config.gz or /boot/config-${kernelVersion().release})`);
      }
      raw = config.get(e.name);
    } else if (!e.weak) {
      throw new ObjectError("OBJ_BAD_EXTERN", `kconfig extern "${e.name}" is not a CONFIG_ option nor one tsbpf provides`);
    }
    if (raw === undefined) {
      if (e.weak) continue;
      throw new ObjectError("OBJ_BAD_EXTERN", `kconfig extern "${e.name}" is not set in the running kernel's configuration (declare it __weak to default to 0)`);
    }
    const bad = (why: string) => new ObjectError("OBJ_BAD_EXTERN", `kconfig extern "${e.name}" = ${raw}: ${why}`);
    switch (e.valueKind) {
      case "bool":
        if (raw === "y") data[e.offset] = 1;
        else if (raw === "n") data[e.offset] = 0;
        else throw bad("expected y or n for a bool");
        break;
      case "tristate": {
        const v = raw === "y" ? 1n : raw === "m" ? 2n : raw === "n" ? 0n : undefined;
        if (v === undefined) throw bad("expected y, m or n for a tristate");
        writeInt(data, e.offset, e.size, v);
        break;
      }
      case "char_array": {
        const m = /^"(.*)"$/.exec(raw);
        if (!m) throw bad("expected a quoted string");
        const bytes = new TextEncoder().encode(m[1]!.replace(/\\(.)/g, "$1"));
        data.set(bytes.subarray(0, e.size - 1), e.offset);
        break;
      }
      case "int": {
        let v: bigint;
        if (raw === "y") v = 1n; else if (raw === "m") v = 2n; else if (raw === "n") v = 0n;
        else {
          try { v = BigInt(raw); } catch { throw bad("not a number"); }
        }
        const bits = BigInt(e.size * 8);
        const min = e.signed ? -(1n << (bits - 1n)) : 0n;
        const max = e.signed ? (1n << (bits - 1n)) - 1n : (1n << bits) - 1n;
        if (v < min || v > max) throw bad(`does not fit in ${e.signed ? "a signed" : "an unsigned"} ${e.size}-byte integer`);
        writeInt(data, e.offset, e.size, v);
        break;
      }
    }
  }
  return data;
}
