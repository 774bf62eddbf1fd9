// CO-RE access specs: a relocation's access string ("0:1:2") parsed against the local BTF.
// A spec keeps the raw index path, the meaningful accessors (named fields, array indices, enumerators) and the bit offset.

import type { Btf } from "../btf/btf.js";
import type { BtfCoreRelo, BtfType, CoreReloKindNumber } from "../btf/types.js";
import { CoreReloKind } from "../btf/types.js";
import { BtfError, CoreError } from "../errors.js";

/** Longest access path (raw indices) a spec may have, as in libbpf. */
export const CORE_SPEC_MAX_LEN = 64;

/** Where a relocation comes from, for error messages. */
export interface CoreReloContext {
  /** ELF section (or program) the relocated instruction is in. */
  readonly section?: string;
  /** Index of the relocation among its section's relocations. */
  readonly index?: number;
}

/**
 * One meaningful step of an access path. For a named member: the struct/union type and member index;
 * for an array index (and the initial pointer index): the element type and the index; for an enumerator:
 * the enum type and value index.
 */
export interface CoreAccessor {
  /** Type id (typedefs and qualifiers skipped) this accessor indexes into, or the element type for arrays. */
  readonly typeId: number;
  /** Member, element or enumerator index. */
  readonly index: number;
  /** Member or enumerator name; undefined for array (and initial pointer) indices. */
  readonly name: string | undefined;
}

/** A parsed (local) or matched (target) access specification. */
export interface CoreSpec {
  readonly btf: Btf;
  /** The relocation's root type (local: relo.typeId, target: the candidate id). */
  readonly rootTypeId: number;
  readonly kind: CoreReloKindNumber;
  /** Meaningful accessors; empty for type-based relocations. */
  readonly accessors: readonly CoreAccessor[];
  /** Every index of the path, anonymous members included (the access string as numbers). */
  readonly raw: readonly number[];
  /** Bit offset of the accessed field from the root pointer (field-based relocations). */
  readonly bitOffset: number;
}

/** Mutable spec used while parsing and matching. */
export interface SpecBuilder {
  btf: Btf;
  rootTypeId: number;
  kind: CoreReloKindNumber;
  accessors: CoreAccessor[];
  raw: number[];
  bitOffset: number;
}

const KIND_NAMES: Record<number, string> = {
  [CoreReloKind.FieldByteOffset]: "field_byte_offset",
  [CoreReloKind.FieldByteSize]: "field_byte_size",
  [CoreReloKind.FieldExists]: "field_exists",
  [CoreReloKind.FieldSigned]: "field_signed",
  [CoreReloKind.FieldLShiftU64]: "field_lshift_u64",
  [CoreReloKind.FieldRShiftU64]: "field_rshift_u64",
  [CoreReloKind.TypeIdLocal]: "type_id_local",
  [CoreReloKind.TypeIdTarget]: "type_id_target",
  [CoreReloKind.TypeExists]: "type_exists",
  [CoreReloKind.TypeSize]: "type_size",
  [CoreReloKind.EnumvalExists]: "enumval_exists",
  [CoreReloKind.EnumvalValue]: "enumval_value",
  [CoreReloKind.TypeMatches]: "type_matches",
};

/** Readable name of a relocation kind (`field_byte_offset`, `type_exists`, ...). */
export function coreReloKindName(kind: number): string {
  return KIND_NAMES[kind] ?? `unknown kind ${kind}`;
}

/** Field-based kinds: byte offset/size, exists, signed, lshift/rshift. */
export function isFieldBased(kind: number): boolean {
  return kind >= CoreReloKind.FieldByteOffset && kind <= CoreReloKind.FieldRShiftU64;
}

/** Type-based kinds: type id local/target, type exists/size/matches. */
export function isTypeBased(kind: number): boolean {
  return (kind >= CoreReloKind.TypeIdLocal && kind <= CoreReloKind.TypeSize) || kind === CoreReloKind.TypeMatches;
}

/** Enum-value-based kinds: enumval exists/value. */
export function isEnumvalBased(kind: number): boolean {
  return kind === CoreReloKind.EnumvalExists || kind === CoreReloKind.EnumvalValue;
}

/** `[12] struct task_struct` or `[12] <bad type>` without throwing. */
export function describeType(btf: Btf, id: number): string {
  try {
    return `[${id}] ${btf.toString(id)}`;
  } catch {
    return `[${id}] <bad type>`;
  }
}

/** Message prefix naming a relocation: `CO-RE relocation #3 (field_exists) in "tp/x" at insn 12: [5] struct s + "0:1"`. */
export function describeRelo(relo: BtfCoreRelo, btf: Btf, ctx: CoreReloContext = {}): string {
  const idx = ctx.index !== undefined ? ` #${ctx.index}` : "";
  const sec = ctx.section !== undefined ? ` in "${ctx.section}"` : "";
  const at = Number.isInteger(relo.insnOff) ? ` at insn ${relo.insnOff / 8}` : "";
  return `CO-RE relocation${idx} (${coreReloKindName(relo.kind)})${sec}${at}: ${describeType(btf, relo.typeId)} + "${relo.accessStr}"`;
}

/** Skip typedefs and qualifiers, turning BTF errors into a CoreError. */
export function skipModsAndTypedefs(btf: Btf, id: number): { id: number; type: BtfType } {
  try {
    const r = btf.resolve(id);
    return { id: r, type: btf.type(r) };
  } catch (e) {
    if (e instanceof BtfError) throw new CoreError("CORE_BAD_BTF", `CO-RE: resolving type ${id}: ${e.message}`, { cause: e });
    throw e;
  }
}

/**
 * Size in bytes of a type (pointers are 8 bytes), or undefined when it has none (void, fwd, func, ...).
 */
export function resolveSize(btf: Btf, id: number): number | undefined {
  try {
    return btf.sizeof(id);
  } catch (e) {
    if (e instanceof BtfError) return undefined;
    throw e;
  }
}

/** Typed type lookup that turns BTF errors into a CoreError. */
export function typeOf(btf: Btf, id: number): BtfType {
  try {
    return btf.type(id);
  } catch (e) {
    if (e instanceof BtfError) throw new CoreError("CORE_BAD_BTF", `CO-RE: type ${id}: ${e.message}`, { cause: e });
    throw e;
  }
}

/**
 * Is `arr` a flexible array member: zero-length and the last member of the struct that `prev` (the
 * accessor before it) names?
 */
export function isFlexibleArray(btf: Btf, prev: CoreAccessor | undefined, nelems: number): boolean {
  if (!prev || prev.name === undefined || nelems > 0) return false;
  const t = typeOf(btf, prev.typeId);
  return (t.kind === "struct" || t.kind === "union") && prev.index === t.members.length - 1;
}

/** Parse "0:1:2" into numbers; undefined when malformed. */
function parseAccessString(s: string): number[] | undefined {
  if (!/^[0-9]+(:[0-9]+)*$/.test(s)) return undefined;
  const out = s.split(":").map((p) => Number(p));
  return out.every((n) => Number.isSafeInteger(n) && n <= 0x7fffffff) ? out : undefined;
}

/**
 * Parse a relocation's access string against the local BTF.
 *
 * - type-based kinds: the access string must be "0"; the spec is empty.
 * - enum-value kinds: "N" selects enumerator N of the (typedef-resolved) enum.
 * - field-based kinds: the first index is a pointer index into the root type, each next index selects a
 *   struct/union member (anonymous members included) or an array element; the bit offset accumulates.
 *
 * @throws CoreError `CORE_BAD_ACCESS_STRING` naming the relocation, type and access string.
 */
export function parseCoreSpec(btf: Btf, relo: BtfCoreRelo, ctx: CoreReloContext = {}): CoreSpec {
  const fail = (cause: string): never => {
    throw new CoreError("CORE_BAD_ACCESS_STRING", `${describeRelo(relo, btf, ctx)}: ${cause}`);
  };
  if (KIND_NAMES[relo.kind] === undefined) {
    throw new CoreError("CORE_UNKNOWN_KIND", `${describeRelo(relo, btf, ctx)}: unsupported relocation kind ${relo.kind}`);
  }
  if (!Number.isInteger(relo.typeId) || relo.typeId <= 0 || relo.typeId >= btf.typeCount) {
    throw new CoreError("CORE_BAD_RELO", `${describeRelo(relo, btf, ctx)}: type id ${relo.typeId} is not a type of the local BTF (1..${btf.typeCount - 1})`);
  }
  const spec: SpecBuilder = { btf, rootTypeId: relo.typeId, kind: relo.kind, accessors: [], raw: [], bitOffset: 0 };
  if (isTypeBased(relo.kind)) {
    if (relo.accessStr !== "0") fail(`a type-based relocation's access string must be "0"`);
    return spec;
  }
  const raw = parseAccessString(relo.accessStr);
  if (!raw) return fail("malformed access string (expected non-negative indices separated by ':')");
  if (raw.length > CORE_SPEC_MAX_LEN) fail(`access string has ${raw.length} indices, more than ${CORE_SPEC_MAX_LEN}`);
  spec.raw = raw;

  let { id, type: t } = skipModsAndTypedefs(btf, relo.typeId);
  const first = raw[0];
  if (isEnumvalBased(relo.kind)) {
    if (t.kind !== "enum") fail(`enum value relocation on ${describeType(btf, id)}, which is not an enum`);
    if (t.kind !== "enum") return spec;
    if (raw.length > 1) fail("enum value relocation with more than one index");
    if (first >= t.values.length) fail(`enumerator index ${first} is out of range (the enum has ${t.values.length})`);
    spec.accessors.push({ typeId: id, index: first, name: t.values[first].name });
    return spec;
  }
  spec.accessors.push({ typeId: id, index: first, name: undefined });
  const rootSize = resolveSize(btf, id);
  if (rootSize === undefined) return fail(`root type ${describeType(btf, id)} has no size`);
  spec.bitOffset = first * rootSize * 8;

  for (let i = 1; i < raw.length; i++) {
    ({ id, type: t } = skipModsAndTypedefs(btf, id));
    const idx = raw[i];
    if (t.kind === "struct" || t.kind === "union") {
      if (idx >= t.members.length) fail(`index ${idx} (position ${i}) is past the last member of ${describeType(btf, id)} (${t.members.length} members)`);
      const m = t.members[idx];
      spec.bitOffset += m.bitOffset;
      if (m.name !== "") spec.accessors.push({ typeId: id, index: idx, name: m.name });
      id = m.type;
    } else if (t.kind === "array") {
      const elem = skipModsAndTypedefs(btf, t.elemType);
      const flex = isFlexibleArray(btf, spec.accessors[spec.accessors.length - 1], t.nelems);
      if (!flex && idx >= t.nelems) fail(`index ${idx} (position ${i}) is out of bounds of ${describeType(btf, id)}`);
      spec.accessors.push({ typeId: elem.id, index: idx, name: undefined });
      const sz = resolveSize(btf, elem.id);
      if (sz === undefined) return fail(`array element ${describeType(btf, elem.id)} has no size`);
      spec.bitOffset += idx * sz * 8;
      id = elem.id;
    } else {
      fail(`index ${idx} (position ${i}) steps into ${describeType(btf, id)}, which is not a struct, union or array`);
    }
  }
  return spec;
}

/**
 * A C-like rendering of a spec for messages: `[7] struct task_struct.real_parent (0:58 @ offset 2472)`.
 */
export function formatSpec(spec: CoreSpec): string {
  let s = describeType(spec.btf, spec.rootTypeId);
  if (isTypeBased(spec.kind)) return s;
  if (isEnumvalBased(spec.kind)) {
    const acc = spec.accessors[0];
    if (!acc) return s;
    const t = spec.btf.type(acc.typeId);
    const v = t.kind === "enum" ? t.values[acc.index]?.value : undefined;
    return `${s}::${acc.name ?? "?"} = ${v ?? "?"}`;
  }
  spec.accessors.forEach((a, i) => {
    if (a.name !== undefined) s += `.${a.name}`;
    else if (i > 0 || a.index > 0) s += `[${a.index}]`;
  });
  const off = spec.bitOffset % 8 ? `${Math.floor(spec.bitOffset / 8)}.${spec.bitOffset % 8}` : `${spec.bitOffset / 8}`;
  return `${s} (${spec.raw.join(":")} @ offset ${off})`;
}
