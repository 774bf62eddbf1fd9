// Typed wrappers over bpf(2): build the attr, call through the seam, return Fds and decoded results.
// Raw on purpose: no retries beyond the kernel's EAGAIN, no feature fallbacks — the runtime adds those.

import { SyscallError } from "../errors.js";
import {
  btfLoadLogTrueSize,
  decodeInfoLen,
  decodeNextId,
  decodeProgQuery,
  decodeTestRun,
  encodeBtfLoad,
  encodeEnableStats,
  encodeGetFdById,
  encodeGetNextId,
  encodeIterCreate,
  encodeLinkCreate,
  encodeLinkDetach,
  encodeLinkUpdate,
  encodeMapBatch,
  encodeMapCreate,
  encodeMapElem,
  encodeMapFreeze,
  encodeObjGet,
  encodeObjInfo,
  encodeObjPin,
  encodeProgAttach,
  encodeProgBindMap,
  encodeProgLoad,
  encodeProgQuery,
  encodeRawTracepointOpen,
  encodeTaskFdQuery,
  encodeTestRun,
  encodeTokenCreate,
  MAP_BATCH_LAYOUT,
  progLoadLogTrueSize,
  TASK_FD_QUERY_LAYOUT,
  type Attr,
  type LinkCreateAttr,
  type MapBatchAttr,
  type MapCreateAttr,
  type ProgAttachAttr,
  type ProgLoadAttr,
  type UserMemory,
} from "./attr.js";
import { BPF_CMD, BTF_FLAGS } from "./constants.js";
import { Fd, fdValue, type FdLike } from "./fd.js";
import {
  BTF_INFO_LAYOUT,
  decodeBtfInfo,
  decodeLinkInfo,
  decodeMapInfo,
  decodeProgInfo,
  LINK_INFO_LAYOUT,
  MAP_INFO_LAYOUT,
  PROG_INFO_LAYOUT,
  type BtfInfo,
  type LinkInfo,
  type MapInfo,
  type ProgInfo,
} from "./info.js";
import { StructReader, StructWriter } from "./layout.js";
import { errnoError, sys, withPinned } from "./seam.js";

export type { LinkCreateAttr, MapBatchAttr, MapCreateAttr, ProgAttachAttr, ProgLoadAttr, UserMemory } from "./attr.js";
export type { BtfInfo, LinkInfo, MapInfo, ProgInfo } from "./info.js";

/** Performs bpf(2) with an encoded attr; returns the kernel's non-negative result. */
export function bpfCall(attr: Attr): number {
  return withPinned(attr.refs, () => sys().bpf(attr.cmd, attr.bytes, attr.op));
}

const ENOENT = 2;

/** bpf(2) for commands where ENOENT is an answer, not a failure: undefined for ENOENT, else the result. */
function bpfCallOrAbsent(attr: Attr): number | undefined {
  const r = withPinned(attr.refs, () => sys().bpfTry(attr.cmd, attr.bytes));
  if (r >= 0) return r;
  if (r === -ENOENT) return undefined;
  throw errnoError(attr.op, -r);
}

function isErrno(e: unknown, code: string): e is SyscallError {
  return e instanceof SyscallError && e.code === code;
}

/** Prefixes a SyscallError with a context ("create map \"events\"") and appends `extra` lines. */
export function withContext(e: unknown, context: string | undefined, extra?: string): unknown {
  if (!(e instanceof SyscallError) || (!context && !extra)) return e;
  let detail: string;
  try {
    detail = sys().strerror(e.errno);
  } catch {
    detail = e.code;
  }
  const out = new SyscallError(e.operation, e.errno, e.code, detail, context);
  if (extra) out.message += `\n${extra}`;
  (out as { cause?: unknown }).cause = e;
  return out;
}

/* ---------- maps ---------- */

/** BPF_MAP_CREATE. `context` prefixes error messages. */
export function mapCreate(opts: MapCreateAttr & { context?: string }): Fd {
  try {
    return new Fd(bpfCall(encodeMapCreate(opts)), opts.mapName ? `map "${opts.mapName}"` : "map");
  } catch (e) {
    throw withContext(e, opts.context);
  }
}

/**
 * BPF_MAP_LOOKUP_ELEM into `value`; false when the key is absent (ENOENT). `value` must hold the
 * map's value size (round_up(value_size, 8) × possible CPUs for per-CPU maps): the kernel writes that much.
 */
export function mapLookup(fd: FdLike, key: UserMemory | null, value: UserMemory, flags: number | bigint = 0): boolean {
  return bpfCallOrAbsent(encodeMapElem(BPF_CMD.MAP_LOOKUP_ELEM, fdValue(fd), key, value, flags)) !== undefined;
}

/** BPF_MAP_LOOKUP_AND_DELETE_ELEM (also pops queues/stacks with a null key); false when empty/absent. */
export function mapLookupAndDelete(
  fd: FdLike,
  key: UserMemory | null,
  value: UserMemory,
  flags: number | bigint = 0,
): boolean {
  return bpfCallOrAbsent(encodeMapElem(BPF_CMD.MAP_LOOKUP_AND_DELETE_ELEM, fdValue(fd), key, value, flags)) !== undefined;
}

/** BPF_MAP_UPDATE_ELEM with UPDATE_FLAGS (ANY, NOEXIST, EXIST, LOCK). Queues/stacks take a null key. */
export function mapUpdate(fd: FdLike, key: UserMemory | null, value: UserMemory, flags: number | bigint = 0): void {
  bpfCall(encodeMapElem(BPF_CMD.MAP_UPDATE_ELEM, fdValue(fd), key, value, flags));
}

/** BPF_MAP_DELETE_ELEM; false when the key was absent. */
export function mapDelete(fd: FdLike, key: UserMemory): boolean {
  return bpfCallOrAbsent(encodeMapElem(BPF_CMD.MAP_DELETE_ELEM, fdValue(fd), key, null)) !== undefined;
}

/** BPF_MAP_GET_NEXT_KEY: writes the key after `key` (the first key for null) into `next`; false at the end. */
export function mapGetNextKey(fd: FdLike, key: UserMemory | null, next: UserMemory): boolean {
  return bpfCallOrAbsent(encodeMapElem(BPF_CMD.MAP_GET_NEXT_KEY, fdValue(fd), key, next)) !== undefined;
}

/** BPF_MAP_FREEZE: make the map read-only for user space. */
export function mapFreeze(fd: FdLike): void {
  bpfCall(encodeMapFreeze(fdValue(fd)));
}

/** Result of a batch operation: how many elements were processed, and whether the map is exhausted. */
export interface BatchResult {
  count: number;
  /** Lookup: no more elements after these (the kernel answered ENOENT). */
  done: boolean;
}

function batchCount(attr: Attr): number {
  return new DataView(attr.bytes.buffer).getUint32(MAP_BATCH_LAYOUT.fields.count.offset, true);
}

function batch(cmd: Parameters<typeof encodeMapBatch>[0], fd: FdLike, o: Omit<MapBatchAttr, "mapFd">): BatchResult {
  const attr = encodeMapBatch(cmd, { ...o, mapFd: fdValue(fd) });
  try {
    bpfCall(attr);
    return { count: batchCount(attr), done: false };
  } catch (e) {
    if (isErrno(e, "ENOENT") && (cmd === BPF_CMD.MAP_LOOKUP_BATCH || cmd === BPF_CMD.MAP_LOOKUP_AND_DELETE_BATCH)) {
      return { count: batchCount(attr), done: true };
    }
    throw e;
  }
}

/**
 * BPF_MAP_LOOKUP_BATCH: up to `count` keys/values into `keys`/`values`; pass the previous `outBatch`
 * as `inBatch` to continue (null to start). `done` is true when the map has no further elements.
 */
export function mapLookupBatch(fd: FdLike, o: Omit<MapBatchAttr, "mapFd">): BatchResult {
  return batch(BPF_CMD.MAP_LOOKUP_BATCH, fd, o);
}

/** BPF_MAP_LOOKUP_AND_DELETE_BATCH (as mapLookupBatch, deleting what it returns). */
export function mapLookupAndDeleteBatch(fd: FdLike, o: Omit<MapBatchAttr, "mapFd">): BatchResult {
  return batch(BPF_CMD.MAP_LOOKUP_AND_DELETE_BATCH, fd, o);
}

/** BPF_MAP_UPDATE_BATCH: `count` keys/values; returns how many were written. */
export function mapUpdateBatch(
  fd: FdLike,
  keys: UserMemory,
  values: UserMemory,
  count: number,
  elemFlags: number | bigint = 0,
): number {
  return batch(BPF_CMD.MAP_UPDATE_BATCH, fd, { keys, values, count, elemFlags }).count;
}

/** BPF_MAP_DELETE_BATCH: `count` keys; returns how many were deleted. */
export function mapDeleteBatch(fd: FdLike, keys: UserMemory, count: number, elemFlags: number | bigint = 0): number {
  return batch(BPF_CMD.MAP_DELETE_BATCH, fd, { keys, count, elemFlags }).count;
}

/* ---------- programs ---------- */

/** Filled by progLoad after the call (success or failure). */
export interface ProgLoadOutput {
  /** Bytes the full verifier log needs (Linux 6.4+, else 0). */
  logTrueSize: number;
}

/**
 * BPF_PROG_LOAD. Throws the kernel's SyscallError on failure; the verifier log is in `opts.logBuf`
 * (the caller's buffer, decode with logText). Retries a few times on EAGAIN, as the kernel asks.
 */
export function progLoad(opts: ProgLoadAttr & { context?: string }, out?: ProgLoadOutput): Fd {
  const attr = encodeProgLoad(opts);
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = bpfCall(attr);
      if (out) out.logTrueSize = progLoadLogTrueSize(attr);
      return new Fd(fd, opts.progName ? `program "${opts.progName}"` : "program");
    } catch (e) {
      if (isErrno(e, "EAGAIN") && attempt < 5) continue;
      if (out) out.logTrueSize = progLoadLogTrueSize(attr);
      throw withContext(e, opts.context);
    }
  }
}

/** The text of a kernel log buffer (up to the first NUL). */
export function logText(buf: Uint8Array): string {
  const end = buf.indexOf(0);
  return new TextDecoder().decode(end < 0 ? buf : buf.subarray(0, end));
}

/** Options and outputs of BPF_PROG_TEST_RUN. */
export interface ProgTestRunOptions {
  dataIn?: Uint8Array | null;
  /** Buffer for the packet after the run (its length is data_size_out). */
  dataOut?: Uint8Array | null;
  ctxIn?: Uint8Array | null;
  ctxOut?: Uint8Array | null;
  repeat?: number;
  flags?: number;
  cpu?: number;
  batchSize?: number;
}

/** Result of a test run; dataOut/ctxOut are views of the caller's buffers cut to what the kernel wrote. */
export interface ProgTestRunResult {
  retval: number;
  /** Average run time in nanoseconds. */
  duration: number;
  dataOut?: Uint8Array;
  ctxOut?: Uint8Array;
}

/** How many times a test run interrupted by a signal (EINTR) is started again before the EINTR is thrown. */
export const TEST_RUN_EINTR_RETRIES = 32;

/**
 * BPF_PROG_TEST_RUN (BPF_PROG_RUN). With `repeat` > 1 the kernel abandons the run with EINTR when a
 * signal is pending between repetitions; the run is then started again (so the program may run more
 * than `repeat` times in all), up to {@link TEST_RUN_EINTR_RETRIES} times, as cilium/ebpf does. Past
 * that (a signal arriving faster than the runs complete) the EINTR is thrown, saying so.
 */
export function progTestRun(fd: FdLike, o: ProgTestRunOptions = {}): ProgTestRunResult {
  const attr = encodeTestRun({ ...o, progFd: fdValue(fd) });
  for (let retries = 0; ; retries++) {
    try {
      bpfCall(attr);
      break;
    } catch (e) {
      if (!isErrno(e, "EINTR")) throw e;
      if (retries === TEST_RUN_EINTR_RETRIES) {
        throw withContext(e, undefined, `interrupted by a signal on ${retries + 1} attempts in a row: lower repeat, or block the signal during test runs`);
      }
    }
  }
  const r = decodeTestRun(attr);
  const result: ProgTestRunResult = { retval: r.retval, duration: r.duration };
  if (o.dataOut) result.dataOut = o.dataOut.subarray(0, Math.min(r.dataSizeOut, o.dataOut.length));
  if (o.ctxOut) result.ctxOut = o.ctxOut.subarray(0, Math.min(r.ctxSizeOut, o.ctxOut.length));
  return result;
}

/** BPF_PROG_ATTACH (cgroup, sockmap, flow dissector, netns, tcx, ...). */
export function progAttach(o: ProgAttachAttr): void {
  bpfCall(encodeProgAttach(BPF_CMD.PROG_ATTACH, o));
}

/** BPF_PROG_DETACH. */
export function progDetach(o: ProgAttachAttr): void {
  bpfCall(encodeProgAttach(BPF_CMD.PROG_DETACH, o));
}

/** Programs attached to a hook, as reported by BPF_PROG_QUERY. */
export interface ProgQueryResult {
  attachFlags: number;
  progIds: number[];
  /** mprog revision (tcx, netkit; 0 elsewhere). */
  revision: bigint;
}

/**
 * BPF_PROG_QUERY: ids of the programs attached at `target` (cgroup/netns fd or ifindex) for `attachType`.
 * Asks for the count first, then for the ids.
 */
export function progQuery(target: FdLike, attachType: number, queryFlags = 0): ProgQueryResult {
  const t = fdValue(target);
  const first = encodeProgQuery({ target: t, attachType, queryFlags });
  bpfCall(first);
  let q = decodeProgQuery(first);
  let ids = new Uint32Array(0);
  for (let tries = 0; q.count > 0 && tries < 4; tries++) {
    ids = new Uint32Array(q.count);
    const attr = encodeProgQuery({ target: t, attachType, queryFlags, progIds: ids });
    try {
      bpfCall(attr);
    } catch (e) {
      if (isErrno(e, "ENOSPC")) {
        q = decodeProgQuery(attr); // more were attached meanwhile: retry with the new count
        continue;
      }
      throw e;
    }
    q = decodeProgQuery(attr);
    ids = ids.subarray(0, Math.min(q.count, ids.length));
    break;
  }
  return { attachFlags: q.attachFlags, progIds: [...ids], revision: q.revision };
}

/** BPF_PROG_BIND_MAP: keep `map` alive as long as the program (e.g. .rodata used only from user space). */
export function progBindMap(prog: FdLike, map: FdLike, flags = 0): void {
  bpfCall(encodeProgBindMap(fdValue(prog), fdValue(map), flags));
}

/* ---------- pinning ---------- */

/** BPF_OBJ_PIN: pin an object at `path` on a bpffs. */
export function objPin(fd: FdLike, path: string): void {
  try {
    bpfCall(encodeObjPin(path, fdValue(fd)));
  } catch (e) {
    throw withContext(e, `pin at ${path}`);
  }
}

/** BPF_OBJ_GET: open a pinned object; `flags` is FILE_FLAGS.RDONLY/WRONLY or 0. */
export function objGet(path: string, flags = 0): Fd {
  try {
    return new Fd(bpfCall(encodeObjGet(path, flags)), `pinned ${path}`);
  } catch (e) {
    throw withContext(e, `open pinned ${path}`);
  }
}

/* ---------- links, tracing, BTF ---------- */

/** BPF_LINK_CREATE. */
export function linkCreate(o: LinkCreateAttr & { context?: string }): Fd {
  try {
    return new Fd(bpfCall(encodeLinkCreate(o)), "link");
  } catch (e) {
    throw withContext(e, o.context);
  }
}

/** BPF_LINK_UPDATE: swap the program of a link; with oldProg (and ATTACH_FLAGS.REPLACE) only if it matches. */
export function linkUpdate(link: FdLike, newProg: FdLike, flags = 0, oldProg?: FdLike): void {
  bpfCall(encodeLinkUpdate(fdValue(link), fdValue(newProg), flags, oldProg === undefined ? undefined : fdValue(oldProg)));
}

/** BPF_LINK_DETACH: detach the link from its hook (the fd stays open, the link becomes defunct). */
export function linkDetach(link: FdLike): void {
  bpfCall(encodeLinkDetach(fdValue(link)));
}

/** BPF_RAW_TRACEPOINT_OPEN: attach raw_tp (by name) or tp_btf/fentry/fexit/lsm (name null) programs. */
export function rawTracepointOpen(name: string | null, prog: FdLike, cookie?: number | bigint): Fd {
  try {
    return new Fd(bpfCall(encodeRawTracepointOpen(name, fdValue(prog), cookie)), "raw_tracepoint link");
  } catch (e) {
    throw withContext(e, name ? `attach raw tracepoint "${name}"` : undefined);
  }
}

/** BPF_ITER_CREATE: an fd that reads the iterator's output. */
export function iterCreate(link: FdLike, flags = 0): Fd {
  return new Fd(bpfCall(encodeIterCreate(fdValue(link), flags)), "iterator");
}

/** BPF_ENABLE_STATS: run-time statistics stay enabled while the returned fd is open. */
export function enableStats(type: number): Fd {
  return new Fd(bpfCall(encodeEnableStats(type)), "stats");
}

/** Options of btfLoad. */
export interface BtfLoadOptions {
  /** Log buffer; without one, a failed load is retried once with a 1 MiB log that is put in the error. */
  logBuf?: Uint8Array;
  logLevel?: number;
  /** Prefix for error messages, e.g. `load BTF of object "x"`. */
  context?: string;
  /** Filled with btf_log_true_size (Linux 6.4+). */
  out?: { logTrueSize: number };
  /** BPF token fd (Linux 6.9+): sent with BPF_F_TOKEN_FD. */
  tokenFd?: number;
}

/** BPF_BTF_LOAD. */
export function btfLoad(bytes: Uint8Array, opts: BtfLoadOptions = {}): Fd {
  const token = opts.tokenFd !== undefined ? { btfFlags: BTF_FLAGS.TOKEN_FD, btfTokenFd: opts.tokenFd } : {};
  const attr = encodeBtfLoad({ btf: bytes, logBuf: opts.logBuf, logLevel: opts.logLevel, ...token });
  try {
    const fd = bpfCall(attr);
    if (opts.out) opts.out.logTrueSize = btfLoadLogTrueSize(attr);
    return new Fd(fd, "BTF");
  } catch (e) {
    if (opts.out) opts.out.logTrueSize = btfLoadLogTrueSize(attr);
    if (!(e instanceof SyscallError)) throw e;
    let log = opts.logBuf ? logText(opts.logBuf) : "";
    if (!opts.logBuf && e.code !== "EPERM") {
      const buf = new Uint8Array(1 << 20);
      try {
        bpfCall(encodeBtfLoad({ btf: bytes, logBuf: buf, logLevel: 1, ...token }));
      } catch {
        log = logText(buf);
      }
    }
    const tail = log.trim().split("\n").slice(-6).join("\n");
    throw withContext(e, opts.context, tail ? `BTF log:\n${tail}` : undefined);
  }
}

/* ---------- tokens ---------- */

/**
 * BPF_TOKEN_CREATE (Linux 6.9+): a BPF token from `bpffs`, an fd of the root directory of a bpffs
 * instance mounted with delegate_* options in this process's user namespace. Raw: the errnos
 * (ENOENT no delegation, EOPNOTSUPP init user namespace, EPERM other namespace or no CAP_BPF there,
 * EINVAL not a bpffs root or an older kernel) are explained by src/runtime/token.ts.
 */
export function tokenCreate(bpffs: FdLike, flags = 0): Fd {
  return new Fd(bpfCall(encodeTokenCreate(fdValue(bpffs), flags)), "BPF token");
}

/* ---------- info ---------- */

/** BPF_OBJ_GET_INFO_BY_FD into `info`; returns the number of bytes the kernel filled. */
export function objInfo(fd: FdLike, info: Uint8Array): number {
  const attr = encodeObjInfo(fdValue(fd), info);
  bpfCall(attr);
  return decodeInfoLen(attr);
}

/** Program info; with `mapIds` also the ids of the maps it uses, with `xlatedInsns` its translated code. */
export function progInfo(
  fd: FdLike,
  opts: { mapIds?: boolean; xlatedInsns?: boolean } = {},
): ProgInfo & { mapIds?: number[]; xlatedInsns?: Uint8Array } {
  const buf = new Uint8Array(PROG_INFO_LAYOUT.size);
  objInfo(fd, buf);
  const info: ProgInfo & { mapIds?: number[]; xlatedInsns?: Uint8Array } = decodeProgInfo(buf);
  if ((opts.mapIds && info.nrMapIds > 0) || (opts.xlatedInsns && info.xlatedProgLen > 0)) {
    const w = new StructWriter(PROG_INFO_LAYOUT);
    const ids = new Uint32Array(opts.mapIds ? info.nrMapIds : 0);
    const insns = new Uint8Array(opts.xlatedInsns ? info.xlatedProgLen : 0);
    const refs: ArrayBufferView[] = [];
    if (ids.length > 0) {
      w.set("nr_map_ids", ids.length).set("map_ids", sys().addressOf(ids));
      refs.push(ids);
    }
    if (insns.length > 0) {
      w.set("xlated_prog_len", insns.length).set("xlated_prog_insns", sys().addressOf(insns));
      refs.push(insns);
    }
    withPinned(refs, () => objInfo(fd, w.bytes));
    const second = decodeProgInfo(w.bytes);
    if (opts.mapIds) info.mapIds = [...ids.subarray(0, Math.min(second.nrMapIds, ids.length))];
    if (opts.xlatedInsns) info.xlatedInsns = insns.subarray(0, Math.min(second.xlatedProgLen, insns.length));
  } else {
    if (opts.mapIds) info.mapIds = [];
    if (opts.xlatedInsns) info.xlatedInsns = new Uint8Array(0);
  }
  return info;
}

/** Map info. */
export function mapInfo(fd: FdLike): MapInfo {
  const buf = new Uint8Array(MAP_INFO_LAYOUT.size);
  objInfo(fd, buf);
  return decodeMapInfo(buf);
}

/** Link info. */
export function linkInfo(fd: FdLike): LinkInfo {
  const buf = new Uint8Array(LINK_INFO_LAYOUT.size);
  objInfo(fd, buf);
  return decodeLinkInfo(buf);
}

/** BTF object info with its name ("vmlinux", a module name, or "" for user BTF); `data` also fetches the raw BTF. */
export function btfInfo(fd: FdLike, opts: { data?: boolean } = {}): BtfInfo & { name: string; data?: Uint8Array } {
  const nameBuf = new Uint8Array(64);
  const w = new StructWriter(BTF_INFO_LAYOUT);
  w.set("name", sys().addressOf(nameBuf)).set("name_len", nameBuf.length);
  withPinned([nameBuf], () => objInfo(fd, w.bytes));
  const info = decodeBtfInfo(w.bytes);
  const result: BtfInfo & { name: string; data?: Uint8Array } = { ...info, name: logText(nameBuf) };
  if (opts.data) {
    const data = new Uint8Array(info.btfSize);
    const w2 = new StructWriter(BTF_INFO_LAYOUT);
    w2.set("btf", sys().addressOf(data)).set("btf_size", data.length);
    withPinned([data], () => objInfo(fd, w2.bytes));
    result.data = data;
  }
  return result;
}

/* ---------- ids ---------- */

/** Kinds of objects with global ids. */
export type ObjectKind = "prog" | "map" | "btf" | "link";

const NEXT_ID_CMD = {
  prog: BPF_CMD.PROG_GET_NEXT_ID,
  map: BPF_CMD.MAP_GET_NEXT_ID,
  btf: BPF_CMD.BTF_GET_NEXT_ID,
  link: BPF_CMD.LINK_GET_NEXT_ID,
} as const;

const FD_BY_ID_CMD = {
  prog: BPF_CMD.PROG_GET_FD_BY_ID,
  map: BPF_CMD.MAP_GET_FD_BY_ID,
  btf: BPF_CMD.BTF_GET_FD_BY_ID,
  link: BPF_CMD.LINK_GET_FD_BY_ID,
} as const;

/** *_GET_NEXT_ID: the first id after `startId`, or undefined when there is none. */
export function getNextId(kind: ObjectKind, startId: number): number | undefined {
  const attr = encodeGetNextId(NEXT_ID_CMD[kind], startId);
  return bpfCallOrAbsent(attr) === undefined ? undefined : decodeNextId(attr);
}

/** Every id of `kind`, in increasing order. */
export function* objectIds(kind: ObjectKind): Generator<number> {
  let id = 0;
  for (;;) {
    const next = getNextId(kind, id);
    if (next === undefined) return;
    yield next;
    id = next;
  }
}

/** *_GET_FD_BY_ID: open an object by id (ENOENT if it went away meanwhile). */
export function getFdById(kind: ObjectKind, id: number, openFlags = 0): Fd {
  return new Fd(bpfCall(encodeGetFdById(FD_BY_ID_CMD[kind], id, openFlags)), `${kind} #${id}`);
}

/** Whether the kernel object `kind` #`id` still exists (*_GET_FD_BY_ID answers ENOENT once it is gone). */
export function objectExists(kind: ObjectKind, id: number): boolean {
  const fd = bpfCallOrAbsent(encodeGetFdById(FD_BY_ID_CMD[kind], id, 0));
  if (fd === undefined) return false;
  new Fd(fd, `${kind} #${id}`).close();
  return true;
}

/** BPF_TASK_FD_QUERY result. */
export interface TaskFdQueryResult {
  progId: number;
  /** bpf_perf_event_type (PERF_EVENT_LINK_TYPE). */
  fdType: number;
  /** Tracepoint / function / file name. */
  name: string;
  probeOffset: bigint;
  probeAddr: bigint;
}

/** BPF_TASK_FD_QUERY: what is attached behind fd `fd` of process `pid`. */
export function taskFdQuery(pid: number, fd: number): TaskFdQueryResult {
  const buf = new Uint8Array(256);
  const attr = encodeTaskFdQuery(pid, fd, buf);
  bpfCall(attr);
  const r = new StructReader(TASK_FD_QUERY_LAYOUT, attr.bytes);
  return {
    progId: r.num("prog_id"),
    fdType: r.num("fd_type"),
    name: logText(buf),
    probeOffset: r.big("probe_offset"),
    probeAddr: r.big("probe_addr"),
  };
}

export { perfEventOpen, type PerfEventAttrOptions } from "./perf.js";
