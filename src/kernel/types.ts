// Generic type helpers the generated kernel declarations (src/kernel/vmlinux.ts, `tsbpf gen vmlinux`) use:
// fixed-size arrays, char arrays and opaque kernel pointers. Types only — nothing here exists at run time.

/**
 * A C array of `N` elements of `T` inside a kernel struct (`u32 pids[4]` → `FixedArray<u32, 4>`).
 * Index it with a constant or a run-time index (bounded: past the end reads 0); `length` is the element
 * count known at compile time. `const a = task.comm` copies it into the program's stack; `for (const x of
 * task.comm)` walks a copy.
 */
export interface FixedArray<T, N extends number> {
  readonly length: N;
  readonly [index: number]: T;
  [Symbol.iterator](): Iterator<T>;
}

/**
 * A C `char`/`u8` array (`char comm[16]` → `CharArray<16>`): a byte string of at most `N` bytes,
 * usually NUL-terminated. Elements are bytes (`u8`, a `number`).
 */
export type CharArray<N extends number> = FixedArray<number, N>;

/**
 * A kernel pointer to something that is not a struct or union: `void *` is `KernelPtr<void>`,
 * `int *` is `KernelPtr<i32>`, `char *` is `KernelPtr<u8>`, `struct foo **` is `KernelPtr<foo>`,
 * a function pointer is `KernelPtr<"fn">`. The value is an address the program can pass to
 * probe-read helpers or compare with null; it cannot be dereferenced with property syntax.
 * (Pointers to structs and unions are typed as the struct's interface itself: reads through them are
 * implicit, CO-RE-relocated dereferences.)
 */
export interface KernelPtr<T> {
  readonly __kernelPtr?: T;
}

/** A 128-bit unsigned kernel integer (`__u128`, `unsigned __int128`); generated declarations only. */
export type u128 = bigint;
/** A 128-bit signed kernel integer (`__s128`, `__int128`); generated declarations only. */
export type i128 = bigint;

/**
 * A user-space address (a syscall argument such as `const char * filename`): read what it points at
 * with `bpf.probeReadUser` / `bpf.probeReadUserStr`. It is a `u64` (`T` documents the pointee).
 */
export type UserPtr<T> = bigint & { readonly __userPtr?: T };

/**
 * The address of a tracepoint record's `__data_loc` field (`__data_loc char[] filename`): the record
 * holds `offset | length << 16` and `ctx.filename` is the context plus that offset. Read the string
 * with `bpf.probeReadKernelStr(buf, ctx.filename)`. It is a `u64`.
 */
export type DataLoc = bigint & { readonly __dataLoc?: "char[]" };
