// A live BPF map: creation from a MapSpec (pinned reuse, initial data, freezing), raw byte access and
// typed access through tsbpf/types layouts. Per-CPU maps read and write one value per possible CPU.

import { existsSync } from "node:fs";
import { SyscallError, TsbpfError } from "../errors.js";
import { mapSpec, mapTypeFromNumber } from "../object/maps.js";
import type { MapSpec, MapTypeName } from "../object/spec.js";
import { mapCreate, mapDelete, mapFreeze, mapGetNextKey, mapInfo, mapLookup, mapUpdate, objGet, objPin, withContext } from "../sys/bpf.js";
import { MAP_TYPE } from "../sys/constants.js";
import type { Fd } from "../sys/fd.js";
import type { MapInfo } from "../sys/info.js";
import { possibleCpus } from "../sys/system.js";
import type { Layout } from "../types/index.js";

/** Update flags for {@link BpfMap.set}. */
export const UpdateFlags = { Any: 0, NoExist: 1, Exist: 2, Lock: 4 } as const;

const PERCPU: ReadonlySet<MapTypeName> = new Set(["PERCPU_HASH", "PERCPU_ARRAY", "LRU_PERCPU_HASH", "PERCPU_CGROUP_STORAGE"]);
/** Map types the kernel refuses BTF key/value types for (libbpf drops them too). */
const NO_BTF: ReadonlySet<MapTypeName> = new Set([
  "PERF_EVENT_ARRAY", "CGROUP_ARRAY", "STACK_TRACE", "ARRAY_OF_MAPS", "HASH_OF_MAPS", "DEVMAP", "DEVMAP_HASH",
  "CPUMAP", "XSKMAP", "SOCKMAP", "SOCKHASH", "QUEUE", "STACK", "ARENA", "PROG_ARRAY",
]);
const NO_KEY: ReadonlySet<MapTypeName> = new Set(["QUEUE", "STACK", "BLOOM_FILTER", "RINGBUF", "USER_RINGBUF"]);



/** Run a syscall wrapper, prefixing a SyscallError with what was being done. */
export function withOp<T>(context: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw withContext(e, context);
  }
}

function describeMismatch(spec: MapSpec, info: MapInfo): string | undefined {
  const want = { type: MAP_TYPE[spec.type], keySize: spec.keySize, valueSize: spec.valueSize, maxEntries: spec.maxEntries, mapFlags: spec.flags };
  for (const k of Object.keys(want) as (keyof typeof want)[]) {
    if (want[k] !== info[k]) return `${k} is ${info[k]}, the object wants ${want[k]}`;
  }
  return undefined;
}

/** Options for {@link createMap}. */
export interface CreateMapOptions {
  /** BTF fd of the object, for maps whose key/value types are described in BTF. */
  readonly btfFd?: Fd;
  /** Reuse the map pinned here if compatible, else create it and pin it here. */
  readonly pinPath?: string;
}

/**
 * Create a map from a spec: reuse a compatible pinned map or create a new one, write initial data,
 * freeze read-only data.
 */
export function createMap(spec: MapSpec, opts: CreateMapOptions = {}): BpfMap {
  if (opts.pinPath && existsSync(opts.pinPath)) {
    const fd = withOp(`open pinned map "${spec.name}"`, () => objGet(opts.pinPath!));
    const info = mapInfo(fd);
    const bad = describeMismatch(spec, info);
    if (bad) {
      fd.close();
      throw new TsbpfError("MAP_INCOMPATIBLE", `map "${spec.name}": the map pinned at ${opts.pinPath} is incompatible: ${bad}`);
    }
    return new BpfMap(fd, spec, opts.pinPath);
  }
  let inner: Fd | undefined;
  try {
    if (spec.innerMap) inner = createMap(spec.innerMap).fd;
    const withBtf = opts.btfFd && (spec.btfValueTypeId || spec.btfKeyTypeId) && !NO_BTF.has(spec.type);
    const maxEntries = spec.type === "PERF_EVENT_ARRAY" && spec.maxEntries === 0 ? possibleCpus() : spec.maxEntries;
    const attr = {
      context: `create map "${spec.name}"`,
      mapType: MAP_TYPE[spec.type],
      keySize: spec.keySize,
      valueSize: spec.valueSize,
      maxEntries,
      mapFlags: spec.flags,
      mapName: spec.kernelName,
      ...(inner ? { innerMapFd: inner.value } : {}),
      ...(spec.numaNode !== undefined ? { numaNode: spec.numaNode } : {}),
      ...(spec.mapExtra !== undefined ? { mapExtra: spec.mapExtra } : {}),
    };
    let fd: Fd;
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
    const map = new BpfMap(fd, maxEntries === spec.maxEntries ? spec : { ...spec, maxEntries }, undefined);
    if (spec.data && spec.data.byteLength) map.setRaw(new Uint8Array(4), spec.data);
    if (spec.freeze) withOp(`freeze map "${spec.name}"`, () => mapFreeze(fd));
    if (opts.pinPath) map.pin(opts.pinPath);
    return map;
  } finally {
    inner?.close();
  }
}

/**
 * A live BPF map. Keys and values are raw bytes (`getRaw`/`setRaw`) or decoded through layouts from
 * `tsbpf/types` (`typed()`).
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

  constructor(fd: Fd, spec: MapSpec, pinnedAt: string | undefined) {
    this.fd = fd;
    this.spec = spec;
    this.#pinnedAt = pinnedAt;
  }

  /** Create a map directly from userspace, without an object file. */
  static create(fields: Partial<MapSpec> & Pick<MapSpec, "name" | "type">, opts: CreateMapOptions = {}): BpfMap {
    return createMap(mapSpec(fields), opts);
  }

  get name(): string { return this.spec.name; }
  get type(): MapTypeName { return this.spec.type; }
  get keySize(): number { return this.spec.keySize; }
  get valueSize(): number { return this.spec.valueSize; }
  get maxEntries(): number { return this.spec.maxEntries; }
  /** Path the map is pinned at, if any. */
  get pinnedAt(): string | undefined { return this.#pinnedAt; }
  /** Per-CPU maps hold one value per possible CPU. */
  get isPerCpu(): boolean { return PERCPU.has(this.spec.type); }

  /** Size of the buffer a lookup fills: valueSize, or valueSize rounded to 8 × possible CPUs for per-CPU maps. */
  get valueBufferSize(): number {
    return this.isPerCpu ? Math.ceil(this.spec.valueSize / 8) * 8 * possibleCpus() : this.spec.valueSize;
  }

  #op<T>(op: string, fn: () => T): T {
    return withOp(`${op} on map "${this.spec.name}"`, fn);
  }

  #checkKey(key: Uint8Array | null): void {
    const want = NO_KEY.has(this.spec.type) ? 0 : this.spec.keySize;
    if (key && key.byteLength !== want) throw new TsbpfError("BAD_KEY", `map "${this.spec.name}": key has ${key.byteLength} bytes, expected ${want}`);
  }

  /** The value bytes for `key`, or undefined when there is no such key. */
  getRaw(key: Uint8Array): Uint8Array | undefined {
    this.#checkKey(key);
    const value = new Uint8Array(this.valueBufferSize);
    return this.#op("lookup", () => mapLookup(this.fd, key, value)) ? value : undefined;
  }

  /** Write `value` at `key` (flags: UpdateFlags). */
  setRaw(key: Uint8Array, value: Uint8Array, flags = 0): void {
    this.#checkKey(key);
    if (value.byteLength !== this.valueBufferSize)
      throw new TsbpfError("BAD_VALUE", `map "${this.spec.name}": value has ${value.byteLength} bytes, expected ${this.valueBufferSize}`);
    this.#op("update", () => mapUpdate(this.fd, key, value, flags));
  }

  /** Delete `key`; returns false when it did not exist. */
  deleteRaw(key: Uint8Array): boolean {
    this.#checkKey(key);
    return this.#op("delete", () => mapDelete(this.fd, key));
  }

  /** Every key, in the kernel's iteration order. */
  *keysRaw(): IterableIterator<Uint8Array> {
    let prev: Uint8Array | null = null;
    for (;;) {
      const next = new Uint8Array(this.spec.keySize);
      const p = prev;
      if (!this.#op("iterate", () => mapGetNextKey(this.fd, p, next))) return;
      yield next;
      prev = next;
    }
  }

  /** Every [key, value] pair (entries deleted during iteration are skipped). */
  *entriesRaw(): IterableIterator<[Uint8Array, Uint8Array]> {
    for (const k of this.keysRaw()) {
      const v = this.getRaw(k);
      if (v) yield [k, v];
    }
  }

  /** A view of this map that encodes keys and decodes values with layouts. */
  typed<K, V, KI = K, VI = V>(key: Layout<K, KI, unknown>, value: Layout<V, VI, unknown>): TypedMap<K, V, KI, VI> {
    if (key.size !== this.spec.keySize && !NO_KEY.has(this.spec.type))
      throw new TsbpfError("BAD_LAYOUT", `map "${this.spec.name}": key layout is ${key.size} bytes, the map's keys are ${this.spec.keySize}`);
    if (value.size !== this.spec.valueSize)
      throw new TsbpfError("BAD_LAYOUT", `map "${this.spec.name}": value layout is ${value.size} bytes, the map's values are ${this.spec.valueSize}`);
    return new TypedMap(this, key, value);
  }

  /** Freeze the map: no more writes from userspace. */
  freeze(): void {
    this.#op("freeze", () => mapFreeze(this.fd));
  }

  /** Pin the map at a path on a bpffs mount. */
  pin(path: string): void {
    this.#op(`pin at ${path}`, () => objPin(this.fd, path));
    this.#pinnedAt = path;
  }

  /** Open a map pinned on bpffs. */
  static openPinned(path: string, name = path.split("/").pop() ?? "pinned"): BpfMap {
    const fd = withOp(`open pinned map at ${path}`, () => objGet(path));
    const info = mapInfo(fd);
    const type = mapTypeFromNumber(info.type) ?? "UNSPEC";
    return new BpfMap(fd, mapSpec({ name, type, keySize: info.keySize, valueSize: info.valueSize, maxEntries: info.maxEntries, flags: info.mapFlags }), path);
  }

  close(): void {
    this.fd.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Typed access to a map: keys and values encoded and decoded with layouts. `K`/`V` are the decoded
 * types (u64 → bigint), `KI`/`VI` what encoding accepts (u64 → bigint | number).
 */
export class TypedMap<K, V, KI = K, VI = V> {
  readonly map: BpfMap;
  readonly key: Layout<K, KI, unknown>;
  readonly value: Layout<V, VI, unknown>;

  constructor(map: BpfMap, key: Layout<K, KI, unknown>, value: Layout<V, VI, unknown>) {
    this.map = map;
    this.key = key;
    this.value = value;
  }

  /** The value at `key`, or undefined. For per-CPU maps use {@link getPerCpu}. */
  get(key: KI): V | undefined {
    const raw = this.map.getRaw(this.key.encode(key));
    return raw === undefined ? undefined : this.value.decode(raw, 0);
  }

  /** One value per possible CPU (per-CPU maps). */
  getPerCpu(key: KI): V[] | undefined {
    const raw = this.map.getRaw(this.key.encode(key));
    if (raw === undefined) return undefined;
    const stride = Math.ceil(this.value.size / 8) * 8;
    const out: V[] = [];
    for (let off = 0; off < raw.byteLength; off += stride) out.push(this.value.decode(raw, off));
    return out;
  }

  set(key: KI, value: VI, flags = 0): void {
    if (this.map.isPerCpu) {
      const stride = Math.ceil(this.value.size / 8) * 8;
      const buf = new Uint8Array(this.map.valueBufferSize);
      for (let off = 0; off < buf.byteLength; off += stride) this.value.encode(value, buf, off);
      this.map.setRaw(this.key.encode(key), buf, flags);
    } else {
      this.map.setRaw(this.key.encode(key), this.value.encode(value), flags);
    }
  }

  delete(key: KI): boolean {
    return this.map.deleteRaw(this.key.encode(key));
  }

  *keys(): IterableIterator<K> {
    for (const k of this.map.keysRaw()) yield this.key.decode(k, 0);
  }

  *entries(): IterableIterator<[K, V]> {
    for (const [k, v] of this.map.entriesRaw()) yield [this.key.decode(k, 0), this.value.decode(v, 0)];
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries();
  }
}
