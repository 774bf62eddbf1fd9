// Turns the front end's C-level types (CType) into BTF type records, deduplicated: equal types share
// one id (structurally, and by object identity for structs, which also makes self-referencing structs work).

import type { BtfTypeSpec } from "../../btf/writer.js";
import { BtfBuilder } from "../../btf/writer.js";
import type { CType } from "../module.js";
import { emitError } from "./errors.js";

/** A C identifier, as the kernel requires for names of structs, members, typedefs, functions and variables. */
export const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The `int` type libbpf's map-definition convention (`__uint`) uses. */
export const C_INT: CType = { kind: "int", name: "int", size: 4, signed: true };

const MAX_DEPTH = 256;

function keyOf(spec: BtfTypeSpec): string {
  return JSON.stringify(spec, (_k, v: unknown) => (typeof v === "bigint" ? `${v}n` : v));
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null;
}

function isCount(n: unknown, max = 0xffffffff): n is number {
  return typeof n === "number" && Number.isInteger(n) && n >= 0 && n <= max;
}

/**
 * The BTF types of one object being written. Ids are assigned in insertion order starting at 1;
 * {@link build} hands them to a BtfBuilder. Every method validates its input and throws EmitError
 * (`EMIT_BAD_TYPE`) on a malformed CType.
 */
export class BtfTypeTable {
  readonly #specs: (BtfTypeSpec | undefined)[] = [];
  readonly #byKey = new Map<string, number>();
  readonly #byObject = new Map<CType, number>();
  readonly #building = new Set<CType>();
  /** Structs reached again while their members were being resolved (self reference): id reserved early. */
  readonly #reserved = new Map<CType, number>();
  #arraySize: number | undefined;

  /** Number of types (without void). */
  get count(): number {
    return this.#specs.length;
  }

  /** Add a type, reusing an existing id for an identical record. */
  add(spec: BtfTypeSpec): number {
    const key = keyOf(spec);
    const known = this.#byKey.get(key);
    if (known !== undefined) return known;
    this.#specs.push(spec);
    const id = this.#specs.length;
    this.#byKey.set(key, id);
    return id;
  }

  /** Add a type that must get its own id (FUNC, VAR, DATASEC). */
  addUnique(spec: BtfTypeSpec): number {
    this.#specs.push(spec);
    return this.#specs.length;
  }

  /** The id of `__ARRAY_SIZE_TYPE__`, clang's index type for arrays. */
  arrayIndexType(): number {
    this.#arraySize ??= this.add({ kind: "int", name: "__ARRAY_SIZE_TYPE__", size: 4, signed: false, char: false, bool: false, bitOffset: 0, bits: 32 });
    return this.#arraySize;
  }

  /** The BTF id of a CType (0 for void). `where` names the user of the type for error messages. */
  ctype(t: CType, where: string): number {
    return this.#ctype(t, where, 0);
  }

  #ctype(t: CType, where: string, depth: number): number {
    const bad = (why: string) => emitError("EMIT_BAD_TYPE", `${where}: ${why}`);
    if (!isObject(t) || typeof t.kind !== "string") throw bad(`type ${describe(t)} is not a CType`);
    if (depth > MAX_DEPTH) throw bad(`type nests deeper than ${MAX_DEPTH} levels (a cycle that does not pass through a struct?)`);
    const known = this.#byObject.get(t);
    if (known !== undefined) return known;
    if (this.#building.has(t)) {
      if (t.kind !== "struct" && t.kind !== "union") throw bad(`${t.kind} type refers to itself without passing through a struct`);
      let id = this.#reserved.get(t);
      if (id === undefined) {
        this.#specs.push(undefined);
        id = this.#specs.length;
        this.#reserved.set(t, id);
      }
      return id;
    }
    this.#building.add(t);
    try {
      const id = this.#convert(t, where, depth, bad);
      this.#byObject.set(t, id);
      return id;
    } finally {
      this.#building.delete(t);
    }
  }

  #convert(t: CType, where: string, depth: number, bad: (why: string) => Error): number {
    const sub = (x: CType, what: string) => this.#ctype(x, `${where}: ${what}`, depth + 1);
    switch (t.kind) {
      case "void":
        return 0;
      case "int": {
        if (typeof t.name !== "string" || t.name === "") throw bad("int type has no name");
        if (![1, 2, 4, 8, 16].includes(t.size)) throw bad(`int "${t.name}" has size ${String(t.size)} (must be 1, 2, 4, 8 or 16)`);
        if (t.bool && t.size !== 1) throw bad(`bool "${t.name}" must have size 1, not ${t.size}`);
        // The kernel accepts one encoding bit at most: bool, else signed, else char.
        const bool = t.bool === true;
        const signed = !bool && t.signed === true;
        const char = !bool && !signed && t.char === true;
        return this.add({ kind: "int", name: t.name, size: t.size, signed, char, bool, bitOffset: 0, bits: t.size * 8 });
      }
      case "ptr":
        return this.add({ kind: "ptr", name: "", type: sub(t.target, "pointee") });
      case "array": {
        if (!isCount(t.length)) throw bad(`array length ${String(t.length)} is not a count`);
        const elem = sub(t.element, "array element");
        if (elem === 0) throw bad("array of void");
        return this.add({ kind: "array", name: "", elemType: elem, indexType: this.arrayIndexType(), nelems: t.length });
      }
      case "struct":
      case "union": {
        const name = t.name ?? "";
        if (name !== "" && !IDENTIFIER.test(name)) throw bad(`${t.kind} name ${JSON.stringify(name)} is not an identifier`);
        if (!isCount(t.size)) throw bad(`${t.kind} "${name}" has size ${String(t.size)}`);
        if (!Array.isArray(t.members)) throw bad(`${t.kind} "${name}" has no member list`);
        const members = t.members.map((m, i) => {
          if (typeof m !== "object" || m === null) throw bad(`${t.kind} "${name}" member ${i} is not a member`);
          const mname = m.name ?? "";
          if (typeof mname !== "string" || (mname !== "" && !IDENTIFIER.test(mname))) throw bad(`${t.kind} "${name}" member ${i} name ${JSON.stringify(mname)} is not an identifier`);
          if (!isCount(m.bitOffset)) throw bad(`${t.kind} "${name}" member "${mname}" has bit offset ${String(m.bitOffset)}`);
          const bits = m.bitSize ?? 0;
          if (!isCount(bits, 255)) throw bad(`${t.kind} "${name}" member "${mname}" has bitfield size ${String(bits)}`);
          const type = sub(m.type, `member "${mname}"`);
          const width = bits > 0 ? bits : this.sizeOf(m.type, `${where}: member "${mname}"`) * 8;
          if (m.bitOffset + width > t.size * 8) {
            throw bad(`${t.kind} "${name}" member "${mname}" (bits ${m.bitOffset}..${m.bitOffset + width}) lies outside its ${t.size} bytes`);
          }
          return { name: mname, type, bitOffset: m.bitOffset, bitfieldSize: bits };
        });
        const spec: BtfTypeSpec = { kind: t.kind, name, size: t.size, members };
        const reserved = this.#reserved.get(t);
        if (reserved !== undefined) {
          this.#specs[reserved - 1] = spec;
          this.#reserved.delete(t);
          return reserved;
        }
        return this.add(spec);
      }
      case "fwd":
        if (typeof t.name !== "string" || !IDENTIFIER.test(t.name)) throw bad(`forward declaration name ${JSON.stringify(t.name)} is not an identifier`);
        return this.add({ kind: "fwd", name: t.name, fwdKind: t.union ? "union" : "struct" });
      case "enum": {
        const name = t.name ?? "";
        if (name !== "" && !IDENTIFIER.test(name)) throw bad(`enum name ${JSON.stringify(name)} is not an identifier`);
        if (![1, 2, 4, 8].includes(t.size)) throw bad(`enum "${name}" has size ${String(t.size)} (must be 1, 2, 4 or 8)`);
        if (!Array.isArray(t.values)) throw bad(`enum "${name}" has no value list`);
        const is64 = t.size === 8;
        const lo = is64 ? -(2n ** 63n) : -(2n ** 31n);
        const hi = is64 ? 2n ** 64n : 2n ** 32n;
        const values = t.values.map((v) => {
          if (!isObject(v) || typeof v.name !== "string" || !IDENTIFIER.test(v.name)) throw bad(`enum "${name}" has a value without an identifier name`);
          if (typeof v.value !== "bigint" || v.value < lo || v.value >= hi) throw bad(`enum "${name}" value ${v.name} = ${String(v.value)} does not fit ${is64 ? 64 : 32} bits`);
          return { name: v.name, value: v.value };
        });
        return this.add({ kind: "enum", name, size: t.size, signed: t.signed === true, is64, values });
      }
      case "typedef":
        if (typeof t.name !== "string" || !IDENTIFIER.test(t.name)) throw bad(`typedef name ${JSON.stringify(t.name)} is not an identifier`);
        return this.add({ kind: "typedef", name: t.name, type: sub(t.target, `typedef "${t.name}"`) });
      case "func_proto": {
        if (!Array.isArray(t.params)) throw bad("function prototype has no parameter list");
        const returnType = sub(t.returns, "return type");
        const params = t.params.map((p, i) => {
          if (typeof p !== "object" || p === null) throw bad(`parameter ${i} is not a parameter`);
          const pname = p.name ?? "";
          if (typeof pname !== "string" || (pname !== "" && !IDENTIFIER.test(pname))) throw bad(`parameter ${i} name ${JSON.stringify(pname)} is not an identifier`);
          const type = sub(p.type, `parameter "${pname || i}"`);
          if (type === 0) throw bad(`parameter "${pname || i}" has type void`);
          return { name: pname, type };
        });
        if (t.variadic) params.push({ name: "", type: 0 });
        return this.add({ kind: "func_proto", name: "", returnType, params });
      }
      default:
        throw bad(`unknown type kind ${JSON.stringify((t as { kind: unknown }).kind)}`);
    }
  }

  /** Size in bytes of a CType (void, forward declarations and prototypes have none). */
  sizeOf(t: CType, where: string, depth = 0): number {
    const bad = (why: string) => emitError("EMIT_BAD_TYPE", `${where}: ${why}`);
    if (!isObject(t)) throw bad(`type ${describe(t)} is not a CType`);
    if (depth > MAX_DEPTH) throw bad(`type nests deeper than ${MAX_DEPTH} levels`);
    switch (t.kind) {
      case "int":
      case "enum":
      case "struct":
      case "union":
        if (!isCount(t.size)) throw bad(`${t.kind} has size ${String(t.size)}`);
        return t.size;
      case "ptr":
        return 8;
      case "array": {
        if (!isCount(t.length)) throw bad(`array length ${String(t.length)} is not a count`);
        return t.length * this.sizeOf(t.element, where, depth + 1);
      }
      case "typedef":
        return this.sizeOf(t.target, where, depth + 1);
      case "void":
      case "fwd":
      case "func_proto":
        throw bad(`a ${t.kind} type has no size`);
      default:
        throw bad(`unknown type kind ${JSON.stringify((t as { kind: unknown }).kind)}`);
    }
  }

  /** A BtfBuilder holding every type in id order (for .BTF and for interning .BTF.ext strings). */
  build(): BtfBuilder {
    const b = new BtfBuilder();
    this.#specs.forEach((s, i) => {
      if (!s) throw emitError("EMIT_BAD_TYPE", `BTF type ${i + 1} was reserved but never defined`);
      b.add(s);
    });
    return b;
  }
}

function describe(x: unknown): string {
  try {
    return JSON.stringify(x) ?? String(x);
  } catch {
    return String(x);
  }
}
