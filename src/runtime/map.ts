// A live BPF map: creation from a MapSpec (pinned reuse, initial data, freezing), raw byte access,
// batch operations, mmap, and typed access through codecs (tsbpf/types layouts, per-CPU value lists).

import { existsSync, unlinkSync } from "node:fs";
import { MapError, MapSyscallError, PermissionError, SyscallError, TsbpfError } from "../errors.js";
import { missingMapType } from "../features.js";
import { mapSpec, mapTypeFromNumber } from "../object/maps.js";
import type { MapSpec, MapTypeName } from "../object/spec.js";
import {
  mapCreate,
  mapDeleteBatch,
  mapFreeze,
  mapInfo,
  mapLookupAndDeleteBatch,
  mapLookupBatch,
  mapUpdateBatch,
  withContext,
  type BatchResult,
} from "../sys/bpf.js";
import { MAP, MAP_FLAGS, MAP_TYPE, PROT } from "../sys/constants.js";
import type { Fd } from "../sys/fd.js";
import { closedExplicitly, releaseOnCollect } from "../sys/finalize.js";
import type { MapInfo } from "../sys/info.js";
import { sys } from "../sys/seam.js";
import { pageSize, possibleCpus } from "../sys/system.js";
import type { Layout } from "../types/index.js";
import { KeyCursor } from "./maps/cursor.js";
import { openPin, pinAt, type OpenPinnedOptions, type PinOptions } from "./pin.js";
import { ElemCalls } from "./maps/elem.js";
import { tokenRefusal, type BpfToken } from "./token.js";

/** Update flags for {@link BpfMap.setRaw} and `set` of typed maps. */
export const UpdateFlags = { Any: 0, NoExist: 1, Exist: 2, Lock: 4 } as const;

const PERCPU: ReadonlySet<MapTypeName> = new Set(["PERCPU_HASH", "PERCPU_ARRAY", "LRU_PERCPU_HASH", "PERCPU_CGROUP_STORAGE"]);
/** Map types the kernel refuses BTF key/value types for (libbpf drops them too). */
const NO_BTF: ReadonlySet<MapTypeName> = new Set([
  "PERF_EVENT_ARRAY", "CGROUP_ARRAY", "STACK_TRACE", "ARRAY_OF_MAPS", "HASH_OF_MAPS", "DEVMAP", "DEVMAP_HASH",
  "CPUMAP", "XSKMAP", "SOCKMAP", "SOCKHASH", "QUEUE", "STACK", "ARENA", "PROG_ARRAY",
]);
/** Map types whose elements have no key (queue, stack, bloom filter) or that are not key/value maps at all. */
export const KEYLESS: ReadonlySet<MapTypeName> = new Set(["QUEUE", "STACK", "BLOOM_FILTER", "RINGBUF", "USER_RINGBUF"]);

/** Run a syscall wrapper, prefixing a SyscallError with what was being done. */
export function withOp<T>(context: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw withContext(e, context);
  }
}

/** The error for map `name` failing `op`: a kernel refusal becomes a MapSyscallError naming both. */
export function mapFailure(e: unknown, name: string, op: string): unknown {
  if (!(e instanceof SyscallError) || e instanceof MapSyscallError) return e;
  let detail: string;
  try {
    detail = sys().strerror(e.errno);
  } catch {
    detail = e.code;
  }
  return new MapSyscallError(name, op, e, detail);
}

function describeMismatch(spec: MapSpec, info: MapInfo): string | undefined {
  const want = { type: MAP_TYPE[spec.type], keySize: spec.keySize, valueSize: spec.valueSize, maxEntries: spec.maxEntries, mapFlags: spec.flags };
  for (const k of Object.keys(want) as (keyof typeof want)[]) {
    if (want[k] !== info[k]) {
      const show = (v: number) => (k === "type" ? (mapTypeFromNumber(v) ?? String(v)) : String(v));
      return `${k} is ${show(info[k])}, expected ${show(want[k])}`;
    }
  }
  return undefined;
}

/** How a map's fd was opened (BPF_OBJ_GET file flags of a pin). */
export type MapAccess = "readWrite" | "readOnly" | "writeOnly";

/** Options of {@link BpfMap.openPinned}. */
export interface OpenPinnedMapOptions extends OpenPinnedOptions {
  /** Name used in messages (default: the pin's file name). */
  readonly name?: string;
}

/** Options for {@link createMap}. */
export interface CreateMapOptions {
  /** BTF fd of the object, for maps whose key/value types are described in BTF. */
  readonly btfFd?: Fd;
  /** Reuse the map pinned here if compatible, else create it and pin it here. */
  readonly pinPath?: string;
  /** Inner map template fd for ARRAY_OF_MAPS / HASH_OF_MAPS (instead of creating one from `spec.innerMap`). */
  readonly innerMapFd?: Fd;
  /** BPF token the map is created with (BPF_F_TOKEN_FD); see src/runtime/token.ts. */
  readonly token?: BpfToken;
}

/** Open the map pinned at `path` and check it against `spec`; throws MapError MAP_INCOMPATIBLE on a mismatch. */
function openCompatible(spec: MapSpec, path: string): BpfMap {
  const fd = withOp(`open pinned map "${spec.name}"`, () => openPin(path, {}, `open pinned map "${spec.name}"`));
  const info = mapInfo(fd);
  const bad = describeMismatch(spec, info);
  if (bad) {
    fd.close();
    throw new MapError("MAP_INCOMPATIBLE", spec.name, `reuse pinned map at ${path}`, `the pinned map is incompatible: ${bad}`);
  }
  return new BpfMap(fd, spec, path);
}

/**
 * Create a map from a spec: reuse a compatible pinned map or create a new one, write initial data,
 * freeze read-only data. (The typed constructor `createMap({ type: "hash", key, value, maxEntries })`
 * is exported from the package root; it builds the spec and calls this.)
 */
export function createMap(spec: MapSpec, opts: CreateMapOptions = {}): BpfMap {
  if (opts.pinPath && existsSync(opts.pinPath)) return openCompatible(spec, opts.pinPath);
  let inner: Fd | undefined;
  try {
    if (spec.innerMap && !opts.innerMapFd) inner = createMap(spec.innerMap, opts.token ? { token: opts.token } : {}).fd;
    const innerFd = opts.innerMapFd ?? inner;
    const withBtf = opts.btfFd && (spec.btfValueTypeId || spec.btfKeyTypeId) && !NO_BTF.has(spec.type);
    const maxEntries = spec.type === "PERF_EVENT_ARRAY" && spec.maxEntries === 0 ? possibleCpus() : spec.maxEntries;
    const attr = {
      context: `create map "${spec.name}"`,
      mapType: MAP_TYPE[spec.type],
      keySize: spec.keySize,
      valueSize: spec.valueSize,
      maxEntries,
      mapFlags: spec.flags | (opts.token ? MAP_FLAGS.TOKEN_FD : 0),
      mapName: spec.kernelName,
      ...(opts.token ? { mapTokenFd: opts.token.fd.value } : {}),
      ...(innerFd ? { innerMapFd: innerFd.value } : {}),
      ...(spec.numaNode !== undefined ? { numaNode: spec.numaNode } : {}),
      ...(spec.mapExtra !== undefined ? { mapExtra: spec.mapExtra } : {}),
    };
    let fd: Fd;
    try {
      if (withBtf) {
        try {
          fd = mapCreate({ ...attr, btfFd: opts.btfFd!.value, btfKeyTypeId: spec.btfKeyTypeId, btfValueTypeId: spec.btfValueTypeId });
        } catch (e) {
          // Like libbpf: a kernel that refuses the BTF description still gets the map, without it.
          if (!(e instanceof SyscallError) || e.code !== "EINVAL") throw e;
          fd = mapCreate(attr);
        }
      } else {
        fd = mapCreate(attr);
      }
    } catch (e) {
      // EINVAL also means "unknown map type": the probe tells that apart from a bad attribute.
      if (e instanceof SyscallError && e.code === "EINVAL") throw missingMapType(spec.type, attr.context, e, opts.token) ?? e;
      if (opts.token && e instanceof TsbpfError && (e.code === "EPERM" || e.code === "EACCES")) {
        throw tokenRefusal(opts.token, { cmd: "MAP_CREATE", map: spec.type, context: attr.context, needs: "CAP_BPF" }, e);
      }
      throw e;
    }
    const map = new BpfMap(fd, maxEntries === spec.maxEntries ? spec : { ...spec, maxEntries }, undefined);
    try {
      if (spec.data && spec.data.byteLength) map.setRaw(new Uint8Array(4), spec.data);
      if (spec.freeze) map.freeze();
      if (opts.pinPath) map.pin(opts.pinPath);
    } catch (e) {
      map.close();
      throw e;
    }
    return map;
  } finally {
    inner?.close();
  }
}

/** One chunk of a batch lookup: `count` keys and values packed in `keys` / `values` (reused between chunks). */
export interface RawBatch {
  readonly keys: Uint8Array;
  readonly values: Uint8Array;
  readonly count: number;
}

/** Kernel answers meaning "this map type has no batch operations". */
const NO_BATCH = new Set(["EINVAL", "ENOTSUPP", "EOPNOTSUPP", "E524"]);

/**
 * A live BPF map. Keys and values are raw bytes (`getRaw`/`setRaw`, batch and mmap access) or decoded
 * through layouts (`typed()`, or the kind-specific classes such as HashMap and ArrayMap). A map
 * garbage-collected without close() has its fd closed (and its memory unmapped) then, with a
 * `TSBPF_UNCLOSED` warning; a pinned map stays pinned.
 *
 * @example
 * const counts = coll.map("counts").typed(u32, u64);
 * counts.set(1, 10n);
 * console.log(counts.get(1)); // 10n
 */
export class BpfMap implements Disposable {
  readonly fd: Fd;
  readonly spec: MapSpec;
  #pinnedAt: string | undefined;
  #elem: ElemCalls | undefined;
  #mmap: ArrayBuffer | undefined;
  #mmapWritable = false;

  readonly #access: MapAccess;

  constructor(fd: Fd, spec: MapSpec, pinnedAt: string | undefined, access: MapAccess = "readWrite") {
    this.fd = fd;
    this.spec = spec;
    this.#pinnedAt = pinnedAt;
    releaseOnCollect(this, { what: `map "${spec.name}"`, fds: [fd] });
    this.#access = access;
  }

  /**
   * Create a map directly from userspace, without an object file.
   *
   * @example
   * using m = BpfMap.create({ name: "scratch", type: "HASH", keySize: 4, valueSize: 8, maxEntries: 16 });
   */
  static create(fields: Partial<MapSpec> & Pick<MapSpec, "name" | "type">, opts: CreateMapOptions = {}): BpfMap {
    return createMap(mapSpec(fields), opts);
  }

  get name(): string { return this.spec.name; }
  get type(): MapTypeName { return this.spec.type; }
  get keySize(): number { return this.spec.keySize; }
  get valueSize(): number { return this.spec.valueSize; }
  get maxEntries(): number { return this.spec.maxEntries; }
  get flags(): number { return this.spec.flags; }
  /** Path the map is pinned at, if any. */
  get pinnedAt(): string | undefined { return this.#pinnedAt; }
  /** Per-CPU maps hold one value per possible CPU. */
  get isPerCpu(): boolean { return PERCPU.has(this.spec.type); }
  /** True once close() ran. */
  get closed(): boolean { return this.fd.closed; }

  /** Size of the buffer a lookup fills: valueSize, or valueSize rounded to 8 × possible CPUs for per-CPU maps. */
  get valueBufferSize(): number {
    return this.isPerCpu ? Math.ceil(this.spec.valueSize / 8) * 8 * possibleCpus() : this.spec.valueSize;
  }

  /** Key bytes of one element as the kernel sees them (0 for queues, stacks and bloom filters). */
  get keyBufferSize(): number {
    return KEYLESS.has(this.spec.type) ? 0 : this.spec.keySize;
  }

  /** The kernel's view of the map (id, sizes, flags, name). */
  info(): MapInfo {
    return this.op("get info", () => mapInfo(this.fd));
  }

  /** Runs `fn` as operation `op` on this map: failures name the map and the operation. */
  op<T>(op: string, fn: () => T): T {
    if (this.fd.closed) throw new MapError("MAP_CLOSED", this.spec.name, op, "the map was closed");
    try {
      return fn();
    } catch (e) {
      throw this.failure(e, op);
    }
  }

  /** @internal The error for `op` failing with `e`: mapFailure, naming the fd's access mode when that is why the kernel refused. */
  failure(e: unknown, op: string): unknown {
    const raw = e instanceof PermissionError && e.cause instanceof SyscallError ? e.cause : e;
    if (this.#access !== "readWrite" && raw instanceof SyscallError && raw.code === "EPERM") {
      const only = this.#access === "readOnly" ? "read-only ({ readOnly: true }): lookups only, no updates or deletes" : "write-only ({ writeOnly: true }): updates and deletes only, no lookups";
      return new MapSyscallError(this.spec.name, op, raw, `the map was opened ${only}`);
    }
    return mapFailure(e, this.spec.name, op);
  }

  /** The map's pre-encoded element calls (shared scratch key/value buffers; synchronous use only). */
  elem(): ElemCalls {
    if (this.fd.closed) throw new MapError("MAP_CLOSED", this.spec.name, "access", "the map was closed");
    return (this.#elem ??= new ElemCalls(this.fd.value, this.keyBufferSize, this.valueBufferSize));
  }

  #checkKey(op: string, key: Uint8Array | null): void {
    const want = this.keyBufferSize;
    if (key && key.byteLength !== want) throw new MapError("BAD_KEY", this.spec.name, op, `key has ${key.byteLength} bytes, expected ${want}`);
  }

  #checkValue(op: string, value: Uint8Array): void {
    if (value.byteLength !== this.valueBufferSize)
      throw new MapError("BAD_VALUE", this.spec.name, op, `value has ${value.byteLength} bytes, expected ${this.valueBufferSize}`);
  }

  /** The value bytes for `key` (a copy), or undefined when there is no such key. */
  getRaw(key: Uint8Array | null): Uint8Array | undefined {
    this.#checkKey("lookup", key);
    const e = this.#elemFor("lookup");
    if (key) e.key.set(key);
    return this.#call("lookup", e, e.lookup) ? e.value.slice() : undefined;
  }

  /** Whether `key` exists. */
  hasRaw(key: Uint8Array): boolean {
    this.#checkKey("lookup", key);
    const e = this.#elemFor("lookup");
    e.key.set(key);
    return this.#call("lookup", e, e.lookup);
  }

  /** Write `value` at `key` (flags: UpdateFlags; null key for queues, stacks and bloom filters). */
  setRaw(key: Uint8Array | null, value: Uint8Array, flags = 0): void {
    this.#checkKey("update", key);
    this.#checkValue("update", value);
    const e = this.#elemFor("update");
    if (key) e.key.set(key);
    e.value.set(value);
    try {
      e.update(flags);
    } catch (err) {
      throw this.failure(err, "update");
    }
  }

  /** Delete `key`; returns false when it did not exist. */
  deleteRaw(key: Uint8Array): boolean {
    this.#checkKey("delete", key);
    const e = this.#elemFor("delete");
    e.key.set(key);
    return this.#call("delete", e, e.delete);
  }

  /** Look up and delete `key` in one step (null key: pop a queue or stack); undefined when absent or empty. */
  lookupAndDeleteRaw(key: Uint8Array | null): Uint8Array | undefined {
    this.#checkKey("lookup and delete", key);
    const e = this.#elemFor("lookup and delete");
    if (key) e.key.set(key);
    return this.#call("lookup and delete", e, e.lookupAndDelete) ? e.value.slice() : undefined;
  }

  /** The element calls, or MAP_CLOSED naming `op`. */
  #elemFor(op: string): ElemCalls {
    if (this.fd.closed) throw new MapError("MAP_CLOSED", this.spec.name, op, "the map was closed");
    return (this.#elem ??= new ElemCalls(this.fd.value, this.keyBufferSize, this.valueBufferSize));
  }

  /** `call` on `e` as operation `op` (a kernel refusal becomes a MapSyscallError naming the map). */
  #call(op: string, e: ElemCalls, call: (this: ElemCalls) => boolean): boolean {
    try {
      return call.call(e);
    } catch (err) {
      throw this.failure(err, op);
    }
  }

  /** A fresh key-by-key cursor over this map (its own buffers; see KeyCursor). */
  cursor(): KeyCursor {
    if (this.fd.closed) throw new MapError("MAP_CLOSED", this.spec.name, "iterate", "the map was closed");
    return new KeyCursor(this.fd.value, this.keyBufferSize, this.valueBufferSize, this.spec.name, this.spec.maxEntries);
  }

  /** Every key (a fresh copy each), in the kernel's iteration order. */
  *keysRaw(): IterableIterator<Uint8Array> {
    const c = this.cursor();
    for (;;) {
      let more: boolean;
      if (this.fd.closed) throw new MapError("MAP_CLOSED", this.spec.name, "iterate", "the map was closed");
      try {
        more = c.next();
      } catch (e) {
        throw this.failure(e, "iterate");
      }
      if (!more) return;
      yield new Uint8Array(c.key);
    }
  }

  /** Every [key, value] pair, fresh copies (entries deleted during iteration are skipped). */
  *entriesRaw(): IterableIterator<[Uint8Array, Uint8Array]> {
    const c = this.cursor();
    for (;;) {
      let found: boolean;
      if (this.fd.closed) throw new MapError("MAP_CLOSED", this.spec.name, "iterate", "the map was closed");
      try {
        if (!c.next()) return;
        found = c.lookup();
      } catch (e) {
        throw this.failure(e, "iterate");
      }
      if (found) yield [new Uint8Array(c.key), new Uint8Array(c.value)];
    }
  }

  /**
   * Every element in chunks of up to `chunk`, read with BPF_MAP_LOOKUP_BATCH (or
   * BPF_MAP_LOOKUP_AND_DELETE_BATCH with `remove`). The chunk buffers are reused: copy what you keep.
   * Map types without batch support fall back to key-by-key reads (and deletes).
   */
  *batchesRaw(chunk = 4096, remove = false): IterableIterator<RawBatch> {
    const op = remove ? "lookup and delete batch" : "lookup batch";
    if (!Number.isInteger(chunk) || chunk < 1) throw new MapError("BAD_ARGUMENT", this.spec.name, op, `chunk size must be a positive integer, got ${chunk}`);
    const ks = this.spec.keySize;
    const vs = this.valueBufferSize;
    let n = Math.min(chunk, Math.max(this.spec.maxEntries, 1));
    let keys = new Uint8Array(n * ks);
    let values = new Uint8Array(n * vs);
    const cursorSize = Math.max(ks, 8);
    let inBatch: Uint8Array | null = null;
    let outBatch: Uint8Array = new Uint8Array(cursorSize);
    for (;;) {
      let r: BatchResult;
      try {
        r = this.op(op, () => (remove ? mapLookupAndDeleteBatch : mapLookupBatch)(this.fd, { inBatch, outBatch, keys, values, count: n }));
      } catch (e) {
        if (e instanceof SyscallError && e.code === "ENOSPC" && n < 1 << 20) {
          // A hash bucket holds more elements than the chunk: grow and retry from the same cursor.
          n *= 2;
          keys = new Uint8Array(n * ks);
          values = new Uint8Array(n * vs);
          continue;
        }
        if (inBatch === null && e instanceof SyscallError && NO_BATCH.has(e.code)) {
          yield* this.#batchesByKey(n, remove);
          return;
        }
        throw e;
      }
      if (r.count > 0) yield { keys, values, count: r.count };
      if (r.done) return;
      const prev: Uint8Array | null = inBatch;
      inBatch = outBatch;
      outBatch = prev ?? new Uint8Array(cursorSize);
    }
  }

  /**
   * Every element read with BPF_MAP_LOOKUP_BATCH straight into one pair of buffers sized for the whole
   * map (maxEntries + 1, so that most maps need a single call; `chunk` caps the elements per call).
   * The buffers are fresh and the caller's. Map types without batch support are read key by key.
   */
  lookupAllRaw(chunk?: number): RawBatch {
    const op = "lookup batch";
    if (chunk !== undefined && (!Number.isInteger(chunk) || chunk < 1))
      throw new MapError("BAD_ARGUMENT", this.spec.name, op, `chunk size must be a positive integer, got ${chunk}`);
    const ks = this.spec.keySize;
    const vs = this.valueBufferSize;
    let cap = Math.max(this.spec.maxEntries, 0) + 1;
    let keys: Uint8Array = new Uint8Array(new ArrayBuffer(cap * ks));
    let values: Uint8Array = new Uint8Array(new ArrayBuffer(cap * vs));
    const cursorSize = Math.max(ks, 8);
    let inBatch: Uint8Array | null = null;
    let outBatch: Uint8Array = new Uint8Array(cursorSize);
    let total = 0;
    const grow = () => {
      cap *= 2;
      const k = new Uint8Array(new ArrayBuffer(cap * ks));
      const v = new Uint8Array(new ArrayBuffer(cap * vs));
      k.set(keys.subarray(0, total * ks));
      v.set(values.subarray(0, total * vs));
      keys = k;
      values = v;
    };
    let step = chunk ?? cap;
    for (;;) {
      if (total === cap) grow();
      const n = Math.min(cap - total, step);
      let r: BatchResult;
      try {
        r = this.op(op, () => mapLookupBatch(this.fd, {
          inBatch, outBatch, keys: keys.subarray(total * ks, (total + n) * ks), values: values.subarray(total * vs, (total + n) * vs), count: n,
        }));
      } catch (e) {
        if (e instanceof SyscallError && e.code === "ENOSPC" && step < 1 << 24) {
          // A hash bucket holds more elements than one call may return: retry from the same cursor with more room.
          if (step < cap - total) step *= 2;
          else grow();
          continue;
        }
        if (inBatch === null && e instanceof SyscallError && NO_BATCH.has(e.code)) return this.#allByKey();
        throw e;
      }
      total += r.count;
      if (r.done) return { keys: keys.subarray(0, total * ks), values: values.subarray(0, total * vs), count: total };
      const prev: Uint8Array | null = inBatch;
      inBatch = outBatch;
      outBatch = prev ?? new Uint8Array(cursorSize);
    }
  }

  #allByKey(): RawBatch {
    const ks = this.spec.keySize;
    const vs = this.valueBufferSize;
    const ks2: Uint8Array[] = [];
    const vs2: Uint8Array[] = [];
    for (const [k, v] of this.entriesRaw()) {
      ks2.push(k);
      vs2.push(v);
    }
    const keys = new Uint8Array(new ArrayBuffer(ks2.length * ks));
    const values = new Uint8Array(new ArrayBuffer(vs2.length * vs));
    for (let i = 0; i < ks2.length; i++) {
      keys.set(ks2[i]!, i * ks);
      values.set(vs2[i]!, i * vs);
    }
    return { keys, values, count: ks2.length };
  }

  *#batchesByKey(n: number, remove: boolean): IterableIterator<RawBatch> {
    const ks = this.spec.keySize;
    const vs = this.valueBufferSize;
    const keys = new Uint8Array(n * ks);
    const values = new Uint8Array(n * vs);
    let count = 0;
    const all = [...this.keysRaw()];
    for (const k of all) {
      const v = remove ? this.lookupAndDeleteRaw(k) : this.getRaw(k);
      if (!v) continue;
      keys.set(k, count * ks);
      values.set(v, count * vs);
      if (++count === n) {
        yield { keys, values, count };
        count = 0;
      }
    }
    if (count) yield { keys, values, count };
  }

  /** BPF_MAP_UPDATE_BATCH of `count` packed keys and values; returns how many were written. */
  updateBatchRaw(keys: Uint8Array, values: Uint8Array, count: number, flags = 0): number {
    if (keys.byteLength < count * this.spec.keySize || values.byteLength < count * this.valueBufferSize)
      throw new MapError("BAD_VALUE", this.spec.name, "update batch", `buffers hold fewer than ${count} keys/values`);
    if (count === 0) return 0;
    return this.op("update batch", () => mapUpdateBatch(this.fd, keys, values, count, flags));
  }

  /** BPF_MAP_DELETE_BATCH of `count` packed keys; returns how many were deleted. */
  deleteBatchRaw(keys: Uint8Array, count: number): number {
    if (keys.byteLength < count * this.spec.keySize)
      throw new MapError("BAD_KEY", this.spec.name, "delete batch", `buffer holds fewer than ${count} keys`);
    if (count === 0) return 0;
    return this.op("delete batch", () => mapDeleteBatch(this.fd, keys, count));
  }

  /**
   * A view of this map that encodes keys and decodes values with layouts. On per-CPU maps `get`
   * returns CPU 0's value and `set` writes the value for every CPU (see {@link TypedMap.getPerCpu});
   * `PerCpuHashMap`/`PerCpuArrayMap` give every CPU's value.
   */
  typed<K, V, KI = K, VI = V>(key: Layout<K, KI, unknown>, value: Layout<V, VI, unknown>): TypedMap<K, V, KI, VI> {
    if (key.size !== this.spec.keySize && !KEYLESS.has(this.spec.type))
      throw new MapError("BAD_LAYOUT", this.spec.name, "typed access", `key layout is ${key.size} bytes, the map's keys are ${this.spec.keySize}`);
    if (value.size !== this.spec.valueSize)
      throw new MapError("BAD_LAYOUT", this.spec.name, "typed access", `value layout is ${value.size} bytes, the map's values are ${this.spec.valueSize}`);
    return new TypedMap(this, key, this.isPerCpu ? broadcastCodec(value, possibleCpus()) : value, value);
  }

  /** Freeze the map: no more writes from userspace (programs may still write unless BPF_F_RDONLY_PROG). */
  freeze(): void {
    this.op("freeze", () => mapFreeze(this.fd));
  }

  /**
   * Pin the map at a path on a bpffs mount. The path is checked first (PinError NOT_BPFFS when it is
   * not on bpffs, PIN_NAME for a name with '.', PIN_EXISTS when taken); missing parent directories are
   * created, and removed again when pinning fails. The pin is private by default (mode 0600, owned by
   * this process's user); `opts` sets its mode and owner.
   *
   * @example
   * map.pin("/sys/fs/bpf/myapp/counts", { mode: 0o640, gid: 1000 }); // group 1000 may open it { readOnly: true }
   */
  pin(path: string, opts: PinOptions = {}): void {
    this.op(`pin at ${path}`, () => pinAt(this.fd, path, `map "${this.spec.name}"`, opts));
    this.#pinnedAt = path;
  }

  /** @internal Records where the map is pinned after its pin was moved or undone (Collection.pin with replace). */
  notePinnedAt(path: string | undefined): void {
    this.#pinnedAt = path;
  }

  /** How the map's fd was opened: "readWrite", or "readOnly"/"writeOnly" for pins opened that way. */
  get access(): MapAccess {
    return this.#access;
  }

  /** Remove the pin (the map lives on while fds or programs hold it). No-op when not pinned. */
  unpin(): void {
    const path = this.#pinnedAt;
    if (!path) return;
    try {
      unlinkSync(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT")
        throw new MapError("UNPIN_FAILED", this.spec.name, `unpin from ${path}`, (e as Error).message, { cause: e });
    }
    this.#pinnedAt = undefined;
  }

  /**
   * The map's memory mapped into this process (BPF_F_MMAPABLE arrays, incl. .data/.bss/.rodata, and
   * arenas: maxEntries pages): array elements are round_up(valueSize, 8) bytes apart. Mapped read-write, or read-only when the map is
   * frozen or read-only for userspace. Cached; unmapped by close().
   */
  mmap(): ArrayBuffer {
    if (this.#mmap && this.#mmap.byteLength > 0) return this.#mmap;
    const name = this.spec.name;
    const arena = this.spec.type === "ARENA";
    if (!arena && (!(this.spec.flags & MAP_FLAGS.MMAPABLE) || this.spec.type !== "ARRAY"))
      throw new MapError("MAP_NOT_MMAPABLE", name, "mmap", `only ARRAY maps created with BPF_F_MMAPABLE and arenas can be mapped (this is ${this.spec.type}, flags 0x${this.spec.flags.toString(16)})`);
    const page = pageSize();
    const bytes = arena ? this.spec.maxEntries * page : Math.ceil((this.spec.maxEntries * Math.ceil(this.spec.valueSize / 8) * 8) / page) * page;
    const s = sys();
    const fd = this.fd;
    this.#mmap = this.op("mmap", () => {
      if (!(this.spec.flags & MAP_FLAGS.RDONLY)) {
        try {
          const ab = s.mmap(fd.value, bytes, PROT.READ | PROT.WRITE, MAP.SHARED, 0);
          this.#mmapWritable = true;
          return ab;
        } catch (e) {
          if (!(e instanceof SyscallError) || (e.code !== "EPERM" && e.code !== "EACCES")) throw e;
        }
      }
      this.#mmapWritable = false;
      return s.mmap(fd.value, bytes, PROT.READ, MAP.SHARED, 0);
    });
    return this.#mmap;
  }

  /** Whether {@link mmap} mapped the map writable. */
  get mmapWritable(): boolean {
    return this.#mmap !== undefined && this.#mmapWritable;
  }

  close(): void {
    closedExplicitly(this);
    if (this.#mmap) {
      try {
        sys().munmap(this.#mmap);
      } catch {
        // already detached
      }
      this.#mmap = undefined;
    }
    this.fd.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Open a map pinned on bpffs (untyped; see `openPinnedMap` for a typed, checked open). The second
   * argument is the map's name, or options: `name`, and `readOnly` / `writeOnly` to open the pin with
   * only that access (BPF_F_RDONLY / BPF_F_WRONLY) — what a 0644 pin grants users other than its owner.
   *
   * @example
   * using m = BpfMap.openPinned("/sys/fs/bpf/app/maps/counts", { readOnly: true });
   */
  static openPinned(path: string, opts: string | OpenPinnedMapOptions = {}): BpfMap {
    const o = typeof opts === "string" ? { name: opts } : opts;
    const name = o.name ?? path.split("/").pop() ?? "pinned";
    const fd = withOp(`open pinned map at ${path}`, () => openPin(path, o, `open pinned map at ${path}`));
    try {
      const info = mapInfo(fd);
      const type = mapTypeFromNumber(info.type) ?? "UNSPEC";
      const access: MapAccess = o.readOnly ? "readOnly" : o.writeOnly ? "writeOnly" : "readWrite";
      return new BpfMap(fd, mapSpec({ name, type, keySize: info.keySize, valueSize: info.valueSize, maxEntries: info.maxEntries, flags: info.mapFlags }), path, access);
    } catch (e) {
      fd.close();
      throw e;
    }
  }
}

/**
 * How a typed map turns keys or values into the kernel's bytes and back. Every tsbpf/types layout is
 * one; per-CPU maps use a codec over all CPUs' values.
 */
export interface Codec<T, I = T> {
  /** Bytes one key/value takes in the kernel's buffer. */
  readonly size: number;
  decode(source: Uint8Array, offset: number): T;
  encode(value: I, target: Uint8Array, offset: number): unknown;
}

type Decoder<T> = (dv: DataView, bytes: Uint8Array, offset: number) => T;
type Encoder<I> = (dv: DataView, bytes: Uint8Array, offset: number, value: I) => void;

const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

function intError(kind: string, v: unknown): RangeError {
  return new RangeError(`${typeof v === "bigint" ? `${v}n` : String(v)} is not a valid ${kind}`);
}

/** A decoder reading through a DataView for 32/64-bit scalar layouts (no per-call allocation), else the codec's own. */
export function fastDecoder<T>(c: Codec<T, unknown>): Decoder<T> {
  switch ((c as { kind?: string }).kind) {
    case "u32": return ((dv: DataView, _b: Uint8Array, o: number) => dv.getUint32(o, true)) as Decoder<T>;
    case "i32": return ((dv: DataView, _b: Uint8Array, o: number) => dv.getInt32(o, true)) as Decoder<T>;
    case "u64": return ((dv: DataView, _b: Uint8Array, o: number) => dv.getBigUint64(o, true)) as Decoder<T>;
    case "i64": return ((dv: DataView, _b: Uint8Array, o: number) => dv.getBigInt64(o, true)) as Decoder<T>;
    default: return (_dv, b, o) => c.decode(b, o);
  }
}

/** An encoder writing 32/64-bit scalars through a DataView (range-checked like the layouts), else the codec's own. */
export function fastEncoder<I>(c: Codec<unknown, I>): Encoder<I> {
  switch ((c as { kind?: string }).kind) {
    case "u32": return ((dv: DataView, _b: Uint8Array, o: number, v: number) => {
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw intError("u32", v);
      dv.setUint32(o, v, true);
    }) as Encoder<I>;
    case "i32": return ((dv: DataView, _b: Uint8Array, o: number, v: number) => {
      if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) throw intError("i32", v);
      dv.setInt32(o, v, true);
    }) as Encoder<I>;
    case "u64": return ((dv: DataView, _b: Uint8Array, o: number, v: bigint | number) => {
      const x = typeof v === "bigint" ? v : Number.isSafeInteger(v) ? BigInt(v) : -1n;
      if (x < 0n || x > U64_MAX) throw intError("u64", v);
      dv.setBigUint64(o, x, true);
    }) as Encoder<I>;
    case "i64": return ((dv: DataView, _b: Uint8Array, o: number, v: bigint | number) => {
      const x = typeof v === "bigint" ? v : Number.isSafeInteger(v) ? BigInt(v) : I64_MIN - 1n;
      if (x < I64_MIN || x > I64_MAX) throw intError("i64", v);
      dv.setBigInt64(o, x, true);
    }) as Encoder<I>;
    default: return (_dv, b, o, v) => { c.encode(v, b, o); };
  }
}

/** The per-CPU codec of `typed()`: decodes CPU 0, encodes the same value for every CPU. */
function broadcastCodec<V, VI>(layout: Layout<V, VI, unknown>, cpus: number): Codec<V, VI> {
  const stride = Math.ceil(layout.size / 8) * 8;
  return {
    size: stride * cpus,
    decode: (src, off) => layout.decode(src, off),
    encode: (v, buf, off) => {
      for (let c = 0; c < cpus; c++) layout.encode(v, buf, off + c * stride);
    },
  };
}

/** A whole map read by {@link TypedMap.lookupAll}: `count` keys and values, index by index. */
export interface MapColumns<K, V> {
  readonly count: number;
  /** Keys (a typed array over the kernel's bytes for integer layouts). */
  readonly keys: ArrayLike<K>;
  /** Values (a typed array over the kernel's bytes for integer layouts). */
  readonly values: ArrayLike<V>;
}

type IntArrayCtor = new (buffer: ArrayBuffer, byteOffset: number, length: number) => ArrayLike<unknown>;
/** Typed arrays that read a little-endian integer layout in place (this host is little-endian). */
const INT_ARRAYS: Readonly<Record<string, IntArrayCtor>> | undefined = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1
  ? { u8: Uint8Array, i8: Int8Array, u16: Uint16Array, i16: Int16Array, u32: Uint32Array, i32: Int32Array, u64: BigUint64Array, i64: BigInt64Array }
  : undefined;

/** `count` elements of `stride` bytes in `bytes` as a column: a typed array when the codec is a plain integer, else decoded. */
function column<T>(codec: Codec<T, unknown>, dec: Decoder<T>, bytes: Uint8Array, stride: number, count: number): ArrayLike<T> {
  const ctor = INT_ARRAYS?.[(codec as { kind?: string }).kind ?? ""];
  if (ctor && stride === codec.size && bytes.byteOffset % stride === 0)
    return new ctor(bytes.buffer as ArrayBuffer, bytes.byteOffset, count) as ArrayLike<T>;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Array<T>(count);
  for (let i = 0; i < count; i++) out[i] = dec(dv, bytes, i * stride);
  return out;
}

/**
 * The pairs of a sequence of raw batches, decoded as they are consumed. A plain iterator object rather
 * than a generator: about half the per-element cost of `yield` in a loop (measured ~70 → ~35 ns).
 * The next batch is fetched only once the current one is used up (the batch buffers are reused).
 */
class BatchPairs<K, V> implements IterableIterator<[K, V]> {
  readonly #batches: Iterator<RawBatch>;
  readonly #ks: number;
  readonly #vs: number;
  readonly #kdec: Decoder<K>;
  readonly #vdec: Decoder<V>;
  #keys: Uint8Array = new Uint8Array(0);
  #values: Uint8Array = new Uint8Array(0);
  #kdv: DataView = new DataView(new ArrayBuffer(0));
  #vdv: DataView = new DataView(new ArrayBuffer(0));
  #i = 0;
  #count = 0;
  #done = false;

  constructor(batches: Iterator<RawBatch>, ks: number, vs: number, kdec: Decoder<K>, vdec: Decoder<V>) {
    this.#batches = batches;
    this.#ks = ks;
    this.#vs = vs;
    this.#kdec = kdec;
    this.#vdec = vdec;
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this;
  }

  next(): IteratorResult<[K, V]> {
    while (this.#i >= this.#count) {
      if (this.#done) return { value: undefined, done: true };
      const r = this.#batches.next();
      if (r.done) {
        this.#done = true;
        return { value: undefined, done: true };
      }
      const b = r.value;
      if (b.keys !== this.#keys) {
        this.#keys = b.keys;
        this.#kdv = new DataView(b.keys.buffer, b.keys.byteOffset, b.keys.byteLength);
      }
      if (b.values !== this.#values) {
        this.#values = b.values;
        this.#vdv = new DataView(b.values.buffer, b.values.byteOffset, b.values.byteLength);
      }
      this.#i = 0;
      this.#count = b.count;
    }
    const i = this.#i++;
    return { value: [this.#kdec(this.#kdv, this.#keys, i * this.#ks), this.#vdec(this.#vdv, this.#values, i * this.#vs)], done: false };
  }

  return(): IteratorResult<[K, V]> {
    this.#done = true;
    this.#count = 0;
    this.#batches.return?.();
    return { value: undefined, done: true };
  }
}

/** Options of the batched typed operations. */
export interface BatchOptions {
  /** Elements per bpf(2) call (default 4096). */
  readonly chunk?: number;
}

/**
 * Typed access to a map: keys and values encoded and decoded with codecs (tsbpf/types layouts). `K`/`V`
 * are the decoded types (u64 → bigint), `KI`/`VI` what encoding accepts (u64 → bigint | number).
 * ENOENT is an answer, not an error: `get` returns undefined and `delete` false.
 *
 * @example
 * const m = createMap({ type: "hash", key: u32, value: u64, maxEntries: 1024 });
 * m.set(7, 1n);
 * m.get(7);             // 1n
 * for (const [k, v] of m) console.log(k, v);
 */
export class TypedMap<K, V, KI = K, VI = V> implements Iterable<[K, V]>, AsyncIterable<[K, V]>, Disposable {
  readonly map: BpfMap;
  readonly key: Codec<K, KI>;
  readonly value: Codec<V, VI>;
  /** Layout of one CPU's value, when the map is per-CPU (for getPerCpu). */
  readonly #element: Layout<unknown, never, unknown> | undefined;
  readonly #kdec: Decoder<K>;
  readonly #vdec: Decoder<V>;
  readonly #kenc: Encoder<KI>;
  readonly #venc: Encoder<VI>;

  constructor(map: BpfMap, key: Codec<K, KI>, value: Codec<V, VI>, element?: Layout<unknown, never, unknown> | Layout<V, VI, unknown>) {
    this.map = map;
    this.key = key;
    this.value = value;
    this.#element = element as Layout<unknown, never, unknown> | undefined;
    this.#kdec = fastDecoder(key);
    this.#vdec = fastDecoder(value);
    this.#kenc = fastEncoder(key as Codec<unknown, KI>);
    this.#venc = fastEncoder(value as Codec<unknown, VI>);
    if (value.size !== map.valueBufferSize)
      throw new MapError("BAD_LAYOUT", map.name, "typed access", `value codec is ${value.size} bytes, the map's value buffer is ${map.valueBufferSize}`);
    if (!KEYLESS.has(map.type) && key.size !== map.keySize)
      throw new MapError("BAD_LAYOUT", map.name, "typed access", `key codec is ${key.size} bytes, the map's keys are ${map.keySize}`);
  }

  get name(): string { return this.map.name; }

  #encodeKey(op: string, key: KI, into: Uint8Array, off = 0, dv?: DataView): void {
    try {
      this.#kenc(dv ?? new DataView(into.buffer, into.byteOffset, into.byteLength), into, off, key);
    } catch (e) {
      throw new MapError("BAD_KEY", this.map.name, op, `cannot encode key: ${(e as Error).message}`, { cause: e });
    }
  }

  #encodeValue(op: string, value: VI, into: Uint8Array, off = 0, dv?: DataView): void {
    try {
      this.#venc(dv ?? new DataView(into.buffer, into.byteOffset, into.byteLength), into, off, value);
    } catch (e) {
      throw new MapError("BAD_VALUE", this.map.name, op, `cannot encode value: ${(e as Error).message}`, { cause: e });
    }
  }

  #fail(e: unknown, op: string): unknown {
    return this.map.failure(e, op);
  }

  /** The value at `key`, or undefined when there is none. */
  get(key: KI): V | undefined {
    const e = this.map.elem();
    this.#encodeKey("lookup", key, e.key, 0, e.keyView);
    let found: boolean;
    try {
      found = e.lookup();
    } catch (err) {
      throw this.#fail(err, "lookup");
    }
    return found ? this.#vdec(e.valueView, e.value, 0) : undefined;
  }

  /** Whether `key` exists. */
  has(key: KI): boolean {
    const e = this.map.elem();
    this.#encodeKey("lookup", key, e.key, 0, e.keyView);
    try {
      return e.lookup();
    } catch (err) {
      throw this.#fail(err, "lookup");
    }
  }

  /** Write `value` at `key`; `flags`: UpdateFlags (NoExist fails with EEXIST on an existing key). */
  set(key: KI, value: VI, flags = 0): void {
    const e = this.map.elem();
    this.#encodeKey("update", key, e.key, 0, e.keyView);
    e.value.fill(0);
    this.#encodeValue("update", value, e.value, 0, e.valueView);
    try {
      e.update(flags);
    } catch (err) {
      throw this.#fail(err, "update");
    }
  }

  /** Delete `key`; false when it did not exist. */
  delete(key: KI): boolean {
    const e = this.map.elem();
    this.#encodeKey("delete", key, e.key, 0, e.keyView);
    try {
      return e.delete();
    } catch (err) {
      throw this.#fail(err, "delete");
    }
  }

  /** Read and delete `key` in one step; undefined when absent. */
  lookupAndDelete(key: KI): V | undefined {
    const e = this.map.elem();
    this.#encodeKey("lookup and delete", key, e.key, 0, e.keyView);
    let found: boolean;
    try {
      found = e.lookupAndDelete();
    } catch (err) {
      throw this.#fail(err, "lookup and delete");
    }
    return found ? this.#vdec(e.valueView, e.value, 0) : undefined;
  }

  /** One value per possible CPU (per-CPU maps through `typed()`). */
  getPerCpu(key: KI): unknown[] | undefined {
    const el = this.#element;
    if (!el || !this.map.isPerCpu) throw new MapError("BAD_MAP_TYPE", this.map.name, "per-CPU lookup", `${this.map.type} is not a per-CPU map`);
    const e = this.map.elem();
    this.#encodeKey("lookup", key, e.key);
    if (!this.map.op("lookup", () => e.lookup())) return undefined;
    const stride = Math.ceil(el.size / 8) * 8;
    const out: unknown[] = [];
    for (let off = 0; off < e.value.byteLength; off += stride) out.push(el.decode(e.value, off));
    return out;
  }

  /** Advance `c` to the next key that still has a value (with `withValue`); false at the end. */
  #step(c: KeyCursor, withValue: boolean): boolean {
    const map = this.map;
    for (;;) {
      if (map.closed) throw new MapError("MAP_CLOSED", map.name, "iterate", "the map was closed");
      try {
        if (!c.next()) return false;
        if (!withValue || c.lookup()) return true;
      } catch (e) {
        throw this.#fail(e, "iterate");
      }
    }
  }

  /** Every key (BPF_MAP_GET_NEXT_KEY order). */
  *keys(): IterableIterator<K> {
    const c = this.map.cursor();
    const dec = this.#kdec;
    while (this.#step(c, false)) yield dec(c.keyView, c.key, 0);
  }

  /** Every value, key by key. */
  *values(): IterableIterator<V> {
    const c = this.map.cursor();
    const dec = this.#vdec;
    while (this.#step(c, true)) yield dec(c.valueView, c.value, 0);
  }

  /**
   * Every [key, value] pair, key by key: two bpf(2) calls per element (get-next-key, lookup) through a
   * cursor with its own buffers. Entries deleted meanwhile are skipped. For whole-map reads
   * {@link batchEntries} and {@link lookupAll} are several times faster.
   */
  *entries(): IterableIterator<[K, V]> {
    const c = this.map.cursor();
    const kdec = this.#kdec;
    const vdec = this.#vdec;
    while (this.#step(c, true)) yield [kdec(c.keyView, c.key, 0), vdec(c.valueView, c.value, 0)];
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries();
  }

  /** Every [key, value] pair read with batch lookups (one bpf(2) call per `chunk` elements), decoded as consumed. */
  batchEntries(opts: BatchOptions = {}): IterableIterator<[K, V]> {
    return this.#batchPairs(this.map.batchesRaw(opts.chunk, false));
  }

  /** Read and delete every element with batch lookup-and-delete (maps that support it: hash kinds). */
  drain(opts: BatchOptions = {}): IterableIterator<[K, V]> {
    return this.#batchPairs(this.map.batchesRaw(opts.chunk, true));
  }

  #batchPairs(batches: Iterator<RawBatch>): IterableIterator<[K, V]> {
    return new BatchPairs(batches, this.map.keySize, this.map.valueBufferSize, this.#kdec, this.#vdec);
  }

  /**
   * Every element at once, as two columns: batch lookups straight into one pair of buffers sized for
   * the whole map (a single bpf(2) call for most maps; `chunk` caps the elements per call). Keys and
   * values of integer layouts (u8…u64, i8…i64) come back as typed arrays over those buffers — no
   * per-element decoding or allocation; other layouts are decoded into plain arrays.
   *
   * @example
   * const { count, keys, values } = counts.lookupAll(); // keys: Uint32Array, values: BigUint64Array
   * for (let i = 0; i < count; i++) total += values[i];
   */
  lookupAll(opts: BatchOptions = {}): MapColumns<K, V> {
    const raw = this.map.lookupAllRaw(opts.chunk);
    return {
      count: raw.count,
      keys: column(this.key, this.#kdec, raw.keys, this.map.keySize, raw.count),
      values: column(this.value, this.#vdec, raw.values, this.map.valueBufferSize, raw.count),
    };
  }

  /**
   * Every [key, value] pair, batch by batch, yielding to the event loop between batches.
   *
   * @example
   * for await (const [pid, count] of counts) console.log(pid, count);
   */
  async *[Symbol.asyncIterator](): AsyncIterator<[K, V]> {
    const ks = this.map.keySize;
    const vs = this.map.valueBufferSize;
    const kdec = this.#kdec;
    const vdec = this.#vdec;
    for (const b of this.map.batchesRaw(1024, false)) {
      const kdv = new DataView(b.keys.buffer, b.keys.byteOffset, b.keys.byteLength);
      const vdv = new DataView(b.values.buffer, b.values.byteOffset, b.values.byteLength);
      const out: [K, V][] = new Array(b.count);
      for (let i = 0; i < b.count; i++) out[i] = [kdec(kdv, b.keys, i * ks), vdec(vdv, b.values, i * vs)];
      yield* out;
      await new Promise<void>((r) => setImmediate(r));
    }
  }

  /** Write many entries with BPF_MAP_UPDATE_BATCH (chunked); returns how many were written. */
  setBatch(entries: Iterable<readonly [KI, VI]>, flags = 0, opts: BatchOptions = {}): number {
    const list = Array.isArray(entries) ? (entries as readonly (readonly [KI, VI])[]) : [...entries];
    const chunk = opts.chunk ?? 4096;
    const ks = this.map.keySize;
    const vs = this.map.valueBufferSize;
    let written = 0;
    for (let start = 0; start < list.length; start += chunk) {
      const n = Math.min(chunk, list.length - start);
      const keys = new Uint8Array(n * ks);
      const values = new Uint8Array(n * vs);
      const kdv = new DataView(keys.buffer);
      const vdv = new DataView(values.buffer);
      for (let i = 0; i < n; i++) {
        const [k, v] = list[start + i]!;
        this.#encodeKey("update batch", k, keys, i * ks, kdv);
        this.#encodeValue("update batch", v, values, i * vs, vdv);
      }
      written += this.map.updateBatchRaw(keys, values, n, flags);
    }
    return written;
  }

  /** Delete many keys with BPF_MAP_DELETE_BATCH; returns how many were deleted (a missing key fails with ENOENT). */
  deleteBatch(keys: Iterable<KI>, opts: BatchOptions = {}): number {
    const list = [...keys];
    const chunk = opts.chunk ?? 4096;
    const ks = this.map.keySize;
    let deleted = 0;
    for (let start = 0; start < list.length; start += chunk) {
      const n = Math.min(chunk, list.length - start);
      const buf = new Uint8Array(n * ks);
      const kdv = new DataView(buf.buffer);
      for (let i = 0; i < n; i++) this.#encodeKey("delete batch", list[start + i]!, buf, i * ks, kdv);
      deleted += this.map.deleteBatchRaw(buf, n);
    }
    return deleted;
  }

  /** Delete every element (key by key: safe on every map type with deletable keys); returns how many. */
  clear(): number {
    let n = 0;
    for (const k of [...this.map.keysRaw()]) if (this.map.deleteRaw(k)) n++;
    return n;
  }

  /** Pin the map (see BpfMap.pin). */
  pin(path: string, opts: PinOptions = {}): void {
    this.map.pin(path, opts);
  }

  /** Remove the map's pin. */
  unpin(): void {
    this.map.unpin();
  }

  /** Freeze the map for userspace writes. */
  freeze(): void {
    this.map.freeze();
  }

  /** Close the underlying map. */
  close(): void {
    this.map.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** A map kind's class checks the map type it wraps. */
export function expectType(map: BpfMap, what: string, ...types: MapTypeName[]): void {
  if (!types.includes(map.type))
    throw new MapError("BAD_MAP_TYPE", map.name, `open as ${what}`, `the map is a ${map.type} map, expected ${types.join(" or ")}`);
}

/** Thrown for the few operations tsbpf does not implement on a map kind. */
export function unsupported(map: string, op: string, why: string): TsbpfError {
  return new MapError("MAP_UNSUPPORTED", map, op, why);
}
