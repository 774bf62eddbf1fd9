// Data model of BTF (BPF Type Format): type kinds, the decoded type records and .BTF.ext records.
// Types refer to each other by numeric id; id 0 is void. See the kernel's Documentation/bpf/btf.rst.

export const BtfKind = {
  Unknown: 0, Int: 1, Ptr: 2, Array: 3, Struct: 4, Union: 5, Enum: 6, Fwd: 7, Typedef: 8,
  Volatile: 9, Const: 10, Restrict: 11, Func: 12, FuncProto: 13, Var: 14, Datasec: 15,
  Float: 16, DeclTag: 17, TypeTag: 18, Enum64: 19,
} as const;
export type BtfKindNumber = (typeof BtfKind)[keyof typeof BtfKind];

export const BTF_INT_SIGNED = 1, BTF_INT_CHAR = 2, BTF_INT_BOOL = 4;
export const BTF_FUNC_STATIC = 0, BTF_FUNC_GLOBAL = 1, BTF_FUNC_EXTERN = 2;
export const BTF_VAR_STATIC = 0, BTF_VAR_GLOBAL_ALLOCATED = 1, BTF_VAR_GLOBAL_EXTERN = 2;

export interface BtfMember {
  readonly name: string;
  readonly type: number;
  /** Offset from the start of the struct in bits. */
  readonly bitOffset: number;
  /** Bitfield size in bits, 0 if not a bitfield. */
  readonly bitfieldSize: number;
}
export interface BtfEnumValue { readonly name: string; readonly value: bigint }
export interface BtfParam { readonly name: string; readonly type: number }
export interface BtfVarSecinfo { readonly type: number; readonly offset: number; readonly size: number }

interface Base { readonly id: number; readonly name: string }
export interface BtfVoid extends Base { readonly kind: "void" }
export interface BtfInt extends Base {
  readonly kind: "int"; readonly size: number; readonly signed: boolean; readonly char: boolean;
  readonly bool: boolean; readonly bitOffset: number; readonly bits: number;
}
export interface BtfPtr extends Base { readonly kind: "ptr"; readonly type: number }
export interface BtfArray extends Base {
  readonly kind: "array"; readonly elemType: number; readonly indexType: number; readonly nelems: number;
}
export interface BtfComposite extends Base {
  readonly kind: "struct" | "union"; readonly size: number; readonly members: readonly BtfMember[];
}
export interface BtfEnum extends Base {
  /** Both BTF_KIND_ENUM and BTF_KIND_ENUM64 decode to this; `is64` tells which. */
  readonly kind: "enum"; readonly size: number; readonly signed: boolean; readonly is64: boolean;
  readonly values: readonly BtfEnumValue[];
}
export interface BtfFwd extends Base { readonly kind: "fwd"; readonly fwdKind: "struct" | "union" }
export interface BtfModifier extends Base {
  readonly kind: "typedef" | "volatile" | "const" | "restrict" | "type_tag"; readonly type: number;
  /**
   * type_tag only: set (true) when the BTF kind_flag marks the tag as a plain `__attribute__((...))`
   * text rather than a btf_type_tag (kernel >= 6.14). Absent otherwise.
   */
  readonly attribute?: boolean;
}
export interface BtfFunc extends Base { readonly kind: "func"; readonly type: number; readonly linkage: number }
export interface BtfFuncProto extends Base {
  readonly kind: "func_proto"; readonly returnType: number; readonly params: readonly BtfParam[];
}
export interface BtfVar extends Base { readonly kind: "var"; readonly type: number; readonly linkage: number }
export interface BtfDatasec extends Base {
  readonly kind: "datasec"; readonly size: number; readonly vars: readonly BtfVarSecinfo[];
}
export interface BtfFloat extends Base { readonly kind: "float"; readonly size: number }
export interface BtfDeclTag extends Base {
  readonly kind: "decl_tag"; readonly type: number; readonly componentIdx: number;
  /** Set (true) when the BTF kind_flag marks the tag as a plain `__attribute__((...))` text (kernel >= 6.14). Absent otherwise. */
  readonly attribute?: boolean;
}

export type BtfType =
  | BtfVoid | BtfInt | BtfPtr | BtfArray | BtfComposite | BtfEnum | BtfFwd | BtfModifier
  | BtfFunc | BtfFuncProto | BtfVar | BtfDatasec | BtfFloat | BtfDeclTag;

/** A BTF_KIND_* value for each decoded kind (enum maps to Enum or Enum64 via `is64`). */
export type BtfKindName = BtfType["kind"];

/** One entry of .BTF.ext func_info: the BTF func type of the function starting at insnOff. */
export interface BtfFuncInfo { readonly insnOff: number; readonly typeId: number }
/** One entry of .BTF.ext line_info. insnOff is in bytes within the section as stored in the file. */
export interface BtfLineInfo {
  readonly insnOff: number; readonly fileName: string; readonly line: string;
  readonly lineNum: number; readonly lineCol: number;
  /** Raw string offsets, kept so the record can be re-encoded against the same string table. */
  readonly fileNameOff: number; readonly lineOff: number;
}

/** CO-RE relocation kinds (enum bpf_core_relo_kind). */
export const CoreReloKind = {
  FieldByteOffset: 0, FieldByteSize: 1, FieldExists: 2, FieldSigned: 3, FieldLShiftU64: 4,
  FieldRShiftU64: 5, TypeIdLocal: 6, TypeIdTarget: 7, TypeExists: 8, TypeSize: 9,
  EnumvalExists: 10, EnumvalValue: 11, TypeMatches: 12,
} as const;
export type CoreReloKindNumber = (typeof CoreReloKind)[keyof typeof CoreReloKind];

/** One .BTF.ext CO-RE relocation record. insnOff is in bytes within the section. */
export interface BtfCoreRelo {
  readonly insnOff: number; readonly typeId: number; readonly accessStr: string;
  readonly kind: CoreReloKindNumber;
}

/** Decoded .BTF.ext, keyed by ELF section name. */
export interface BtfExt {
  readonly funcInfo: ReadonlyMap<string, readonly BtfFuncInfo[]>;
  readonly lineInfo: ReadonlyMap<string, readonly BtfLineInfo[]>;
  readonly coreRelos: ReadonlyMap<string, readonly BtfCoreRelo[]>;
}
