// Typed map constructors: createMap({ type: "hash", key: u32, value: Stats, maxEntries }) creates a map
// from userspace alone and returns the kind's class; openPinnedMap opens a pinned map typed and checked.

import { MapError } from "../../errors.js";
import { mapSpec } from "../../object/maps.js";
import type { MapSpec, MapTypeName } from "../../object/spec.js";
import { MAP_FLAGS, MAP_TYPE } from "../../sys/constants.js";
import type { Fd } from "../../sys/fd.js";
import { possibleCpus } from "../../sys/system.js";
import type { Layout } from "../../types/index.js";
import { BpfMap, createMap as createFromSpec, type CreateMapOptions } from "../map.js";
import type { OpenPinnedOptions } from "../pin.js";
import { ArenaMap } from "./arena.js";
import { ArrayMap } from "./array.js";
import { BloomFilter } from "./bloom.js";
import { loadMapBtf } from "./btf.js";
import { CgroupArray } from "./cgroup-array.js";
import { CpuMap, DevMap, XskMap } from "./devmap.js";
import { HashMap } from "./hash.js";
import { LpmTrie } from "./lpm-trie.js";
import { MapOfMaps } from "./map-of-maps.js";
import { PerCpuArrayMap, PerCpuHashMap } from "./percpu.js";
import { ProgArray } from "./prog-array.js";
import { QueueMap } from "./queue.js";
import { SockMap } from "./sockmap.js";
import { StackTraceMap } from "./stack-trace.js";
import { CgroupStorage, LocalStorage, PerCpuCgroupStorage, TaskStorage } from "./storage.js";
import { u32Codec } from "./codecs.js";
import type { BpfToken } from "../token.js";

/** Map kinds by their lowercase kernel names (`BPF_MAP_TYPE_LRU_HASH` → `"lru_hash"`). */
export type MapKind = Lowercase<Exclude<MapTypeName, "UNSPEC">>;

type L<T, I> = Layout<T, I, unknown>;

/** Options every kind takes. */
export interface CommonMapOptions {
  /** Map name (the kernel keeps 15 characters); default: the kind. */
  readonly name?: string;
  /** Extra BPF_F_* flags (MAP_FLAGS) besides the ones the kind implies. */
  readonly flags?: number;
  /** Reuse the map pinned at this bpffs path when compatible (else MAP_INCOMPATIBLE), or create and pin it there. */
  readonly pin?: string;
  readonly numaNode?: number;
  /** BPF token (Linux 6.9+) the map, its inner-map template and its BTF are made with (BPF_F_TOKEN_FD); see docs/token.md. */
  readonly token?: BpfToken;
}

export interface HashOptions<K, V, KI, VI> extends CommonMapOptions {
  readonly type: "hash" | "lru_hash";
  readonly key: L<K, KI>;
  readonly value: L<V, VI>;
  readonly maxEntries: number;
  /** Allocate elements on demand instead of up front (BPF_F_NO_PREALLOC; hash only). */
  readonly noPrealloc?: boolean;
}
export interface PerCpuHashOptions<K, V, KI, VI> extends CommonMapOptions {
  readonly type: "percpu_hash" | "lru_percpu_hash";
  readonly key: L<K, KI>;
  readonly value: L<V, VI>;
  readonly maxEntries: number;
}
export interface ArrayOptions<V, VI> extends CommonMapOptions {
  readonly type: "array";
  readonly value: L<V, VI>;
  readonly maxEntries: number;
  /** BPF_F_MMAPABLE: allow `mmap()` (typed access without syscalls). */
  readonly mmapable?: boolean;
}
export interface PerCpuArrayOptions<V, VI> extends CommonMapOptions {
  readonly type: "percpu_array";
  readonly value: L<V, VI>;
  readonly maxEntries: number;
}
export interface LpmTrieOptions<D, V, DI, VI> extends CommonMapOptions {
  readonly type: "lpm_trie";
  /** Layout of the key's data part (after the u32 prefix length), e.g. bytes(4) for IPv4. */
  readonly data: L<D, DI>;
  readonly value: L<V, VI>;
  readonly maxEntries: number;
}
export interface QueueOptions<V, VI> extends CommonMapOptions {
  readonly type: "queue" | "stack";
  readonly value: L<V, VI>;
  readonly maxEntries: number;
}
export interface BloomOptions<V, VI> extends CommonMapOptions {
  readonly type: "bloom_filter";
  readonly value: L<V, VI>;
  readonly maxEntries: number;
  /** Number of hash functions, 1..15 (default 5). */
  readonly hashes?: number;
}
export interface StackTraceOptions extends CommonMapOptions {
  readonly type: "stack_trace";
  readonly maxEntries: number;
  /** Frames per stack (default 127, the kernel's perf_event_max_stack default). */
  readonly depth?: number;
}
export interface ProgArrayOptions extends CommonMapOptions {
  readonly type: "prog_array";
  readonly maxEntries: number;
}
/** The inner map template of a map of maps: an existing map, or what to create as the template. */
export type InnerMapOptions = BpfMap | { readonly map: BpfMap } | { readonly type: MapKind; readonly keySize: number; readonly valueSize: number; readonly maxEntries: number; readonly flags?: number };
export interface ArrayOfMapsOptions extends CommonMapOptions {
  readonly type: "array_of_maps";
  readonly maxEntries: number;
  readonly inner: InnerMapOptions;
}
export interface HashOfMapsOptions<K, KI> extends CommonMapOptions {
  readonly type: "hash_of_maps";
  readonly key: L<K, KI>;
  readonly maxEntries: number;
  readonly inner: InnerMapOptions;
}
export interface CgroupStorageOptions<V, VI> extends CommonMapOptions {
  readonly type: "cgroup_storage";
  readonly value: L<V, VI>;
}
export interface PerCpuCgroupStorageOptions<V, VI> extends CommonMapOptions {
  readonly type: "percpu_cgroup_storage";
  readonly value: L<V, VI>;
}
export interface LocalStorageOptions<V, VI> extends CommonMapOptions {
  readonly type: "sk_storage" | "task_storage" | "inode_storage" | "cgrp_storage";
  readonly value: L<V, VI>;
}
export interface SockArrayOptions extends CommonMapOptions {
  readonly type: "sockmap" | "reuseport_sockarray";
  readonly maxEntries: number;
}
export interface SockHashOptions<K, KI> extends CommonMapOptions {
  readonly type: "sockhash";
  readonly key: L<K, KI>;
  readonly maxEntries: number;
}
export interface DevMapOptions extends CommonMapOptions {
  readonly type: "devmap" | "devmap_hash";
  readonly maxEntries: number;
}
export interface CpuMapOptions extends CommonMapOptions {
  readonly type: "cpumap";
  readonly maxEntries: number;
}
export interface XskMapOptions extends CommonMapOptions {
  readonly type: "xskmap";
  readonly maxEntries: number;
}
export interface CgroupArrayOptions extends CommonMapOptions {
  readonly type: "cgroup_array";
  readonly maxEntries: number;
}
/** Maps without a key/value API of their own: ring buffers (maxEntries = bytes, a power-of-2 multiple of the page size), perf event arrays. */
export interface RawMapOptions extends CommonMapOptions {
  readonly type: "ringbuf" | "user_ringbuf" | "perf_event_array";
  /** Ring size in bytes; perf event arrays default to the number of possible CPUs. */
  readonly maxEntries?: number;
}
/** An arena (Linux 6.9+): `maxEntries` pages shared by programs and this process. */
export interface ArenaOptions extends CommonMapOptions {
  readonly type: "arena";
  /** Pages. */
  readonly maxEntries: number;
  /** User address the arena must be mapped at (map_extra); default: wherever the first mmap lands. */
  readonly address?: bigint;
}
export interface StructOpsOptions extends CommonMapOptions {
  readonly type: "struct_ops";
}

/** Every typed map option. */
export type MapOptions =
  | HashOptions<any, any, any, any> | PerCpuHashOptions<any, any, any, any> | ArrayOptions<any, any>
  | PerCpuArrayOptions<any, any> | LpmTrieOptions<any, any, any, any> | QueueOptions<any, any>
  | BloomOptions<any, any> | StackTraceOptions | ProgArrayOptions | ArrayOfMapsOptions | HashOfMapsOptions<any, any>
  | CgroupStorageOptions<any, any> | PerCpuCgroupStorageOptions<any, any> | LocalStorageOptions<any, any>
  | SockArrayOptions | SockHashOptions<any, any> | DevMapOptions | CpuMapOptions | XskMapOptions
  | CgroupArrayOptions | RawMapOptions | ArenaOptions | StructOpsOptions;

/** Any class createMap returns. */
export type AnyTypedMap =
  | HashMap<any, any, any, any> | PerCpuHashMap<any, any, any, any> | ArrayMap<any, any> | PerCpuArrayMap<any, any>
  | LpmTrie<any, any, any, any> | QueueMap<any, any> | BloomFilter<any, any> | StackTraceMap | ProgArray
  | MapOfMaps<any, any> | CgroupStorage<any, any> | PerCpuCgroupStorage<any, any> | LocalStorage<any, any>
  | SockMap<any, any> | DevMap | CpuMap | XskMap | CgroupArray | ArenaMap | BpfMap;

const UPPER = (k: MapKind): MapTypeName => k.toUpperCase() as MapTypeName;
const isKind = (t: unknown): t is MapKind => typeof t === "string" && t === t.toLowerCase() && Object.hasOwn(MAP_TYPE, t.toUpperCase()) && t !== "unspec";

function innerFd(o: InnerMapOptions, name: string, token: BpfToken | undefined): { fd: Fd; owned: boolean } {
  if (o instanceof BpfMap) return { fd: o.fd, owned: false };
  if ("map" in o && o.map instanceof BpfMap) return { fd: o.map.fd, owned: false };
  const t = o as Exclude<InnerMapOptions, BpfMap | { readonly map: BpfMap }>;
  const m = createFromSpec(mapSpec({ name: `${name}_inner`.slice(0, 15), type: UPPER(t.type), keySize: t.keySize, valueSize: t.valueSize, maxEntries: t.maxEntries, flags: t.flags ?? 0 }), token ? { token } : {});
  return { fd: m.fd, owned: true };
}

/** The MapSpec a typed option describes (sizes from the layouts, flags the kind implies). */
export function specFromOptions(o: MapOptions): MapSpec {
  if (!isKind(o.type)) throw new MapError("BAD_MAP_TYPE", o.name ?? String(o.type), "create", `unknown map kind ${JSON.stringify(o.type)} (kinds: ${Object.keys(MAP_TYPE).filter((k) => k !== "UNSPEC").map((k) => k.toLowerCase()).join(", ")})`);
  const name = o.name ?? o.type;
  const a = o as Partial<{ key: { size: number }; value: { size: number }; data: { size: number }; maxEntries: number }>;
  let keySize = a.key?.size ?? 4;
  let valueSize = a.value?.size ?? 0;
  let maxEntries = a.maxEntries ?? 0;
  let flags = o.flags ?? 0;
  let mapExtra: bigint | undefined;
  switch (o.type) {
    case "hash": if (o.noPrealloc) flags |= MAP_FLAGS.NO_PREALLOC; break;
    case "array": if (o.mmapable) flags |= MAP_FLAGS.MMAPABLE; break;
    case "lpm_trie": keySize = 4 + o.data.size; flags |= MAP_FLAGS.NO_PREALLOC; break;
    case "queue": case "stack": keySize = 0; break;
    case "bloom_filter": keySize = 0; if (o.hashes !== undefined) mapExtra = BigInt(o.hashes); break;
    case "stack_trace": valueSize = 8 * (o.depth ?? 127); break;
    case "prog_array": case "array_of_maps": case "hash_of_maps": case "xskmap": case "cgroup_array": valueSize = 4; break;
    case "sockmap": case "sockhash": case "reuseport_sockarray": valueSize = 8; break;
    case "devmap": case "devmap_hash": case "cpumap": valueSize = 8; break;
    case "cgroup_storage": case "percpu_cgroup_storage": keySize = 16; break;
    case "sk_storage": case "task_storage": case "inode_storage": case "cgrp_storage":
      keySize = 4; maxEntries = 0; flags |= MAP_FLAGS.NO_PREALLOC; break;
    case "ringbuf": case "user_ringbuf": keySize = 0; valueSize = 0; break;
    case "perf_event_array": valueSize = 4; maxEntries = a.maxEntries ?? possibleCpus(); break;
    case "arena": keySize = 0; valueSize = 0; flags |= MAP_FLAGS.MMAPABLE; if (o.address !== undefined) mapExtra = o.address; break;
    case "struct_ops":
      throw new MapError("MAP_UNSUPPORTED", name, "create", "struct_ops maps need a kernel struct type and programs for its members; tsbpf does not create them yet (load them from an object with libbpf-style SEC(\".struct_ops\") once supported)");
  }
  return mapSpec({ name, kernelName: name.slice(0, 15).replace(/[^A-Za-z0-9_.]/g, "_"), type: UPPER(o.type), keySize, valueSize, maxEntries, flags, ...(mapExtra !== undefined ? { mapExtra } : {}), ...(o.numaNode !== undefined ? { numaNode: o.numaNode, flags: flags | MAP_FLAGS.NUMA_NODE } : {}) });
}

/** Wrap a live map in the class of its kind, with the layouts of `o`. */
export function wrapMap(map: BpfMap, o: MapOptions): AnyTypedMap {
  switch (o.type) {
    case "hash": case "lru_hash": return new HashMap(map, o.key, o.value);
    case "percpu_hash": case "lru_percpu_hash": return new PerCpuHashMap(map, o.key, o.value);
    case "array": return new ArrayMap(map, o.value);
    case "percpu_array": return new PerCpuArrayMap(map, o.value);
    case "lpm_trie": return new LpmTrie(map, o.data, o.value);
    case "queue": case "stack": return new QueueMap(map, o.value);
    case "bloom_filter": return new BloomFilter(map, o.value);
    case "stack_trace": return new StackTraceMap(map);
    case "prog_array": return new ProgArray(map);
    case "array_of_maps": return new MapOfMaps(map, u32Codec);
    case "hash_of_maps": return new MapOfMaps(map, o.key);
    case "cgroup_storage": return new CgroupStorage(map, o.value);
    case "percpu_cgroup_storage": return new PerCpuCgroupStorage(map, o.value);
    case "task_storage": return new TaskStorage(map, o.value);
    case "sk_storage": case "inode_storage": case "cgrp_storage": return new LocalStorage(map, o.value);
    case "sockmap": case "reuseport_sockarray": return new SockMap(map);
    case "sockhash": return new SockMap(map, o.key);
    case "devmap": case "devmap_hash": return new DevMap(map);
    case "cpumap": return new CpuMap(map);
    case "xskmap": return new XskMap(map);
    case "cgroup_array": return new CgroupArray(map);
    case "arena": return new ArenaMap(map);
    default: return map;
  }
}

export function createMap<K, V, KI, VI>(o: HashOptions<K, V, KI, VI>): HashMap<K, V, KI, VI>;
export function createMap<K, V, KI, VI>(o: PerCpuHashOptions<K, V, KI, VI>): PerCpuHashMap<K, V, KI, VI>;
export function createMap<V, VI>(o: ArrayOptions<V, VI>): ArrayMap<V, VI>;
export function createMap<V, VI>(o: PerCpuArrayOptions<V, VI>): PerCpuArrayMap<V, VI>;
export function createMap<D, V, DI, VI>(o: LpmTrieOptions<D, V, DI, VI>): LpmTrie<D, V, DI, VI>;
export function createMap<V, VI>(o: QueueOptions<V, VI>): QueueMap<V, VI>;
export function createMap<V, VI>(o: BloomOptions<V, VI>): BloomFilter<V, VI>;
export function createMap(o: StackTraceOptions): StackTraceMap;
export function createMap(o: ProgArrayOptions): ProgArray;
export function createMap(o: ArrayOfMapsOptions): MapOfMaps<number, number>;
export function createMap<K, KI>(o: HashOfMapsOptions<K, KI>): MapOfMaps<K, KI>;
export function createMap<V, VI>(o: CgroupStorageOptions<V, VI>): CgroupStorage<V, VI>;
export function createMap<V, VI>(o: PerCpuCgroupStorageOptions<V, VI>): PerCpuCgroupStorage<V, VI>;
export function createMap<V, VI>(o: LocalStorageOptions<V, VI> & { readonly type: "task_storage" }): TaskStorage<V, VI>;
export function createMap<V, VI>(o: LocalStorageOptions<V, VI>): LocalStorage<V, VI>;
export function createMap(o: SockArrayOptions): SockMap<number, number>;
export function createMap<K, KI>(o: SockHashOptions<K, KI>): SockMap<K, KI>;
export function createMap(o: DevMapOptions): DevMap;
export function createMap(o: CpuMapOptions): CpuMap;
export function createMap(o: XskMapOptions): XskMap;
export function createMap(o: CgroupArrayOptions): CgroupArray;
export function createMap(o: ArenaOptions): ArenaMap;
export function createMap(o: RawMapOptions): BpfMap;
export function createMap(o: StructOpsOptions): never;
/** The spec-level form (used by the loader): create exactly what `spec` says. */
export function createMap(spec: MapSpec, opts?: CreateMapOptions): BpfMap;
/**
 * Create a map from userspace alone and get the typed class of its kind. Keys and values are
 * tsbpf/types layouts; sizes and kind-specific flags (NO_PREALLOC for LPM tries and local storage...)
 * follow from them. With `pin`, a compatible map already pinned there is reused (a mismatched one is
 * refused with MapError MAP_INCOMPATIBLE), otherwise the new map is pinned there.
 *
 * @example
 * import { createMap } from "tsbpf";
 * import { struct, u32, u64 } from "tsbpf/types";
 * const Stats = struct({ packets: u64, bytes: u64 });
 * using stats = createMap({ type: "hash", key: u32, value: Stats, maxEntries: 1024 });
 * stats.set(1, { packets: 1n, bytes: 64n });
 * stats.get(1); // { packets: 1n, bytes: 64n }
 */
export function createMap(o: MapOptions | MapSpec, opts: CreateMapOptions = {}): AnyTypedMap {
  if (!isKind((o as { type?: unknown }).type) && "kernelName" in o) return createFromSpec(o as MapSpec, opts);
  const options = o as MapOptions;
  let spec = specFromOptions(options);
  let inner: { fd: Fd; owned: boolean } | undefined;
  let btf: ReturnType<typeof loadMapBtf> | undefined;
  try {
    if (options.type === "array_of_maps" || options.type === "hash_of_maps") inner = innerFd(options.inner, spec.name, options.token);
    if (["SK_STORAGE", "TASK_STORAGE", "INODE_STORAGE", "CGRP_STORAGE"].includes(spec.type)) {
      btf = loadMapBtf(spec.name, spec.keySize, spec.valueSize, options.token);
      spec = { ...spec, btfKeyTypeId: btf.keyTypeId, btfValueTypeId: btf.valueTypeId };
    }
    const map = createFromSpec(spec, {
      ...(options.pin ? { pinPath: options.pin } : {}),
      ...(inner ? { innerMapFd: inner.fd } : {}),
      ...(btf ? { btfFd: btf.fd } : {}),
      ...(options.token ? { token: options.token } : {}),
    });
    try {
      return wrapMap(map, options);
    } catch (e) {
      map.close();
      throw e;
    }
  } finally {
    if (inner?.owned) inner.fd.close();
    btf?.fd.close();
  }
}

/** Check a live map against typed options; returns a description of the first difference. */
function mismatch(map: BpfMap, o: MapOptions): string | undefined {
  const want = specFromOptions(o);
  if (map.type !== want.type) return `it is a ${map.type.toLowerCase()} map, expected ${o.type}`;
  if (map.keySize !== want.keySize) return `its keys are ${map.keySize} bytes, the key layout is ${want.keySize}`;
  if (map.valueSize !== want.valueSize && want.valueSize !== 0) return `its values are ${map.valueSize} bytes, the value layout is ${want.valueSize}`;
  const wantMax = (o as { maxEntries?: number }).maxEntries;
  if (wantMax !== undefined && map.maxEntries !== wantMax) return `it has ${map.maxEntries} entries, expected ${wantMax}`;
  return undefined;
}

export function openPinnedMap<K, V, KI, VI>(path: string, o: HashOptions<K, V, KI, VI> | Omit<HashOptions<K, V, KI, VI>, "maxEntries">, access?: OpenPinnedOptions): HashMap<K, V, KI, VI>;
export function openPinnedMap<K, V, KI, VI>(path: string, o: Omit<PerCpuHashOptions<K, V, KI, VI>, "maxEntries">, access?: OpenPinnedOptions): PerCpuHashMap<K, V, KI, VI>;
export function openPinnedMap<V, VI>(path: string, o: Omit<ArrayOptions<V, VI>, "maxEntries">, access?: OpenPinnedOptions): ArrayMap<V, VI>;
export function openPinnedMap<V, VI>(path: string, o: Omit<PerCpuArrayOptions<V, VI>, "maxEntries">, access?: OpenPinnedOptions): PerCpuArrayMap<V, VI>;
export function openPinnedMap<D, V, DI, VI>(path: string, o: Omit<LpmTrieOptions<D, V, DI, VI>, "maxEntries">, access?: OpenPinnedOptions): LpmTrie<D, V, DI, VI>;
export function openPinnedMap<V, VI>(path: string, o: Omit<QueueOptions<V, VI>, "maxEntries">, access?: OpenPinnedOptions): QueueMap<V, VI>;
export function openPinnedMap<V, VI>(path: string, o: Omit<BloomOptions<V, VI>, "maxEntries">, access?: OpenPinnedOptions): BloomFilter<V, VI>;
export function openPinnedMap(path: string, o: Partial<MapOptions> & { type: MapKind }): AnyTypedMap;
/**
 * Open a map pinned on bpffs as the typed class of its kind, checking kind, key and value sizes (and
 * maxEntries when given); a mismatch is refused with MapError MAP_INCOMPATIBLE naming what differs.
 *
 * @example
 * const counts = openPinnedMap("/sys/fs/bpf/app/maps/counts", { type: "hash", key: u32, value: u64 });
 */
export function openPinnedMap(path: string, o: Partial<MapOptions> & { type: MapKind }, access: OpenPinnedOptions = {}): AnyTypedMap {
  const name = o.name ?? path.split("/").pop() ?? "pinned";
  const map = BpfMap.openPinned(path, { ...access, name });
  try {
    const full = { maxEntries: undefined, ...o } as unknown as MapOptions;
    const bad = mismatch(map, full);
    if (bad) throw new MapError("MAP_INCOMPATIBLE", name, `open pinned map at ${path}`, bad);
    return wrapMap(map, full);
  } catch (e) {
    map.close();
    throw e;
  }
}
