// The spec of an eBPF object: programs, maps, global data and externs as read from an ELF file.
// Pure data, deterministic, no kernel: the runtime turns a spec into live kernel objects.

import type { Instruction } from "../asm/instruction.js";
import type { Btf } from "../btf/btf.js";
import type { BtfCoreRelo, BtfLineInfo } from "../btf/types.js";
import type { MAP_TYPE } from "../sys/constants.js";
import type { AttachKind, AttachTypeName, ProgramTypeName } from "./sections.js";

/** Map type, named as in `enum bpf_map_type` without the `BPF_MAP_TYPE_` prefix. */
export type MapTypeName = keyof typeof MAP_TYPE;

/** Where a map spec came from. */
export type MapOrigin = "btf" | "legacy" | "data" | "rodata" | "bss" | "kconfig" | "user" | "struct_ops";

/** An initial element of a prog array or map-in-map, by the name of the program or map it holds. */
export interface MapContent {
  readonly index: number;
  readonly kind: "program" | "map";
  readonly name: string;
}

/** One member of a struct_ops variable's struct, as the object declares it. */
export interface StructOpsMember {
  readonly name: string;
  /** Index of the member in the object's struct. */
  readonly index: number;
  /** Byte offset and size in the object's struct (size 0 for a flexible array). */
  readonly offset: number;
  readonly size: number;
  /** A function pointer (set to a program or left NULL), another pointer, or plain data. */
  readonly kind: "func" | "pointer" | "data";
  /** Function pointers: the struct_ops program the member points at, if any. */
  readonly program?: string;
}

/** A struct_ops variable (SEC(".struct_ops") / SEC(".struct_ops.link")): the kernel struct it implements. */
export interface StructOpsSpec {
  /** Name of the struct in the object (`tcp_congestion_ops`, or a flavour such as `tcp_congestion_ops___v2`). */
  readonly typeName: string;
  /** BTF id of that struct in the object's BTF. */
  readonly btfTypeId: number;
  /** Initial bytes of the variable in the object's layout (function pointers zeroed). */
  readonly data: Uint8Array;
  readonly members: readonly StructOpsMember[];
  /** Declared in `.struct_ops.link`: registered through a BPF link (BPF_F_LINK, Linux 6.4+). */
  readonly link: boolean;
}

/** Everything needed to create one map. */
export interface MapSpec {
  /** Name used to find the map: the symbol name, or the section name (".rodata") for global data. */
  readonly name: string;
  /** Name given to the kernel (at most 15 characters, libbpf-compatible for global data maps). */
  readonly kernelName: string;
  readonly type: MapTypeName;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  readonly numaNode?: number;
  readonly mapExtra?: bigint;
  /** LIBBPF_PIN_BY_NAME: reuse or create a pinned map under the pin path. */
  readonly pinning: "none" | "by_name";
  /** BTF type ids of key and value in the object's BTF, 0 if unknown. */
  readonly btfKeyTypeId: number;
  readonly btfValueTypeId: number;
  /** Template of the inner map for ARRAY_OF_MAPS / HASH_OF_MAPS. */
  readonly innerMap?: MapSpec;
  /** Declared initial contents (prog arrays and maps of maps). */
  readonly contents: readonly MapContent[];
  /** Initial value bytes for global data maps (.data, .rodata, .kconfig; zeros for .bss). */
  readonly data?: Uint8Array;
  /** Freeze after filling (read-only global data). */
  readonly freeze: boolean;
  readonly origin: MapOrigin;
  /** ELF section the map was declared in. */
  readonly section: string;
  /** STRUCT_OPS maps read from `.struct_ops` / `.struct_ops.link`: the struct and its programs. */
  readonly structOps?: StructOpsSpec;
}

/** A global variable in one of the global data maps. */
export interface VariableSpec {
  readonly name: string;
  /** Name of the MapSpec (section name) holding the variable. */
  readonly map: string;
  readonly offset: number;
  readonly size: number;
  readonly btfTypeId: number;
  readonly readonly: boolean;
}

/** A `__kconfig` extern, laid out in the `.kconfig` map. */
export interface KconfigExtern {
  readonly name: string;
  readonly offset: number;
  readonly size: number;
  readonly weak: boolean;
  /** How the value is interpreted: CONFIG_X=y/m/n, a number, or a string into a char array. */
  readonly valueKind: "bool" | "tristate" | "int" | "char_array";
  readonly signed: boolean;
}

/** A `__ksym` extern: a kernel variable (typed or typeless) or a kfunc. */
export interface KsymExtern {
  readonly name: string;
  readonly kind: "var" | "func";
  readonly weak: boolean;
  /** BTF type id of the extern in the object's BTF (for typed ksyms and kfunc prototypes). */
  readonly btfTypeId: number;
  readonly typeless: boolean;
}

/** What an instruction refers to, resolved when the program is loaded. */
export type Reference =
  /** ld_imm64 of a map's fd. */
  | { readonly kind: "map"; readonly map: string }
  /** ld_imm64 of a pointer into a map's value (global data), at a byte offset. */
  | { readonly kind: "mapValue"; readonly map: string; readonly offset: number }
  /** ld_imm64 of a kernel variable's address (typed or typeless ksym) or of a kfunc's (bpf_ksym_exists). */
  | { readonly kind: "ksymVar"; readonly name: string }
  /** call of a kernel function (kfunc). */
  | { readonly kind: "kfunc"; readonly name: string };

/** Per-instruction data carried from the ELF (.BTF.ext, relocations) through linking to load. */
export interface InstructionMeta {
  reference?: Reference;
  coreRelo?: BtfCoreRelo;
  /** BTF FUNC type id when a function starts at this instruction. */
  funcTypeId?: number;
  lineInfo?: BtfLineInfo;
}

/** A program ready to be loaded: its entry function with every subprogram it calls linked after it. */
export interface ProgramSpec {
  readonly name: string;
  readonly sectionName: string;
  readonly type: ProgramTypeName;
  readonly expectedAttachType: AttachTypeName | undefined;
  readonly attach: AttachKind;
  /** Attach target from the section name (`sched/sched_process_exec`, `sys_enter`, a function name...). */
  readonly attachTarget: string;
  readonly sleepable: boolean;
  readonly xdpFrags: boolean;
  /** attach_btf_id must be looked up in kernel BTF from attachTarget. */
  readonly needsBtfTarget: boolean;
  readonly license: string;
  readonly kernelVersion: number;
  /** Linked instructions; `metas[i]` holds the metadata of `instructions[i]`. */
  readonly instructions: readonly Instruction[];
  readonly metas: readonly InstructionMeta[];
  /** Names of the functions linked into this program, entry first. */
  readonly functions: readonly string[];
}

/** Everything in one object file. */
export interface CollectionSpec {
  /** Object name (file name without extension), used to name global data maps. */
  readonly name: string;
  readonly license: string;
  readonly kernelVersion: number;
  readonly programs: ReadonlyMap<string, ProgramSpec>;
  readonly maps: ReadonlyMap<string, MapSpec>;
  readonly variables: ReadonlyMap<string, VariableSpec>;
  readonly kconfig: readonly KconfigExtern[];
  readonly ksyms: readonly KsymExtern[];
  /**
   * The object's BTF (types of maps, functions, CO-RE relocations), if it has any, already fixed up
   * for the kernel (DATASEC sizes and offsets, externs); type ids and string offsets are the object's.
   */
  readonly btf: Btf | undefined;
}
