// uprobe/uretprobe attachment: by symbol in an executable or shared library, by file offset, or by
// address; for every process or one pid; the perf uprobe PMU (with semaphore ref counter) or tracefs.
// Also uprobe_multi links (kernel 6.6+) over many symbols or a glob pattern.

import { existsSync, readFileSync } from "node:fs";
import { FileError, MissingFeatureError, SyscallError, TsbpfError } from "../../errors.js";
import { elfAddressToOffset, elfSymbols, readElfImage, resolveElfSymbol, type ElfImage } from "../../elf/symbols.js";
import { linkCreate, withContext } from "../../sys/bpf.js";
import { ATTACH_TYPE, LINK_FLAGS } from "../../sys/constants.js";
import type { Fd } from "../../sys/fd.js";
import { perfEventOpen, pmuRetprobeBit, pmuType } from "../../sys/perf.js";
import type { Program } from "../program.js";
import { canonicalPath, resolveBinaryPath } from "./binary-path.js";
import type { ProbeMode } from "./kprobe.js";
import { kernelAtLeast } from "../../sys/system.js";
import { checkUserFile, readUserFile, USER_FILE_LIMITS } from "../../sys/user-file.js";
import { Link } from "./link.js";
import { attachToPerfEvent } from "./perf-event.js";
import { createProbeEvent, openProbeEvent, probeEventsAvailable } from "./tracefs.js";

/** Options of {@link attachUprobe}. */
export interface UprobeOptions {
  /** Executable or library: a path, a program on PATH, or a library name (`libc.so.6`). Default: the section's. */
  readonly binary?: string;
  /** Function to probe; `offset` is then added to it. */
  readonly symbol?: string;
  /** File offset to probe when there is no symbol, else the byte offset into the symbol. */
  readonly offset?: number | bigint;
  /** A virtual address in the binary (as in its symbol table) instead of a symbol or file offset. */
  readonly address?: bigint;
  /** Only this process (default: every process that runs the binary). */
  readonly pid?: number;
  /** A return probe (uretprobe); default from the section. */
  readonly retprobe?: boolean;
  /** File offset of a semaphore (reference counter) the kernel increments while the probe is attached. */
  readonly refCtrOffset?: bigint;
  /** Cookie readable with bpf_get_attach_cookie (needs BPF perf links, 5.15+). */
  readonly cookie?: bigint;
  /** Attach mechanism; default "auto": the perf PMU, else tracefs. */
  readonly mode?: ProbeMode;
}

/** A uprobe section target split up: `binary:function+off`, `binary:0xoffset` or `binary:pattern`. */
export interface UprobeTarget {
  readonly binary: string;
  readonly symbol?: string;
  readonly offset: bigint;
}

/**
 * Parse libbpf's uprobe section target (`uprobe/<binary>:<function>[+<offset>]` or `<binary>:<offset>`),
 * splitting at the last `:` so paths like `/proc/self/exe` work.
 */
export function parseUprobeTarget(target: string): UprobeTarget {
  const colon = target.lastIndexOf(":");
  if (colon <= 0) throw new TsbpfError("ATTACH_BAD_TARGET", `uprobe target "${target}" is not "binary:function[+offset]" or "binary:offset"`);
  const binary = target.slice(0, colon);
  const rest = target.slice(colon + 1);
  if (/^(0x[0-9a-fA-F]+|\d+)$/.test(rest)) return { binary, offset: BigInt(rest) };
  const m = /^([^+]+)(?:\+(0x[0-9a-fA-F]+|\d+))?$/.exec(rest);
  if (!m) throw new TsbpfError("ATTACH_BAD_TARGET", `uprobe target "${target}": bad function "${rest}"`);
  return { binary, symbol: m[1], offset: m[2] ? BigInt(m[2]) : 0n };
}

const imageCache = new Map<string, { mtimeMs: number; img: ElfImage }>();

/** Read (and cache by path and mtime) an executable or library's ELF headers. */
export function loadElfImage(path: string): ElfImage {
  let bytes: Uint8Array;
  try {
    const cached = imageCache.get(path);
    const { mtimeMs } = checkUserFile(path, "binary", USER_FILE_LIMITS.binary);
    if (cached && cached.mtimeMs === mtimeMs) return cached.img;
    bytes = new Uint8Array(readUserFile(path, "binary", USER_FILE_LIMITS.binary));
    const img = readElfImage(bytes, path);
    imageCache.set(path, { mtimeMs, img });
    return img;
  } catch (cause) {
    if (cause instanceof FileError && cause.code === "FILE_NOT_FOUND") throw new TsbpfError("BINARY_NOT_FOUND", cause.message, { cause });
    if (cause instanceof TsbpfError) throw cause;
    throw new TsbpfError("BINARY_NOT_FOUND", `read ${path}: ${(cause as Error).message}`, { cause });
  }
}

/** Which uprobe mechanisms this kernel offers. */
export function uprobeSupport(): { pmu: boolean; tracefs: boolean } {
  return { pmu: existsSync("/sys/bus/event_source/devices/uprobe/type"), tracefs: probeEventsAvailable("uprobe") };
}

/** The ref_ctr_offset config bits of the uprobe PMU (format/ref_ctr_offset, e.g. "config:32-63"). */
function refCtrShift(): bigint {
  try {
    const text = readFileSync("/sys/bus/event_source/devices/uprobe/format/ref_ctr_offset", "utf8").trim();
    const m = /^config:(\d+)-\d+$/.exec(text);
    if (m) return BigInt(m[1]);
  } catch {
    // Older kernels: no semaphore support.
  }
  throw new MissingFeatureError("UPROBE_REFCTR_UNSUPPORTED", "uprobe with a semaphore: the kernel's uprobe PMU has no ref_ctr_offset (needs 4.20+)");
}

/** Where a uprobe goes: the resolved binary path and the file offset. */
export function resolveUprobeLocation(prog: Program | undefined, opts: UprobeOptions): { path: string; offset: bigint; what: string } {
  let binary = opts.binary;
  let symbol = opts.symbol;
  let offset = opts.offset !== undefined ? BigInt(opts.offset) : undefined;
  if (binary === undefined || (symbol === undefined && offset === undefined && opts.address === undefined)) {
    const t = prog?.spec.attachTarget;
    if (!t) throw new TsbpfError("ATTACH_NEEDS_TARGET", `attach program "${prog?.name ?? "?"}": uprobe needs a binary and a function (SEC("uprobe/<binary>:<function>") or { binary, symbol })`);
    const parsed = parseUprobeTarget(t);
    binary ??= parsed.binary;
    if (symbol === undefined && offset === undefined && opts.address === undefined) {
      symbol = parsed.symbol;
      offset = parsed.offset;
    }
  }
  const path = resolveBinaryPath(binary, opts.pid);
  if (symbol !== undefined) {
    const sym = resolveElfSymbol(loadElfImage(path), symbol);
    const off = offset ?? 0n;
    return { path, offset: sym.fileOffset + off, what: `${binary}:${symbol}${off ? `+0x${off.toString(16)}` : ""}` };
  }
  if (opts.address !== undefined) {
    const off = elfAddressToOffset(loadElfImage(path), opts.address);
    if (off === undefined) throw new TsbpfError("ATTACH_BAD_TARGET", `uprobe ${binary}: address 0x${opts.address.toString(16)} is in no loaded segment`);
    return { path, offset: off, what: `${binary}@0x${opts.address.toString(16)}` };
  }
  if (offset === undefined) throw new TsbpfError("ATTACH_NEEDS_TARGET", `uprobe ${binary}: give a symbol, a file offset or an address`);
  return { path, offset, what: `${binary}:0x${offset.toString(16)}` };
}

/**
 * Attach a uprobe/uretprobe program to a function of an executable or library.
 *
 * @example
 * using link = attachUprobe(coll.program("on_malloc"), { binary: "libc.so.6", symbol: "malloc", pid: child.pid });
 * using ret = coll.program("on_ret").attach({ binary: "/usr/bin/bash", symbol: "readline", retprobe: true });
 */
export function attachUprobe(prog: Program, opts: UprobeOptions = {}): Link {
  const spec = prog.spec;
  if (spec.type !== "KPROBE") throw new TsbpfError("WRONG_PROGRAM_TYPE", `attach program "${prog.name}" as a uprobe: it is a ${spec.type} program (section "${spec.sectionName}")`);
  const retprobe = opts.retprobe ?? spec.attach === "uretprobe";
  const loc = resolveUprobeLocation(prog, opts);
  const pid = opts.pid ?? -1;
  const description = `${retprobe ? "uretprobe" : "uprobe"} ${loc.what}${pid >= 0 ? ` (pid ${pid})` : ""}`;
  const what = `attach program "${prog.name}" to ${description}`;
  const support = uprobeSupport();
  const mode = opts.mode ?? "auto";
  if (!support.pmu && !support.tracefs) throw new MissingFeatureError("UPROBES_UNSUPPORTED", `${what}: this kernel has no uprobes (no uprobe PMU, no tracefs uprobe_events)`);
  if (mode === "perf" || (mode === "auto" && support.pmu)) {
    if (!support.pmu) throw new MissingFeatureError("UPROBES_UNSUPPORTED", `${what}: the kernel has no perf uprobe PMU`);
    let config = retprobe ? 1n << BigInt(pmuRetprobeBit("uprobe")) : 0n;
    if (opts.refCtrOffset) config |= opts.refCtrOffset << refCtrShift();
    let perf: Fd;
    try {
      perf = perfEventOpen({ type: pmuType("uprobe"), config, uprobePath: loc.path, probeOffset: loc.offset, samplePeriod: 1, wakeupEvents: 1 }, pid, pid === -1 ? 0 : -1);
    } catch (e) {
      if (e instanceof SyscallError && e.code === "ESRCH") throw new TsbpfError("NO_SUCH_PROCESS", `${what}: process ${pid} does not exist`, { cause: e });
      throw withContext(e, what);
    }
    return attachToPerfEvent(prog, perf, description, opts.cookie);
  }
  if (!support.tracefs) throw new MissingFeatureError("UPROBES_UNSUPPORTED", `${what}: the kernel has no tracefs uprobe_events`);
  const definition = `${canonicalPath(loc.path)}:0x${loc.offset.toString(16)}${opts.refCtrOffset ? `(0x${opts.refCtrOffset.toString(16)})` : ""}`;
  const ev = createProbeEvent("uprobe", definition, retprobe, what);
  let perf: Fd;
  try {
    perf = openProbeEvent(ev, pid);
  } catch (e) {
    ev.remove();
    throw withContext(e, what);
  }
  return attachToPerfEvent(prog, perf, `${description} (tracefs)`, opts.cookie, () => ev.remove());
}

/** Options of {@link attachUprobeMulti}: a binary and one of symbols, pattern or offsets. */
export interface UprobeMultiOptions {
  readonly binary?: string;
  readonly symbols?: readonly string[];
  /** Glob (`*`, `?`) over the binary's function symbols. */
  readonly pattern?: string;
  /** File offsets. */
  readonly offsets?: readonly bigint[];
  readonly refCtrOffsets?: readonly bigint[];
  readonly cookies?: readonly bigint[];
  readonly pid?: number;
  readonly retprobe?: boolean;
}

/** Function symbols of an ELF image matching a glob, sorted and unique. */
export function matchElfFunctions(img: ElfImage, pattern: string): string[] {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`);
  const out = new Set<string>();
  for (const s of elfSymbols(img)) if ((s.type === 2 || s.type === 10) && s.shndx !== 0 && re.test(s.name)) out.add(s.name);
  return [...out].sort();
}

/**
 * Attach a `uprobe.multi` program to many functions of one binary with a single BPF link (6.6+).
 *
 * @example
 * using link = attachUprobeMulti(coll.program("count"), { binary: "/usr/bin/bash", pattern: "readline*" });
 */
export function attachUprobeMulti(prog: Program, opts: UprobeMultiOptions = {}): Link {
  const spec = prog.spec;
  let binary = opts.binary;
  let pattern = opts.pattern;
  if (binary === undefined || (pattern === undefined && !opts.symbols && !opts.offsets)) {
    if (!spec.attachTarget) throw new TsbpfError("ATTACH_NEEDS_TARGET", `attach program "${prog.name}": uprobe.multi needs a binary and a pattern (SEC("uprobe.multi/<binary>:<glob>") or options)`);
    const colon = spec.attachTarget.lastIndexOf(":");
    binary ??= colon > 0 ? spec.attachTarget.slice(0, colon) : spec.attachTarget;
    if (pattern === undefined && !opts.symbols && !opts.offsets) pattern = colon > 0 ? spec.attachTarget.slice(colon + 1) : undefined;
  }
  const retprobe = opts.retprobe ?? spec.attach === "uretprobe_multi";
  const path = resolveBinaryPath(binary, opts.pid);
  const description = `${retprobe ? "uretprobe.multi" : "uprobe.multi"} ${binary}:${pattern ?? (opts.symbols ? opts.symbols.join(",") : `${opts.offsets?.length ?? 0} offsets`)}`;
  const what = `attach program "${prog.name}" to ${description}`;
  if (spec.type !== "KPROBE") throw new TsbpfError("WRONG_PROGRAM_TYPE", `${what}: it is a ${spec.type} program`);
  let offsets: bigint[];
  if (opts.offsets) offsets = [...opts.offsets];
  else {
    const img = loadElfImage(path);
    const names = opts.symbols ?? (pattern !== undefined ? matchElfFunctions(img, pattern) : []);
    if (names.length === 0) throw new TsbpfError("SYMBOL_NOT_FOUND", `${what}: no function matches`);
    offsets = names.map((n) => resolveElfSymbol(img, n).fileOffset);
  }
  try {
    const fd = linkCreate({
      context: what,
      progFd: prog.fd.value, target: 0, attachType: ATTACH_TYPE.TRACE_UPROBE_MULTI,
      extra: {
        kind: "uprobe_multi", path: canonicalPath(path), offsets,
        ...(opts.refCtrOffsets ? { refCtrOffsets: opts.refCtrOffsets } : {}),
        ...(opts.cookies ? { cookies: opts.cookies } : {}),
        flags: retprobe ? LINK_FLAGS.UPROBE_MULTI_RETURN : 0,
        ...(opts.pid !== undefined && opts.pid >= 0 ? { pid: opts.pid } : {}),
      },
    });
    return new Link(fd, description);
  } catch (e) {
    // Built without uprobe_multi: EOPNOTSUPP; before 6.6 the attach type is unknown: EINVAL.
    if (e instanceof SyscallError && (e.code === "EOPNOTSUPP" || (e.code === "EINVAL" && !kernelAtLeast(6, 6)))) {
      throw new MissingFeatureError("UPROBE_MULTI_UNSUPPORTED", `${what}: the kernel has no uprobe_multi links (needs 6.6+)`, { cause: e });
    }
    if (e instanceof SyscallError && e.code === "EINVAL" && spec.expectedAttachType !== "TRACE_UPROBE_MULTI") {
      throw new TsbpfError("WRONG_PROGRAM_TYPE", `${what}: the program was not loaded for uprobe_multi (section "${spec.sectionName}"; use SEC("uprobe.multi/...")`, { cause: e });
    }
    throw e;
  }
}
