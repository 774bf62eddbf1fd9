// Public surface of the map kinds: typed constructors, one class per kind, mmap views, batch helpers,
// global variables and the user ring buffer writer.

export { createMap, openPinnedMap, specFromOptions, wrapMap } from "./create.js";
export type {
  AnyTypedMap, MapKind, MapOptions, CommonMapOptions, HashOptions, PerCpuHashOptions, ArrayOptions, PerCpuArrayOptions,
  LpmTrieOptions, QueueOptions, BloomOptions, StackTraceOptions, ProgArrayOptions, ArrayOfMapsOptions,
  HashOfMapsOptions, InnerMapOptions, CgroupStorageOptions, PerCpuCgroupStorageOptions, LocalStorageOptions,
  SockArrayOptions, SockHashOptions, DevMapOptions, CpuMapOptions, XskMapOptions, CgroupArrayOptions,
  RawMapOptions, ArenaOptions, StructOpsOptions,
} from "./create.js";
export { HashMap } from "./hash.js";
export { ArrayMap } from "./array.js";
export { ArenaMap } from "./arena.js";
export { MmapArray } from "./mmap.js";
export { PerCpuHashMap, PerCpuArrayMap } from "./percpu.js";
export { LpmTrie, lpmKeyCodec, parseCidr, type LpmKey } from "./lpm-trie.js";
export { QueueMap } from "./queue.js";
export { BloomFilter } from "./bloom.js";
export { StackTraceMap } from "./stack-trace.js";
export { ProgArray } from "./prog-array.js";
export { MapOfMaps } from "./map-of-maps.js";
export { CgroupStorage, PerCpuCgroupStorage, LocalStorage, TaskStorage, openPidfd, type CgroupStorageKey } from "./storage.js";
export { SockMap } from "./sockmap.js";
export { DevMap, CpuMap, XskMap, type DevMapValue, type DevMapInput, type CpuMapValue, type CpuMapInput } from "./devmap.js";
export { CgroupArray } from "./cgroup-array.js";
export { UserRingBufWriter, type UserRingBufSample } from "./user-ringbuf.js";
export { GlobalVariable, setVariable, getVariable, layoutFromBtf, withGlobals, encodeGlobal } from "./globals.js";
export type { GlobalValue } from "./globals.js";
export { perCpuCodec, fdCodec, type FdSource } from "./codecs.js";
export { KeyCursor } from "./cursor.js";
export type { MapColumns } from "../map.js";
