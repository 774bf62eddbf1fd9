// Lazy BTF reader: one pass records where each type starts; types, names and the name index are decoded on demand.
// Handles base BTF (objects, vmlinux) and split BTF (kernel modules, ids and string offsets continue the base's).

import { BtfError } from "../errors.js";
import type { BtfEnumValue, BtfKindNumber, BtfMember, BtfParam, BtfType, BtfVarSecinfo } from "./types.js";
import { BtfKind } from "./types.js";
import { encodeBtf } from "./writer.js";

/** BTF header magic (little-endian 0xeB9F). */
export const BTF_MAGIC = 0xeb9f;
/** Size of the fixed part of the BTF header. */
export const BTF_HEADER_SIZE = 24;
/** Largest type id the kernel accepts (BTF_MAX_TYPE). */
export const BTF_MAX_TYPE = 0xfffff;

/** Decoded kind name for each BTF_KIND_* number. */
const KIND_NAMES: readonly (BtfType["kind"] | undefined)[] = [
  undefined, "int", "ptr", "array", "struct", "union", "enum", "fwd", "typedef", "volatile", "const",
  "restrict", "func", "func_proto", "var", "datasec", "float", "decl_tag", "type_tag", "enum",
];
const MAX_KIND = 19;
/** Bytes that follow the 12-byte common record: fixed part and per-vlen part, by kind. */
const EXTRA_FIXED = new Uint8Array([255, 4, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 4, 0, 0]);
const EXTRA_PER_VLEN = new Uint8Array([0, 0, 0, 0, 12, 12, 8, 0, 0, 0, 0, 0, 0, 8, 0, 12, 0, 0, 0, 12]);
/** Kinds that only wrap another type (typedef, const, volatile, restrict, type_tag) — skipped by resolve(). */
const IS_ALIAS = new Uint8Array(20);
IS_ALIAS[BtfKind.Typedef] = IS_ALIAS[BtfKind.Const] = IS_ALIAS[BtfKind.Volatile] = IS_ALIAS[BtfKind.Restrict] = IS_ALIAS[BtfKind.TypeTag] = 1;
/** Qualifier kinds (const, volatile, restrict, type_tag) — skipped by skipQualifiers(). */
const IS_QUAL = new Uint8Array(20);
IS_QUAL[BtfKind.Const] = IS_QUAL[BtfKind.Volatile] = IS_QUAL[BtfKind.Restrict] = IS_QUAL[BtfKind.TypeTag] = 1;
/** Longest typedef/qualifier/array chain followed before declaring a loop. */
const MAX_CHAIN = 64;

const VOID: BtfType = Object.freeze({ id: 0, name: "", kind: "void" });
const utf8 = new TextDecoder("utf-8");
const utf8Encoder = new TextEncoder();

/** Options for {@link Btf.parse}. */
export interface BtfParseOptions {
  /** Base BTF for split BTF (kernel module BTF on top of vmlinux). */
  readonly base?: Btf;
}

/** FNV-1a over the bytes of a NUL-terminated string starting at `off`. */
function hashCString(bytes: Uint8Array, off: number): number {
  let h = 0x811c9dc5;
  for (let b = bytes[off]; b !== 0; b = bytes[++off]) h = Math.imul(h ^ b, 0x01000193);
  return h >>> 0;
}
function hashBytes(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return h >>> 0;
}
/** Hash chains over type indexes (id - firstId), by name contents. */
interface ChainIndex { heads: Int32Array; next: Int32Array; mask: number }

/** Distinct names looked up by scanning the string section before the by-contents index is built. */
const SCANNED_LOOKUPS = 4;
const HOST_LE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * A parsed BTF blob. Parsing validates the header, the string section and the framing of every type
 * record (known kind, record inside the type section, name offset inside the string section) in one pass
 * that only records where each type starts; everything else is decoded on demand and memoized.
 *
 * Type ids: 0 is void; a base Btf's own types are 1..typeCount-1; a split Btf's own types are
 * firstId..typeCount-1 and ids below firstId are answered by the base. String offsets of split BTF
 * continue after the base's string section in the same way.
 *
 * @example
 * const btf = Btf.parse(readFileSync("/sys/kernel/btf/vmlinux"));
 * const id = btf.findOne("task_struct", "struct");
 */
export class Btf {
  /** The raw BTF blob (header + types + strings) this was parsed from; not copied. */
  readonly bytes: Uint8Array;
  readonly #base: Btf | undefined;
  /** The type section as 32-bit words (a view when aligned on a little-endian host, else a copy). */
  readonly #w: Uint32Array;
  /** First own type id (1, or the base's typeCount). */
  readonly #firstId: number;
  /** Word index (into #w) of each own type record, indexed by id - firstId. */
  readonly #offsets: Uint32Array;
  readonly #count: number;
  /** Absolute byte range of the own string section in `bytes`. */
  readonly #strStart: number;
  readonly #strLen: number;
  /** String offsets below this belong to the base. */
  readonly #strBase: number;
  readonly #typeStart: number;
  readonly #typeLen: number;
  #cache: Map<number, BtfType> | undefined;
  /** Type indexes chained by name contents (built once enough distinct names were looked up). */
  #byName: ChainIndex | undefined;
  #scanned: Map<string, number[]> | undefined;

  private constructor(bytes: Uint8Array, base: Btf | undefined) {
    this.bytes = bytes;
    this.#base = base;
    const len = bytes.length;
    if (len < BTF_HEADER_SIZE) {
      if (len >= 2 && (bytes[0] | (bytes[1] << 8)) !== BTF_MAGIC) badMagic(bytes);
      throw new BtfError("BTF_TRUNCATED", `parse BTF: ${len} bytes is shorter than the BTF header (${BTF_HEADER_SIZE} bytes)`);
    }
    const v = new DataView(bytes.buffer, bytes.byteOffset, len);
    if (v.getUint16(0, true) !== BTF_MAGIC) badMagic(bytes);
    const version = v.getUint8(2);
    if (version !== 1) throw new BtfError("BTF_BAD_VERSION", `parse BTF: header version at offset 2 is ${version}, expected 1`);
    const hdrLen = v.getUint32(4, true);
    const typeOff = v.getUint32(8, true);
    const typeLen = v.getUint32(12, true);
    const strOff = v.getUint32(16, true);
    const strLen = v.getUint32(20, true);
    if (hdrLen < BTF_HEADER_SIZE || hdrLen > len) {
      throw new BtfError("BTF_BAD_HEADER", `parse BTF: hdr_len ${hdrLen} at offset 4 is invalid (must be >= ${BTF_HEADER_SIZE} and <= ${len})`);
    }
    if (hdrLen + typeOff + typeLen > len) {
      throw new BtfError("BTF_TRUNCATED", `parse BTF: type section at offset ${hdrLen + typeOff} (+${typeLen} bytes) is past the end of the data (${len} bytes)`);
    }
    if (hdrLen + strOff + strLen > len) {
      throw new BtfError("BTF_TRUNCATED", `parse BTF: string section at offset ${hdrLen + strOff} (+${strLen} bytes) is past the end of the data (${len} bytes)`);
    }
    if (typeLen % 4 !== 0) throw new BtfError("BTF_BAD_HEADER", `parse BTF: type section length ${typeLen} is not a multiple of 4`);
    const typeStart = hdrLen + typeOff;
    const strStart = hdrLen + strOff;
    if (typeLen > 0 && strLen > 0 && typeStart < strStart + strLen && strStart < typeStart + typeLen) {
      throw new BtfError("BTF_BAD_HEADER", `parse BTF: type section [${typeStart}, ${typeStart + typeLen}) overlaps string section [${strStart}, ${strStart + strLen})`);
    }
    if (base === undefined && (strLen === 0 || bytes[strStart] !== 0)) {
      throw new BtfError("BTF_BAD_STRING", `parse BTF: string section at offset ${strStart} must start with the empty string (a NUL byte)`);
    }
    if (strLen > 0 && bytes[strStart + strLen - 1] !== 0) {
      throw new BtfError("BTF_BAD_STRING", `parse BTF: string section at offset ${strStart} (${strLen} bytes) does not end with a NUL byte`);
    }
    this.#strStart = strStart;
    this.#strLen = strLen;
    this.#strBase = base ? base.#strBase + base.#strLen : 0;
    this.#typeStart = typeStart;
    this.#typeLen = typeLen;
    this.#firstId = base ? base.typeCount : 1;
    const nwords = typeLen >>> 2;
    let w: Uint32Array;
    if (HOST_LE && (bytes.byteOffset + typeStart) % 4 === 0) {
      w = new Uint32Array(bytes.buffer, bytes.byteOffset + typeStart, nwords);
    } else {
      w = new Uint32Array(nwords);
      for (let i = 0; i < nwords; i++) w[i] = v.getUint32(typeStart + i * 4, true);
    }
    this.#w = w;

    // One framing pass. Offsets grow geometrically from an estimate (vmlinux averages ~25 bytes a type).
    const firstId = this.#firstId;
    const strLimit = this.#strBase + strLen;
    const maxOwn = BTF_MAX_TYPE + 1 - firstId;
    let offsets = new Uint32Array(Math.max(16, (typeLen / 24) | 0));
    let n = 0;
    let p = 0;
    while (p < nwords) {
      if (p + 3 > nwords) {
        throw new BtfError("BTF_TRUNCATED", `parse BTF: type ${firstId + n} at offset ${typeStart + p * 4} is cut off by the end of the type section (offset ${typeStart + typeLen})`);
      }
      const info = w[p + 1];
      const kind = (info >>> 24) & 0x1f;
      const fixed = kind > MAX_KIND ? 255 : EXTRA_FIXED[kind];
      if (fixed === 255) {
        throw new BtfError("BTF_BAD_TYPE", `parse BTF: type ${firstId + n} at offset ${typeStart + p * 4} has unknown kind ${kind}`);
      }
      if (w[p] >= strLimit && w[p] !== 0) {
        throw new BtfError(
          "BTF_BAD_STRING",
          `parse BTF: type ${firstId + n} at offset ${typeStart + p * 4} has name offset ${w[p]} outside the string section (${strLimit} bytes)`,
        );
      }
      if (n === offsets.length) {
        if (n >= maxOwn) {
          throw new BtfError("BTF_TOO_MANY_TYPES", `parse BTF: more than ${maxOwn} types starting at id ${firstId} (ids are limited to BTF_MAX_TYPE = ${BTF_MAX_TYPE})`);
        }
        const grown = new Uint32Array(Math.min(n * 2, maxOwn));
        grown.set(offsets);
        offsets = grown;
      }
      offsets[n++] = p;
      p += 3 + ((fixed + EXTRA_PER_VLEN[kind] * (info & 0xffff)) >>> 2);
    }
    if (p !== nwords) {
      throw new BtfError("BTF_TRUNCATED", `parse BTF: last type ${firstId + n - 1} at offset ${typeStart + offsets[n - 1] * 4} runs past the end of the type section (offset ${typeStart + typeLen})`);
    }
    if (n > maxOwn) {
      throw new BtfError("BTF_TOO_MANY_TYPES", `parse BTF: ${n} types starting at id ${firstId} exceed BTF_MAX_TYPE (${BTF_MAX_TYPE})`);
    }
    this.#offsets = offsets.length - n > 4096 ? offsets.slice(0, n) : offsets.subarray(0, n);
    this.#count = n;
  }

  /**
   * Parse a BTF blob (a .BTF section, /sys/kernel/btf/vmlinux, or a module's split BTF with `opts.base`).
   * The bytes are kept, not copied. Cost: one pass over the type headers; no strings are decoded.
   * @throws BtfError `BTF_TRUNCATED`, `BTF_BAD_MAGIC`, `BTF_BAD_VERSION`, `BTF_BAD_HEADER`, `BTF_BAD_TYPE`,
   *   `BTF_BAD_STRING`, `BTF_TOO_MANY_TYPES`, `BTF_WRONG_ENDIAN`.
   */
  static parse(bytes: Uint8Array, opts: BtfParseOptions = {}): Btf {
    return new Btf(bytes, opts.base);
  }

  /**
   * Encode decoded types (in id order, starting at id 1 or at `opts.base.typeCount`) and parse the result.
   * Handy for tests and for building small BTF blobs by hand.
   */
  static fromTypes(types: readonly BtfType[], opts: BtfParseOptions = {}): Btf {
    return Btf.parse(encodeBtf(types, opts), opts);
  }

  /** Base BTF of a split BTF (module on top of vmlinux), else undefined. */
  get base(): Btf | undefined {
    return this.#base;
  }

  /** Highest type id + 1, counting void (0) and the base's types. */
  get typeCount(): number {
    return this.#firstId + this.#count;
  }

  /** First id of this blob's own types: 1 for base BTF, `base.typeCount` for split BTF. */
  get firstId(): number {
    return this.#firstId;
  }

  /** First string offset of this blob's own string section (0 for base BTF, the base's string length for split BTF). */
  get stringBase(): number {
    return this.#strBase;
  }

  /** The own string section, as stored (offset 0 = `stringBase`). */
  get rawStrings(): Uint8Array {
    return this.bytes.subarray(this.#strStart, this.#strStart + this.#strLen);
  }

  /** The own type section, as stored. */
  get rawTypes(): Uint8Array {
    return this.bytes.subarray(this.#typeStart, this.#typeStart + this.#typeLen);
  }

  /** Every type id from 1 to typeCount - 1 (the base's first for split BTF). */
  *ids(): IterableIterator<number> {
    const n = this.typeCount;
    for (let id = 1; id < n; id++) yield id;
  }

  /** Byte offset of an own type's record, or throws for a bad id. */
  #recordOffset(id: number, op: string): number {
    const i = id - this.#firstId;
    if (!Number.isInteger(id) || i < 0 || i >= this.#count) {
      throw new BtfError("BTF_BAD_TYPE", `${op}: type id ${id} does not exist (valid ids are 0..${this.typeCount - 1})`);
    }
    return this.#offsets[i];
  }

  /** Which Btf owns id (this, a base, or undefined for void). Throws for negative / too-large ids. */
  #owner(id: number, op: string): Btf | undefined {
    if (id >= this.#firstId) {
      this.#recordOffset(id, op);
      return this;
    }
    if (id === 0) return undefined;
    if (!Number.isInteger(id) || id < 0 || !this.#base) {
      throw new BtfError("BTF_BAD_TYPE", `${op}: type id ${id} does not exist (valid ids are 0..${this.typeCount - 1})`);
    }
    return this.#base.#owner(id, op);
  }

  /** Raw BTF_KIND_* number of a type (0 for void). */
  rawKind(id: number): BtfKindNumber {
    const o = this.#owner(id, "BTF kind");
    if (!o) return 0;
    return ((o.#w[o.#offsets[id - o.#firstId] + 1] >>> 24) & 0x1f) as BtfKindNumber;
  }

  /** The decoded kind name of a type ("enum" for both ENUM and ENUM64), without decoding the type. */
  kindOf(id: number): BtfType["kind"] {
    const k = this.rawKind(id);
    return k === 0 ? "void" : KIND_NAMES[k]!;
  }

  /** Name of a type ("" when anonymous or void), without decoding the rest of the type. */
  nameOf(id: number): string {
    const o = this.#owner(id, "BTF name");
    if (!o) return "";
    return this.string(o.#w[o.#offsets[id - o.#firstId]]);
  }

  /** String-section offset of a type's name (0 when anonymous or void). */
  nameOffsetOf(id: number): number {
    const o = this.#owner(id, "BTF name");
    if (!o) return 0;
    return o.#w[o.#offsets[id - o.#firstId]];
  }

  /**
   * The string at `offset` in the string section (offsets of split BTF continue the base's).
   * @throws BtfError `BTF_BAD_STRING` when the offset is outside the string section.
   */
  string(offset: number): string {
    if (offset >= 0 && offset < this.#strBase) return this.#base!.string(offset);
    const rel = offset - this.#strBase;
    if (!Number.isInteger(offset) || rel < 0 || rel >= this.#strLen) {
      throw new BtfError("BTF_BAD_STRING", `BTF string: offset ${offset} is outside the string section (${this.#strBase + this.#strLen} bytes)`);
    }
    const bytes = this.bytes;
    let p = this.#strStart + rel;
    const start = p;
    let ascii = true;
    for (let b = bytes[p]; b !== 0; b = bytes[++p]) if (b >= 0x80) ascii = false;
    const n = p - start;
    if (n === 0) return "";
    if (ascii && n <= 64) {
      let s = "";
      for (let i = start; i < p; i++) s += String.fromCharCode(bytes[i]);
      return s;
    }
    return utf8.decode(bytes.subarray(start, p));
  }

  /**
   * Decode a type (memoized). Referenced type ids and string offsets are checked.
   * @throws BtfError `BTF_BAD_TYPE` for an id that does not exist or a record that refers to one.
   */
  type(id: number): BtfType {
    const o = this.#owner(id, "BTF type");
    if (!o) return VOID;
    let cache = o.#cache;
    if (!cache) cache = o.#cache = new Map();
    let t = cache.get(id);
    if (!t) {
      t = o.#decode(id);
      cache.set(id, t);
    }
    return t;
  }

  #decode(id: number): BtfType {
    const w = this.#w;
    const off = this.#offsets[id - this.#firstId];
    const name = this.#str(w[off], id, "name");
    const info = w[off + 1];
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    const kflag = (info & 0x80000000) !== 0;
    const st = w[off + 2];
    const p = off + 3;
    switch (kind) {
      case BtfKind.Int: {
        const enc = w[p];
        const encoding = (enc >>> 24) & 0x0f;
        return {
          id, name, kind: "int", size: st, signed: (encoding & 1) !== 0, char: (encoding & 2) !== 0,
          bool: (encoding & 4) !== 0, bitOffset: (enc >>> 16) & 0xff, bits: enc & 0xff,
        };
      }
      case BtfKind.Ptr:
        return { id, name, kind: "ptr", type: this.#ref(st, id, "pointee") };
      case BtfKind.Array:
        return {
          id, name, kind: "array", elemType: this.#ref(w[p], id, "element type"),
          indexType: this.#ref(w[p + 1], id, "index type"), nelems: w[p + 2],
        };
      case BtfKind.Struct:
      case BtfKind.Union: {
        const members: BtfMember[] = new Array(vlen);
        for (let i = 0, m = p; i < vlen; i++, m += 3) {
          const offset = w[m + 2];
          members[i] = {
            name: this.#str(w[m], id, "member name"),
            type: this.#ref(w[m + 1], id, "member"),
            bitOffset: kflag ? offset & 0xffffff : offset,
            bitfieldSize: kflag ? offset >>> 24 : 0,
          };
        }
        return { id, name, kind: kind === BtfKind.Struct ? "struct" : "union", size: st, members };
      }
      case BtfKind.Enum: {
        const values: BtfEnumValue[] = new Array(vlen);
        for (let i = 0, m = p; i < vlen; i++, m += 2) {
          values[i] = { name: this.#str(w[m], id, "enumerator name"), value: BigInt(kflag ? w[m + 1] | 0 : w[m + 1]) };
        }
        return { id, name, kind: "enum", size: st, signed: kflag, is64: false, values };
      }
      case BtfKind.Enum64: {
        const values: BtfEnumValue[] = new Array(vlen);
        for (let i = 0, m = p; i < vlen; i++, m += 3) {
          const raw = (BigInt(w[m + 2]) << 32n) | BigInt(w[m + 1]);
          values[i] = { name: this.#str(w[m], id, "enumerator name"), value: kflag ? BigInt.asIntN(64, raw) : raw };
        }
        return { id, name, kind: "enum", size: st, signed: kflag, is64: true, values };
      }
      case BtfKind.Fwd:
        return { id, name, kind: "fwd", fwdKind: kflag ? "union" : "struct" };
      case BtfKind.TypeTag:
        if (kflag) return { id, name, kind: "type_tag", type: this.#ref(st, id, "target"), attribute: true };
        return { id, name, kind: "type_tag", type: this.#ref(st, id, "target") };
      case BtfKind.Typedef:
      case BtfKind.Volatile:
      case BtfKind.Const:
      case BtfKind.Restrict:
        return { id, name, kind: KIND_NAMES[kind] as "typedef", type: this.#ref(st, id, "target") };
      case BtfKind.Func:
        return { id, name, kind: "func", type: this.#ref(st, id, "prototype"), linkage: vlen };
      case BtfKind.FuncProto: {
        const params: BtfParam[] = new Array(vlen);
        for (let i = 0, m = p; i < vlen; i++, m += 2) {
          params[i] = { name: this.#str(w[m], id, "parameter name"), type: this.#ref(w[m + 1], id, "parameter") };
        }
        return { id, name, kind: "func_proto", returnType: this.#ref(st, id, "return type"), params };
      }
      case BtfKind.Var:
        return { id, name, kind: "var", type: this.#ref(st, id, "type"), linkage: w[p] };
      case BtfKind.Datasec: {
        const vars: BtfVarSecinfo[] = new Array(vlen);
        for (let i = 0, m = p; i < vlen; i++, m += 3) {
          vars[i] = { type: this.#ref(w[m], id, "variable"), offset: w[m + 1], size: w[m + 2] };
        }
        return { id, name, kind: "datasec", size: st, vars };
      }
      case BtfKind.Float:
        return { id, name, kind: "float", size: st };
      case BtfKind.DeclTag:
        if (kflag) return { id, name, kind: "decl_tag", type: this.#ref(st, id, "tagged type"), componentIdx: w[p] | 0, attribute: true };
        return { id, name, kind: "decl_tag", type: this.#ref(st, id, "tagged type"), componentIdx: w[p] | 0 };
      default:
        throw new BtfError("BTF_BAD_TYPE", `BTF type ${id} at offset ${this.#typeStart + off * 4} has unknown kind ${kind}`);
    }
  }

  /** Check a type id referenced by type `id`. */
  #ref(t: number, id: number, what: string): number {
    if (t >= this.#firstId + this.#count) {
      throw new BtfError(
        "BTF_BAD_TYPE",
        `BTF type ${id} (${this.kindOf(id)} "${this.nameOf(id)}"): ${what} refers to type ${t}, but the highest id is ${this.typeCount - 1}`,
      );
    }
    return t;
  }

  #str(offset: number, id: number, what: string): string {
    try {
      return this.string(offset);
    } catch (e) {
      if (e instanceof BtfError) throw new BtfError("BTF_BAD_STRING", `BTF type ${id}: ${what}: ${e.message}`);
      throw e;
    }
  }

  /** Raw size-or-type word and kind of a type, for the chain walkers. */
  #raw(id: number, op: string): { kind: number; st: number; off: number; owner: Btf } | undefined {
    const o = this.#owner(id, op);
    if (!o) return undefined;
    const off = o.#offsets[id - o.#firstId];
    return { kind: (o.#w[off + 1] >>> 24) & 0x1f, st: o.#w[off + 2], off, owner: o };
  }

  #skip(id: number, table: Uint8Array, op: string): number {
    for (let i = 0; i < MAX_CHAIN; i++) {
      const r = this.#raw(id, op);
      if (!r || !table[r.kind]) return id;
      id = r.st;
    }
    throw new BtfError("BTF_BAD_TYPE", `${op}: type chain longer than ${MAX_CHAIN} (loop?) starting at type ${id}`);
  }

  /** Follow typedef, const, volatile, restrict and type_tag to the underlying type id. */
  resolve(id: number): number {
    return this.#skip(id, IS_ALIAS, "BTF resolve");
  }

  /** Follow const, volatile, restrict and type_tag only (typedefs are kept). */
  skipQualifiers(id: number): number {
    return this.#skip(id, IS_QUAL, "BTF skipQualifiers");
  }

  /**
   * Size of a type in bytes: ints, floats, pointers (8), arrays (nelems x element), structs, unions,
   * enums, datasecs, vars (their type) and typedef/qualifier chains to one of these.
   * @throws BtfError `BTF_NO_SIZE` for void, func, func_proto, fwd and decl_tag.
   */
  sizeof(id: number): number {
    let mult = 1;
    const start = id;
    for (let i = 0; i < MAX_CHAIN; i++) {
      const r = this.#raw(id, "BTF sizeof");
      if (!r) throw new BtfError("BTF_NO_SIZE", `BTF sizeof: type ${start} (${this.toString(start)}) is void and has no size`);
      switch (r.kind) {
        case BtfKind.Int: case BtfKind.Struct: case BtfKind.Union: case BtfKind.Enum: case BtfKind.Enum64:
        case BtfKind.Float: case BtfKind.Datasec:
          return mult * r.st;
        case BtfKind.Ptr:
          return mult * 8;
        case BtfKind.Array: {
          mult *= r.owner.#w[r.off + 5];
          id = r.owner.#w[r.off + 3];
          continue;
        }
        case BtfKind.Typedef: case BtfKind.Const: case BtfKind.Volatile: case BtfKind.Restrict:
        case BtfKind.TypeTag: case BtfKind.Var:
          id = r.st;
          continue;
        default:
          throw new BtfError("BTF_NO_SIZE", `BTF sizeof: type ${start} (${this.toString(start)}) is a ${KIND_NAMES[r.kind]} and has no size`);
      }
    }
    throw new BtfError("BTF_BAD_TYPE", `BTF sizeof: type chain longer than ${MAX_CHAIN} (loop?) starting at type ${start}`);
  }

  /** Chain own type indexes by a hash of their names: reads every name once. */
  #buildNameIndex(): ChainIndex {
    const n = this.#count;
    let size = 16;
    while (size < n) size *= 2;
    const heads = new Int32Array(size).fill(-1);
    const next = new Int32Array(n);
    const mask = size - 1;
    const w = this.#w;
    const bytes = this.bytes;
    const offsets = this.#offsets;
    const strBase = this.#strBase;
    const strAt = this.#strStart - strBase;
    for (let i = 0; i < n; i++) {
      const nameOff = w[offsets[i]];
      if (nameOff === 0) continue;
      let h: number;
      if (nameOff >= strBase) {
        let q = strAt + nameOff;
        h = 0x811c9dc5;
        for (let c = bytes[q]; c !== 0; c = bytes[++q]) h = Math.imul(h ^ c, 0x01000193);
        h >>>= 0;
      } else {
        h = this.#base!.#hashString(nameOff);
      }
      const b = h & mask;
      next[i] = heads[b];
      heads[b] = i;
    }
    return { heads, next, mask };
  }

  #hashString(offset: number): number {
    if (offset < this.#strBase) return this.#base!.#hashString(offset);
    return hashCString(this.bytes, this.#strStart + offset - this.#strBase);
  }

  /** Does the string at `offset` equal `want` byte for byte? */
  #stringEquals(offset: number, want: Uint8Array): boolean {
    if (offset < this.#strBase) return this.#base!.#stringEquals(offset, want);
    const bytes = this.bytes;
    const p = this.#strStart + offset - this.#strBase;
    if (p + want.length >= this.#strStart + this.#strLen) return false;
    for (let i = 0; i < want.length; i++) if (bytes[p + i] !== want[i]) return false;
    return bytes[p + want.length] === 0;
  }

  /** Every string offset (here and in the base) whose string equals `want`, found by a native byte search. */
  #stringOffsets(want: Uint8Array, out: number[]): void {
    if (this.#base) this.#base.#stringOffsets(want, out);
    const len = this.#strLen;
    if (len === 0) return;
    const strs = Buffer.from(this.bytes.buffer, this.bytes.byteOffset + this.#strStart, len);
    // A string at offset 0 of a split section has no NUL before it.
    if (this.#base && this.#stringEquals(this.#strBase, want)) out.push(this.#strBase);
    const needle = new Uint8Array(want.length + 2);
    needle.set(want, 1);
    for (let at = strs.indexOf(needle); at !== -1; at = strs.indexOf(needle, at + 1)) out.push(this.#strBase + at + 1);
  }

  /**
   * Ids of this blob's own types (not the base's) named `name`, optionally of one decoded kind, ascending.
   * The first few distinct names are found by a native search of the string section and one pass over
   * the type headers (~1 ms for vmlinux); after that a hash index over all type names is built once
   * (~3 ms), so any number of further lookups stays cheap.
   */
  findOwn(name: string, kind?: BtfType["kind"]): number[] {
    if (name === "" || this.#count === 0) return [];
    const want = utf8Encoder.encode(name);
    const w = this.#w;
    const offsets = this.#offsets;
    const out: number[] = [];
    if (this.#byName === undefined) {
      const scanned = (this.#scanned ??= new Map());
      let all = scanned.get(name);
      if (all === undefined && scanned.size < SCANNED_LOOKUPS) {
        const strOffs: number[] = [];
        this.#stringOffsets(want, strOffs);
        const found: number[] = (all = []);
        const n = this.#count;
        if (strOffs.length === 1) {
          const so = strOffs[0];
          for (let i = 0; i < n; i++) if (w[offsets[i]] === so) found.push(i);
        } else if (strOffs.length > 1) {
          const set = new Set(strOffs);
          for (let i = 0; i < n; i++) if (set.has(w[offsets[i]])) found.push(i);
        }
        scanned.set(name, found);
      }
      if (all !== undefined) {
        for (const i of all) if (kind === undefined || KIND_NAMES[(w[offsets[i] + 1] >>> 24) & 0x1f] === kind) out.push(this.#firstId + i);
        return out;
      }
      this.#byName = this.#buildNameIndex();
      this.#scanned = undefined;
    }
    const idx = this.#byName;
    for (let i = idx.heads[hashBytes(want) & idx.mask]; i !== -1; i = idx.next[i]) {
      const off = offsets[i];
      if (kind !== undefined && KIND_NAMES[(w[off + 1] >>> 24) & 0x1f] !== kind) continue;
      if (this.#stringEquals(w[off], want)) out.push(this.#firstId + i);
    }
    return out.reverse();
  }

  /**
   * Ids of every type named `name` (base types first for split BTF), optionally of one decoded kind
   * ("enum" matches ENUM and ENUM64), ascending. Anonymous types are never found.
   */
  find(name: string, kind?: BtfType["kind"]): number[] {
    const own = this.findOwn(name, kind);
    if (!this.#base) return own;
    const fromBase = this.#base.find(name, kind);
    return fromBase.length === 0 ? own : fromBase.concat(own);
  }

  /**
   * The one type named `name` of `kind`: its id, or undefined when there is none.
   * @throws BtfError `BTF_AMBIGUOUS` when several types match (their ids are in the message).
   */
  findOne(name: string, kind: BtfType["kind"]): number | undefined {
    const ids = this.find(name, kind);
    if (ids.length > 1) {
      throw new BtfError("BTF_AMBIGUOUS", `BTF find: ${ids.length} ${kind} types are named "${name}" (ids ${ids.slice(0, 8).join(", ")}${ids.length > 8 ? ", ..." : ""})`);
    }
    return ids[0];
  }

  /** A C-like description of a type for messages: `struct task_struct`, `u32 *`, `int (*)(void *, long)`. */
  toString(id: number): string {
    try {
      return this.#describe(id, 0);
    } catch (e) {
      if (e instanceof BtfError) return `<bad type ${id}>`;
      throw e;
    }
  }

  #describe(id: number, depth: number): string {
    if (depth > 16) return "...";
    const t = this.type(id);
    switch (t.kind) {
      case "void": return "void";
      case "int": case "float": case "typedef": return t.name || `<anon ${t.kind}>`;
      case "struct": case "union": return `${t.kind} ${t.name || "(anon)"}`;
      case "enum": return `enum ${t.name || "(anon)"}`;
      case "fwd": return `${t.fwdKind} ${t.name}`;
      case "ptr": {
        const target = this.type(t.type);
        if (target.kind === "func_proto") return this.#proto(target.returnType, target.params, "(*)", depth);
        return `${this.#describe(t.type, depth + 1)} *`;
      }
      case "const": case "volatile": case "restrict": {
        const target = this.type(t.type);
        return target.kind === "ptr" ? `${this.#describe(t.type, depth + 1)} ${t.kind}` : `${t.kind} ${this.#describe(t.type, depth + 1)}`;
      }
      case "type_tag": return `${this.#describe(t.type, depth + 1)} __attribute__((btf_type_tag("${t.name}")))`;
      case "array": return `${this.#describe(t.elemType, depth + 1)}[${t.nelems}]`;
      case "func_proto": return this.#proto(t.returnType, t.params, "", depth);
      case "func": {
        const proto = this.type(t.type);
        return proto.kind === "func_proto" ? this.#proto(proto.returnType, proto.params, t.name, depth) : `func ${t.name}`;
      }
      case "var": return `${this.#describe(t.type, depth + 1)} ${t.name}`;
      case "datasec": return `section ${t.name}`;
      case "decl_tag": return `decl_tag("${t.name}") on ${this.#describe(t.type, depth + 1)}`;
    }
  }

  #proto(ret: number, params: readonly { name: string; type: number }[], inner: string, depth: number): string {
    const args = params.length === 0 ? "void" : params.map((p) => (p.type === 0 ? "..." : this.#describe(p.type, depth + 1))).join(", ");
    return `${this.#describe(ret, depth + 1)} ${inner}(${args})`;
  }

  /**
   * Decode every own type and check every reference and string (the parse itself only checks framing).
   * @throws BtfError on the first problem.
   */
  validate(): void {
    for (let id = this.#firstId; id < this.typeCount; id++) this.type(id);
  }
}

function badMagic(bytes: Uint8Array): never {
  const m = bytes[0] | (bytes[1] << 8);
  if (m === 0x9feb) throw new BtfError("BTF_WRONG_ENDIAN", "parse BTF: big-endian BTF (magic 0x9feb at offset 0) is not supported");
  throw new BtfError("BTF_BAD_MAGIC", `parse BTF: bad magic 0x${m.toString(16).padStart(4, "0")} at offset 0, expected 0xeb9f`);
}
