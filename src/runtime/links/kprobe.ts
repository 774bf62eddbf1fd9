// kprobe/kretprobe attachment: the perf kprobe PMU (symbol+offset or address), the legacy tracefs
// kprobe_events fallback, kprobe_multi links with glob patterns, and ksyscall name resolution.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { MissingFeatureError, SyscallError, TsbpfError } from "../../errors.js";
import { linkCreate, withContext } from "../../sys/bpf.js";
import { ATTACH_TYPE, LINK_FLAGS } from "../../sys/constants.js";
import type { Fd } from "../../sys/fd.js";
import { perfEventOpen, pmuRetprobeBit, pmuType } from "../../sys/perf.js";
import { kernelAtLeast, tracefsPath } from "../../sys/system.js";
import type { Program } from "../program.js";
import { Link } from "./link.js";
import { attachToPerfEvent } from "./perf-event.js";
import { createProbeEvent, instructionBoundaryError, openProbeEvent, probeEventsAvailable } from "./tracefs.js";

/** How a kprobe/uprobe is created: the perf PMU, the tracefs probe-event file, or whichever exists. */
export type ProbeMode = "auto" | "perf" | "tracefs";

/** Options of {@link attachKprobe}. */
export interface KprobeOptions {
  /** Kernel function to probe (default: the section's target, `kprobe/<symbol>[+offset]`). */
  readonly symbol?: string;
  /** Byte offset into the function (kprobes only; 0 by default). */
  readonly offset?: number | bigint;
  /** Probe this kernel address instead of a symbol. */
  readonly address?: bigint;
  /** A return probe (kretprobe); default from the section (`kretprobe/...`). */
  readonly retprobe?: boolean;
  /** Cookie readable with bpf_get_attach_cookie (needs BPF perf links, 5.15+). */
  readonly cookie?: bigint;
  /** Attach mechanism; default "auto": the perf PMU, else tracefs. */
  readonly mode?: ProbeMode;
}

const PMU_DIR = "/sys/bus/event_source/devices";

/** Which kprobe mechanisms this kernel offers; neither means it was built without kprobes. */
export function kprobeSupport(): { pmu: boolean; tracefs: boolean } {
  return { pmu: existsSync(join(PMU_DIR, "kprobe", "type")), tracefs: probeEventsAvailable("kprobe") };
}

function noKprobes(what: string): MissingFeatureError {
  return new MissingFeatureError(
    "KPROBES_UNSUPPORTED",
    `${what}: this kernel has no kprobes (neither ${PMU_DIR}/kprobe nor tracefs kprobe_events exists; built without CONFIG_KPROBES/CONFIG_KPROBE_EVENTS)`,
  );
}

/** Split a kprobe section target `func+0x10` / `func+16` / `func` into symbol and offset. */
export function parseKprobeTarget(target: string): { symbol: string; offset: bigint } {
  const m = /^([A-Za-z_.$][\w.$]*)(?:\+(0x[0-9a-fA-F]+|\d+))?$/.exec(target);
  if (!m) throw new TsbpfError("ATTACH_BAD_TARGET", `kprobe target "${target}" is not "function[+offset]"`);
  return { symbol: m[1], offset: m[2] ? BigInt(m[2]) : 0n };
}

let kallsymsText: string | undefined;
function kallsyms(): string {
  return (kallsymsText ??= readFileSync("/proc/kallsyms", "utf8"));
}

/** Whether /proc/kallsyms names kernel symbol `name` (text symbols of the kernel or a module). */
export function kernelSymbolExists(name: string): boolean {
  try {
    return new RegExp(`^[0-9a-f]+ [tTwW] ${name.replace(/[.$]/g, "\\$&")}(?:\\s|$)`, "m").test(kallsyms());
  } catch {
    return false;
  }
}

/** The kernel function behind system call `name` (`__x64_sys_<name>` with syscall wrappers, else `sys_<name>`). */
export function syscallFunctionName(name: string): string {
  const prefixes: Record<string, string> = { x64: "__x64_sys_", arm64: "__arm64_sys_", s390x: "__s390x_sys_", riscv64: "__riscv_sys_" };
  const arch = process.arch === "x64" ? "x64" : process.arch === "arm64" ? "arm64" : process.arch === "s390x" ? "s390x" : process.arch === "riscv64" ? "riscv64" : "";
  const wrapped = arch ? `${prefixes[arch]}${name}` : undefined;
  if (wrapped && kernelSymbolExists(wrapped)) return wrapped;
  if (kernelSymbolExists(`sys_${name}`)) return `sys_${name}`;
  throw new TsbpfError("SYMBOL_NOT_FOUND", `system call "${name}": the kernel has neither ${wrapped ?? "a wrapped"} nor sys_${name}`);
}

function symbolError(e: unknown, what: string, symbol: string | undefined): unknown {
  if (e instanceof SyscallError && e.code === "EILSEQ") return instructionBoundaryError(what, e);
  if (!(e instanceof SyscallError) || symbol === undefined || (e.code !== "ENOENT" && e.code !== "EINVAL")) return e;
  if (kernelSymbolExists(symbol)) return e;
  return new TsbpfError("SYMBOL_NOT_FOUND", `${what}: the kernel has no function "${symbol}" (not in /proc/kallsyms)`, { cause: e });
}

/**
 * Attach a kprobe program to a kernel function (entry, an offset in it, or its return).
 *
 * @example
 * using link = coll.program("on_open").attach();                           // SEC("kprobe/do_sys_openat2")
 * using ret = attachKprobe(coll.program("count"), { symbol: "vfs_read", retprobe: true });
 */
export function attachKprobe(prog: Program, opts: KprobeOptions = {}): Link {
  const spec = prog.spec;
  let symbol = opts.symbol;
  let offset = opts.offset !== undefined ? BigInt(opts.offset) : 0n;
  if (symbol === undefined && opts.address === undefined) {
    if (!spec.attachTarget) throw new TsbpfError("ATTACH_NEEDS_TARGET", `attach program "${prog.name}": kprobe needs a function (SEC("kprobe/<function>") or { symbol })`);
    const t = parseKprobeTarget(spec.attachTarget);
    symbol = t.symbol;
    if (opts.offset === undefined) offset = t.offset;
  }
  if ((spec.attach === "ksyscall" || spec.attach === "kretsyscall") && opts.symbol === undefined && symbol !== undefined) {
    symbol = syscallFunctionName(symbol);
  }
  const retprobe = opts.retprobe ?? (spec.attach === "kretprobe" || spec.attach === "kretsyscall");
  if (retprobe && offset !== 0n) throw new TsbpfError("ATTACH_BAD_TARGET", `attach program "${prog.name}": a kretprobe cannot have an offset (${symbol}+${offset})`);
  if (spec.type !== "KPROBE") throw new TsbpfError("WRONG_PROGRAM_TYPE", `attach program "${prog.name}" as a kprobe: it is a ${spec.type} program (section "${spec.sectionName}")`);
  const where = symbol !== undefined ? `${symbol}${offset ? `+0x${offset.toString(16)}` : ""}` : `0x${opts.address!.toString(16)}`;
  const description = `${retprobe ? "kretprobe" : "kprobe"} ${where}`;
  const what = `attach program "${prog.name}" to ${description}`;
  const support = kprobeSupport();
  const mode = opts.mode ?? "auto";
  if (!support.pmu && !support.tracefs) throw noKprobes(what);
  if (mode === "perf" || (mode === "auto" && support.pmu)) {
    if (!support.pmu) throw new MissingFeatureError("KPROBES_UNSUPPORTED", `${what}: the kernel has no perf kprobe PMU (${PMU_DIR}/kprobe)`);
    let perf: Fd;
    try {
      perf = perfEventOpen({
        type: pmuType("kprobe"),
        config: retprobe ? 1n << BigInt(pmuRetprobeBit("kprobe")) : 0n,
        ...(symbol !== undefined ? { kprobeFunc: symbol, probeOffset: offset } : { probeOffset: opts.address! }),
        samplePeriod: 1, wakeupEvents: 1,
      }, -1, 0);
    } catch (e) {
      throw symbolError(withContext(e, what), what, symbol);
    }
    return attachToPerfEvent(prog, perf, description, opts.cookie);
  }
  if (!support.tracefs) throw new MissingFeatureError("KPROBES_UNSUPPORTED", `${what}: the kernel has no tracefs kprobe_events`);
  const definition = symbol !== undefined ? `${symbol}${retprobe ? "" : `+${offset}`}` : `0x${opts.address!.toString(16)}`;
  const ev = createProbeEvent("kprobe", definition, retprobe, what);
  let perf: Fd;
  try {
    perf = openProbeEvent(ev);
  } catch (e) {
    ev.remove();
    throw e;
  }
  return attachToPerfEvent(prog, perf, `${description} (tracefs)`, opts.cookie, () => ev.remove());
}

/** Options of {@link attachKprobeMulti}: exactly one of pattern, symbols or addresses. */
export interface KprobeMultiOptions {
  /** Glob over available_filter_functions (`*` and `?`), e.g. `vfs_*`. */
  readonly pattern?: string;
  readonly symbols?: readonly string[];
  readonly addresses?: readonly bigint[];
  /** Return probes; default from the section (`kretprobe.multi/...`). */
  readonly retprobe?: boolean;
  /** One cookie per function (in the order of `symbols`/`addresses`, or of the sorted pattern matches). */
  readonly cookies?: readonly bigint[];
}

/** Kernel functions that can be traced (tracefs available_filter_functions) matching a glob, sorted, unique. */
export function matchKernelFunctions(pattern: string): string[] {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`);
  const file = join(tracefsPath(), "available_filter_functions");
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (cause) {
    throw new TsbpfError("TRACEFS_ERROR", `match kernel functions "${pattern}": cannot read ${file}: ${(cause as Error).message}`, { cause });
  }
  const out = new Set<string>();
  for (const line of text.split("\n")) {
    const name = line.split(" ", 1)[0];
    if (name && re.test(name) && !name.startsWith("__ftrace_invalid_address__")) out.add(name);
  }
  return [...out].sort();
}

/**
 * Attach a `kprobe.multi` program to many kernel functions with one BPF link (kernel 5.18+ with
 * CONFIG_FPROBE).
 *
 * @example
 * using link = attachKprobeMulti(coll.program("count_vfs"), { pattern: "vfs_*" });
 */
export function attachKprobeMulti(prog: Program, opts: KprobeMultiOptions = {}): Link {
  const spec = prog.spec;
  const given = [opts.pattern, opts.symbols, opts.addresses].filter((x) => x !== undefined).length;
  const pattern = given === 0 ? spec.attachTarget : opts.pattern;
  if (given > 1) throw new TsbpfError("INVALID_ARGUMENT", `attach program "${prog.name}": give one of pattern, symbols or addresses`);
  if (given === 0 && !pattern) throw new TsbpfError("ATTACH_NEEDS_TARGET", `attach program "${prog.name}": kprobe.multi needs a pattern (SEC("kprobe.multi/<glob>") or { pattern })`);
  const retprobe = opts.retprobe ?? spec.attach === "kretprobe_multi";
  const description = `${retprobe ? "kretprobe.multi" : "kprobe.multi"} ${pattern ?? (opts.symbols ? `${opts.symbols.length} symbols` : `${opts.addresses!.length} addresses`)}`;
  const what = `attach program "${prog.name}" to ${description}`;
  if (spec.type !== "KPROBE") throw new TsbpfError("WRONG_PROGRAM_TYPE", `${what}: it is a ${spec.type} program`);
  const support = kprobeSupport();
  if (!support.pmu && !support.tracefs) throw noKprobes(what);
  const syms = pattern !== undefined ? matchKernelFunctions(pattern) : opts.symbols;
  if (syms && syms.length === 0) throw new TsbpfError("SYMBOL_NOT_FOUND", `${what}: no traceable kernel function matches "${pattern}"`);
  try {
    const fd = linkCreate({
      context: what,
      progFd: prog.fd.value, target: 0, attachType: ATTACH_TYPE.TRACE_KPROBE_MULTI,
      extra: {
        kind: "kprobe_multi", flags: retprobe ? LINK_FLAGS.KPROBE_MULTI_RETURN : 0,
        ...(syms ? { syms } : { addrs: opts.addresses! }),
        ...(opts.cookies ? { cookies: opts.cookies } : {}),
      },
    });
    return new Link(fd, description);
  } catch (e) {
    // Built without CONFIG_FPROBE: EOPNOTSUPP; before 5.18 the attach type is unknown: EINVAL.
    if (e instanceof SyscallError && (e.code === "EOPNOTSUPP" || (e.code === "EINVAL" && !kernelAtLeast(5, 18)))) {
      throw new MissingFeatureError("KPROBE_MULTI_UNSUPPORTED", `${what}: the kernel has no kprobe_multi links (needs 5.18+ built with CONFIG_FPROBE)`, { cause: e });
    }
    if (e instanceof SyscallError && e.code === "EINVAL" && spec.expectedAttachType !== "TRACE_KPROBE_MULTI") {
      throw new TsbpfError("WRONG_PROGRAM_TYPE", `${what}: the program was not loaded for kprobe_multi (section "${spec.sectionName}"; use SEC("kprobe.multi/...")`, { cause: e });
    }
    throw e;
  }
}
