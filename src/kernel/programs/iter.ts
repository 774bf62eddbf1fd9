// BPF iterators. Compiler side: src/compiler/kinds/iter.ts.

import type { AnyLayout, Infer, i64, u32, u64 } from "../index.js";
import type { Program } from "../program.js";
import type { bpf_map, bpf_prog, bpf_link, cgroup, file, seq_file, sock_common, task_struct, vm_area_struct } from "../vmlinux.js";

/** struct bpf_iter_meta: where the iterator writes and how far it is. */
export interface IterMeta {
  /** The seq_file the iterator writes to (what `ctx.printf` and `ctx.write` use). */
  readonly seq: seq_file;
  /** Id of this read() session (one per open of the iterator). */
  readonly session_id: u64;
  /** 0-based number of the object in this session. */
  readonly seq_num: u64;
}

/** What every iterator context has: the meta data and the output methods. */
export interface IterContextBase {
  /** struct bpf_iter_meta (never null). */
  readonly meta: IterMeta;
  /**
   * bpf_seq_printf: formatted text to the iterator's output. The format is a string literal checked at
   * compile time: `%d %i %u %x %X` (with `l`/`ll`), `%c`, `%s` (a string, kernel memory or a kernel
   * char array such as `task.comm`), `%p`, `%pK %px %pB`, `%pks %pus`, `%pi4 %pI4 %pi6 %pI6`; at most
   * 12 arguments, one per conversion. Returns 0 or a negative errno (-EOVERFLOW: the buffer is full).
   */
  printf(format: string, ...args: (number | bigint | string | object)[]): i64;
  /** bpf_seq_write: the bytes of `value` (a struct, a byte array, or an integer) to the output. */
  write(value: object | number | bigint): i64;
}

/** The object of each step, by iterator target: BTF pointers, null once the walk is over. */
export interface IterTargets {
  task: { readonly task: task_struct | null };
  task_file: { readonly task: task_struct | null; readonly fd: u32; readonly file: file | null };
  task_vma: { readonly task: task_struct | null; readonly vma: vm_area_struct | null };
  tcp: { readonly sk_common: sock_common | null; readonly uid: u32 };
  bpf_map: { readonly map: bpf_map | null };
  bpf_prog: { readonly prog: bpf_prog | null };
  bpf_link: { readonly link: bpf_link | null };
  cgroup: { readonly cgroup: cgroup | null };
  bpf_map_elem: {
    /** The map being walked (given when the iterator is attached). */
    readonly map: bpf_map;
    /** The element's key as `layout` (its size must not exceed the map's key size), or null at the end. */
    key<L extends AnyLayout>(layout: L): Infer<L> | null;
    /** The element's value as `layout` (writable), or null at the end. */
    value<L extends AnyLayout>(layout: L): Infer<L> | null;
  };
}

/** The context of an iterator over `T`: `struct bpf_iter__<T>`. */
export type IterContext<T extends string> = IterContextBase & (T extends keyof IterTargets ? IterTargets[T] : unknown);

/**
 * `SEC("iter/<target>")`: a BPF iterator, run once per object (task, task_file, task_vma, tcp, udp,
 * bpf_map, bpf_map_elem...) and once more with a null object at the end. Read it with `attachIter`
 * then `open()`. Return 0.
 */
export declare function iter<T extends string>(target: T, handler: (ctx: IterContext<T>) => number): Program<"iter">;
/** `SEC("iter.s/<target>")`: a sleepable iterator (may call helpers that fault in user memory). Return 0. */
export declare function iterSleepable<T extends string>(target: T, handler: (ctx: IterContext<T>) => number): Program<"iter.s">;
