// Computes the value a CO-RE relocation puts into its instruction: the local ("original") value the
// compiler emitted and the target value, for every relocation kind, with libbpf's candidate ambiguity rule.

import type { Btf } from "../btf/btf.js";
import type { BtfComposite, BtfCoreRelo } from "../btf/types.js";
import { CoreReloKind } from "../btf/types.js";
import { CoreError } from "../errors.js";
import type { CoreCandidate, CoreTargets, ResolvedTargets } from "./candidates.js";
import { findCandidates, resolveTargets } from "./candidates.js";
import { matchSpec } from "./match.js";
import type { CoreReloContext, CoreSpec } from "./spec.js";
import {
  coreReloKindName, describeRelo, formatSpec, isEnumvalBased, isFieldBased, isTypeBased, parseCoreSpec, resolveSize,
  skipModsAndTypedefs, typeOf,
} from "./spec.js";

/** Outcome of resolving one CO-RE relocation against the target BTF(s). */
export interface CoreRelocationResult {
  /** The relocation record this result is for. */
  readonly relo: BtfCoreRelo;
  /** Where the relocation comes from (for messages when patching). */
  readonly context: CoreReloContext;
  readonly kind: BtfCoreRelo["kind"];
  /**
   * The instruction must be replaced by the poison call (`call 0xbad2310`): the field/enumerator was not
   * found (offset, size, signedness, shifts, enum value) or a load/store cannot be resized safely.
   * The verifier rejects the program only if the poisoned instruction is reachable.
   */
  readonly poison: boolean;
  /** Value the compiler emitted (computed from the local BTF), as unsigned 64-bit. */
  readonly origValue: bigint;
  /** Value to patch in (from the target BTF), as unsigned 64-bit. 0 for failed existence checks. */
  readonly value: bigint;
  /** Whether the instruction's current value must equal `origValue` before patching. */
  readonly validate: boolean;
  /** Byte size of the accessed field/element locally (FIELD_BYTE_OFFSET only; 0 otherwise or for bitfields). */
  readonly origSize: number;
  /** Byte size of the accessed field/element in the target (FIELD_BYTE_OFFSET only). */
  readonly fieldSize: number;
  /**
   * The field's size changed in a way a load/store cannot be resized for (not unsigned int → unsigned
   * int, not pointer → pointer): a LDX/ST/STX using this relocation gets poisoned.
   */
  readonly failMemSizeAdjust: boolean;
  /** Local spec parsed from the access string. */
  readonly localSpec: CoreSpec;
  /** Target spec of the first matching candidate; undefined when nothing matched (or TYPE_ID_LOCAL). */
  readonly targetSpec: CoreSpec | undefined;
  /** Every candidate that matched (all agree on the result). */
  readonly matches: readonly CoreCandidate[];
}

/** Options of {@link calculateCoreRelocation}. */
export interface CalculateOptions {
  /** Section/relocation index, for messages. */
  readonly context?: CoreReloContext;
  /**
   * Cache of candidate lists keyed by local type id, shared between the relocations of one local BTF
   * (relocateProgram passes one). Candidate lists depend only on the local type and the targets.
   */
  readonly candidateCache?: Map<number, CoreCandidate[]>;
}

interface FieldValue {
  value: bigint;
  size: number;
  typeId: number;
  validate: boolean;
}

const POISON = Symbol("poison");

function u64(n: number | bigint): bigint {
  return BigInt.asUintN(64, BigInt(n));
}

/** Field-based value from one spec (local or target); POISON when the target field is missing. */
function fieldValue(relo: BtfCoreRelo, spec: CoreSpec | undefined, fail: (code: string, cause: string) => never): FieldValue | typeof POISON {
  if (relo.kind === CoreReloKind.FieldExists) return { value: spec ? 1n : 0n, size: 0, typeId: 0, validate: true };
  if (!spec) return POISON;
  const btf = spec.btf;
  const acc = spec.accessors[spec.accessors.length - 1];
  const sizeOf = (id: number, what: string): number => {
    const sz = resolveSize(btf, id);
    if (sz === undefined) fail("CORE_BAD_BTF", `${what} ${btf.toString(id)} has no size`);
    return sz!;
  };
  /** Size of the innermost element of a (possibly multi-dimensional) array, else of the type. */
  const elemSize = (id: number): number => {
    let r = skipModsAndTypedefs(btf, id);
    while (r.type.kind === "array") r = skipModsAndTypedefs(btf, r.type.elemType);
    return sizeOf(r.id, "element");
  };

  if (acc.name === undefined) {
    // An array element (or the root pointer index) is the last accessor.
    if (relo.kind === CoreReloKind.FieldByteOffset) {
      return { value: u64(spec.bitOffset / 8), size: elemSize(acc.typeId), typeId: acc.typeId, validate: true };
    }
    if (relo.kind === CoreReloKind.FieldByteSize) {
      return { value: u64(sizeOf(acc.typeId, "array element")), size: 0, typeId: 0, validate: true };
    }
    return fail("CORE_ARRAY_ACCESS", `${coreReloKindName(relo.kind)} cannot be applied to an array element access`);
  }

  const owner = typeOf(btf, acc.typeId) as BtfComposite;
  const member = owner.members[acc.index];
  const { id: fieldTypeId, type: mt } = skipModsAndTypedefs(btf, member.type);
  const bitOff = spec.bitOffset;
  let bitSize = member.bitfieldSize;
  const bitfield = bitSize > 0;
  let byteSize: number;
  let byteOff: number;
  if (bitfield) {
    if (!("size" in mt) || mt.size <= 0) return fail("CORE_BAD_BTF", `bitfield ${member.name} has type ${btf.toString(fieldTypeId)} without a size`);
    byteSize = mt.size;
    byteOff = Math.floor(bitOff / 8 / byteSize) * byteSize;
    // Widen the load until it covers the whole bitfield.
    while (bitOff + bitSize - byteOff * 8 > byteSize * 8) {
      if (byteSize >= 8) return fail("CORE_BITFIELD_TOO_WIDE", `bitfield ${member.name} cannot be read with a single 64-bit load`);
      byteSize *= 2;
      byteOff = Math.floor(bitOff / 8 / byteSize) * byteSize;
    }
  } else {
    byteSize = sizeOf(fieldTypeId, "field");
    byteOff = Math.floor(bitOff / 8);
    bitSize = byteSize * 8;
  }
  // For bitfields the compiler's choices may differ from ours: only signedness and rshift are checked.
  let validate = !bitfield;
  switch (relo.kind) {
    case CoreReloKind.FieldByteOffset:
      return bitfield
        ? { value: u64(byteOff), size: 0, typeId: 0, validate }
        : { value: u64(byteOff), size: elemSize(fieldTypeId), typeId: fieldTypeId, validate };
    case CoreReloKind.FieldByteSize:
      return { value: u64(byteSize), size: 0, typeId: 0, validate };
    case CoreReloKind.FieldSigned: {
      const signed = (mt.kind === "enum" && mt.signed) || (mt.kind === "int" && mt.signed);
      return { value: signed ? 1n : 0n, size: 0, typeId: 0, validate: true };
    }
    case CoreReloKind.FieldLShiftU64:
      // Little-endian: shift the field's top bit up to bit 63.
      return { value: u64(64 - (bitOff + bitSize - byteOff * 8)), size: 0, typeId: 0, validate };
    case CoreReloKind.FieldRShiftU64:
      validate = true;
      return { value: u64(64 - bitSize), size: 0, typeId: 0, validate };
    default:
      return fail("CORE_UNKNOWN_KIND", `unsupported field relocation kind ${relo.kind}`);
  }
}

/** Type-based value from one spec; 0 when the target type was not found. */
function typeValue(relo: BtfCoreRelo, spec: CoreSpec | undefined, fail: (code: string, cause: string) => never): bigint {
  if (!spec) return 0n;
  switch (relo.kind) {
    case CoreReloKind.TypeIdTarget:
      return u64(spec.rootTypeId);
    case CoreReloKind.TypeExists:
    case CoreReloKind.TypeMatches:
      return 1n;
    case CoreReloKind.TypeSize: {
      const sz = resolveSize(spec.btf, spec.rootTypeId);
      if (sz === undefined) fail("CORE_BAD_BTF", `type ${spec.btf.toString(spec.rootTypeId)} has no size`);
      return u64(sz!);
    }
    default:
      return fail("CORE_UNKNOWN_KIND", `unsupported type relocation kind ${relo.kind}`);
  }
}

/** Enum-value-based value from one spec; POISON for a missing enumerator's value. */
function enumValue(relo: BtfCoreRelo, spec: CoreSpec | undefined): bigint | typeof POISON {
  if (relo.kind === CoreReloKind.EnumvalExists) return spec ? 1n : 0n;
  if (!spec) return POISON;
  const acc = spec.accessors[0];
  const t = typeOf(spec.btf, acc.typeId);
  if (t.kind !== "enum") return POISON;
  const v = t.values[acc.index].value;
  // 32-bit enumerators are sign-extended (as libbpf does), 64-bit ones taken as unsigned.
  return t.is64 ? BigInt.asUintN(64, v) : BigInt.asUintN(64, BigInt.asIntN(32, v));
}

interface PairResult {
  poison: boolean;
  origValue: bigint;
  value: bigint;
  validate: boolean;
  origSize: number;
  fieldSize: number;
  failMemSizeAdjust: boolean;
}

/** Original and new value for one (local, target) pair; target undefined when nothing matched. */
function calcPair(relo: BtfCoreRelo, local: CoreSpec, target: CoreSpec | undefined, fail: (code: string, cause: string) => never): PairResult {
  const res: PairResult = { poison: false, origValue: 0n, value: 0n, validate: true, origSize: 0, fieldSize: 0, failMemSizeAdjust: false };
  if (isFieldBased(relo.kind)) {
    const o = fieldValue(relo, local, fail);
    if (o === POISON) return fail("CORE_BAD_RELO", "local spec cannot be evaluated");
    res.origValue = o.value;
    res.origSize = o.size;
    res.validate = o.validate;
    const n = fieldValue(relo, target, fail);
    if (n === POISON) {
      res.poison = true;
      return res;
    }
    res.value = n.value;
    res.fieldSize = n.size;
    if (o.size !== n.size) {
      const ot = typeOf(local.btf, o.typeId);
      const nt = typeOf(target!.btf, n.typeId);
      const ok = (ot.kind === "ptr" && nt.kind === "ptr") || (ot.kind === "int" && nt.kind === "int" && !ot.signed && !nt.signed);
      res.failMemSizeAdjust = !ok;
    }
    return res;
  }
  if (isTypeBased(relo.kind)) {
    res.origValue = typeValue(relo, local, fail);
    res.value = typeValue(relo, target, fail);
    // Type ids may be renumbered when BTF is rewritten, so they are never checked against the insn.
    res.validate = relo.kind !== CoreReloKind.TypeIdTarget;
    return res;
  }
  if (isEnumvalBased(relo.kind)) {
    const o = enumValue(relo, local);
    if (o === POISON) return fail("CORE_BAD_RELO", "local enumerator cannot be evaluated");
    res.origValue = o;
    const n = enumValue(relo, target);
    if (n === POISON) res.poison = true;
    else res.value = n;
    return res;
  }
  return fail("CORE_UNKNOWN_KIND", `unsupported relocation kind ${relo.kind}`);
}

/**
 * Resolve one CO-RE relocation: parse its access string against `localBtf`, find candidate target types
 * (essential-name match, vmlinux first, then modules), match the spec against each and compute the value.
 *
 * All matching candidates must agree on the field bit offset, the poison decision and the value, else the
 * relocation is ambiguous. When none matches: existence kinds (field, type, enumerator) yield 0, type-based
 * kinds yield 0, and field offset/size/signedness/shift and enum value relocations are poisoned.
 * TYPE_ID_LOCAL needs no target and yields the local type id.
 *
 * @throws CoreError naming the relocation (kind, section, instruction, type, access string) and the cause:
 *   `CORE_BAD_ACCESS_STRING`, `CORE_UNKNOWN_KIND`, `CORE_BAD_RELO`, `CORE_ANONYMOUS_TYPE`, `CORE_AMBIGUOUS`,
 *   `CORE_BITFIELD_TOO_WIDE`, `CORE_ARRAY_ACCESS`, `CORE_TOO_DEEP`, `CORE_BAD_BTF`.
 */
export function calculateCoreRelocation(
  relo: BtfCoreRelo,
  localBtf: Btf,
  targets: CoreTargets | ResolvedTargets,
  options: CalculateOptions = {},
): CoreRelocationResult {
  const ctx = options.context ?? {};
  const fail = (code: string, cause: string): never => {
    throw new CoreError(code, `${describeRelo(relo, localBtf, ctx)}: ${cause}`);
  };
  const localSpec = parseCoreSpec(localBtf, relo, ctx);

  if (relo.kind === CoreReloKind.TypeIdLocal) {
    const id = u64(relo.typeId);
    return {
      relo, context: ctx, kind: relo.kind, poison: false, origValue: id, value: id, validate: false, origSize: 0, fieldSize: 0,
      failMemSizeAdjust: false, localSpec, targetSpec: undefined, matches: [],
    };
  }
  if (localBtf.nameOf(relo.typeId) === "") {
    fail("CORE_ANONYMOUS_TYPE", "relocations against anonymous types are not supported (candidates are found by name)");
  }

  let cands = options.candidateCache?.get(relo.typeId);
  if (!cands) {
    cands = wrap(() => findCandidates(localBtf, relo.typeId, resolveTargets(targets)), relo, localBtf, ctx);
    options.candidateCache?.set(relo.typeId, cands);
  }

  let best: { res: PairResult; spec: CoreSpec } | undefined;
  const matches: CoreCandidate[] = [];
  for (const cand of cands) {
    const spec = wrap(() => matchSpec(localSpec, cand.btf, cand.id), relo, localBtf, ctx);
    if (!spec) continue;
    const res = calcPair(relo, localSpec, spec, fail);
    if (!best) {
      best = { res, spec };
    } else if (spec.bitOffset !== best.spec.bitOffset) {
      fail(
        "CORE_AMBIGUOUS",
        `field offset ambiguity: candidate ${formatSpec(spec)} and candidate ${formatSpec(best.spec)} resolve to different bit offsets (${spec.bitOffset} != ${best.spec.bitOffset})`,
      );
    } else if (res.poison !== best.res.poison || res.value !== best.res.value) {
      const show = (r: PairResult): string => (r.poison ? "failure" : `${r.value}`);
      fail(
        "CORE_AMBIGUOUS",
        `relocation decision ambiguity: candidate ${formatSpec(spec)} gives ${show(res)} but candidate ${formatSpec(best.spec)} gives ${show(best.res)}`,
      );
    }
    matches.push(cand);
  }
  const res = best ? best.res : calcPair(relo, localSpec, undefined, fail);
  return { relo, context: ctx, kind: relo.kind, ...res, localSpec, targetSpec: best?.spec, matches };
}

/** Re-throw CoreErrors from helpers with the relocation named in front. */
function wrap<T>(fn: () => T, relo: BtfCoreRelo, btf: Btf, ctx: CoreReloContext): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof CoreError && !e.message.startsWith("CO-RE relocation")) {
      throw new CoreError(e.code, `${describeRelo(relo, btf, ctx)}: ${e.message}`, { cause: e });
    }
    throw e;
  }
}
