// Global variables of an object by name: set .data/.bss/.rodata initial values in the spec before load,
// and read/write .data/.bss live (through the mmap'd data map; .rodata reads only) after load.

import type { Btf } from "../../btf/btf.js";
import { GlobalError, MapError, TsbpfError } from "../../errors.js";
import type { CollectionSpec, MapSpec, VariableSpec } from "../../object/spec.js";
import { bool, bytes, i16, i32, i64, i8, u16, u32, u64, u8, type Layout } from "../../types/index.js";
import type { BpfMap } from "../map.js";

type AnyLayout = Layout<any, any, unknown>;

/** Layout of a variable from its BTF type: integers, bools and enums as scalars, anything else as bytes. */
export function layoutFromBtf(btf: Btf | undefined, typeId: number, size: number): AnyLayout {
  if (btf) {
    const t = btf.type(btf.resolve(typeId));
    if (t.kind === "int") {
      if (t.bool && t.size === 1) return bool;
      const table: Record<number, [AnyLayout, AnyLayout]> = { 1: [u8, i8], 2: [u16, i16], 4: [u32, i32], 8: [u64, i64] };
      const pair = table[t.size];
      if (pair && t.bits === t.size * 8) return t.signed ? pair[1] : pair[0];
    }
    if (t.kind === "enum") {
      const table: Record<number, [AnyLayout, AnyLayout]> = { 1: [u8, i8], 2: [u16, i16], 4: [u32, i32], 8: [u64, i64] };
      const pair = table[t.size];
      if (pair) return t.signed ? pair[1] : pair[0];
    }
  }
  return bytes(size);
}

function findVariable(spec: CollectionSpec, name: string, op: string): VariableSpec {
  const v = spec.variables.get(name);
  if (!v) {
    const names = [...spec.variables.keys()];
    throw new TsbpfError("NOT_FOUND", `${op} variable "${name}": object "${spec.name}" has no such global (globals: ${names.join(", ") || "none"})`);
  }
  return v;
}

function checkLayout(v: VariableSpec, layout: AnyLayout, op: string): void {
  if (layout.size !== v.size)
    throw new MapError("BAD_LAYOUT", v.map, `${op} variable "${v.name}"`, `the layout is ${layout.size} bytes, the variable is ${v.size}`);
}

/**
 * Set a global variable's initial value in a spec, before loading it: `const volatile` (.rodata)
 * configuration, or .data/.bss starting values. Changes the spec in place. Without a layout the
 * variable's BTF type decides (integers; others take raw bytes).
 *
 * @example
 * const spec = readCollectionSpec(bytes);
 * setVariable(spec, "cfg_base", 5000);           // const volatile __u32 cfg_base
 * using coll = loadCollection(spec);
 */
export function setVariable<T, I>(spec: CollectionSpec, name: string, value: I, layout?: Layout<T, I, unknown>): void {
  const v = findVariable(spec, name, "set");
  const map = spec.maps.get(v.map);
  if (!map?.data) throw new MapError("NO_DATA", v.map, `set variable "${name}"`, "the data map has no initial contents to edit");
  const l: AnyLayout = layout ?? layoutFromBtf(spec.btf, v.btfTypeId, v.size);
  checkLayout(v, l, "set");
  try {
    const scratch = new Uint8Array(v.size);
    l.encode(value, scratch, 0);
    map.data.set(scratch, v.offset);
  } catch (e) {
    throw new MapError("BAD_VALUE", v.map, `set variable "${name}"`, `cannot encode value: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * A value for one global variable in the `globals` load option: a number or bigint for integers and
 * enums (an enumerator's name works too), a boolean for `bool`, a string for a `char` array (it must
 * fit with its NUL), and a Uint8Array of exactly the variable's size for anything else (structs, arrays).
 */
export type GlobalValue = number | bigint | boolean | string | Uint8Array;

/** Encodes `value` as the variable `v`'s BTF type says, checking ranges and sizes. */
export function encodeGlobal(spec: CollectionSpec, v: VariableSpec, value: GlobalValue): Uint8Array {
  const fail = (code: string, message: string): never => {
    throw new GlobalError(code, spec.name, v.name, message);
  };
  const out = new Uint8Array(v.size);
  const btf = spec.btf;
  const t = btf?.type(btf.resolve(v.btfTypeId));
  const typeName = btf ? btf.toString(v.btfTypeId) : `${v.size} bytes`;
  if (value instanceof Uint8Array) {
    if (value.length !== v.size) fail("GLOBAL_SIZE", `${value.length} bytes given, the variable (${typeName}) is ${v.size} bytes`);
    out.set(value);
    return out;
  }
  const integer = (n: bigint, size: number, signed: boolean): Uint8Array => {
    const bits = BigInt(size * 8);
    const min = signed ? -(1n << (bits - 1n)) : 0n;
    const max = signed ? (1n << (bits - 1n)) - 1n : (1n << bits) - 1n;
    if (n < min || n > max) fail("GLOBAL_RANGE", `${n} is outside ${typeName} (${min}..${max})`);
    const u = BigInt.asUintN(size * 8, n);
    for (let i = 0; i < size; i++) out[i] = Number((u >> BigInt(8 * i)) & 0xffn);
    return out;
  };
  const toBigInt = (x: GlobalValue): bigint => {
    if (typeof x === "bigint") return x;
    if (typeof x === "number") {
      if (!Number.isSafeInteger(x)) fail("GLOBAL_RANGE", `${x} is not a safe integer (use a bigint for 64-bit values)`);
      return BigInt(x);
    }
    return fail("GLOBAL_TYPE", `expected a number or bigint for ${typeName}, got ${typeof x === "string" ? `"${x}"` : typeof x}`);
  };
  if (t?.kind === "int" && t.size === v.size && t.size <= 8) {
    if (t.bool) {
      if (typeof value === "boolean") return integer(value ? 1n : 0n, t.size, false);
      const n = toBigInt(value);
      if (n !== 0n && n !== 1n) fail("GLOBAL_RANGE", `${n} is not a bool (use true/false, 0 or 1)`);
      return integer(n, t.size, false);
    }
    if (typeof value === "boolean") fail("GLOBAL_TYPE", `expected a number or bigint for ${typeName}, got boolean`);
    return integer(toBigInt(value), t.size, t.signed);
  }
  if (t?.kind === "enum" && t.size === v.size) {
    if (typeof value === "string") {
      const e = t.values.find((x) => x.name === value);
      if (!e) fail("GLOBAL_RANGE", `"${value}" is not an enumerator of ${typeName} (${t.values.map((x) => x.name).join(", ")})`);
      return integer(e!.value, t.size, t.signed || e!.value < 0n);
    }
    if (typeof value === "boolean") fail("GLOBAL_TYPE", `expected a number, bigint or enumerator name for ${typeName}, got boolean`);
    return integer(toBigInt(value), t.size, t.signed);
  }
  if (t?.kind === "array" && typeof value === "string") {
    const elem = btf!.type(btf!.resolve(t.elemType));
    if (elem.kind === "int" && elem.size === 1) {
      const bytes = new TextEncoder().encode(value);
      if (bytes.length + 1 > v.size) fail("GLOBAL_SIZE", `"${value}" is ${bytes.length} bytes and a NUL; ${typeName} holds ${v.size}`);
      out.set(bytes);
      return out;
    }
  }
  return fail("GLOBAL_TYPE", `${typeName} is set from a Uint8Array of ${v.size} bytes, got ${typeof value === "string" ? "a string" : typeof value}`);
}

/**
 * A copy of `spec` with the initial values of the named global variables replaced (.rodata, .data and
 * .bss alike); `spec` itself is left unchanged, so it can be loaded again with other values. Each value
 * is encoded by the variable's BTF type ({@link GlobalValue}); problems throw a {@link GlobalError}.
 *
 * @example
 * loadCollection(withGlobals(spec, { target_pid: 42 }));
 */
export function withGlobals(spec: CollectionSpec, globals: Readonly<Record<string, GlobalValue>>): CollectionSpec {
  const entries = Object.entries(globals);
  if (entries.length === 0) return spec;
  const data = new Map<string, Uint8Array>();
  for (const [name, value] of entries) {
    const v = spec.variables.get(name);
    if (!v) {
      const fail = (what: string) => {
        throw new GlobalError("GLOBAL_NOT_VARIABLE", spec.name, name, `"${name}" is ${what}, not a global variable; only .rodata/.data/.bss variables can be set (globals: ${[...spec.variables.keys()].join(", ") || "none"})`);
      };
      if (spec.maps.has(name)) fail("a map");
      if (spec.programs.has(name)) fail("a program");
      if (spec.kconfig.some((k) => k.name === name)) fail("a .kconfig extern (the loader fills it from the kernel's configuration)");
      if (spec.ksyms.some((k) => k.name === name)) fail("a .ksyms extern (the loader resolves it in the kernel)");
      throw new GlobalError("GLOBAL_UNKNOWN", spec.name, name, `no such global variable (globals: ${[...spec.variables.keys()].join(", ") || "none"})`);
    }
    const map = spec.maps.get(v.map);
    if (!map) throw new GlobalError("GLOBAL_NOT_VARIABLE", spec.name, name, `its section "${v.map}" has no data map`);
    let bytes = data.get(v.map);
    if (!bytes) {
      bytes = new Uint8Array(map.valueSize);
      if (map.data) bytes.set(map.data.subarray(0, map.valueSize));
      data.set(v.map, bytes);
    }
    bytes.set(encodeGlobal(spec, v, value), v.offset);
  }
  const maps = new Map<string, MapSpec>(spec.maps);
  for (const [name, bytes] of data) maps.set(name, { ...spec.maps.get(name)!, data: bytes });
  return { ...spec, maps };
}

/** Read a global's initial value from a spec. */
export function getVariable<T>(spec: CollectionSpec, name: string, layout?: Layout<T, any, unknown>): T {
  const v = findVariable(spec, name, "get");
  const map = spec.maps.get(v.map);
  const l: AnyLayout = layout ?? layoutFromBtf(spec.btf, v.btfTypeId, v.size);
  checkLayout(v, l, "get");
  return l.decode(map?.data ?? new Uint8Array(v.offset + v.size), v.offset) as T;
}

/**
 * A global variable of a loaded object. Reads and writes go straight to the data map's memory
 * mapping (no syscalls) when the map is mmapable, else through lookup/update of its single element.
 * `.rodata` variables are read-only after load (the map is frozen).
 *
 * @example
 * const hits = coll.variable("bss_counter");   // __u32 → number
 * coll.program("global_sum").testRun({ data });
 * hits.get(); // 1
 * coll.variable("data_counter").set(0);
 */
export class GlobalVariable<T, I = T> {
  readonly name: string;
  readonly spec: VariableSpec;
  readonly map: BpfMap;
  readonly layout: Layout<T, I, unknown>;
  #bytes: Uint8Array | undefined;

  constructor(spec: VariableSpec, map: BpfMap, layout: Layout<T, I, unknown>) {
    checkLayout(spec, layout as AnyLayout, "open");
    this.name = spec.name;
    this.spec = spec;
    this.map = map;
    this.layout = layout;
  }

  /** True when writes are refused (.rodata, or a frozen map). */
  get readonly(): boolean {
    return this.spec.readonly || (this.#live() !== undefined && !this.map.mmapWritable);
  }

  /** The variable's bytes inside the mapping, or undefined when the map cannot be mapped. */
  #live(): Uint8Array | undefined {
    if (this.#bytes && this.#bytes.buffer.byteLength > 0) return this.#bytes;
    if (!(this.map.flags & 0x400)) return undefined;
    const buf = this.map.mmap();
    this.#bytes = new Uint8Array(buf, this.spec.offset, this.spec.size);
    return this.#bytes;
  }

  /** The current value. */
  get(): T {
    const live = this.#live();
    if (live) return this.layout.decode(live, 0);
    const raw = this.map.getRaw(new Uint8Array(4));
    if (!raw) throw new MapError("NO_DATA", this.map.name, `read variable "${this.name}"`, "the data map has no element 0");
    return this.layout.decode(raw, this.spec.offset);
  }

  /** Write a new value (visible to the programs at once). */
  set(value: I): void {
    const op = `write variable "${this.name}"`;
    if (this.spec.readonly) throw new MapError("MAP_READ_ONLY", this.map.name, op, "the variable is const (.rodata is frozen after load; use setVariable on the spec before loading)");
    const scratch = new Uint8Array(this.spec.size);
    try {
      this.layout.encode(value, scratch, 0);
    } catch (e) {
      throw new MapError("BAD_VALUE", this.map.name, op, `cannot encode value: ${(e as Error).message}`, { cause: e });
    }
    const live = this.#live();
    if (live) {
      if (!this.map.mmapWritable) throw new MapError("MAP_READ_ONLY", this.map.name, op, "the data map is mapped read-only");
      live.set(scratch);
      return;
    }
    const key = new Uint8Array(4);
    const raw = this.map.getRaw(key);
    if (!raw) throw new MapError("NO_DATA", this.map.name, op, "the data map has no element 0");
    raw.set(scratch, this.spec.offset);
    this.map.setRaw(key, raw);
  }

  /** A live accessor (the layout's view) onto the variable's memory; needs an mmapable data map. */
  view(): unknown {
    const live = this.#live();
    if (!live) throw new MapError("MAP_NOT_MMAPABLE", this.map.name, `view variable "${this.name}"`, "the data map is not mmapable");
    return this.layout.view(live.buffer, live.byteOffset);
  }
}

/** The live variable `name` of a loaded object whose spec is `spec` and maps are `maps`. */
export function openVariable<T, I>(spec: CollectionSpec, map: (name: string) => BpfMap, name: string, layout?: Layout<T, I, unknown>): GlobalVariable<T, I> {
  const v = findVariable(spec, name, "open");
  const l = (layout ?? layoutFromBtf(spec.btf, v.btfTypeId, v.size)) as Layout<T, I, unknown>;
  return new GlobalVariable(v, map(v.map), l);
}
