// Kernel types at compile time: resolves member accesses on BTF structs (task_struct, sock...) to
// offsets and CO-RE access paths, and builds the minimal local struct types the object's .BTF needs.

import ts from "typescript";
import type { Btf } from "../../btf/btf.js";
import { BTF_MARKER } from "../../gen/typescript.js";
import type { CMember, CoreAccess, CoreKind, CType } from "../module.js";
import type { IntTy } from "../types.js";

/** Marker on the first line of generated kernel declarations (the generator writes it). */
export { BTF_MARKER };

/** What a kernel member is, for code generation. */
export type KernelMemberKind =
  | { readonly k: "int"; readonly ty: IntTy }
  | { readonly k: "bool" }
  | { readonly k: "ptr"; readonly target: { readonly name: string; readonly btfKind: "struct" | "union" } | undefined }
  | { readonly k: "struct"; readonly name: string; readonly btfKind: "struct" | "union"; readonly id: number }
  /** An array: its byte size, and when its elements are integers, their type and count. */
  | { readonly k: "array"; readonly size: number; readonly elem?: IntTy; readonly count?: number }
  | { readonly k: "other" };

/** The result of resolving `parent.member`. */
export interface KernelMember {
  /** Byte offset of the member within the root struct (compile-time kernel's layout). */
  readonly offset: number;
  readonly size: number;
  /** Local member indices from the parent (more than one when the member sits in anonymous members). */
  readonly path: readonly number[];
  readonly kind: KernelMemberKind;
  readonly bitfield: boolean;
  /** For a bitfield: its bit offset within the root struct and its width in bits. */
  readonly bitOffset: number;
  readonly bitSize: number;
}

type MutableStruct = { kind: "struct" | "union"; name?: string; size: number; members: CMember[] };

/** Compile-time view of kernel BTF. */
export class KernelTypes {
  readonly #load: () => Btf;
  #btf: Btf | undefined;
  readonly #locals = new Map<number, MutableStruct>();
  readonly #memberIndex = new Map<MutableStruct, Map<string, number>>();
  readonly #accesses: { access: { kind: CoreKind; root: CType; access: string }; chain: MutableStruct[]; path: number[] }[] = [];

  constructor(load: () => Btf) {
    this.#load = load;
  }

  get btf(): Btf {
    return (this.#btf ??= this.#load());
  }

  /** The BTF struct/union name a TypeScript type stands for, if it is a generated kernel declaration. */
  static kernelName(type: ts.Type): { name: string; btfKind: "struct" | "union" } | undefined {
    // A tracepoint record with its `__data_loc` strings (`S & DataLocStrings<S>`) is the struct `S`.
    if (type.isIntersection()) {
      for (const t of type.types) {
        const k = KernelTypes.kernelName(t);
        if (k) return k;
      }
      return undefined;
    }
    const sym = type.aliasSymbol ?? type.getSymbol();
    const decl = sym?.declarations?.[0];
    if (!sym || !decl) return undefined;
    const sf = decl.getSourceFile();
    if (!sf.text.startsWith(BTF_MARKER)) return undefined;
    let name = sym.getName();
    let btfKind: "struct" | "union" = "struct";
    for (const tag of ts.getJSDocTags(decl)) {
      if (tag.tagName.text !== "btf" || typeof tag.comment !== "string") continue;
      const m = /^(struct|union)\s+(\w+)/.exec(tag.comment.trim());
      if (m) {
        btfKind = m[1] as "struct" | "union";
        name = m[2]!;
      }
    }
    return { name, btfKind };
  }

  /** The value of enumerator `name` in the kernel BTF (the first enum that has it), or undefined. */
  enumerator(name: string): bigint | undefined {
    if (!this.#enumerators) {
      this.#enumerators = new Map();
      for (const id of this.btf.ids()) {
        const t = this.btf.kindOf(id) === "enum" ? this.btf.type(id) : undefined;
        if (t?.kind !== "enum") continue;
        for (const v of t.values) if (!this.#enumerators.has(v.name)) this.#enumerators.set(v.name, BigInt(v.value));
      }
    }
    return this.#enumerators.get(name);
  }
  #enumerators: Map<string, bigint> | undefined;

  /** The BTF id of a named struct/union, or undefined. */
  find(name: string, kind: "struct" | "union"): number | undefined {
    const ids = this.btf.find(name, kind);
    return ids[0];
  }

  /** Size in bytes of a struct/union. */
  sizeOf(id: number): number {
    return this.btf.sizeof(id);
  }

  /** Resolves member `name` of struct/union `id`, searching anonymous members. */
  member(id: number, name: string): KernelMember | undefined {
    const found = this.#search(id, name, 0);
    if (!found) return undefined;
    const { chain, offsetBits, memberType, bitfield, bitSize } = found;
    // Local type: mirror the chain of (anonymous) members into local structs.
    let local = this.local(id);
    const path: number[] = [];
    for (let i = 0; i < chain.length; i++) {
      const { member } = chain[i]!;
      const idx = this.#localMember(local, member.name, () => this.#localType(member.type), member.bitOffset, i + 1 === chain.length ? bitSize : 0);
      path.push(idx);
      if (i + 1 < chain.length) local = this.local(this.btf.resolve(member.type));
    }
    const tid = this.btf.resolve(memberType);
    return { offset: Math.floor(offsetBits / 8), size: bitfield ? 0 : this.btf.sizeof(tid), path, kind: this.#kindOf(tid), bitfield, bitOffset: offsetBits, bitSize };
  }

  #search(id: number, name: string, baseBits: number): { chain: { member: { name: string; type: number; bitOffset: number }; parentId: number }[]; offsetBits: number; memberType: number; bitfield: boolean; bitSize: number } | undefined {
    const t = this.btf.type(this.btf.resolve(id));
    if (t.kind !== "struct" && t.kind !== "union") return undefined;
    for (const m of t.members) {
      if (m.name === name) return { chain: [{ member: m, parentId: t.id }], offsetBits: baseBits + m.bitOffset, memberType: m.type, bitfield: m.bitfieldSize !== 0, bitSize: m.bitfieldSize };
    }
    for (const m of t.members) {
      if (m.name !== "") continue;
      const inner = this.#search(m.type, name, baseBits + m.bitOffset);
      if (inner) return { ...inner, chain: [{ member: m, parentId: t.id }, ...inner.chain] };
    }
    return undefined;
  }

  /** What kernel type `id` (typedefs and qualifiers followed) is, for code generation. */
  typeKind(id: number): KernelMemberKind {
    return this.#kindOf(this.btf.resolve(id));
  }

  #kindOf(id: number): KernelMemberKind {
    const t = this.btf.type(id);
    switch (t.kind) {
      case "int":
        if (t.name === "_Bool") return { k: "bool" };
        return { k: "int", ty: { k: "int", bits: (Math.min(8, Math.max(1, t.size)) * 8) as 8 | 16 | 32 | 64, signed: t.signed } };
      case "enum":
        return { k: "int", ty: { k: "int", bits: (t.size * 8) as 8 | 16 | 32 | 64, signed: t.signed } };
      case "ptr": {
        const target = this.btf.type(this.btf.resolve(t.type));
        if (target.kind === "struct" || target.kind === "union") return { k: "ptr", target: { name: target.name, btfKind: target.kind } };
        if (target.kind === "fwd") return { k: "ptr", target: { name: target.name, btfKind: target.fwdKind } };
        return { k: "ptr", target: undefined };
      }
      case "struct":
      case "union":
        return { k: "struct", name: t.name, btfKind: t.kind, id: t.id };
      case "array": {
        const e = this.btf.type(this.btf.resolve(t.elemType));
        const esize = e.kind === "int" || e.kind === "enum" ? e.size : 0;
        if ((esize === 1 || esize === 2 || esize === 4 || esize === 8) && t.nelems > 0) {
          const signed = (e as { signed: boolean }).signed;
          return { k: "array", size: this.btf.sizeof(id), elem: { k: "int", bits: (esize * 8) as 8 | 16 | 32 | 64, signed }, count: t.nelems };
        }
        return { k: "array", size: this.btf.sizeof(id) };
      }
      default:
        return { k: "other" };
    }
  }

  /** The local (object BTF) struct for kernel type `id`, members added as they are accessed. */
  local(id: number): CType {
    const rid = this.btf.resolve(id);
    let s = this.#locals.get(rid);
    if (!s) {
      const t = this.btf.type(rid);
      const kind = t.kind === "union" ? "union" : "struct";
      s = { kind, ...(t.name ? { name: t.name } : {}), size: this.btf.sizeof(rid), members: [] };
      this.#locals.set(rid, s);
      this.#memberIndex.set(s, new Map());
    }
    return s as CType;
  }

  /**
   * A CO-RE relocation record for `path` (local member indices from {@link member}, possibly several
   * hops through embedded members) starting at kernel type `rootId`. The access string is final after
   * {@link finalize} (members are sorted by offset then, as BTF requires).
   */
  coreAccess(kind: CoreKind, rootId: number, path: readonly number[]): CoreAccess {
    const root = this.local(rootId) as MutableStruct;
    const chain: MutableStruct[] = [root];
    let cur: MutableStruct = root;
    for (let i = 0; i + 1 < path.length; i++) {
      const next = cur.members[path[i]!]!.type;
      cur = next as MutableStruct;
      chain.push(cur);
    }
    const access = { kind, root: root as CType, access: ["0", ...path].join(":") };
    this.#accesses.push({ access, chain, path: [...path] });
    return access;
  }

  /** Sorts local members by offset and rewrites the access strings handed out. */
  finalize(): void {
    const remap = new Map<MutableStruct, number[]>();
    for (const s of this.#memberIndex.keys()) {
      const order = s.members.map((m, i) => ({ m, i })).sort((a, b) => a.m.bitOffset - b.m.bitOffset || a.i - b.i);
      const map: number[] = [];
      order.forEach((o, newIndex) => (map[o.i] = newIndex));
      s.members.splice(0, s.members.length, ...order.map((o) => o.m));
      remap.set(s, map);
      const index = this.#memberIndex.get(s)!;
      for (const [k, v] of index) index.set(k, map[v]!);
    }
    for (const a of this.#accesses) {
      a.path = a.path.map((idx, i) => remap.get(a.chain[i]!)?.[idx] ?? idx);
      a.chain = [];
      a.access.access = ["0", ...a.path].join(":");
    }
    this.#accesses.length = 0;
  }

  #localMember(local: CType, name: string, type: () => CType, bitOffset: number, bitSize = 0): number {
    const s = local as MutableStruct;
    const index = this.#memberIndex.get(s)!;
    const key = name === "" ? `#anon@${bitOffset}` : name;
    const have = index.get(key);
    if (have !== undefined) return have;
    // Keep members sorted by offset, as BTF consumers expect; indices are final once emitted, so append.
    s.members.push({ name, type: type(), bitOffset, ...(bitSize ? { bitSize } : {}) });
    index.set(key, s.members.length - 1);
    return s.members.length - 1;
  }

  #localType(id: number, depth = 0): CType {
    const t = this.btf.type(id);
    switch (t.kind) {
      case "int":
        return { kind: "int", name: t.name, size: Math.min(16, Math.max(1, t.size)) as 1 | 2 | 4 | 8 | 16, signed: t.signed, ...(t.name === "_Bool" ? { bool: true } : {}), ...(t.char ? { char: true } : {}) };
      case "enum":
        return { kind: "int", name: t.signed ? "int" : "unsigned int", size: t.size as 1 | 2 | 4 | 8, signed: t.signed };
      case "ptr": {
        const target = this.btf.type(this.btf.resolve(t.type));
        if (target.kind === "struct" || target.kind === "union") {
          return { kind: "ptr", target: target.name ? { kind: "fwd", name: target.name, ...(target.kind === "union" ? { union: true } : {}) } : { kind: "void" } };
        }
        return { kind: "ptr", target: { kind: "void" } };
      }
      case "struct":
      case "union":
        return this.local(t.id);
      case "array":
        return depth > 4 ? { kind: "array", element: { kind: "int", name: "char", size: 1, signed: true, char: true }, length: this.btf.sizeof(id) } : { kind: "array", element: this.#localType(t.elemType, depth + 1), length: t.nelems };
      case "typedef":
      case "const":
      case "volatile":
      case "restrict":
      case "type_tag":
        return this.#localType(t.type, depth + 1);
      default:
        return { kind: "array", element: { kind: "int", name: "char", size: 1, signed: true, char: true }, length: Math.max(1, this.btf.sizeof(id)) };
    }
  }
}
