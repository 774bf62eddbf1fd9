// Kernel feature probes: does the running kernel have a program type, map type, helper, attach type,
// link type, kfunc, BTF kind, instruction set or iterator target? Each answer comes from loading a
// minimal object (or, where the kernel's BTF settles it, from that BTF) and is memoised per process and
// per BPF token: inside a user namespace the probes make their objects through the token a load would
// use (option, environment, implicit default), so they answer what the load will meet.
// The probe table and this host's answers are in docs/features.md.

import type { BtfFeature } from "./btf/sanitize.js";
import { encode } from "./asm/encode.js";
import { alu32Imm, mov32Imm, mov64Imm, movsx } from "./asm/alu.js";
import { call, callKfunc, exit, jump32Imm, jumpImm } from "./asm/jump.js";
import type { Instruction } from "./asm/instruction.js";
import { AluOp, JumpOp } from "./asm/opcode.js";
import { R0 } from "./asm/register.js";
import type { Btf } from "./btf/btf.js";
import { kernelBtf } from "./btf/kernel.js";
import { BtfBuilder } from "./btf/writer.js";
import type { BtfKindName } from "./btf/types.js";
import { KernelRefusedError, MissingFeatureError, PermissionError, SyscallError, TsbpfError } from "./errors.js";
import type { MapTypeName } from "./object/spec.js";
import type { AttachTypeName, ProgramTypeName } from "./object/sections.js";
import { hasVerifierVerdict, verifierReason } from "./runtime/verifier.js";
import { btfLoad, linkCreate, logText, mapCreate, progLoad, rawTracepointOpen, type LinkCreateAttr, type MapCreateAttr, type ProgLoadAttr } from "./sys/bpf.js";
import { ATTACH_TYPE, attachTypeName, helperId, helperName, LINK_TYPE, linkTypeName, MAP_FLAGS, MAP_TYPE, mapTypeName, PROG_FLAGS, PROG_TYPE, progTypeName } from "./sys/constants.js";
import type { Fd } from "./sys/fd.js";
import { sys, type Sys } from "./sys/seam.js";
import { kernelVersion, pageSize } from "./sys/system.js";
import { BpfToken, createToken, DEFAULT_TOKEN_PATH, tokenPathFromEnv, type TokenSource } from "./runtime/token.js";

/**
 * A probe's answer.
 * - `yes`: the kernel has the feature and allowed the probe to use it.
 * - `no`: the kernel lacks it: it answered EINVAL, E2BIG, ENOTSUPP or EOPNOTSUPP to an otherwise
 *   valid probe, its verifier said so ("unknown func", "invalid func", "cannot use helper"...), or its
 *   BTF has no such thing (then `errnoCode` is `ENOENT`).
 * - `refused`: the kernel has it but will not let this process use it: EPERM or EACCES before
 *   verification (a missing capability, kernel lockdown, an LSM policy, ftrace locked for trampolines).
 */
export type FeatureResult =
  | { readonly status: "yes"; readonly feature: string }
  | { readonly status: "no"; readonly feature: string; readonly errno: number; readonly errnoCode: string; readonly reason: string }
  | {
      readonly status: "refused"; readonly feature: string; readonly errno: number; readonly errnoCode: string;
      /** The refused call (`BPF_PROG_LOAD`, `BPF_MAP_CREATE`...). */
      readonly operation: string; readonly reason: string;
    };

/** Instruction set versions (clang/LLVM's -mcpu): v2 adds JLT/JLE/JSLT/JSLE, v3 the JMP32 class and 32-bit ALU jumps, v4 sign extension, signed division, bswap and gotol. */
export type InstructionSet = "v2" | "v3" | "v4";

/** First Linux release with each map type (from the kernel's git history). */
export const MAP_TYPE_SINCE: Readonly<Record<Exclude<MapTypeName, "UNSPEC">, string>> = {
  HASH: "3.19", ARRAY: "3.19", PROG_ARRAY: "4.2", PERF_EVENT_ARRAY: "4.3", PERCPU_HASH: "4.6", PERCPU_ARRAY: "4.6",
  STACK_TRACE: "4.6", CGROUP_ARRAY: "4.8", LRU_HASH: "4.10", LRU_PERCPU_HASH: "4.10", LPM_TRIE: "4.11",
  ARRAY_OF_MAPS: "4.12", HASH_OF_MAPS: "4.12", DEVMAP: "4.14", SOCKMAP: "4.14", CPUMAP: "4.15", XSKMAP: "4.18",
  SOCKHASH: "4.18", CGROUP_STORAGE: "4.19", REUSEPORT_SOCKARRAY: "4.19", PERCPU_CGROUP_STORAGE: "4.20",
  QUEUE: "4.20", STACK: "4.20", SK_STORAGE: "5.2", DEVMAP_HASH: "5.4", STRUCT_OPS: "5.6", RINGBUF: "5.8",
  INODE_STORAGE: "5.10", TASK_STORAGE: "5.11", BLOOM_FILTER: "5.16", USER_RINGBUF: "6.1", CGRP_STORAGE: "6.2",
  ARENA: "6.9",
};

/** First Linux release with each program type. */
export const PROGRAM_TYPE_SINCE: Readonly<Record<ProgramTypeName, string>> = {
  SOCKET_FILTER: "3.19", KPROBE: "4.1", SCHED_CLS: "4.1", SCHED_ACT: "4.1", TRACEPOINT: "4.7", XDP: "4.8",
  PERF_EVENT: "4.9", CGROUP_SKB: "4.10", CGROUP_SOCK: "4.10", LWT_IN: "4.10", LWT_OUT: "4.10", LWT_XMIT: "4.10",
  SOCK_OPS: "4.13", SK_SKB: "4.14", CGROUP_DEVICE: "4.15", SK_MSG: "4.17", RAW_TRACEPOINT: "4.17",
  CGROUP_SOCK_ADDR: "4.17", LWT_SEG6LOCAL: "4.18", LIRC_MODE2: "4.18", SK_REUSEPORT: "4.19", FLOW_DISSECTOR: "4.20",
  CGROUP_SYSCTL: "5.2", RAW_TRACEPOINT_WRITABLE: "5.2", CGROUP_SOCKOPT: "5.3", TRACING: "5.5", STRUCT_OPS: "5.6",
  EXT: "5.6", LSM: "5.7", SK_LOOKUP: "5.9", SYSCALL: "5.14", NETFILTER: "6.4",
};

/** First Linux release with each link type. */
export const LINK_TYPE_SINCE: Readonly<Record<Exclude<keyof typeof LINK_TYPE, "UNSPEC">, string>> = {
  RAW_TRACEPOINT: "5.7", TRACING: "5.7", CGROUP: "5.7", ITER: "5.8", NETNS: "5.8", XDP: "5.9", PERF_EVENT: "5.15",
  KPROBE_MULTI: "5.18", STRUCT_OPS: "6.4", NETFILTER: "6.4", TCX: "6.6", UPROBE_MULTI: "6.6", NETKIT: "6.7",
  SOCKMAP: "6.10",
};

/* ---------- tokens, results, memoisation, errno classification ---------- */

/** Options every probe takes. */
export interface ProbeOptions {
  /**
   * BPF token (Linux 6.9+) the probe makes its maps, programs and BTF with, in the forms
   * `loadCollection` takes: a delegated bpffs path, an Fd, a {@link BpfToken}, or `false` for none.
   * Unset: what a load without the option uses (TSBPF_BPF_TOKEN_PATH, else LIBBPF_BPF_TOKEN_PATH,
   * else /sys/fs/bpf when the process is in a child user namespace; see docs/token.md). A named
   * token that cannot be made throws its TokenError. Answers are memoised per token.
   */
  readonly token?: TokenSource | false;
}

/** The token the probes of one public call use: a memo key and the token, made on first need. */
interface ProbeScope {
  readonly key: string;
  token(): BpfToken | undefined;
  close(): void;
}

let scope: ProbeScope | undefined;
const tokenIds = new WeakMap<BpfToken, number>();
let nextTokenId = 1;

/** Memo key of a token: what it delegates (tokens delegating the same answer the same), else the token itself. */
function tokenKey(t: BpfToken): string {
  const d = t.delegation();
  if (d) return `token:${JSON.stringify(d)}`;
  let id = tokenIds.get(t);
  if (id === undefined) tokenIds.set(t, (id = nextTokenId++));
  return `token#${id}`;
}

const NO_TOKEN: ProbeScope = { key: "", token: () => undefined, close: () => {} };

/** A scope for a named path: the token is made on first need and closed with the scope; `quiet` falls back to none. */
function pathScope(key: string, path: string, quiet: boolean): ProbeScope {
  let made: BpfToken | undefined;
  let tried = false;
  return {
    key,
    token() {
      if (!tried) {
        tried = true;
        try {
          made = createToken(path);
        } catch (e) {
          if (!quiet || !(e instanceof TsbpfError)) throw e;
        }
      }
      return made;
    },
    close: () => made?.close(),
  };
}

function openScope(option: TokenSource | false | undefined): ProbeScope {
  if (option === false || option === "") return NO_TOKEN;
  if (option instanceof BpfToken) return { key: tokenKey(option), token: () => option, close: () => {} };
  if (typeof option === "string") return pathScope(`path:${option}`, option, false);
  if (option !== undefined) {
    const t = createToken(option);
    return { key: tokenKey(t), token: () => t, close: () => t.close() };
  }
  const fromEnv = tokenPathFromEnv();
  if (fromEnv !== undefined) return fromEnv === "" ? NO_TOKEN : pathScope(`path:${fromEnv}`, fromEnv, false);
  let initial: boolean | undefined;
  try {
    initial = sys().initialUserNamespace();
  } catch {
    initial = undefined;
  }
  // As a load does: the implicit default only in a child user namespace, silently none when it gives no token.
  return initial === false ? pathScope(`implicit:${DEFAULT_TOKEN_PATH}`, DEFAULT_TOKEN_PATH, true) : NO_TOKEN;
}

/** Runs a public probe in the token scope `opts` names; without a token option, inside another probe, that probe's scope. */
function scoped<T>(opts: ProbeOptions | undefined, fn: () => T): T {
  if (scope && opts?.token === undefined) return fn();
  const s = openScope(opts?.token);
  const prev = scope;
  scope = s;
  try {
    return fn();
  } finally {
    scope = prev;
    s.close();
  }
}

/**
 * Runs `fn`, a batch of probes, all through the token `opts` names (made once, closed after), as if
 * each probe had been given `opts`.
 *
 * @example
 * probeScope({ token: "/sys/fs/bpf" }, () => [haveProgramType("XDP"), haveMapType("HASH")]);
 */
export function probeScope<T>(opts: ProbeOptions, fn: () => T): T {
  return scoped(opts, fn);
}

/**
 * Runs `fn` (a load) so that the probes it consults use `token`, the token of the load (undefined:
 * none), whatever the environment says.
 * @internal used by loadCollection
 */
export function probingWith<T>(token: BpfToken | undefined, fn: () => T): T {
  return scoped({ token: token ?? false }, fn);
}

/** The token of the running probe (made now if it was named but not made yet), or undefined. */
function probeToken(): BpfToken | undefined {
  return scope?.token();
}

/** Token attributes for BPF_MAP_CREATE / BPF_PROG_LOAD / BPF_BTF_LOAD of a probe. */
const mapToken = (flags = 0): Pick<MapCreateAttr, "mapFlags" | "mapTokenFd"> => {
  const t = probeToken();
  return t ? { mapFlags: flags | MAP_FLAGS.TOKEN_FD, mapTokenFd: t.fd.value } : { mapFlags: flags };
};
const progToken = (flags = 0): Pick<ProgLoadAttr, "progFlags" | "progTokenFd"> => {
  const t = probeToken();
  return t ? { progFlags: flags | PROG_FLAGS.TOKEN_FD, progTokenFd: t.fd.value } : { progFlags: flags };
};
const btfToken = (): { tokenFd?: number } => {
  const t = probeToken();
  return t ? { tokenFd: t.fd.value } : {};
};

const caches = new WeakMap<Sys, Map<string, FeatureResult>>();

/** The memoised answer for `key` under the current token; `probe` runs once per syscall implementation and token (once per process for the kernel). */
function memo(key: string, probe: () => FeatureResult): FeatureResult {
  const s = sys();
  let cache = caches.get(s);
  if (!cache) caches.set(s, (cache = new Map()));
  const full = scope?.key ? `${scope.key}|${key}` : key;
  const hit = cache.get(full);
  if (hit) return hit;
  const r = probe();
  cache.set(full, r);
  return r;
}

const yes = (feature: string): FeatureResult => ({ status: "yes", feature });
const ENOENT = 2;
/** "no" decided from the kernel's BTF rather than a system call. */
const absent = (feature: string, reason: string): FeatureResult => ({ status: "no", feature, errno: ENOENT, errnoCode: "ENOENT", reason });

const ENOTSUPP = 524;
const LACKS = new Set(["EINVAL", "E2BIG", "ENOTSUPP", "EOPNOTSUPP"]);
const REFUSES = new Set(["EPERM", "EACCES"]);

/** The SyscallError behind `e` (the seam turns EPERM of non-root callers into a PermissionError that wraps it). */
function syscallOf(e: unknown): SyscallError | undefined {
  const se = e instanceof SyscallError ? e : e instanceof PermissionError && e.cause instanceof SyscallError ? e.cause : undefined;
  // ENOTSUPP (524) is kernel-internal: libc has no name for it.
  if (se && se.errno === ENOTSUPP && se.code !== "ENOTSUPP") return new SyscallError(se.operation, se.errno, "ENOTSUPP", "Operation not supported (ENOTSUPP)");
  return se;
}

/** The answer an errno gives, or a FEATURE_PROBE_FAILED error when it does not tell. */
function byErrno(feature: string, e: SyscallError, extra = ""): FeatureResult {
  if (LACKS.has(e.code)) {
    return { status: "no", feature, errno: e.errno, errnoCode: e.code, reason: `${e.operation} answered ${e.code}${extra}` };
  }
  if (REFUSES.has(e.code)) {
    return { status: "refused", feature, errno: e.errno, errnoCode: e.code, operation: e.operation, reason: `${e.operation} answered ${e.code}${e.operation === "BPF_PROG_LOAD" ? " before verification (no verifier log)" : ""}${extra}` };
  }
  throw probeFailed(feature, e);
}

function probeFailed(feature: string, e: SyscallError): TsbpfError {
  return new TsbpfError("FEATURE_PROBE_FAILED", `probe for ${feature}: the kernel answered ${e.operation} with ${e.code}, which does not tell whether it has it`, { cause: e });
}

/** Runs `fn`; a failing system call becomes its SyscallError (anything else is rethrown). */
function attempt<T>(fn: () => T): { ok: T } | { err: SyscallError } {
  try {
    return { ok: fn() };
  } catch (e) {
    const se = syscallOf(e);
    if (!se) throw e;
    return { err: se };
  }
}

/* ---------- names ---------- */

function lookupName<T extends Record<string, number>>(table: T, prefix: string, what: string, v: string | number): number {
  if (typeof v === "number") {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new TsbpfError("INVALID_ARGUMENT", `${what}: ${v} is not a valid number`);
    return v;
  }
  let key = v.toUpperCase();
  if (key.startsWith(prefix)) key = key.slice(prefix.length);
  if (!Object.hasOwn(table, key)) {
    throw new TsbpfError("INVALID_ARGUMENT", `${what}: unknown name "${v}" (one of ${Object.keys(table).join(", ")}, or a number)`);
  }
  return table[key as keyof T] as number;
}

const progTypeOf = (t: ProgramTypeName | number) => lookupName(PROG_TYPE, "BPF_PROG_TYPE_", "program type", t);
const mapTypeOf = (t: MapTypeName | number) => lookupName(MAP_TYPE, "BPF_MAP_TYPE_", "map type", t);
const attachTypeOf = (t: AttachTypeName | number) => lookupName(ATTACH_TYPE, "BPF_", "attach type", t);
const linkTypeOf = (t: keyof typeof LINK_TYPE | number) => lookupName(LINK_TYPE, "BPF_LINK_TYPE_", "link type", t);

const shortName = (full: string, prefix: string) => full.startsWith(prefix) ? full.slice(prefix.length) : full;

/* ---------- kernel BTF lookups ---------- */

function btfOrUndefined(): Btf | undefined {
  try {
    return kernelBtf();
  } catch {
    return undefined;
  }
}

let traceTypedef: { btf: Btf; id: number | undefined } | undefined;

/** A raw tracepoint of the kernel's BTF (btf_trace_* typedef) for tp_btf probes. */
function someBtfTracepoint(btf: Btf): number | undefined {
  if (traceTypedef?.btf === btf) return traceTypedef.id;
  let id = btf.find("btf_trace_sched_switch", "typedef")[0];
  for (let i = 1; id === undefined && i < btf.typeCount; i++) {
    const t = btf.type(i);
    if (t.kind === "typedef" && t.name.startsWith("btf_trace_")) id = i;
  }
  traceTypedef = { btf, id };
  return id;
}

/* ---------- program probes ---------- */

const RET0: readonly Instruction[] = [mov64Imm(R0, 0), exit()];

/** What a probe program of a type needs besides its instructions, or the answer when it cannot be built. */
type ProgBase = Pick<ProgLoadAttr, "progType" | "expectedAttachType" | "attachBtfId" | "progFlags">;

/** Load attributes for a minimal program of `type` (expected attach type and BTF target where the kernel checks them at load). */
function progBase(type: number, feature: string): ProgBase | FeatureResult {
  const base: ProgBase = { progType: type };
  const needBtf = (name: string, kind: "func" | "typedef", attach: AttachTypeName): ProgBase | FeatureResult => {
    const btf = btfOrUndefined();
    if (!btf) return absent(feature, "the kernel has no BTF (/sys/kernel/btf/vmlinux), which this program type needs");
    const id = kind === "typedef" ? someBtfTracepoint(btf) : btf.find(name, "func")[0];
    if (id === undefined) return absent(feature, `the kernel's BTF has no ${kind === "typedef" ? "btf_trace_* typedef" : `function ${name}`}`);
    return { ...base, expectedAttachType: ATTACH_TYPE[attach], attachBtfId: id };
  };
  switch (type) {
    case PROG_TYPE.CGROUP_SOCK_ADDR: return { ...base, expectedAttachType: ATTACH_TYPE.CGROUP_INET4_CONNECT };
    case PROG_TYPE.CGROUP_SOCKOPT: return { ...base, expectedAttachType: ATTACH_TYPE.CGROUP_GETSOCKOPT };
    case PROG_TYPE.SK_LOOKUP: return { ...base, expectedAttachType: ATTACH_TYPE.SK_LOOKUP };
    case PROG_TYPE.SK_REUSEPORT: return { ...base, expectedAttachType: ATTACH_TYPE.SK_REUSEPORT_SELECT };
    case PROG_TYPE.NETFILTER: return { ...base, expectedAttachType: ATTACH_TYPE.NETFILTER };
    case PROG_TYPE.SYSCALL: return { ...base, progFlags: PROG_FLAGS.SLEEPABLE };
    case PROG_TYPE.TRACING: return needBtf("", "typedef", "TRACE_RAW_TP");
    case PROG_TYPE.LSM: return needBtf("bpf_lsm_file_open", "func", "LSM_MAC");
    case PROG_TYPE.STRUCT_OPS: {
      // A struct_ops program names the struct (attach_btf_id) and the member (expected_attach_type) it implements.
      const btf = btfOrUndefined();
      const v = btf && structOpsValue(btf);
      if (!v) return absent(feature, "the kernel's BTF has no struct_ops type (bpf_struct_ops_* value type)");
      return { ...base, attachBtfId: v.structId, expectedAttachType: 0 };
    }
    default: return base;
  }
}

interface LoadOutcome {
  fd?: Fd;
  err?: SyscallError;
  /** The verifier log (empty when the kernel refused before verifying). */
  log: string;
}

/** BPF_PROG_LOAD of a probe program with a verifier log. */
function loadProbe(base: ProgBase, insns: readonly Instruction[], extra: Partial<ProgLoadAttr> = {}): LoadOutcome {
  const buf = new Uint8Array(64 * 1024);
  const r = attempt(() => progLoad({
    ...base, ...extra, ...progToken((base.progFlags ?? 0) | (extra.progFlags ?? 0)), insns: encode(insns), license: "GPL", progName: "tsbpf_probe",
    kernVersion: kernelVersion().code, logLevel: 1, logBuf: buf,
  }));
  if ("ok" in r) return { fd: r.ok, log: "" };
  return { err: r.err, log: logText(buf) };
}

/**
 * Does this kernel have program type `type`? Loads `r0 = 0; exit` as that type (with the expected
 * attach type, BTF target or sleepable flag the kernel checks at load).
 *
 * @example
 * import { haveProgramType } from "tsbpf";
 * if (haveProgramType("NETFILTER").status !== "yes") console.log("no netfilter programs here");
 */
export function haveProgramType(type: ProgramTypeName | number, opts?: ProbeOptions): FeatureResult {
  const n = progTypeOf(type);
  const feature = `${shortName(progTypeName(n), "BPF_PROG_TYPE_")} programs`;
  return scoped(opts, () => memo(`prog:${n}`, () => {
    const base = progBase(n, feature);
    if ("status" in base) return base;
    const r = loadProbe(base, RET0);
    if (r.fd) { r.fd.close(); return yes(feature); }
    // A verifier log means the kernel knew the type and verified the program (struct_ops and freplace
    // programs need a target the probe does not give, and say so in the log).
    if (hasVerifierVerdict(r.log)) return yes(feature);
    return byErrno(feature, r.err!);
  }));
}

/** A verifier log line that means the helper or kfunc does not exist or is not allowed for the program type. */
const HELPER_MISSING = /invalid func |unknown func |cannot use helper|helper call is not allowed|not supported for this prog type/;

/**
 * Can programs of `progType` call helper `helper` (id, or name with or without `bpf_`)? Loads a
 * program that calls it with no arguments set up: the verifier names an unknown or forbidden helper
 * before it checks arguments, so an argument complaint means "yes".
 *
 * @example
 * import { haveHelper } from "tsbpf";
 * haveHelper("XDP", "map_lookup_elem"); // { status: "yes", ... }
 */
export function haveHelper(progType: ProgramTypeName | number, helper: number | string, opts?: ProbeOptions): FeatureResult {
  const pt = progTypeOf(progType);
  let id: number;
  if (typeof helper === "number") {
    if (!Number.isInteger(helper) || helper < 0 || helper > 0x7fffffff) throw new TsbpfError("INVALID_ARGUMENT", `helper: ${helper} is not a valid helper id`);
    id = helper;
  } else {
    const found = helperId(helper);
    if (found === undefined) throw new TsbpfError("INVALID_ARGUMENT", `helper: unknown helper name "${helper}" (use its id for helpers newer than tsbpf's table)`);
    id = found;
  }
  const feature = `helper ${helperName(id)} in ${shortName(progTypeName(pt), "BPF_PROG_TYPE_")} programs`;
  return scoped(opts, () => memo(`helper:${pt}:${id}`, () => {
    const prog = haveProgramType(pt);
    if (prog.status !== "yes") return { ...prog, feature };
    const base = progBase(pt, feature) as ProgBase;
    const r = loadProbe(base, [call(id), mov64Imm(R0, 0), exit()]);
    if (r.fd) { r.fd.close(); return yes(feature); }
    if (hasVerifierVerdict(r.log)) {
      const reason = verifierReason(r.log);
      if (HELPER_MISSING.test(r.log)) return { status: "no", feature, errno: r.err!.errno, errnoCode: r.err!.code, reason: `the verifier says: ${reason}` };
      return yes(feature);
    }
    return byErrno(feature, r.err!);
  }));
}

const ISA_PROGRAMS: Record<InstructionSet, () => Instruction[]> = {
  v2: () => [mov64Imm(R0, 0), jumpImm(JumpOp.JLT, R0, 1, 1), mov64Imm(R0, 0), exit()],
  v3: () => [mov32Imm(R0, 0), jump32Imm(JumpOp.JLT, R0, 1, 1), alu32Imm(AluOp.ADD, R0, 0), exit()],
  v4: () => [mov64Imm(R0, 0), movsx(R0, R0, 8), exit()],
};

/**
 * Does the kernel accept instructions of `isa` (what `clang -mcpu=vN` emits)? Loads a socket filter
 * using one instruction new in that version (v2: JLT, v3: JMP32 JLT, v4: MOVSX).
 *
 * @example
 * import { haveInstructionSet } from "tsbpf";
 * const cpu = haveInstructionSet("v4").status === "yes" ? "v4" : "v3";
 */
export function haveInstructionSet(isa: InstructionSet, opts?: ProbeOptions): FeatureResult {
  if (!Object.hasOwn(ISA_PROGRAMS, isa)) throw new TsbpfError("INVALID_ARGUMENT", `instruction set: "${String(isa)}" is not v2, v3 or v4`);
  const feature = `instruction set ${isa}`;
  return scoped(opts, () => memo(`isa:${isa}`, () => {
    const r = loadProbe({ progType: PROG_TYPE.SOCKET_FILTER }, ISA_PROGRAMS[isa]());
    if (r.fd) { r.fd.close(); return yes(feature); }
    if (hasVerifierVerdict(r.log)) return { status: "no", feature, errno: r.err!.errno, errnoCode: r.err!.code, reason: `the verifier says: ${verifierReason(r.log)}` };
    return byErrno(feature, r.err!);
  }));
}

/** A BTF target for a tracing/LSM attach type, by name. */
const ATTACH_BTF_TARGETS: Partial<Record<AttachTypeName, { name: string; kind: "func" | "typedef" }>> = {
  TRACE_RAW_TP: { name: "", kind: "typedef" },
  TRACE_FENTRY: { name: "bpf_fentry_test1", kind: "func" },
  TRACE_FEXIT: { name: "bpf_fentry_test1", kind: "func" },
  MODIFY_RETURN: { name: "bpf_modify_return_test", kind: "func" },
  TRACE_ITER: { name: "bpf_iter_task", kind: "func" },
  LSM_MAC: { name: "bpf_lsm_file_open", kind: "func" },
  LSM_CGROUP: { name: "bpf_lsm_socket_bind", kind: "func" },
};

/** Attach types that attach only through one link type (so the link probe decides). */
const ATTACH_VIA_LINK: Partial<Record<AttachTypeName, keyof typeof LINK_TYPE>> = {
  TCX_INGRESS: "TCX", TCX_EGRESS: "TCX", NETKIT_PRIMARY: "NETKIT", NETKIT_PEER: "NETKIT",
  TRACE_KPROBE_MULTI: "KPROBE_MULTI", TRACE_KPROBE_SESSION: "KPROBE_MULTI",
  TRACE_UPROBE_MULTI: "UPROBE_MULTI", TRACE_UPROBE_SESSION: "UPROBE_MULTI",
  NETFILTER: "NETFILTER", SK_LOOKUP: "NETNS",
};

/**
 * Can programs of `progType` be loaded for attach type `attachType`? Loads `r0 = 0; exit` with that
 * expected attach type (and a BTF target for tracing and LSM attach types); a kernel that loads it must
 * also list `BPF_<attachType>` in its BTF's `enum bpf_attach_type` (program types that ignore the
 * expected attach type at load would otherwise take any number). Attach types used only through one
 * link type (TCX, netkit, kprobe/uprobe multi and session, netfilter, sk_lookup) also need that link
 * type ({@link haveLinkType}).
 *
 * @example
 * import { haveAttachType } from "tsbpf";
 * haveAttachType("CGROUP_SOCK_ADDR", "CGROUP_UNIX_CONNECT"); // Linux 6.7+
 */
export function haveAttachType(progType: ProgramTypeName | number, attachType: AttachTypeName | number, opts?: ProbeOptions): FeatureResult {
  const pt = progTypeOf(progType);
  const at = attachTypeOf(attachType);
  const atName = shortName(attachTypeName(at), "BPF_");
  const feature = `attach type ${atName} for ${shortName(progTypeName(pt), "BPF_PROG_TYPE_")} programs`;
  return scoped(opts, () => memo(`attach:${pt}:${at}`, () => {
    const pb = progBase(pt, feature);
    if ("status" in pb) return pb;
    let base: ProgBase = { ...pb, expectedAttachType: at };
    const target = ATTACH_BTF_TARGETS[atName as AttachTypeName];
    if (target) {
      const btf = btfOrUndefined();
      if (!btf) return absent(feature, "the kernel has no BTF, which this attach type needs");
      const id = target.kind === "typedef" ? someBtfTracepoint(btf) : btf.find(target.name, "func")[0];
      if (id === undefined) return absent(feature, `the kernel's BTF has no ${target.kind === "typedef" ? "btf_trace_* typedef" : `function ${target.name}`}`);
      base = { ...base, attachBtfId: id };
    }
    const r = loadProbe(base, RET0);
    if (r.fd) {
      r.fd.close();
      const btf = btfOrUndefined();
      const known = btf?.find("bpf_attach_type", "enum").some((id) => {
        const t = btf.type(id);
        return t.kind === "enum" && t.values.some((v) => v.name === `BPF_${atName}` && v.value === BigInt(at));
      });
      if (btf && !known) return absent(feature, `the kernel's BTF enum bpf_attach_type has no BPF_${atName} = ${at}`);
      // Attach types used only through one kind of link are as available as that link type.
      const via = ATTACH_VIA_LINK[atName as AttachTypeName];
      if (via) {
        const l = haveLinkType(via);
        return l.status === "yes" ? yes(feature) : { ...l, feature, reason: `${l.reason} (${atName} attaches only through ${via} links)` };
      }
      return yes(feature);
    }
    if (hasVerifierVerdict(r.log)) return yes(feature);
    return byErrno(feature, r.err!);
  }));
}

/**
 * Does the kernel have the BPF iterator `target` (`task`, `bpf_map_elem`, `tcp`...)? Looks for
 * `bpf_iter_<target>` in the kernel's BTF, then loads an iterator program for it.
 *
 * @example
 * import { haveIterTarget } from "tsbpf";
 * if (haveIterTarget("bpf_map_elem").status === "refused") console.log("map element iterators are forbidden here");
 */
export function haveIterTarget(target: string, opts?: ProbeOptions): FeatureResult {
  if (!/^[A-Za-z0-9_]+$/.test(target)) throw new TsbpfError("INVALID_ARGUMENT", `iterator target: "${target}" is not an identifier`);
  const feature = `iterator ${target}`;
  return scoped(opts, () => memo(`iter:${target}`, () => {
    const btf = btfOrUndefined();
    if (!btf) return absent(feature, "the kernel has no BTF, which iterators need");
    const id = btf.find(`bpf_iter_${target}`, "func")[0];
    if (id === undefined) return absent(feature, `the kernel's BTF has no function bpf_iter_${target}`);
    const r = loadProbe({ progType: PROG_TYPE.TRACING, expectedAttachType: ATTACH_TYPE.TRACE_ITER, attachBtfId: id }, RET0);
    if (r.fd) { r.fd.close(); return yes(feature); }
    if (hasVerifierVerdict(r.log)) return yes(feature);
    return byErrno(feature, r.err!);
  }));
}

/**
 * Is `name` a kfunc of this kernel, and (with `progType`) may programs of that type call it? Without
 * `progType` the kernel's BTF answers: a function of that name, tagged `bpf_kfunc` when the BTF carries
 * such tags. With `progType`, a program of that type calling it is loaded: the verifier refuses a kfunc
 * the type may not call before it checks arguments.
 *
 * @example
 * import { haveKfunc } from "tsbpf";
 * haveKfunc("bpf_task_from_pid", "SYSCALL");
 */
export function haveKfunc(name: string, progType?: ProgramTypeName | number, opts?: ProbeOptions): FeatureResult {
  const pt = progType === undefined ? undefined : progTypeOf(progType);
  const feature = `kfunc ${name}${pt === undefined ? "" : ` in ${shortName(progTypeName(pt), "BPF_PROG_TYPE_")} programs`}`;
  return scoped(opts, () => memo(`kfunc:${name}:${pt ?? ""}`, () => {
    const btf = btfOrUndefined();
    if (!btf) return absent(feature, "the kernel has no BTF, which kfuncs need");
    const id = btf.find(name, "func")[0];
    if (id === undefined) return absent(feature, `the kernel's BTF has no function ${name}`);
    const tags = kfuncTags(btf);
    if (tags.size > 0 && !tags.has(id)) return absent(feature, `${name} is a kernel function but not a kfunc (no bpf_kfunc tag in the kernel's BTF)`);
    if (pt === undefined) return yes(feature);
    const prog = haveProgramType(pt);
    if (prog.status !== "yes") return { ...prog, feature };
    const r = loadProbe(progBase(pt, feature) as ProgBase, [callKfunc(id), mov64Imm(R0, 0), exit()]);
    if (r.fd) { r.fd.close(); return yes(feature); }
    if (hasVerifierVerdict(r.log)) {
      if (KFUNC_MISSING.test(r.log)) {
        return { status: "no", feature, errno: r.err!.errno, errnoCode: r.err!.code, reason: `the verifier says: ${verifierReason(r.log)}` };
      }
      return yes(feature);
    }
    return byErrno(feature, r.err!);
  }));
}

/** A verifier log line that means the kfunc may not be called from the program (type, or a program not bound to a device). */
const KFUNC_MISSING = /is not allowed|is not a function|cannot call kernel function|calling kernel functions are not (allowed|supported)|kfuncs? requires?/;

let kfuncTagCache: { btf: Btf; ids: Set<number> } | undefined;

/** BTF ids of the functions tagged `bpf_kfunc` (pahole 1.26+ emits the tags). */
function kfuncTags(btf: Btf): Set<number> {
  if (kfuncTagCache?.btf === btf) return kfuncTagCache.ids;
  const ids = new Set<number>();
  for (let i = 1; i < btf.typeCount; i++) {
    const t = btf.type(i);
    if (t.kind === "decl_tag" && t.name === "bpf_kfunc") ids.add(t.type);
  }
  kfuncTagCache = { btf, ids };
  return ids;
}

/* ---------- maps ---------- */

/** Attributes of a minimal map of `type`, after creating what it needs (BTF, an inner map). */
interface MapProbe { attr: MapCreateAttr; cleanup: Fd[] }

function intBtf(): Fd {
  const b = new BtfBuilder();
  b.add({ kind: "int", name: "int", size: 4, signed: true, char: false, bool: false, bitOffset: 0, bits: 32 });
  return btfLoad(b.encode(), btfToken());
}

/** A `struct bpf_struct_ops_<name>` of the kernel's BTF to create a struct_ops map with. */
function structOpsValue(btf: Btf): { id: number; size: number; structId: number } | undefined {
  for (const name of ["tcp_congestion_ops", "bpf_dummy_ops"]) {
    const id = btf.find(`bpf_struct_ops_${name}`, "struct")[0];
    const structId = btf.find(name, "struct")[0];
    if (id !== undefined && structId !== undefined) {
      const t = btf.type(id);
      if (t.kind === "struct") return { id, size: t.size, structId };
    }
  }
  return undefined;
}

function mapProbe(type: number, feature: string, flags = 0): MapProbe | FeatureResult {
  const plain = (keySize: number, valueSize: number, maxEntries = 1, mapFlags = 0): MapProbe =>
    ({ attr: { mapType: type, keySize, valueSize, maxEntries, mapFlags: mapFlags | flags }, cleanup: [] });
  switch (type) {
    case MAP_TYPE.STACK_TRACE: return plain(4, 8);
    case MAP_TYPE.LPM_TRIE: return plain(8, 4, 1, MAP_FLAGS.NO_PREALLOC);
    case MAP_TYPE.CGROUP_STORAGE:
    case MAP_TYPE.PERCPU_CGROUP_STORAGE: return plain(16, 4, 0); // struct bpf_cgroup_storage_key
    case MAP_TYPE.QUEUE:
    case MAP_TYPE.STACK:
    case MAP_TYPE.BLOOM_FILTER: return plain(0, 4);
    case MAP_TYPE.RINGBUF:
    case MAP_TYPE.USER_RINGBUF: return plain(0, 0, pageSize());
    case MAP_TYPE.ARENA: return plain(0, 0, 1, MAP_FLAGS.MMAPABLE);
    case MAP_TYPE.ARRAY_OF_MAPS:
    case MAP_TYPE.HASH_OF_MAPS: {
      const inner = mapCreate({ mapType: MAP_TYPE.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, mapName: "tsbpf_probe", ...mapToken() });
      const p = plain(4, 4);
      return { attr: { ...p.attr, innerMapFd: inner.value }, cleanup: [inner] };
    }
    case MAP_TYPE.SK_STORAGE:
    case MAP_TYPE.INODE_STORAGE:
    case MAP_TYPE.TASK_STORAGE:
    case MAP_TYPE.CGRP_STORAGE: {
      const btf = attempt(intBtf);
      if ("err" in btf) return byErrno(feature, btf.err, " (loading the probe's BTF)");
      const p = plain(4, 4, 0, MAP_FLAGS.NO_PREALLOC);
      return { attr: { ...p.attr, btfFd: btf.ok.value, btfKeyTypeId: 1, btfValueTypeId: 1 }, cleanup: [btf.ok] };
    }
    case MAP_TYPE.STRUCT_OPS: {
      const btf = btfOrUndefined();
      const v = btf && structOpsValue(btf);
      if (!v) return absent(feature, "the kernel's BTF has no bpf_struct_ops_* value type");
      const own = attempt(intBtf); // the kernel wants some BTF of the object (btf_fd) besides the vmlinux value type
      if ("err" in own) return byErrno(feature, own.err, " (loading the probe's BTF)");
      return { attr: { mapType: type, keySize: 4, valueSize: v.size, maxEntries: 1, mapFlags: flags, btfFd: own.ok.value, btfVmlinuxValueTypeId: v.id }, cleanup: [own.ok] };
    }
    default: return plain(4, 4);
  }
}

function tryMap(type: number, feature: string, flags = 0): FeatureResult {
  const p = mapProbe(type, feature, flags);
  if ("status" in p) return p;
  try {
    const r = attempt(() => mapCreate({ ...p.attr, ...mapToken(p.attr.mapFlags), mapName: "tsbpf_probe" }));
    if ("ok" in r) { r.ok.close(); return yes(feature); }
    return byErrno(feature, r.err);
  } finally {
    for (const fd of p.cleanup) fd.close();
  }
}

/**
 * Does this kernel have map type `type`? Creates a one-entry map of it (with the key/value sizes,
 * flags and BTF the type requires).
 *
 * @example
 * import { haveMapType } from "tsbpf";
 * const events = haveMapType("RINGBUF").status === "yes" ? "ringbuf" : "perf";
 */
export function haveMapType(type: MapTypeName | number, opts?: ProbeOptions): FeatureResult {
  const n = mapTypeOf(type);
  const feature = `${shortName(mapTypeName(n), "BPF_MAP_TYPE_")} maps`;
  return scoped(opts, () => memo(`map:${n}`, () => tryMap(n, feature)));
}

/* ---------- BTF kinds ---------- */

type ProbeKind = Exclude<BtfKindName, "void"> | "enum64";

/** Builds BTF whose last type is of `kind` (plus the int it refers to); `attribute` marks a type_tag's kind flag. */
function btfWithKind(kind: ProbeKind, attribute = false): Uint8Array {
  const b = new BtfBuilder();
  const int = b.add({ kind: "int", name: "int", size: 4, signed: true, char: false, bool: false, bitOffset: 0, bits: 32 });
  switch (kind) {
    case "int": break;
    case "ptr": b.add({ kind: "ptr", name: "", type: int }); break;
    case "array": b.add({ kind: "array", name: "", elemType: int, indexType: int, nelems: 2 }); break;
    case "struct":
    case "union": b.add({ kind, name: "s", size: 4, members: [{ name: "a", type: int, bitOffset: 0, bitfieldSize: 0 }] }); break;
    case "enum": b.add({ kind: "enum", name: "e", size: 4, signed: false, is64: false, values: [{ name: "A", value: 1n }] }); break;
    case "enum64": b.add({ kind: "enum", name: "e", size: 8, signed: false, is64: true, values: [{ name: "A", value: 1n << 40n }] }); break;
    case "fwd": b.add({ kind: "fwd", name: "f", fwdKind: "struct" }); break;
    case "typedef": b.add({ kind: "typedef", name: "t", type: int }); break;
    case "volatile":
    case "const":
    case "restrict": b.add({ kind, name: "", type: kind === "restrict" ? b.add({ kind: "ptr", name: "", type: int }) : int }); break;
    case "type_tag": {
      const tag = b.add({ kind: "type_tag", name: "tag", type: int, ...(attribute ? { attribute: true } : {}) });
      b.add({ kind: "ptr", name: "", type: tag });
      break;
    }
    case "func_proto": b.add({ kind: "func_proto", name: "", returnType: int, params: [{ name: "a", type: int }] }); break;
    case "func": {
      const proto = b.add({ kind: "func_proto", name: "", returnType: int, params: [{ name: "a", type: int }] });
      b.add({ kind: "func", name: "f", type: proto, linkage: 1 });
      break;
    }
    case "var":
    case "datasec": {
      const v = b.add({ kind: "var", name: "v", type: int, linkage: 1 });
      b.add({ kind: "datasec", name: ".data", size: 4, vars: [{ type: v, offset: 0, size: 4 }] });
      break;
    }
    case "float": b.add({ kind: "float", name: "float", size: 4 }); break;
    case "decl_tag": {
      const s = b.add({ kind: "struct", name: "s", size: 4, members: [{ name: "a", type: int, bitOffset: 0, bitfieldSize: 0 }] });
      b.add({ kind: "decl_tag", name: "tag", type: s, componentIdx: -1 });
      break;
    }
    default: throw new TsbpfError("INVALID_ARGUMENT", `BTF kind: unknown kind "${String(kind)}"`);
  }
  return b.encode();
}

const BTF_KINDS: readonly ProbeKind[] = ["int", "ptr", "array", "struct", "union", "enum", "enum64", "fwd", "typedef", "volatile", "const", "restrict", "func", "func_proto", "var", "datasec", "float", "decl_tag", "type_tag"];

/**
 * Does the kernel accept BTF of kind `kind` (`func`, `float`, `decl_tag`, `type_tag`, `enum64`...)?
 * Loads a BTF blob holding one type of that kind.
 *
 * @example
 * import { haveBtfKind } from "tsbpf";
 * haveBtfKind("enum64"); // Linux 6.0+
 */
export function haveBtfKind(kind: ProbeKind, opts?: ProbeOptions): FeatureResult {
  if (!BTF_KINDS.includes(kind)) throw new TsbpfError("INVALID_ARGUMENT", `BTF kind: "${String(kind)}" is not one of ${BTF_KINDS.join(", ")}`);
  return scoped(opts, () => probeBtf(`btf:${kind}`, `BTF kind ${kind.toUpperCase()}`, () => btfWithKind(kind)));
}

/**
 * Does the kernel accept the BTF kind flag that marks a type or decl tag as a plain
 * `__attribute__((...))` text (Linux 6.14)?
 */
export function haveBtfTagAttribute(opts?: ProbeOptions): FeatureResult {
  return scoped(opts, () => probeBtf("btf:tag_attribute", "BTF tag attributes", () => btfWithKind("type_tag", true)));
}

/** Loads the BTF `blob` builds, once per process: yes, or the errno's answer. */
function probeBtf(key: string, feature: string, blob: () => Uint8Array): FeatureResult {
  return memo(key, () => {
    const r = attempt(() => btfLoad(blob(), { logBuf: new Uint8Array(4096), logLevel: 1, ...btfToken() }));
    if ("ok" in r) { r.ok.close(); return yes(feature); }
    return byErrno(feature, r.err);
  });
}

/**
 * Whether BTF sanitising (src/btf/sanitize.ts) may leave types that use `feature` as they are. Only a
 * clear "no" rewrites them: a kernel that refuses BTF altogether (EPERM), or a probe that cannot
 * decide, gains nothing from rewriting, and the real load says why it fails.
 */
export function btfFeatureSupported(feature: BtfFeature, opts?: ProbeOptions): boolean {
  try {
    const r = feature === "tag_attribute" ? haveBtfTagAttribute(opts) : haveBtfKind(feature === "func_global" ? "func" : feature, opts);
    return r.status !== "no";
  } catch (e) {
    if (e instanceof TsbpfError) return true;
    throw e;
  }
}

/* ---------- links ---------- */

interface LinkProbe {
  /** The program to link (type, attach settings). */
  prog: ProgBase | (() => ProgBase | FeatureResult);
  /** Creates the link (or fails); errnos in `present` mean the kernel knows the link type and only the (deliberately bad) target was wrong. */
  create: (progFd: number) => Fd;
  present: readonly string[];
  /** Decides an EINVAL from the link creation when it does not tell (see XDP). */
  einval?: () => FeatureResult;
}

/** "yes" when the kernel's BTF has function `name`, else "no"; throws when there is no kernel BTF to ask. */
function btfFunction(feature: string, name: string): FeatureResult {
  const btf = btfOrUndefined();
  if (!btf) throw new TsbpfError("FEATURE_PROBE_FAILED", `probe for ${feature}: the kernel answered EINVAL, which does not tell, and has no BTF to ask`);
  return btf.find(name, "func").length ? yes(feature) : absent(feature, `the kernel answered EINVAL and its BTF has no function ${name}`);
}

const BAD_FD = 0x7fffffff;
const BAD_IFINDEX = 0x7fffffff;

function link(progFd: number, attachType: AttachTypeName, target: number, extra?: LinkCreateAttr["extra"]): Fd {
  return linkCreate({ progFd, attachType: ATTACH_TYPE[attachType], target, ...(extra ? { extra } : {}) });
}

function btfProg(name: string, attach: AttachTypeName, feature: string): ProgBase | FeatureResult {
  const btf = btfOrUndefined();
  if (!btf) return absent(feature, "the kernel has no BTF");
  const id = btf.find(name, "func")[0];
  if (id === undefined) return absent(feature, `the kernel's BTF has no function ${name}`);
  return { progType: PROG_TYPE.TRACING, expectedAttachType: ATTACH_TYPE[attach], attachBtfId: id };
}

const LINK_PROBES: Partial<Record<keyof typeof LINK_TYPE, (feature: string) => LinkProbe>> = {
  CGROUP: () => ({ prog: { progType: PROG_TYPE.CGROUP_SKB, expectedAttachType: ATTACH_TYPE.CGROUP_INET_INGRESS }, create: (p) => link(p, "CGROUP_INET_INGRESS", BAD_FD), present: ["EBADF"] }),
  // The kernel answers EINVAL both for a missing device and for a kernel without XDP links: the
  // kernel's BTF (its bpf_xdp_link_attach function) decides.
  XDP: (feature) => ({ prog: { progType: PROG_TYPE.XDP, expectedAttachType: ATTACH_TYPE.XDP }, create: (p) => link(p, "XDP", BAD_IFINDEX), present: ["ENODEV"], einval: () => btfFunction(feature, "bpf_xdp_link_attach") }),
  TCX: () => ({ prog: { progType: PROG_TYPE.SCHED_CLS }, create: (p) => link(p, "TCX_INGRESS", BAD_IFINDEX), present: ["ENODEV"] }),
  NETKIT: () => ({ prog: { progType: PROG_TYPE.SCHED_CLS }, create: (p) => link(p, "NETKIT_PRIMARY", BAD_IFINDEX), present: ["ENODEV"] }),
  NETNS: () => ({ prog: { progType: PROG_TYPE.SK_LOOKUP, expectedAttachType: ATTACH_TYPE.SK_LOOKUP }, create: (p) => link(p, "SK_LOOKUP", BAD_FD), present: ["EBADF"] }),
  PERF_EVENT: () => ({ prog: { progType: PROG_TYPE.TRACEPOINT }, create: (p) => link(p, "PERF_EVENT", BAD_FD), present: ["EBADF"] }),
  SOCKMAP: () => ({ prog: { progType: PROG_TYPE.SK_MSG, expectedAttachType: ATTACH_TYPE.SK_MSG_VERDICT }, create: (p) => link(p, "SK_MSG_VERDICT", BAD_FD), present: ["EBADF"] }),
  NETFILTER: () => ({
    prog: { progType: PROG_TYPE.NETFILTER, expectedAttachType: ATTACH_TYPE.NETFILTER },
    create: (p) => link(p, "NETFILTER", 0, { kind: "netfilter", pf: 0, hooknum: 0, priority: 1 }),
    present: ["EAFNOSUPPORT"],
  }),
  UPROBE_MULTI: () => ({
    prog: { progType: PROG_TYPE.KPROBE, expectedAttachType: ATTACH_TYPE.TRACE_UPROBE_MULTI },
    create: (p) => link(p, "TRACE_UPROBE_MULTI", 0, { kind: "uprobe_multi", path: "/", offsets: [0] }),
    present: ["EBADF"],
  }),
  KPROBE_MULTI: () => ({
    prog: { progType: PROG_TYPE.KPROBE, expectedAttachType: ATTACH_TYPE.TRACE_KPROBE_MULTI },
    create: (p) => link(p, "TRACE_KPROBE_MULTI", 0, { kind: "kprobe_multi", syms: ["tsbpf_no_such_function"] }),
    present: ["ENOENT", "ESRCH"],
  }),
  RAW_TRACEPOINT: () => ({ prog: { progType: PROG_TYPE.RAW_TRACEPOINT }, create: (p) => rawTracepointOpen("tsbpf_no_such_tracepoint", p), present: ["ENOENT"] }),
  TRACING: (feature) => ({ prog: () => btfProg("bpf_fentry_test1", "TRACE_FENTRY", feature), create: (p) => rawTracepointOpen(null, p), present: [] }),
  ITER: (feature) => ({ prog: () => btfProg("bpf_iter_task", "TRACE_ITER", feature), create: (p) => link(p, "TRACE_ITER", 0), present: [] }),
};

/**
 * Does the kernel have BPF links of type `linkType`? Loads a program of the kind the link takes and
 * creates a link to a target that does not exist: the kernel checks the link type before the target,
 * so "no such device / bad fd" means "yes". (TRACING and ITER links are created for real, to
 * `bpf_fentry_test1` and the task iterator, and closed at once; STRUCT_OPS links are probed by creating
 * a struct_ops map with BPF_F_LINK.)
 *
 * @example
 * import { haveLinkType } from "tsbpf";
 * const useTcx = haveLinkType("TCX").status === "yes";
 */
export function haveLinkType(linkType: keyof typeof LINK_TYPE | number, opts?: ProbeOptions): FeatureResult {
  const n = linkTypeOf(linkType);
  const name = shortName(linkTypeName(n), "BPF_LINK_TYPE_") as keyof typeof LINK_TYPE;
  const feature = `${name} links`;
  return scoped(opts, () => memo(`link:${n}`, () => {
    if (name === "STRUCT_OPS") return tryMap(MAP_TYPE.STRUCT_OPS, feature, MAP_FLAGS.LINK);
    const probe = LINK_PROBES[name]?.(feature);
    if (!probe) throw new TsbpfError("INVALID_ARGUMENT", `link type: no probe for link type ${linkTypeName(n)} (probes exist for ${[...Object.keys(LINK_PROBES), "STRUCT_OPS"].join(", ")})`);
    const base = typeof probe.prog === "function" ? probe.prog() : probe.prog;
    if ("status" in base) return base;
    const loaded = loadProbe(base, RET0);
    if (!loaded.fd) {
      if (hasVerifierVerdict(loaded.log)) throw new TsbpfError("FEATURE_PROBE_FAILED", `probe for ${feature}: the verifier rejected the probe program: ${verifierReason(loaded.log)}`);
      return byErrno(feature, loaded.err!, " (loading the program to link)");
    }
    try {
      const r = attempt(() => probe.create(loaded.fd!.value));
      if ("ok" in r) { r.ok.close(); return yes(feature); }
      if (probe.present.includes(r.err.code)) return yes(feature);
      if (r.err.code === "EINVAL" && probe.einval) return probe.einval();
      return byErrno(feature, r.err);
    } finally {
      loaded.fd.close();
    }
  }));
}

/* ---------- asserting ---------- */

/**
 * Throws unless `result` is "yes": MissingFeatureError (`FEATURE_MISSING`) when the kernel lacks the
 * feature, KernelRefusedError (`KERNEL_REFUSED`) when it refuses it — or PermissionError when the
 * process is not root, since a missing capability is then the likely cause.
 *
 * @example
 * import { assertFeature, haveMapType } from "tsbpf";
 * assertFeature(haveMapType("ARENA")); // throws on kernels before 6.9, or where arenas are forbidden
 */
export function assertFeature(result: FeatureResult): void {
  if (result.status === "yes") return;
  const release = kernelVersion().release;
  if (result.status === "no") {
    const since = sinceOf(result.feature);
    throw new MissingFeatureError("FEATURE_MISSING", `this kernel (${release}) lacks ${result.feature}${since ? ` (needs Linux ${since})` : ""}: ${result.reason}`);
  }
  const e = new SyscallError(result.operation, result.errno, result.errnoCode, result.errnoCode);
  const message = `this kernel (${release}) refuses ${result.feature}: ${result.reason}; it has it, but a missing capability (CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN or CAP_SYS_ADMIN), kernel lockdown or an LSM policy forbids it here`;
  let euid = 0;
  try {
    euid = sys().geteuid();
  } catch {
    euid = 0;
  }
  if (euid !== 0) throw new PermissionError(result.errnoCode, message, { cause: e });
  throw new KernelRefusedError(message, e);
}

/** "needs Linux X.Y" for a feature named `<TYPE> maps`, `<TYPE> programs` or `<TYPE> links`. */
function sinceOf(feature: string): string | undefined {
  const m = /^(\w+) (maps|programs|links)$/.exec(feature);
  if (!m) return undefined;
  const table: Record<string, string> = m[2] === "maps" ? MAP_TYPE_SINCE : m[2] === "programs" ? PROGRAM_TYPE_SINCE : LINK_TYPE_SINCE;
  return table[m[1]!];
}

/** "this kernel lacks X maps (needs Linux Y)" for a loader error, when the probe says the kernel lacks map type `type`. */
export function missingMapType(type: MapTypeName, context: string, cause: unknown, token?: BpfToken): MissingFeatureError | undefined {
  const r = quietly(() => haveMapType(type, token ? { token } : undefined));
  if (r?.status !== "no") return undefined;
  return new MissingFeatureError("MAP_TYPE_UNSUPPORTED", `${context}: this kernel (${kernelVersion().release}) lacks ${type} maps (needs Linux ${MAP_TYPE_SINCE[type as Exclude<MapTypeName, "UNSPEC">] ?? "?"})`, { cause });
}

/** "this kernel lacks X programs (needs Linux Y)" for a loader error, when the probe says the kernel lacks program type `type`. */
export function missingProgramType(type: ProgramTypeName, context: string, cause: unknown, token?: BpfToken): MissingFeatureError | undefined {
  const r = quietly(() => haveProgramType(type, token ? { token } : undefined));
  if (r?.status !== "no") return undefined;
  return new MissingFeatureError("PROGRAM_TYPE_UNSUPPORTED", `${context}: this kernel (${kernelVersion().release}) lacks ${type} programs (needs Linux ${PROGRAM_TYPE_SINCE[type]})`, { cause });
}

/** "this kernel lacks attach type X for Y programs" for a loader error, when the probe says so. */
export function missingAttachType(type: ProgramTypeName, attachType: AttachTypeName, context: string, cause: unknown, token?: BpfToken): MissingFeatureError | undefined {
  const r = quietly(() => haveAttachType(type, attachType, token ? { token } : undefined));
  if (r?.status !== "no") return undefined;
  return new MissingFeatureError("ATTACH_TYPE_UNSUPPORTED", `${context}: this kernel (${kernelVersion().release}) lacks attach type ${attachType} for ${type} programs: ${r.reason}`, { cause });
}

/** A probe's answer for an error message, or undefined when the probe itself failed (the loader's own error then stands). */
function quietly(probe: () => FeatureResult): FeatureResult | undefined {
  try {
    return probe();
  } catch {
    return undefined;
  }
}
