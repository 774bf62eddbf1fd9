// `tsbpf/kernel`: what a kernel program (`*.bpf.ts`) may import. Declarations only — the tsbpf compiler
// gives each one its meaning in eBPF; none of it runs in Node. See docs/language.md.

import type { AnyLayout, Infer, ScalarLayout } from "../types/index.js";
import type { task_struct } from "./vmlinux.js";
import type { FixedArray, KernelPtr } from "./types.js";

export { struct, union, array, bytes, cstring, padding } from "../types/index.js";
export type { Infer, AnyLayout } from "../types/index.js";
export type * from "./types.js";
export * from "./vmlinux.js";

// ---------------------------------------------------------------------------------------------------
// Integers. 8–32-bit integers are `number`, 64-bit integers `bigint`. Each name is a type, a layout
// (for struct fields and map declarations) and a conversion: `u8(x)` truncates x to 8 bits.

/** Unsigned 8-bit integer. As a function, converts (truncates) a value to u8. */
export type u8 = number;
/** Unsigned 16-bit integer. */
export type u16 = number;
/** Unsigned 32-bit integer. */
export type u32 = number;
/** Unsigned 64-bit integer (a bigint). */
export type u64 = bigint;
/** Signed 8-bit integer. */
export type i8 = number;
/** Signed 16-bit integer. */
export type i16 = number;
/** Signed 32-bit integer. */
export type i32 = number;
/** Signed 64-bit integer (a bigint). */
export type i64 = bigint;
/** A one-byte boolean. */
export type bool = boolean;

type Convert<T> = (value: number | bigint | boolean | KernelPtr<unknown>) => T;
export declare const u8: ScalarLayout<"u8", number> & Convert<u8>;
export declare const u16: ScalarLayout<"u16", number> & Convert<u16>;
export declare const u32: ScalarLayout<"u32", number> & Convert<u32>;
export declare const u64: ScalarLayout<"u64", bigint, bigint | number> & Convert<u64>;
export declare const i8: ScalarLayout<"i8", number> & Convert<i8>;
export declare const i16: ScalarLayout<"i16", number> & Convert<i16>;
export declare const i32: ScalarLayout<"i32", number> & Convert<i32>;
export declare const i64: ScalarLayout<"i64", bigint, bigint | number> & Convert<i64>;
export declare const bool: ScalarLayout<"bool", boolean> & Convert<bool>;

// ---------------------------------------------------------------------------------------------------
// Maps. Declare them as module-level constants; each becomes a BTF-defined map in `.maps`.

/** Options common to every keyed map. Key and value types come from the type arguments or the layouts. */
export interface MapOptions<K, V> {
  /** Maximum number of entries. */
  readonly maxEntries: number;
  /** Key layout (alternative to the type argument), e.g. `u32` or a struct. */
  readonly key?: AnyLayout & { decode(...a: never[]): K };
  /** Value layout (alternative to the type argument). */
  readonly value?: AnyLayout & { decode(...a: never[]): V };
  /** BPF_F_* map flags. */
  readonly flags?: number;
  /** `"by_name"`: pin under the loader's pin path and reuse an existing pin. */
  readonly pinning?: "by_name";
}

/** Update flags: any (default), only if absent, only if present. */
export type UpdateFlag = 0 | 1 | 2;
/** BPF_ANY: create or update. */
export declare const BPF_ANY: 0;
/** BPF_NOEXIST: create only. */
export declare const BPF_NOEXIST: 1;
/** BPF_EXIST: update only. */
export declare const BPF_EXIST: 2;

/**
 * Operations shared by hash-like and array-like maps. `lookup` returns a live reference into the map
 * (writing a field of a struct value writes the map), or null when the key is absent.
 */
interface KeyedMap<K, V> {
  /** The value for `key` (a live reference), or null. */
  lookup(key: K): V | null;
  /** Set `key` to `value`; returns 0 or a negative errno. */
  update(key: K, value: V, flags?: UpdateFlag): i64;
  /** Remove `key`; returns 0 or a negative errno. */
  delete(key: K): i64;
  /** Atomically add `by` (default 1) to an integer value, creating the entry when absent. */
  increment(key: K, by?: V): void;
}

/** BPF_MAP_TYPE_HASH. */
export declare class HashMap<K, V> implements KeyedMap<K, V> {
  constructor(opts: MapOptions<K, V>);
  lookup(key: K): V | null;
  update(key: K, value: V, flags?: UpdateFlag): i64;
  delete(key: K): i64;
  increment(key: K, by?: V): void;
}
/** BPF_MAP_TYPE_LRU_HASH. */
export declare class LruHashMap<K, V> extends HashMap<K, V> {}
/** BPF_MAP_TYPE_PERCPU_HASH: each CPU sees its own value. */
export declare class PerCpuHashMap<K, V> extends HashMap<K, V> {}
/** BPF_MAP_TYPE_LRU_PERCPU_HASH. */
export declare class LruPerCpuHashMap<K, V> extends HashMap<K, V> {}
/** BPF_MAP_TYPE_ARRAY: keys are u32 indices below maxEntries; every entry exists. */
export declare class ArrayMap<V> implements KeyedMap<u32, V> {
  constructor(opts: Omit<MapOptions<u32, V>, "key">);
  lookup(index: u32): V | null;
  update(index: u32, value: V, flags?: UpdateFlag): i64;
  delete(index: u32): i64;
  increment(index: u32, by?: V): void;
}
/** BPF_MAP_TYPE_PERCPU_ARRAY. */
export declare class PerCpuArrayMap<V> extends ArrayMap<V> {}
/** BPF_MAP_TYPE_LPM_TRIE: keys start with a u32 prefix length (flags must include BPF_F_NO_PREALLOC). */
export declare class LpmTrieMap<K, V> extends HashMap<K, V> {}

/** BPF_MAP_TYPE_QUEUE (FIFO) and BPF_MAP_TYPE_STACK (LIFO). */
export declare class QueueMap<V> {
  constructor(opts: { readonly maxEntries: number; readonly value?: AnyLayout & { decode(...a: never[]): V }; readonly flags?: number });
  /** Add a value; returns 0 or a negative errno (full). */
  push(value: V, flags?: 0 | 2): i64;
  /** Remove and return the next value, or null when empty. */
  pop(): V | null;
  /** Return the next value without removing it, or null. */
  peek(): V | null;
}
/** BPF_MAP_TYPE_STACK. */
export declare class StackMap<V> extends QueueMap<V> {}

/** BPF_MAP_TYPE_RINGBUF: variable-size records to userspace. */
export declare class RingBuf {
  constructor(opts: { readonly byteSize: number });
  /** Reserve space for one record of `layout`; null when the ring is full. Must be submitted or discarded. */
  reserve<L extends AnyLayout>(layout: L): Infer<L> | null;
  /** Publish a reserved record. */
  submit(record: object, flags?: u64): void;
  /** Drop a reserved record. */
  discard(record: object, flags?: u64): void;
  /** Copy `value` into the ring (one call); returns 0 or a negative errno. */
  output(value: object | number | bigint, flags?: u64): i64;
}

/** BPF_MAP_TYPE_PERF_EVENT_ARRAY: per-CPU perf buffers. */
export declare class PerfEventArray {
  constructor(opts?: { readonly maxEntries?: number });
  /** Send `value` to the current CPU's buffer; returns 0 or a negative errno. */
  output(ctx: object, value: object | number | bigint): i64;
}

/** BPF_MAP_TYPE_PROG_ARRAY: programs for tail calls. */
export declare class ProgArray {
  constructor(opts: { readonly maxEntries: number });
  /** Tail-call program `index`; returns only if the slot is empty. */
  tailCall(ctx: object, index: u32): void;
}

/**
 * BPF_MAP_TYPE_SOCKMAP: sockets by u32 index, inserted from userspace (`map.setRaw(index, fd)`); sk_msg
 * and sk_skb programs attached to the map run on them and redirect between them (`ctx.redirect`).
 */
export declare class SockMap {
  constructor(opts: { readonly maxEntries: number; readonly flags?: number; readonly pinning?: "by_name" });
  /** Remove the socket at `index` (TC, XDP, socket filter, sk_reuseport, flow dissector, sk_lookup); 0 or a negative errno (-EINVAL: empty). */
  delete(index: u32): i64;
}
/** BPF_MAP_TYPE_SOCKHASH: sockets by a key of type `K` (e.g. a 4-tuple struct), otherwise as SockMap. */
export declare class SockHash<K> {
  constructor(opts: { readonly maxEntries: number; readonly key?: AnyLayout & { decode(...a: never[]): K }; readonly flags?: number; readonly pinning?: "by_name" });
  /** Remove the socket at `key` (in the same kinds as SockMap.delete); 0 or a negative errno (-ENOENT: absent). */
  delete(key: K): i64;
}
/** BPF_MAP_TYPE_REUSEPORT_SOCKARRAY: sockets of one SO_REUSEPORT group by u32 index, for `ctx.select`. */
export declare class ReuseportSockArray {
  constructor(opts: { readonly maxEntries: number; readonly flags?: number; readonly pinning?: "by_name" });
}

/**
 * Maps XDP programs redirect through (bpf_redirect_map): u32 keys, u32 values userspace fills.
 * `redirect(key, flags)` returns XDP_REDIRECT, or on a missing entry the action in `flags`' low two
 * bits (e.g. XdpAction.PASS; default ABORTED); BPF_F_BROADCAST / BPF_F_EXCLUDE_INGRESS for devmaps.
 */
interface RedirectMap {
  /** bpf_redirect_map: redirect the packet to entry `key`; return the result from the program. */
  redirect(key: u32, flags?: u64 | number): i32;
}
/**
 * BPF_MAP_TYPE_DEVMAP: index → interface (ifindex) to send packets out of. With `valueSize: 8` each value
 * is also followed by the fd of an {@link xdpDevmap} program run before sending (struct bpf_devmap_val).
 */
export declare class DevMap implements RedirectMap {
  constructor(opts: { readonly maxEntries: number; readonly valueSize?: 4 | 8 });
  redirect(key: u32, flags?: u64 | number): i32;
}
/** BPF_MAP_TYPE_DEVMAP_HASH: as DevMap with sparse keys (e.g. the ifindex itself). */
export declare class DevMapHash extends DevMap {}
/** BPF_MAP_TYPE_CPUMAP: CPU number → queue size; redirected packets continue on that CPU. */
export declare class CpuMap extends DevMap {}
/** BPF_MAP_TYPE_XSKMAP: RX queue → AF_XDP socket (fd set by userspace). */
export declare class XskMap extends DevMap {
  constructor(opts: { readonly maxEntries: number });
}

/** BPF_MAP_TYPE_STACK_TRACE: stack ids for `getStackId`. */
export declare class StackTraceMap {
  constructor(opts: { readonly maxEntries: number; readonly depth?: number });
  /** Record the current stack; returns its id (>= 0) or a negative errno. Flags: BPF_F_USER_STACK (256)... */
  getStackId(ctx: object, flags?: u64): i64;
}

// ---------------------------------------------------------------------------------------------------
// Program kinds: one file each under ./programs/ (declaration function and context type), matched by
// an entry of the compiler's registry (src/compiler/kinds/).

export type { Program, ArgsContext, PacketAccess } from "./program.js";
export * from "./programs/tracing.js";
// The kernel also has structs named `tracepoint` and `uprobe` (./vmlinux.js): the program kinds win.
export { tracepoint, uprobe } from "./programs/tracing.js";
export * from "./programs/xdp.js";
export * from "./programs/skb.js";
export * from "./programs/perf-event.js";
export * from "./programs/iter.js";
export * from "./programs/struct-ops.js";
export * from "./programs/sockets.js";
export * from "./programs/tc.js";
export * from "./programs/netfilter.js";
export * from "./programs/lwt.js";
export * from "./programs/cgroup.js";
export * from "./programs/syscall.js";
export * from "./log.js";
export * from "./programs/freplace.js";

// ---------------------------------------------------------------------------------------------------
// Helpers.

/** Kernel helper functions. Each is allowed only in the program kinds the kernel allows it in. */
export declare const bpf: {
  /** bpf_get_current_pid_tgid: tgid << 32 | pid. */
  pidTgid(): u64;
  /** The current process id (tgid, what userspace calls the pid). */
  pid(): u32;
  /** The current thread id (what the kernel calls the pid). */
  tid(): u32;
  /** bpf_get_current_uid_gid: gid << 32 | uid. */
  uidGid(): u64;
  uid(): u32;
  gid(): u32;
  /** bpf_ktime_get_ns: monotonic time in ns. */
  ktimeNs(): u64;
  /** bpf_ktime_get_boot_ns. */
  bootNs(): u64;
  /** bpf_get_smp_processor_id. */
  cpu(): u32;
  /** bpf_get_prandom_u32. */
  random(): u32;
  /** bpf_get_current_comm into a 16-byte field. */
  currentComm(dest: Uint8Array | string): i64;
  /** bpf_get_current_task as a kernel task_struct (fields read with CO-RE). */
  currentTask(): task_struct;
  /** bpf_probe_read_kernel of `dest`'s size from kernel address `src`. */
  probeReadKernel(dest: object, src: u64 | FixedArray<number, number>): i64;
  /** bpf_probe_read_user of `dest`'s size from user address `src`. */
  probeReadUser(dest: object, src: u64): i64;
  /** bpf_copy_from_user of `dest`'s size from user address `src`, faulting the memory in: sleepable programs only. */
  copyFromUser(dest: object, src: u64): i64;
  /** bpf_probe_read_user_str: a NUL-terminated string into `dest`; returns the length incl. NUL or a negative errno. */
  probeReadUserStr(dest: Uint8Array | string, src: u64): i64;
  /** bpf_probe_read_kernel_str. */
  probeReadKernelStr(dest: Uint8Array | string, src: u64 | FixedArray<number, number>): i64;
  /** bpf_trace_printk with a literal format and up to 3 integer arguments. */
  printk(format: string, ...args: (number | bigint)[]): i64;
  /**
   * bpf_redirect to an interface (XDP, TC): returns the verdict to return from the program
   * (XDP_REDIRECT / TC_ACT_REDIRECT, or XDP_ABORTED / TC_ACT_SHOT on bad flags), so
   * `return bpf.redirect(ifindex)` works.
   */
  redirect(ifindex: u32, flags?: u64 | number): i32;
  /** Network to host byte order. */
  ntohs(x: u16): u16;
  ntohl(x: u32): u32;
  htons(x: u16): u16;
  htonl(x: u32): u32;
  /** The address of a kernel object as a u64 (e.g. for probe reads or map keys). */
  addressOf(obj: object): u64;
};

/** Sets the object's license (default "GPL"; GPL-only helpers need a GPL-compatible license). */
export declare function license(name: string): void;

/**
 * Read-only configuration set by userspace before load (libbpf's `const volatile` pattern): declares a
 * `.rodata` global variable named after the constant, `initial` unless the loader is given another
 * value (`load(path, { globals: { targetPid: 42 } })`). The verifier sees the loaded value as a
 * constant, so a branch it disables is pruned from the program. Only as a module-level `const`
 * initializer; the type argument (an integer type, `bool`, or `Infer<typeof Layout>`) is required.
 *
 * @example
 * const targetPid = config<u32>(0);
 * const verbose = config<bool>(false);
 * export const onExec = tracepoint("sched/sched_process_exec", () => {
 *   if (targetPid !== 0 && bpf.pid() !== targetPid) return 0;
 *   return 0;
 * });
 */
export declare function config<T>(initial: T): T;
