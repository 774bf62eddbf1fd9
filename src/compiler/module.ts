// What the front end hands to the object writer: compiled functions (eBPF instructions with symbolic
// references), maps, global variables and the C-level types they use, independent of ELF and BTF encoding.

import type { Instruction, SourceLocation } from "../asm/instruction.js";

/**
 * A C-level type, as the object's .BTF will describe it. Types are plain values; the writer
 * deduplicates structurally (and by object identity for named structs), so the same struct used twice
 * becomes one BTF type.
 */
export type CType =
  | { readonly kind: "void" }
  | { readonly kind: "int"; readonly name: string; readonly size: 1 | 2 | 4 | 8 | 16; readonly signed: boolean; readonly bool?: boolean; readonly char?: boolean }
  | { readonly kind: "ptr"; readonly target: CType }
  | { readonly kind: "array"; readonly element: CType; readonly length: number }
  | { readonly kind: "struct" | "union"; readonly name?: string; readonly size: number; readonly members: readonly CMember[] }
  /** A forward declaration (`struct sock;`): a named kernel type used only behind pointers. */
  | { readonly kind: "fwd"; readonly name: string; readonly union?: boolean }
  | { readonly kind: "enum"; readonly name?: string; readonly size: 1 | 2 | 4 | 8; readonly signed: boolean; readonly values: readonly { readonly name: string; readonly value: bigint }[] }
  | { readonly kind: "typedef"; readonly name: string; readonly target: CType }
  | { readonly kind: "func_proto"; readonly returns: CType; readonly params: readonly { readonly name: string; readonly type: CType }[]; readonly variadic?: boolean };

/** A struct or union member; `bitOffset` from the start of the aggregate, `bitSize` for bitfields. */
export interface CMember {
  readonly name: string;
  readonly type: CType;
  readonly bitOffset: number;
  readonly bitSize?: number;
}

/** CO-RE relocation kinds, by their BTF.ext numbers' names. */
export type CoreKind =
  | "field_byte_offset" | "field_byte_size" | "field_exists" | "field_signed" | "field_lshift_u64" | "field_rshift_u64"
  | "type_id_local" | "type_id_target" | "type_exists" | "type_size" | "enumval_exists" | "enumval_value"
  | "type_matches";

/**
 * A CO-RE relocation on one instruction: `root` is the local type the access starts from (a named
 * struct/union/enum/typedef that the writer emits into .BTF), `access` the libbpf access string
 * ("0:1:3" — first the array index into the root pointer, then member/array indices).
 */
export interface CoreAccess {
  readonly kind: CoreKind;
  readonly root: CType;
  readonly access: string;
}

/** Where a compiled function lives. */
export interface CompiledFunction {
  /** Symbol name (the exported const's name for programs). */
  readonly name: string;
  /** ELF section: the libbpf SEC() name for programs ("tracepoint/sched/sched_process_exec"), ".text" for subprograms. */
  readonly section: string;
  /** Global (STB_GLOBAL) or static (STB_LOCAL) symbol. Programs are global; subprograms static unless exported. */
  readonly global: boolean;
  /** C prototype for BTF FUNC info (programs: `int name(void *ctx)` or the typed context). */
  readonly proto: CType & { readonly kind: "func_proto" };
  /**
   * The code. References are symbolic (`Instruction.reference`):
   * - ld_imm64 with src=PSEUDO_MAP_FD (1) and reference = map name: a map;
   * - ld_imm64 with src=PSEUDO_MAP_VALUE (2) and reference = ".data"/".rodata"/".bss", constant = offset: global data;
   * - call with src=PSEUDO_CALL (1) and reference = function name: bpf-to-bpf call (imm filled by the writer);
   * - ld_imm64 with src=PSEUDO_FUNC (4) and reference = function name: callback address;
   * - call with src=PSEUDO_KFUNC_CALL (2) and reference = kfunc name: kernel function (extern in .ksyms).
   * Jumps inside the function are already resolved (offsets set).
   */
  readonly instructions: readonly Instruction[];
  /** CO-RE relocations: index of the instruction (in `instructions`, counting ld_imm64 as one) and access. */
  readonly coreRelocations: readonly { readonly index: number; readonly access: CoreAccess }[];
  /** Declaration site (the program's `export const` or the function). */
  readonly loc?: SourceLocation;
}

/** libbpf map type names accepted in {@link CompiledMap.type} (BPF_MAP_TYPE_* without prefix, lowercase). */
export type CompiledMapType =
  | "hash" | "array" | "percpu_hash" | "percpu_array" | "lru_hash" | "lru_percpu_hash" | "ringbuf" | "perf_event_array"
  | "prog_array" | "stack_trace" | "lpm_trie" | "queue" | "stack" | "bloom_filter" | "array_of_maps" | "hash_of_maps"
  | "user_ringbuf" | "task_storage" | "inode_storage" | "sk_storage" | "cgrp_storage" | "devmap" | "devmap_hash" | "cpumap"
  | "xskmap" | "sockmap" | "sockhash" | "reuseport_sockarray";

/** A BTF-defined map in `.maps` (libbpf `__uint(type, ...)`, `__type(key, ...)` convention). */
export interface CompiledMap {
  readonly name: string;
  readonly type: CompiledMapType;
  /** Key and value types (omitted for ringbuf/perf arrays without them; sizes are used then). */
  readonly key?: CType;
  readonly value?: CType;
  readonly keySize?: number;
  readonly valueSize?: number;
  readonly maxEntries?: number;
  readonly flags?: number;
  readonly pinning?: "none" | "by_name";
  /** Extra (bloom filter hash count, etc.). */
  readonly mapExtra?: bigint;
  readonly numaNode?: number;
  /** Template of the inner map for array/hash of maps. */
  readonly inner?: CompiledMap;
  readonly loc?: SourceLocation;
}

/** A module-level variable in `.data`, `.rodata` or `.bss`. */
export interface CompiledGlobal {
  readonly name: string;
  readonly section: ".data" | ".rodata" | ".bss";
  readonly type: CType;
  /** Byte offset within the section (the front end lays sections out). */
  readonly offset: number;
  readonly size: number;
  /** Initial bytes (absent for .bss: zero). */
  readonly init?: Uint8Array;
  readonly global: boolean;
}

/** An extern resolved by the loader: a kfunc or a ksym variable in `.ksyms`, or a `.kconfig` value. */
export interface CompiledExtern {
  readonly name: string;
  readonly section: ".ksyms" | ".kconfig";
  /** For kfuncs: the prototype; for variables: the type. */
  readonly type: CType;
  readonly weak?: boolean;
}

/**
 * A struct_ops variable (`SEC(".struct_ops")` / `SEC(".struct_ops.link")`): a kernel struct of function
 * pointers (e.g. tcp_congestion_ops) whose members point at programs of the module, plus data members.
 */
export interface CompiledStructOps {
  readonly name: string;
  readonly section: ".struct_ops" | ".struct_ops.link";
  /** The struct, named as the kernel's; function-pointer members are pointers to a func_proto. */
  readonly type: CType & { readonly kind: "struct" };
  /** Initial bytes (data members set; function pointers zero, filled by relocations). */
  readonly data: Uint8Array;
  /** Function-pointer members: byte offset in the struct and the program (a function of the module) it points at. */
  readonly functions: readonly { readonly offset: number; readonly function: string }[];
}

/** Everything one compilation produces; `writeObject` turns it into ELF bytes. */
export interface CompiledModule {
  /** Object name (from the entry file, e.g. "execsnoop"). */
  readonly name: string;
  /** "GPL" by default; programs that use GPL-only helpers need a GPL-compatible license. */
  readonly license: string;
  readonly functions: readonly CompiledFunction[];
  readonly maps: readonly CompiledMap[];
  readonly globals: readonly CompiledGlobal[];
  readonly externs: readonly CompiledExtern[];
  /** Source texts by file name, for .BTF.ext line info (file name and line text strings). */
  readonly sources: ReadonlyMap<string, string>;
  /** Extra named types to emit into .BTF even if unused (e.g. event structs for `bpftool btf dump`). */
  readonly types?: readonly CType[];
  /** struct_ops variables. */
  readonly structOps?: readonly CompiledStructOps[];
}
