// BTF-defined map definitions for `.maps`, in libbpf's convention: an anonymous struct whose members
// encode numbers as `int (*name)[N]` (__uint) and types as `T *name` (__type), one VAR per map.

import { MAP_TYPE } from "../../sys/constants.js";
import type { CompiledMap } from "../module.js";
import { C_INT, IDENTIFIER, type BtfTypeTable } from "./btf-types.js";
import { emitError } from "./errors.js";

/** libbpf's LIBBPF_PIN_BY_NAME. */
const PIN_BY_NAME = 1;

/** One map's definition in `.maps`: its BTF struct and size (8 bytes per member). */
export interface MapDefinition {
  readonly name: string;
  /** BTF id of the anonymous definition struct. */
  readonly structId: number;
  readonly size: number;
}

const OF_MAPS = new Set(["array_of_maps", "hash_of_maps"]);

function u32(map: CompiledMap, field: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw emitError("EMIT_BAD_MAP", `map "${map.name}": ${field} ${String(v)} is not a 32-bit unsigned integer`);
  }
  return v;
}

/**
 * Build the definition struct of a map (and, for maps of maps, of its inner template). Validates the
 * map: known type, integer fields, key/value given as types or sizes (not conflicting), inner map only
 * for array/hash of maps.
 */
export function mapDefinition(table: BtfTypeTable, map: CompiledMap, inner = false): MapDefinition {
  const where = `map "${String(map?.name)}"`;
  if (typeof map !== "object" || map === null) throw emitError("EMIT_BAD_MAP", `${where} is not a map description`);
  if (!inner && (typeof map.name !== "string" || !IDENTIFIER.test(map.name))) {
    throw emitError("EMIT_BAD_NAME", `map name ${JSON.stringify(map.name)} is not an identifier`);
  }
  const typeKey = typeof map.type === "string" ? map.type.toUpperCase() : "";
  const typeNumber = Object.hasOwn(MAP_TYPE, typeKey) ? (MAP_TYPE as Record<string, number>)[typeKey] : undefined;
  if (typeNumber === undefined || typeKey === "UNSPEC") throw emitError("EMIT_BAD_MAP", `${where}: unknown map type ${JSON.stringify(map.type)}`);

  const members: { name: string; type: number }[] = [];
  const int = table.ctype(C_INT, where);
  const uint = (name: string, value: number) => {
    const arr = table.add({ kind: "array", name: "", elemType: int, indexType: table.arrayIndexType(), nelems: value });
    members.push({ name, type: table.add({ kind: "ptr", name: "", type: arr }) });
  };
  const typed = (name: string, t: NonNullable<CompiledMap["key"]>, size: number | undefined) => {
    const bytes = table.sizeOf(t, `${where}: ${name}`);
    if (size !== undefined && u32(map, `${name}Size`, size) !== bytes) {
      throw emitError("EMIT_BAD_MAP", `${where}: ${name} type is ${bytes} bytes but ${name}Size says ${size}`);
    }
    members.push({ name, type: table.add({ kind: "ptr", name: "", type: table.ctype(t, `${where}: ${name}`) }) });
  };

  uint("type", typeNumber);
  if (map.key !== undefined) typed("key", map.key, map.keySize);
  else if (map.keySize !== undefined) uint("key_size", u32(map, "keySize", map.keySize));
  if (map.value !== undefined) typed("value", map.value, map.valueSize);
  else if (map.valueSize !== undefined) uint("value_size", u32(map, "valueSize", map.valueSize));
  if (map.maxEntries !== undefined) uint("max_entries", u32(map, "maxEntries", map.maxEntries));
  if (map.flags !== undefined && map.flags !== 0) uint("map_flags", u32(map, "flags", map.flags));
  if (map.numaNode !== undefined) uint("numa_node", u32(map, "numaNode", map.numaNode));
  if (map.pinning !== undefined && map.pinning !== "none") {
    if (map.pinning !== "by_name") throw emitError("EMIT_BAD_MAP", `${where}: unknown pinning ${JSON.stringify(map.pinning)}`);
    if (inner) throw emitError("EMIT_BAD_MAP", `${where}: an inner map template cannot be pinned`);
    uint("pinning", PIN_BY_NAME);
  }
  if (map.mapExtra !== undefined && map.mapExtra !== 0n) {
    if (typeof map.mapExtra !== "bigint" || map.mapExtra < 0n || map.mapExtra > 0xffffffffn) {
      throw emitError("EMIT_BAD_MAP", `${where}: mapExtra ${String(map.mapExtra)} must fit in 32 bits`);
    }
    uint("map_extra", Number(map.mapExtra));
  }
  // The trailing `values` array takes no space.
  const size = members.length * 8;
  if (map.inner !== undefined) {
    if (!OF_MAPS.has(map.type)) throw emitError("EMIT_BAD_MAP", `${where}: only array_of_maps and hash_of_maps have an inner map, not ${map.type}`);
    if (inner) throw emitError("EMIT_BAD_MAP", `${where}: an inner map cannot itself hold maps`);
    const innerDef = mapDefinition(table, map.inner, true);
    const ptr = table.add({ kind: "ptr", name: "", type: innerDef.structId });
    // `struct inner *values[]`: a zero-length array after the other members.
    members.push({ name: "values", type: table.add({ kind: "array", name: "", elemType: ptr, indexType: table.arrayIndexType(), nelems: 0 }) });
  } else if (OF_MAPS.has(map.type)) {
    throw emitError("EMIT_BAD_MAP", `${where}: a ${map.type} needs an inner map template`);
  }
  const structId = table.add({
    kind: "struct", name: "", size,
    members: members.map((m, i) => ({ name: m.name, type: m.type, bitOffset: i * 64, bitfieldSize: 0 })),
  });
  return { name: map.name, structId, size };
}
