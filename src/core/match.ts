// Matching a local CO-RE spec against one candidate target type, and the type relations CO-RE uses:
// field compatibility, type compatibility (TYPE_EXISTS/SIZE/ID) and the stricter "types match" (TYPE_MATCHES).

import type { Btf } from "../btf/btf.js";
import type { BtfComposite, BtfEnum, BtfType } from "../btf/types.js";
import { CoreReloKind } from "../btf/types.js";
import { CoreError } from "../errors.js";
import { essentialName, namesMatch } from "./candidates.js";
import type { CoreAccessor, CoreSpec, SpecBuilder } from "./spec.js";
import {
  CORE_SPEC_MAX_LEN, describeType, isEnumvalBased, isFieldBased, isFlexibleArray, isTypeBased, resolveSize,
  skipModsAndTypedefs, typeOf,
} from "./spec.js";

/** Recursion budget of the type relations (libbpf uses 32 for both depth and nesting level). */
const MAX_DEPTH = 32;

function tooDeep(what: string, localBtf: Btf, localId: number, targetBtf: Btf, targetId: number): never {
  throw new CoreError(
    "CORE_TOO_DEEP",
    `CO-RE ${what}: types nest deeper than ${MAX_DEPTH} levels comparing local ${describeType(localBtf, localId)} with target ${describeType(targetBtf, targetId)}`,
  );
}

/** Same kind for CO-RE purposes (enum and enum64 are one kind in the decoded model). */
function sameKind(a: BtfType, b: BtfType): boolean {
  return a.kind === b.kind;
}

function isComposite(t: BtfType): t is BtfComposite {
  return t.kind === "struct" || t.kind === "union";
}

/**
 * Are a local field type and a target field type compatible for field relocations? Typedefs and
 * qualifiers are skipped; any two structs/unions are compatible; pointers and floats of the same kind are;
 * enums and fwds need matching essential names (or one side anonymous); ints of any size/signedness are
 * (except legacy bit-offset ints); arrays compare element types (dimension ignored).
 */
export function fieldsAreCompat(localBtf: Btf, localId: number, targetBtf: Btf, targetId: number): boolean {
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const l = skipModsAndTypedefs(localBtf, localId);
    const t = skipModsAndTypedefs(targetBtf, targetId);
    localId = l.id;
    targetId = t.id;
    if (isComposite(l.type) && isComposite(t.type)) return true;
    if (!sameKind(l.type, t.type)) return false;
    switch (l.type.kind) {
      case "ptr":
      case "float":
        return true;
      case "fwd":
      case "enum": {
        const ln = essentialName(l.type.name);
        const tn = essentialName(t.type.name);
        return ln === "" || tn === "" || ln === tn;
      }
      case "int":
        return l.type.bitOffset === 0 && (t.type as typeof l.type).bitOffset === 0;
      case "array":
        localId = l.type.elemType;
        targetId = (t.type as typeof l.type).elemType;
        continue;
      default:
        return false;
    }
  }
  return tooDeep("field compatibility", localBtf, localId, targetBtf, targetId);
}

/**
 * Type compatibility used by TYPE_EXISTS, TYPE_SIZE and TYPE_ID_TARGET (libbpf's bpf_core_types_are_compat).
 * Root names are assumed to match already. Kinds must agree (enum/enum64 count as one); structs, unions,
 * enums and fwds are then compatible regardless of members; ints unless legacy bit-offset ints; pointers
 * and arrays compare their targets; function prototypes compare arity, parameters and return type.
 */
export function typesAreCompat(localBtf: Btf, localId: number, targetBtf: Btf, targetId: number, level = MAX_DEPTH): boolean {
  if (!sameKind(typeOf(localBtf, localId), typeOf(targetBtf, targetId))) return false;
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const l = skipModsAndTypedefs(localBtf, localId);
    const t = skipModsAndTypedefs(targetBtf, targetId);
    localId = l.id;
    targetId = t.id;
    const lt = l.type;
    const tt = t.type;
    if (!sameKind(lt, tt)) return false;
    switch (lt.kind) {
      case "void":
      case "struct":
      case "union":
      case "enum":
      case "fwd":
        return true;
      case "int":
        return lt.bitOffset === 0 && (tt as typeof lt).bitOffset === 0;
      case "ptr":
        localId = lt.type;
        targetId = (tt as typeof lt).type;
        continue;
      case "array":
        localId = lt.elemType;
        targetId = (tt as typeof lt).elemType;
        continue;
      case "func_proto": {
        const tp = tt as typeof lt;
        if (lt.params.length !== tp.params.length) return false;
        for (let i = 0; i < lt.params.length; i++) {
          if (level <= 0) tooDeep("type compatibility", localBtf, localId, targetBtf, targetId);
          const lp = skipModsAndTypedefs(localBtf, lt.params[i].type).id;
          const tpp = skipModsAndTypedefs(targetBtf, tp.params[i].type).id;
          if (!typesAreCompat(localBtf, lp, targetBtf, tpp, level - 1)) return false;
        }
        localId = lt.returnType;
        targetId = tp.returnType;
        continue;
      }
      default:
        return false;
    }
  }
  return tooDeep("type compatibility", localBtf, localId, targetBtf, targetId);
}

/** Every local enumerator has a target enumerator with the same essential name; sizes equal. */
function enumsMatch(l: BtfEnum, t: BtfEnum): boolean {
  if (l.size !== t.size || l.values.length > t.values.length) return false;
  return l.values.every((lv) => t.values.some((tv) => namesMatch(lv.name, tv.name)));
}

function compositesMatch(localBtf: Btf, l: BtfComposite, targetBtf: Btf, t: BtfComposite, behindPtr: boolean, level: number): boolean {
  if (l.members.length > t.members.length) return false;
  for (const lm of l.members) {
    const found = t.members.some(
      (tm) => namesMatch(lm.name, tm.name) && typesMatchAt(localBtf, lm.type, targetBtf, tm.type, behindPtr, level - 1),
    );
    if (!found) return false;
  }
  return true;
}

function typesMatchAt(localBtf: Btf, localId: number, targetBtf: Btf, targetId: number, behindPtr: boolean, level: number): boolean {
  if (level <= 0) tooDeep("type match", localBtf, localId, targetBtf, targetId);
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const l = skipModsAndTypedefs(localBtf, localId);
    const t = skipModsAndTypedefs(targetBtf, targetId);
    localId = l.id;
    targetId = t.id;
    const lt = l.type;
    const tt = t.type;
    if (!namesMatch(lt.name, tt.name)) return false;
    switch (lt.kind) {
      case "void":
        return tt.kind === "void";
      case "fwd":
        if (tt.kind === "fwd") return lt.fwdKind === tt.fwdKind;
        if (!behindPtr) return false;
        return tt.kind === lt.fwdKind;
      case "enum":
        return tt.kind === "enum" && enumsMatch(lt, tt);
      case "struct":
      case "union":
        if (behindPtr) {
          if (tt.kind === lt.kind) return true;
          return tt.kind === "fwd" && tt.fwdKind === lt.kind;
        }
        return tt.kind === lt.kind && compositesMatch(localBtf, lt, targetBtf, tt, behindPtr, level);
      case "int":
        return tt.kind === "int" && lt.size === tt.size && lt.signed === tt.signed;
      case "ptr":
        if (tt.kind !== "ptr") return false;
        behindPtr = true;
        localId = lt.type;
        targetId = tt.type;
        continue;
      case "array":
        if (tt.kind !== "array" || lt.nelems !== tt.nelems) return false;
        localId = lt.elemType;
        targetId = tt.elemType;
        continue;
      case "func_proto": {
        if (tt.kind !== "func_proto" || lt.params.length !== tt.params.length) return false;
        for (let i = 0; i < lt.params.length; i++) {
          if (!typesMatchAt(localBtf, lt.params[i].type, targetBtf, tt.params[i].type, behindPtr, level - 1)) return false;
        }
        localId = lt.returnType;
        targetId = tt.returnType;
        continue;
      }
      default:
        return false;
    }
  }
  return tooDeep("type match", localBtf, localId, targetBtf, targetId);
}

/**
 * The "types match" relation of TYPE_MATCHES (bpf_core_type_matches): stricter than compatibility.
 * Typedefs/qualifiers are skipped and names must match at every level; ints need equal size and
 * signedness; enums equal size and every local enumerator named in the target; structs/unions need every
 * local member in the target (by name, recursively matching) — behind a pointer only the kind (or a fwd of
 * that kind) is checked; arrays need equal length; function prototypes matching parameters and return.
 */
export function typesMatch(localBtf: Btf, localId: number, targetBtf: Btf, targetId: number): boolean {
  return typesMatchAt(localBtf, localId, targetBtf, targetId, false, MAX_DEPTH);
}

function pushRaw(spec: SpecBuilder, idx: number): void {
  if (spec.raw.length >= CORE_SPEC_MAX_LEN) {
    throw new CoreError("CORE_TOO_DEEP", `CO-RE match: target access path for ${describeType(spec.btf, spec.rootTypeId)} is longer than ${CORE_SPEC_MAX_LEN}`);
  }
  spec.raw.push(idx);
}

/**
 * Find the target member matching the named local accessor inside target composite `targetId`,
 * descending into anonymous struct/union members. Extends `spec` (raw path, bit offset, accessor) on
 * success and returns the member's type id; returns undefined (spec unchanged) when there is none or the
 * field types are incompatible.
 */
function matchMember(localBtf: Btf, local: CoreAccessor, targetBtf: Btf, targetId: number, spec: SpecBuilder): number | undefined {
  const { id: tid, type: tt } = skipModsAndTypedefs(targetBtf, targetId);
  if (!isComposite(tt)) return undefined;
  const lt = typeOf(localBtf, local.typeId) as BtfComposite;
  const lm = lt.members[local.index];
  for (let i = 0; i < tt.members.length; i++) {
    const m = tt.members[i];
    spec.bitOffset += m.bitOffset;
    pushRaw(spec, i);
    if (m.name === "") {
      const found = matchMember(localBtf, local, targetBtf, m.type, spec);
      if (found !== undefined) return found;
    } else if (m.name === lm.name) {
      if (!fieldsAreCompat(localBtf, lm.type, targetBtf, m.type)) {
        spec.bitOffset -= m.bitOffset;
        spec.raw.pop();
        return undefined;
      }
      spec.accessors.push({ typeId: tid, index: i, name: m.name });
      return m.type;
    }
    spec.bitOffset -= m.bitOffset;
    spec.raw.pop();
  }
  return undefined;
}

/**
 * Match a parsed local spec against candidate `targetId` in `targetBtf`. Returns the target spec, or
 * undefined when the candidate does not match (missing field, incompatible type, index out of bounds,
 * enumerator absent, types not compatible / not matching).
 */
export function matchSpec(local: CoreSpec, targetBtf: Btf, targetId: number): CoreSpec | undefined {
  const spec: SpecBuilder = { btf: targetBtf, rootTypeId: targetId, kind: local.kind, accessors: [], raw: [], bitOffset: 0 };
  if (isTypeBased(local.kind)) {
    const ok = local.kind === CoreReloKind.TypeMatches
      ? typesMatch(local.btf, local.rootTypeId, targetBtf, targetId)
      : typesAreCompat(local.btf, local.rootTypeId, targetBtf, targetId);
    return ok ? spec : undefined;
  }
  if (isEnumvalBased(local.kind)) {
    const { id, type: t } = skipModsAndTypedefs(targetBtf, targetId);
    if (t.kind !== "enum") return undefined;
    const want = essentialName(local.accessors[0].name ?? "");
    const i = t.values.findIndex((v) => essentialName(v.name) === want);
    if (i < 0) return undefined;
    spec.accessors.push({ typeId: id, index: i, name: t.values[i].name });
    spec.raw.push(i);
    return spec;
  }
  if (!isFieldBased(local.kind)) return undefined;

  let tid = targetId;
  for (let i = 0; i < local.accessors.length; i++) {
    const la = local.accessors[i];
    const cur = skipModsAndTypedefs(targetBtf, tid);
    tid = cur.id;
    if (la.name !== undefined) {
      const next = matchMember(local.btf, la, targetBtf, tid, spec);
      if (next === undefined) return undefined;
      tid = next;
      continue;
    }
    if (i > 0) {
      if (cur.type.kind !== "array") return undefined;
      const flex = isFlexibleArray(targetBtf, spec.accessors[i - 1], cur.type.nelems);
      if (!flex && la.index >= cur.type.nelems) return undefined;
      tid = skipModsAndTypedefs(targetBtf, cur.type.elemType).id;
    }
    pushRaw(spec, la.index);
    spec.accessors.push({ typeId: tid, index: la.index, name: undefined });
    const sz = resolveSize(targetBtf, tid);
    if (sz === undefined) {
      throw new CoreError("CORE_BAD_BTF", `CO-RE match: target type ${describeType(targetBtf, tid)} has no size`);
    }
    spec.bitOffset += la.index * sz * 8;
  }
  return spec;
}
