// The one module every system call goes through: `sys()` returns the active implementation (the
// native addon, or a fake in unit tests) wrapped so that failures surface as SyscallError/PermissionError.

import { releaseAtLeast } from "./system.js";
import { PermissionError, SyscallError, TsbpfError } from "../errors.js";
import { describeMissing, NEED_BPF, NEED_NET_ADMIN, NEED_PERFMON, NEED_SYS_ADMIN, readEffectiveCapabilities, readInitialUserNamespace, unmetGroups, type CapabilityNeed } from "./capabilities.js";
import { loadNative, type NativeAddon, type PollHandle } from "./native.js";

export type { PollHandle, Rlimit, Uname } from "./native.js";

/**
 * Every system call tsbpf makes. The native addon implements it (plus `geteuid` from node); a fake
 * (src/sys/fake.ts) implements it for unit tests. Implementations throw errors carrying `code`
 * (errno name), `errno` and `syscall`; the seam turns them into typed errors.
 */
export interface Sys extends NativeAddon {
  /** Effective user id, used to decide whether EPERM means "missing capability". */
  geteuid(): number;
  /** Effective capability set (CapEff bits), or undefined when unknown; decides whether EPERM means "missing capability". */
  effectiveCapabilities(): bigint | undefined;
  /**
   * Whether this process is in the initial user namespace (undefined when unknown). In a child one its
   * capabilities do not count for bpf() without a BPF token, however full CapEff looks.
   */
  initialUserNamespace(): boolean | undefined;
}

let active: Sys | undefined;
let facade: Sys | undefined;
const facades = new WeakMap<Sys, Sys>();

function nativeSys(): Sys {
  const native = loadNative();
  const impl: Sys = Object.create(native) as Sys;
  impl.geteuid = () => (typeof process.geteuid === "function" ? process.geteuid() : 0);
  impl.effectiveCapabilities = readEffectiveCapabilities;
  impl.initialUserNamespace = readInitialUserNamespace;
  return impl;
}

/** The active syscall implementation, with errors converted. Loads the native addon on first use. */
export function sys(): Sys {
  if (facade) return facade;
  active ??= nativeSys();
  facade = wrap(active);
  return facade;
}

/**
 * Replaces the syscall implementation (a fake in unit tests); `null` restores the native addon.
 * Returns the implementation that was active before.
 */
export function setSys(impl: Sys | null): Sys | undefined {
  const previous = active;
  active = impl ?? undefined;
  facade = undefined;
  return previous;
}

/** Runs `fn` with `impl` as the syscall implementation and restores the previous one afterwards (also for async fn). */
export function withSys<T>(impl: Sys, fn: () => T): T {
  const previous = setSys(impl);
  const restore = () => {
    setSys(previous ?? null);
  };
  let result: T;
  try {
    result = fn();
  } catch (e) {
    restore();
    throw e;
  }
  if (result instanceof Promise) {
    return result.finally(restore) as T;
  }
  restore();
  return result;
}

/* ---------- keeping pointed-to memory alive ---------- */

const pins: (readonly unknown[])[] = [];

/**
 * Runs `fn` (a syscall) while `refs` — memory whose addresses were written into its arguments — is
 * held in a module-level list, so the garbage collector cannot free it mid-call.
 */
export function withPinned<T>(refs: readonly unknown[], fn: () => T): T {
  pins.push(refs);
  try {
    return fn();
  } finally {
    pins.pop();
  }
}

/* ---------- error conversion ---------- */

const BPF_CAPABILITY = "CAP_BPF (CAP_SYS_ADMIN on kernels before 5.8)";
const ATTACH = "CAP_NET_ADMIN (network and cgroup hooks) or CAP_PERFMON (tracing hooks), with CAP_BPF";
const NEED_ATTACH: CapabilityNeed = [["BPF", "SYS_ADMIN"], ["NET_ADMIN", "PERFMON", "SYS_ADMIN"]];
const CAPABILITY_BY_OP: Record<string, readonly [string, CapabilityNeed]> = {
  BPF_PROG_GET_NEXT_ID: ["CAP_SYS_ADMIN", NEED_SYS_ADMIN],
  BPF_MAP_GET_NEXT_ID: ["CAP_SYS_ADMIN", NEED_SYS_ADMIN],
  BPF_BTF_GET_NEXT_ID: ["CAP_SYS_ADMIN", NEED_SYS_ADMIN],
  BPF_LINK_GET_NEXT_ID: ["CAP_SYS_ADMIN", NEED_SYS_ADMIN],
  BPF_PROG_GET_FD_BY_ID: ["CAP_SYS_ADMIN", NEED_SYS_ADMIN],
  BPF_MAP_GET_FD_BY_ID: ["CAP_SYS_ADMIN", NEED_SYS_ADMIN],
  BPF_BTF_GET_FD_BY_ID: ["CAP_SYS_ADMIN", NEED_SYS_ADMIN],
  BPF_LINK_GET_FD_BY_ID: ["CAP_SYS_ADMIN", NEED_SYS_ADMIN],
  BPF_ENABLE_STATS: ["CAP_SYS_ADMIN", NEED_SYS_ADMIN],
  BPF_TASK_FD_QUERY: ["CAP_SYS_ADMIN", NEED_SYS_ADMIN],
  BPF_PROG_ATTACH: [ATTACH, NEED_ATTACH],
  BPF_PROG_DETACH: [ATTACH, NEED_ATTACH],
  BPF_PROG_QUERY: ["CAP_NET_ADMIN", NEED_NET_ADMIN],
  BPF_LINK_CREATE: [ATTACH, NEED_ATTACH],
  BPF_RAW_TRACEPOINT_OPEN: ["CAP_PERFMON and CAP_BPF", [...NEED_PERFMON, ...NEED_BPF]],
  perf_event_open: ["CAP_PERFMON (or a lower kernel.perf_event_paranoid)", NEED_PERFMON],
  ioctl: ["CAP_PERFMON", NEED_PERFMON],
  mount: ["CAP_SYS_ADMIN", NEED_SYS_ADMIN],
  socket: ["CAP_NET_ADMIN", NEED_NET_ADMIN],
  bind: ["CAP_NET_ADMIN", NEED_NET_ADMIN],
  send: ["CAP_NET_ADMIN", NEED_NET_ADMIN],
  recv: ["CAP_NET_ADMIN", NEED_NET_ADMIN],
  setsockopt: ["CAP_NET_ADMIN", NEED_NET_ADMIN],
  setrlimit: ["CAP_SYS_RESOURCE", [["SYS_RESOURCE"]]],
};

/**
 * Commands on an fd or a pinned path: since Linux 6.5 the kernel checks no capability for them (the
 * fd's or the file's access mode decides), so EPERM/EACCES there is not about capabilities. Before
 * 6.5, kernel.unprivileged_bpf_disabled refused every bpf() command without CAP_BPF.
 */
const FD_OPS = new Set([
  "BPF_MAP_LOOKUP_ELEM", "BPF_MAP_UPDATE_ELEM", "BPF_MAP_DELETE_ELEM", "BPF_MAP_GET_NEXT_KEY",
  "BPF_MAP_LOOKUP_AND_DELETE_ELEM", "BPF_MAP_FREEZE", "BPF_MAP_LOOKUP_BATCH", "BPF_MAP_LOOKUP_AND_DELETE_BATCH",
  "BPF_MAP_UPDATE_BATCH", "BPF_MAP_DELETE_BATCH", "BPF_OBJ_PIN", "BPF_OBJ_GET", "BPF_OBJ_GET_INFO_BY_FD",
  "BPF_PROG_TEST_RUN", "BPF_LINK_UPDATE", "BPF_LINK_DETACH",
]);

function capabilityEntry(operation: string, release?: string): readonly [string, CapabilityNeed] | undefined {
  if (operation === "BPF_PROG_LOAD") return undefined; // EPERM/EACCES there usually come from the verifier
  const entry = CAPABILITY_BY_OP[operation];
  if (entry) return entry;
  if (!operation.startsWith("BPF_")) return undefined;
  if (FD_OPS.has(operation) && release !== undefined && releaseAtLeast(release, 6, 5)) return undefined;
  return [BPF_CAPABILITY, NEED_BPF];
}

/**
 * The capability an operation needs, or undefined when EPERM on it does not mean a missing capability.
 * With the kernel `release`, fd-based commands need none on Linux 6.5 and later.
 */
export function capabilityFor(operation: string, release?: string): string | undefined {
  return capabilityEntry(operation, release)?.[0];
}

/**
 * The PermissionError for `operation` refused with `code` when this process lacks a capability of
 * `need` (`what` is the requirement as the message states it), else undefined: the refusal has
 * another cause. Without a readable capability set, a non-root process is assumed to lack it.
 */
export function missingCapabilityError(operation: string, code: string, detail: string, what: string, need: CapabilityNeed, cause: unknown, impl: Sys = active ?? sys()): PermissionError | undefined {
  let caps: bigint | undefined;
  let euid = 0;
  let initialNs: boolean | undefined;
  try {
    caps = impl.effectiveCapabilities();
    euid = impl.geteuid();
    initialNs = impl.initialUserNamespace();
  } catch {
    // keep the defaults
  }
  if (initialNs === false && (what.includes("CAP_BPF") || what.includes("CAP_PERFMON") || what.includes("CAP_SYS_ADMIN"))) {
    // The namespace's capabilities (CapEff may be full) are not the initial namespace's the kernel asks for.
    return new PermissionError(code, `${operation}: ${detail} (${code}): needs ${what} in the initial user namespace; this process is in a child user namespace, whose capabilities do not count for BPF. Load through a BPF token: a bpffs mounted for this namespace with delegate_cmds/delegate_maps/delegate_progs/delegate_attachs (loadCollection option token, or TSBPF_BPF_TOKEN_PATH; see docs/token.md)`, { cause });
  }
  const unmet = caps === undefined ? (euid !== 0 ? [...need] : []) : unmetGroups(need, caps);
  if (unmet.length === 0) return undefined;
  const lacks = caps === undefined ? "" : `; this process ${describeMissing(unmet)}`;
  const fix = euid === 0 ? "grant the capability (it was dropped from this process)" : "run as root or grant the capability";
  return new PermissionError(code, `${operation}: ${detail} (${code}): needs ${what}${lacks}; ${fix}`, { cause });
}

interface RawErrnoError {
  code: string;
  errno: number;
  syscall?: string;
  message?: string;
}

function isRawErrno(e: unknown): e is RawErrnoError {
  return (
    typeof e === "object" &&
    e !== null &&
    typeof (e as RawErrnoError).errno === "number" &&
    typeof (e as RawErrnoError).code === "string"
  );
}

function detailOf(e: RawErrnoError, op: string): string {
  const msg = e.message ?? "";
  const prefix = op + ": ";
  const detail = msg.startsWith(prefix) ? msg.slice(prefix.length) : msg;
  return detail.length > 0 ? detail : e.code;
}

/** Builds the SyscallError for a failed `operation` from its errno, using the active implementation's strerror. */
export function syscallError(operation: string, errno: number): SyscallError {
  const impl = active ?? sys();
  let code = `E${errno}`;
  let detail = `errno ${errno}`;
  try {
    code = impl.errnoName(errno) ?? code;
    detail = impl.strerror(errno);
  } catch {
    // keep the numeric fallback
  }
  return new SyscallError(operation, errno, code, detail);
}

/**
 * The typed error for `operation` failing with `errno` (as convertError would produce it from a throw):
 * SyscallError, or PermissionError for EPERM/EACCES without root. Used with Sys.bpfTry.
 */
export function errnoError(operation: string, errno: number): unknown {
  const impl = active ?? (sys(), active!);
  let code = `E${errno}`;
  let detail = `errno ${errno}`;
  try {
    code = impl.errnoName(errno) ?? code;
    detail = impl.strerror(errno);
  } catch {
    // keep the numeric fallback
  }
  return convertError({ code, errno, syscall: operation, message: `${operation}: ${detail}` }, operation, impl);
}

/** The error for a poll callback's status (negative errno), or undefined when status is 0. */
export function pollStatusError(status: number): SyscallError | undefined {
  return status < 0 ? syscallError("poll", -status) : undefined;
}

/**
 * Converts anything an implementation threw into a typed error: errno-carrying errors become
 * SyscallError (or PermissionError for EPERM/EACCES when not root on a call that needs a capability),
 * argument errors become TsbpfError INVALID_ARGUMENT; tsbpf errors pass through.
 */
export function convertError(e: unknown, fallbackOperation: string, impl: Sys): unknown {
  if (e instanceof TsbpfError) return e;
  if (isRawErrno(e)) {
    const op = e.syscall ?? fallbackOperation;
    const err = new SyscallError(op, e.errno, e.code, detailOf(e, op));
    if (e.code === "EPERM" || e.code === "EACCES") {
      let release: string | undefined;
      try {
        release = impl.uname().release;
      } catch {
        release = undefined;
      }
      const entry = capabilityEntry(op, release);
      const denied = entry && missingCapabilityError(op, e.code, detailOf(e, op), entry[0], entry[1], err, impl);
      if (denied) return denied;
    }
    return err;
  }
  if (e instanceof Error) {
    return new TsbpfError("INVALID_ARGUMENT", `${fallbackOperation}: ${e.message}`, { cause: e });
  }
  return new TsbpfError("INVALID_ARGUMENT", `${fallbackOperation}: ${String(e)}`);
}

/* ---------- the facade ---------- */

function opName(method: string, args: unknown[]): string {
  if (method === "bpf" && typeof args[2] === "string") return args[2];
  if (method === "perfEventOpen") return "perf_event_open";
  return method;
}

/** File descriptors with a live poll handle: libuv misbehaves with two handles on one fd. */
const polled = new Set<number>();

function wrap(impl: Sys): Sys {
  const existing = facades.get(impl);
  if (existing) return existing;
  const out = {} as Record<string, unknown>;
  const target = impl as unknown as Record<string, unknown>;
  const names = new Set<string>();
  for (let o: object | null = impl; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const k of Object.getOwnPropertyNames(o)) names.add(k);
  }
  for (const name of names) {
    const fn = target[name];
    if (typeof fn !== "function" || name === "constructor") continue;
    out[name] = (...args: unknown[]) => {
      try {
        return (fn as (...a: unknown[]) => unknown).apply(impl, args);
      } catch (e) {
        throw convertError(e, opName(name, args), impl);
      }
    };
  }
  const rawPoll = out.poll as Sys["poll"];
  out.poll = (fd: number, events: number, callback: (status: number, events: number) => void): PollHandle => {
    if (polled.has(fd)) {
      throw new TsbpfError("EEXIST", `poll: fd ${fd} already has an open poll handle; close it first`);
    }
    const handle = rawPoll(fd, events, callback);
    polled.add(fd);
    let closed = false;
    const call = (what: string, f: () => void) => {
      try {
        f();
      } catch (e) {
        throw convertError(e, what, impl);
      }
    };
    return {
      start: (ev: number) => call("poll.start", () => handle.start(ev)),
      stop: () => call("poll.stop", () => handle.stop()),
      close: () => {
        if (closed) return;
        closed = true;
        polled.delete(fd);
        call("poll.close", () => handle.close());
      },
      ref: () => call("poll.ref", () => handle.ref()),
      unref: () => call("poll.unref", () => handle.unref()),
    };
  };
  const result = out as unknown as Sys;
  facades.set(impl, result);
  return result;
}
