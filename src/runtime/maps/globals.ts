// Global variables of an object by name: set .data/.bss/.rodata initial values in the spec before load,
// and read/write .data/.bss live (through the mmap'd data map; .rodata reads only) after load.

import type { Btf } from "../../btf/btf.js";
import { MapError, TsbpfError } from "../../errors.js";
import type { CollectionSpec, VariableSpec } from "../../object/spec.js";
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
