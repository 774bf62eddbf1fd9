// Typed access to the C corpus expectations (test/fixtures/c/expectations.json): what each object
// should load as, its programs and maps, and test-run results, plus resolvers for host-dependent values.

import { readFileSync, readdirSync } from "node:fs";
import { release } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { CORPUS_DIR, REPO_ROOT } from "../helpers/toolchain.js";

/** One program of a corpus object, as bpftool reports it after `prog loadall`. */
export interface CorpusProgram {
  /** Program (function) name; also the pin name. */
  name: string;
  /** ELF section name. */
  section: string;
  /** Program type in bpftool's spelling: sched_cls, xdp, socket_filter, tracepoint, raw_tracepoint, tracing, ... */
  type: string;
  /** expected_attach_type the loader must pass (kernel constant name), where it matters. */
  attachType?: string;
  /** What the section names as the attach target (BTF name, tracepoint, function, binary:symbol). */
  attachTo?: string;
  /** Loaded with BPF_F_SLEEPABLE. */
  sleepable?: boolean;
}

/** One map of a corpus object. */
export interface CorpusMap {
  /** Name in the object: the symbol for BTF maps, the section name for internal maps (.bss, .rodata, ...). */
  name: string;
  /** Name the kernel reports when libbpf loads the object (internal maps get an 8-char object-name prefix). */
  kernelName: string;
  /** Map type in bpftool's spelling. */
  type: string;
  keySize: number;
  valueSize: number;
  /** A number, or "$NCPUS" for the number of possible CPUs. */
  maxEntries: number | "$NCPUS";
  /** map_flags as created (BPF_F_MMAPABLE 0x400, BPF_F_RDONLY_PROG 0x80, BPF_F_NO_PREALLOC 0x1). */
  flags: number;
  /** Frozen after its initial value is written (.rodata, .kconfig). */
  frozen?: boolean;
  /** The loader chooses the layout (.kconfig): valueSize is libbpf's choice, not a requirement. */
  layoutByLoader?: boolean;
}

/** A packet for BPF_PROG_TEST_RUN: `prefix` bytes followed by zeros up to `size`. */
export interface CorpusPacket {
  size: number;
  prefix?: number[];
}

/** A BPF_PROG_TEST_RUN with a packet (bpftool can do these). */
export interface PacketRun {
  program: string;
  packet: CorpusPacket;
  /** Expected return value, or a token (see {@link resolveToken}). */
  retval: number | string;
  note?: string;
}

/** A BPF_PROG_TEST_RUN with only a context (or nothing): raw_tracepoint, syscall. */
export interface CtxRun {
  program: string;
  /** Context as little-endian int32 words; absent = no context. */
  ctx?: number[];
  retval: number;
  /** Context after the run, as int32 words. */
  ctxOut?: number[];
  note?: string;
}

/**
 * A check of map contents at a point in the sequence: right after "load", after all packet "runs",
 * or after all "ctxRuns". Exactly one of values / entries / keys / valueHex is set.
 */
export interface MapCheck {
  after: "load" | "runs" | "ctxRuns";
  /** Kernel map name (CorpusMap.kernelName). */
  map: string;
  /** For single-entry data-section maps: variable name -> value (nested objects for structs). */
  values?: Record<string, unknown>;
  /** For u32 -> u64/u32 maps: entries that must be present with these values. */
  entries?: { key: number; value: number }[];
  /** The exact set of present keys (map-in-map, prog array). */
  keys?: number[];
  /** Key 0's value as hex bytes. */
  valueHex?: string;
}

/** Everything expected of one corpus object. */
export interface CorpusObject {
  /** Source path relative to the repository root. */
  file: string;
  /** The "license" section's string. */
  license: string;
  /** The kernel on this host accepts every map and program (given a complete loader). */
  hostLoads: boolean;
  /** Programs attach on this host (absent = same as hostLoads). */
  hostAttaches?: boolean;
  /** Expected to load in the VM suite's kernel. */
  vmLoads: boolean;
  /** What `bpftool prog loadall` (libbpf 1.1) does with it here; `fragment` is in its output on failure. */
  bpftool: { loads: boolean; fragment?: string };
  /** When hostLoads is false: a fragment of the kernel's verifier log or the errno name. */
  kernelFragment?: string;
  programs: CorpusProgram[];
  maps: CorpusMap[];
  runs?: PacketRun[];
  ctxRuns?: CtxRun[];
  mapChecks?: MapCheck[];
  notes?: string[];
}

/** The parsed expectations file, keyed by object name (the source's base name without `.bpf.c`). */
export function loadCorpus(): Record<string, CorpusObject> {
  const text = readFileSync(join(CORPUS_DIR, "expectations.json"), "utf8");
  return (JSON.parse(text) as { objects: Record<string, CorpusObject> }).objects;
}

/** Absolute path of an object's C source. */
export function corpusSource(obj: CorpusObject): string {
  return join(REPO_ROOT, obj.file);
}

/** Every `*.bpf.c` in the corpus directory and under examples/, as repo-relative paths. */
export function corpusSourceFiles(): string[] {
  const files = readdirSync(CORPUS_DIR)
    .filter((f) => f.endsWith(".bpf.c"))
    .map((f) => `test/fixtures/c/${f}`);
  const examples = join(REPO_ROOT, "examples");
  for (const dir of readdirSync(examples, { withFileTypes: true })) {
    if (!dir.isDirectory()) continue;
    for (const f of readdirSync(join(examples, dir.name))) {
      if (f.endsWith(".bpf.c")) files.push(`examples/${dir.name}/${f}`);
    }
  }
  return files.sort();
}

/** The bytes of a test-run packet. */
export function packetBytes(packet: CorpusPacket): Uint8Array {
  const bytes = new Uint8Array(packet.size);
  bytes.set(packet.prefix ?? []);
  return bytes;
}

/** Number of possible CPUs (what libbpf uses for PERF_EVENT_ARRAY max_entries). */
export function possibleCpus(): number {
  const text = readFileSync("/sys/devices/system/cpu/possible", "utf8").trim();
  let count = 0;
  for (const part of text.split(",")) {
    const [lo, hi] = part.split("-").map(Number);
    count += hi === undefined ? 1 : hi - lo + 1;
  }
  return count;
}

/** KERNEL_VERSION(a, b, c) of the running kernel, as libbpf computes LINUX_KERNEL_VERSION (c capped at 255). */
export function linuxKernelVersion(rel: string = release()): number {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(rel);
  if (!m) return 0;
  return (Number(m[1]) << 16) + (Number(m[2]) << 8) + Math.min(Number(m[3] ?? 0), 255);
}

let kconfigCache: Map<string, string> | undefined;

/** The running kernel's config (/proc/config.gz or /boot/config-<release>): name -> raw value. */
export function kernelConfig(): Map<string, string> {
  if (kconfigCache) return kconfigCache;
  let text: string;
  try {
    text = gunzipSync(readFileSync("/proc/config.gz")).toString("utf8");
  } catch {
    text = readFileSync(`/boot/config-${release()}`, "utf8");
  }
  kconfigCache = new Map();
  for (const line of text.split("\n")) {
    const m = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(line);
    if (m) kconfigCache.set(m[1], m[2]);
  }
  return kconfigCache;
}

function tristate(name: string): number {
  const v = kernelConfig().get(name);
  return v === "y" ? 1 : v === "m" ? 2 : 0;
}

/** Values a caller supplies for tokens that depend on who ran the program ($CALLER_*). */
export interface CallerInfo {
  pid: number;
  tid: number;
  ppid: number;
  comm: string;
}

/** The current process as a {@link CallerInfo} (main thread). */
export function currentCaller(): CallerInfo {
  return {
    pid: process.pid,
    tid: process.pid,
    ppid: process.ppid,
    comm: readFileSync("/proc/self/comm", "utf8").trim(),
  };
}

/**
 * Resolves an expectation token to the host's value: `$NCPUS`, `$LINUX_KERNEL_VERSION`,
 * `$CONFIG_<NAME>` (number when numeric, string with quotes stripped, true for y),
 * `$TRISTATE:CONFIG_<NAME>` (TRI_YES / TRI_MODULE / TRI_NO), `$KCONFIG_RETVAL` (kconfig.bpf.c's
 * return value), `$CALLER_PID`, `$CALLER_TID`, `$CALLER_PPID`, `$CALLER_COMM`. `$NONZERO` is left
 * as is for {@link matchesExpected}. Anything else is returned unchanged.
 */
export function resolveToken(value: unknown, caller: CallerInfo = currentCaller()): unknown {
  if (typeof value !== "string" || !value.startsWith("$") || value === "$NONZERO") return value;
  if (value === "$NCPUS") return possibleCpus();
  if (value === "$LINUX_KERNEL_VERSION") return linuxKernelVersion();
  if (value === "$KCONFIG_RETVAL") return 1 + 10 * tristate("CONFIG_NET_CLS_BPF") + 100 + 1000;
  if (value === "$CALLER_PID") return caller.pid;
  if (value === "$CALLER_TID") return caller.tid;
  if (value === "$CALLER_PPID") return caller.ppid;
  if (value === "$CALLER_COMM") return caller.comm;
  if (value.startsWith("$TRISTATE:")) return ["TRI_NO", "TRI_YES", "TRI_MODULE"][tristate(value.slice(10))];
  if (value.startsWith("$CONFIG_")) {
    const raw = kernelConfig().get(value.slice(1));
    if (raw === undefined) return undefined;
    if (raw === "y") return true;
    if (/^-?\d+$/.test(raw)) return Number(raw);
    if (/^0x[0-9a-f]+$/i.test(raw)) return Number.parseInt(raw, 16);
    return raw.replace(/^"(.*)"$/, "$1");
  }
  return value;
}

/**
 * Whether `actual` matches `expected` after token resolution: objects match when every expected key
 * matches (extra actual keys are ignored), `$NONZERO` matches any non-zero / non-empty value.
 */
export function matchesExpected(actual: unknown, expected: unknown, caller?: CallerInfo): boolean {
  const want = resolveToken(expected, caller);
  if (want === "$NONZERO") return actual !== 0 && actual !== "" && actual !== false && actual != null;
  if (want !== null && typeof want === "object" && !Array.isArray(want)) {
    if (actual === null || typeof actual !== "object") return false;
    return Object.entries(want).every(([k, v]) => matchesExpected((actual as Record<string, unknown>)[k], v, caller));
  }
  if (Array.isArray(want)) {
    return Array.isArray(actual) && actual.length === want.length && want.every((v, i) => matchesExpected(actual[i], v, caller));
  }
  return actual === want;
}
