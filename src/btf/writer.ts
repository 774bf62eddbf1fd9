// BTF writer: builds a BTF blob (header, type records, deduplicated string section) from decoded types.
// Used by the loader to re-emit sanitized BTF for the kernel and by the compiler to emit .BTF.

import { BtfError } from "../errors.js";
import type { Btf } from "./btf.js";
import type { BtfType } from "./types.js";
import { BtfKind } from "./types.js";

/** A BTF type without its id (the builder assigns ids). */
export type BtfTypeSpec = BtfType extends infer T ? (T extends BtfType ? Omit<T, "id"> : never) : never;

/** Options for {@link BtfBuilder}. */
export interface BtfBuilderOptions {
  /** Build split BTF on top of this base: ids start at `base.typeCount`, string offsets at the base's string length. */
  readonly base?: Btf;
  /**
   * Start from an existing string section (e.g. `btf.rawStrings`): its offsets stay valid, so line info
   * and CO-RE records that hold raw string offsets need no rewriting. New strings are appended.
   */
  readonly strings?: Uint8Array;
}

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

/** A growable little-endian byte buffer. */
class ByteWriter {
  buf = new Uint8Array(256);
  view = new DataView(this.buf.buffer);
  len = 0;
  reserve(n: number): number {
    if (this.len + n > this.buf.length) {
      let size = this.buf.length * 2;
      while (size < this.len + n) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.buf.subarray(0, this.len));
      this.buf = grown;
      this.view = new DataView(grown.buffer);
    }
    const at = this.len;
    this.len += n;
    return at;
  }
  // reserve() may replace buf/view, so it must run before they are read.
  u32(x: number): void { const at = this.reserve(4); this.view.setUint32(at, x >>> 0, true); }
  i32(x: number): void { const at = this.reserve(4); this.view.setInt32(at, x | 0, true); }
  bytes(b: Uint8Array): void { const at = this.reserve(b.length); this.buf.set(b, at); }
}

/**
 * Builds BTF incrementally. Type ids start at 1 (or at `base.typeCount` for split BTF) and are returned
 * by {@link add}; types may refer to ids not added yet (checked by {@link encode}).
 *
 * @example
 * const b = new BtfBuilder();
 * const u32 = b.add({ kind: "int", name: "u32", size: 4, signed: false, char: false, bool: false, bitOffset: 0, bits: 32 });
 * b.add({ kind: "ptr", name: "", type: u32 });
 * const blob = b.encode();
 */
export class BtfBuilder {
  readonly #types = new ByteWriter();
  readonly #strings = new ByteWriter();
  #strMap: Map<string, number> | undefined;
  /** Length of a seeded string section not yet indexed into #strMap. */
  #seeded = 0;
  readonly #firstId: number;
  readonly #strBase: number;
  #count = 0;
  /** Highest referenced type id and who referenced it (for encode's check). */
  #maxRef = 0;
  #maxRefBy = 0;

  constructor(opts: BtfBuilderOptions = {}) {
    this.#firstId = opts.base ? opts.base.typeCount : 1;
    this.#strBase = opts.base ? opts.base.stringBase + opts.base.rawStrings.length : 0;
    if (opts.strings && opts.strings.length > 0) {
      const s = opts.strings;
      if (s[s.length - 1] !== 0) throw new BtfError("BTF_BAD_STRING", "BTF builder: seed string section does not end with a NUL byte");
      if (!opts.base && s[0] !== 0) throw new BtfError("BTF_BAD_STRING", "BTF builder: seed string section does not start with a NUL byte");
      this.#strings.bytes(s);
      this.#seeded = s.length;
    } else if (!opts.base) {
      this.#strings.bytes(new Uint8Array(1)); // offset 0: the empty string
    }
  }

  /** Id the next {@link add} returns. */
  get nextId(): number {
    return this.#firstId + this.#count;
  }

  /** Highest id + 1 so far (counting void and the base's types). */
  get typeCount(): number {
    return this.#firstId + this.#count;
  }

  /** Add a string (deduplicated) and return its offset in the string section. "" is offset 0. */
  addString(s: string): number {
    if (s === "") return 0;
    const map = this.#strMap ?? (this.#strMap = this.#indexSeed());
    const known = map.get(s);
    if (known !== undefined) return known;
    const enc = utf8.encode(s);
    if (enc.includes(0)) throw new BtfError("BTF_BAD_STRING", `BTF builder: string ${JSON.stringify(s)} contains a NUL character`);
    const off = this.#strBase + this.#strings.len;
    this.#strings.bytes(enc);
    this.#strings.bytes(new Uint8Array(1));
    map.set(s, off);
    return off;
  }

  #indexSeed(): Map<string, number> {
    const map = new Map<string, number>();
    const buf = this.#strings.buf;
    let start = 0;
    for (let i = 0; i < this.#seeded; i++) {
      if (buf[i] !== 0) continue;
      if (i > start) {
        const s = utf8Decoder.decode(buf.subarray(start, i));
        if (!map.has(s)) map.set(s, this.#strBase + start);
      }
      start = i + 1;
    }
    return map;
  }

  #ref(t: number, what: string): number {
    if (!Number.isInteger(t) || t < 0 || t > 0xffffffff) {
      throw new BtfError("BTF_BAD_TYPE", `BTF builder: type ${this.nextId}: ${what} ${t} is not a valid type id`);
    }
    if (t > this.#maxRef) {
      this.#maxRef = t;
      this.#maxRefBy = this.nextId;
    }
    return t;
  }

  #header(name: string, kind: number, vlen: number, kflag: boolean, sizeOrType: number): void {
    if (vlen > 0xffff) throw new BtfError("BTF_BAD_TYPE", `BTF builder: type ${this.nextId} "${name}" has ${vlen} entries, more than 65535`);
    const w = this.#types;
    w.u32(this.addString(name));
    w.u32(((kflag ? 0x80000000 : 0) | (kind << 24) | vlen) >>> 0);
    w.u32(sizeOrType);
  }

  /**
   * Append a type and return its id. Names are added to the string section; enum values must fit the
   * declared width (32 bits for ENUM, 64 for ENUM64); struct members get the bitfield encoding
   * (kind_flag) when any member is a bitfield.
   */
  add(t: BtfTypeSpec): number {
    const w = this.#types;
    const id = this.nextId;
    if (id > 0xfffff) throw new BtfError("BTF_TOO_MANY_TYPES", `BTF builder: more than ${0xfffff} types`);
    switch (t.kind) {
      case "void":
        throw new BtfError("BTF_BAD_TYPE", "BTF builder: void is type 0 and cannot be added");
      case "int": {
        if (t.bits > 128 || t.bitOffset > 255) throw new BtfError("BTF_BAD_TYPE", `BTF builder: int "${t.name}" has bad bits ${t.bits} / offset ${t.bitOffset}`);
        this.#header(t.name, BtfKind.Int, 0, false, t.size);
        const enc = (t.signed ? 1 : 0) | (t.char ? 2 : 0) | (t.bool ? 4 : 0);
        w.u32((enc << 24) | (t.bitOffset << 16) | t.bits);
        break;
      }
      case "ptr":
        this.#header(t.name, BtfKind.Ptr, 0, false, this.#ref(t.type, "pointee"));
        break;
      case "array":
        this.#header(t.name, BtfKind.Array, 0, false, 0);
        w.u32(this.#ref(t.elemType, "element type"));
        w.u32(this.#ref(t.indexType, "index type"));
        w.u32(t.nelems);
        break;
      case "struct":
      case "union": {
        const kflag = t.members.some((m) => m.bitfieldSize !== 0);
        this.#header(t.name, t.kind === "struct" ? BtfKind.Struct : BtfKind.Union, t.members.length, kflag, t.size);
        for (const m of t.members) {
          if (kflag && (m.bitOffset > 0xffffff || m.bitfieldSize > 0xff)) {
            throw new BtfError("BTF_BAD_TYPE", `BTF builder: ${t.kind} "${t.name}" member "${m.name}" offset ${m.bitOffset} / bitfield ${m.bitfieldSize} does not fit the bitfield encoding`);
          }
          w.u32(this.addString(m.name));
          w.u32(this.#ref(m.type, `member "${m.name}"`));
          w.u32(kflag ? ((m.bitfieldSize << 24) | m.bitOffset) >>> 0 : m.bitOffset);
        }
        break;
      }
      case "enum": {
        this.#header(t.name, t.is64 ? BtfKind.Enum64 : BtfKind.Enum, t.values.length, t.signed, t.size);
        for (const e of t.values) {
          const lo = t.is64 ? -(2n ** 63n) : -(2n ** 31n);
          const hi = t.is64 ? 2n ** 64n : 2n ** 32n;
          if (e.value < lo || e.value >= hi) {
            throw new BtfError("BTF_BAD_TYPE", `BTF builder: enum "${t.name}" value ${e.name} = ${e.value} does not fit ${t.is64 ? 64 : 32} bits`);
          }
          w.u32(this.addString(e.name));
          if (t.is64) {
            const u = BigInt.asUintN(64, e.value);
            w.u32(Number(u & 0xffffffffn));
            w.u32(Number(u >> 32n));
          } else {
            w.u32(Number(BigInt.asUintN(32, e.value)));
          }
        }
        break;
      }
      case "fwd":
        this.#header(t.name, BtfKind.Fwd, 0, t.fwdKind === "union", 0);
        break;
      case "typedef":
      case "volatile":
      case "const":
      case "restrict":
      case "type_tag": {
        const kind = { typedef: BtfKind.Typedef, volatile: BtfKind.Volatile, const: BtfKind.Const, restrict: BtfKind.Restrict, type_tag: BtfKind.TypeTag }[t.kind];
        this.#header(t.name, kind, 0, t.kind === "type_tag" && t.attribute === true, this.#ref(t.type, "target"));
        break;
      }
      case "func":
        this.#header(t.name, BtfKind.Func, t.linkage, false, this.#ref(t.type, "prototype"));
        break;
      case "func_proto":
        this.#header(t.name, BtfKind.FuncProto, t.params.length, false, this.#ref(t.returnType, "return type"));
        for (const p of t.params) {
          w.u32(this.addString(p.name));
          w.u32(this.#ref(p.type, `parameter "${p.name}"`));
        }
        break;
      case "var":
        this.#header(t.name, BtfKind.Var, 0, false, this.#ref(t.type, "type"));
        w.u32(t.linkage);
        break;
      case "datasec":
        this.#header(t.name, BtfKind.Datasec, t.vars.length, false, t.size);
        for (const v of t.vars) {
          w.u32(this.#ref(v.type, "variable"));
          w.u32(v.offset);
          w.u32(v.size);
        }
        break;
      case "float":
        this.#header(t.name, BtfKind.Float, 0, false, t.size);
        break;
      case "decl_tag":
        this.#header(t.name, BtfKind.DeclTag, 0, t.attribute === true, this.#ref(t.type, "tagged type"));
        w.i32(t.componentIdx);
        break;
      default:
        throw new BtfError("BTF_BAD_TYPE", `BTF builder: unknown kind ${JSON.stringify((t as { kind: unknown }).kind)}`);
    }
    this.#count++;
    return id;
  }

  /**
   * The BTF blob: 24-byte header, type section, string section.
   * @throws BtfError `BTF_BAD_TYPE` when a type refers to an id that was never added.
   */
  encode(): Uint8Array {
    if (this.#maxRef >= this.typeCount) {
      throw new BtfError("BTF_BAD_TYPE", `BTF builder: type ${this.#maxRefBy} refers to type ${this.#maxRef}, but only ids up to ${this.typeCount - 1} exist`);
    }
    const types = this.#types;
    const strings = this.#strings;
    const out = new Uint8Array(24 + types.len + strings.len);
    const v = new DataView(out.buffer);
    v.setUint16(0, 0xeb9f, true);
    v.setUint8(2, 1);
    v.setUint8(3, 0);
    v.setUint32(4, 24, true);
    v.setUint32(8, 0, true);
    v.setUint32(12, types.len, true);
    v.setUint32(16, types.len, true);
    v.setUint32(20, strings.len, true);
    out.set(types.buf.subarray(0, types.len), 24);
    out.set(strings.buf.subarray(0, strings.len), 24 + types.len);
    return out;
  }
}

/**
 * Encode decoded types as a BTF blob. `types` must be in id order starting at 1 (or at
 * `opts.base.typeCount`); a leading void (id 0) is ignored.
 */
export function encodeBtf(types: readonly BtfType[], opts: Pick<BtfBuilderOptions, "base"> = {}): Uint8Array {
  const b = new BtfBuilder(opts);
  for (const t of types) {
    if (t.kind === "void" && t.id === 0) continue;
    if (t.id !== b.nextId) {
      throw new BtfError("BTF_BAD_TYPE", `encode BTF: type "${t.name}" has id ${t.id}, expected ${b.nextId} (types must be in id order)`);
    }
    const { id: _id, ...spec } = t;
    b.add(spec as BtfTypeSpec);
  }
  return b.encode();
}
