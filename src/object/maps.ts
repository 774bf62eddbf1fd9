// Map definitions read from an object: BTF-defined maps in `.maps` (including `__array(values, ...)`
// initial contents) and legacy `struct bpf_map_def` entries in the `maps` section.

import type { Btf } from "../btf/btf.js";
import type { BtfType } from "../btf/types.js";
import type { ElfFile, ElfSection } from "../elf/types.js";
import { STT_FUNC, STT_OBJECT, SHN_UNDEF } from "../elf/types.js";
import { ObjectError } from "../errors.js";
import type { MapContent, MapSpec, MapTypeName } from "./spec.js";
import { MAP_TYPE } from "../sys/constants.js";

const MAP_TYPES = Object.keys(MAP_TYPE) as MapTypeName[];

const LIBBPF_PIN_NONE = 0;
const LIBBPF_PIN_BY_NAME = 1;

/** The map type named by kernel enum value `n`, or undefined for a value this table does not know. */
export function mapTypeFromNumber(n: number): MapTypeName | undefined {
  return MAP_TYPES.find((k) => MAP_TYPE[k] === n);
}

function mapTypeName(n: number, where: string): MapTypeName {
  const t = mapTypeFromNumber(n);
  if (t === undefined) throw new ObjectError("OBJ_BAD_MAP", `${where}: unknown map type ${n}`);
  return t;
}

/** Build a MapSpec with defaults for the fields a declaration may leave out. */
export function mapSpec(fields: Partial<MapSpec> & Pick<MapSpec, "name" | "type">): MapSpec {
  return {
    kernelName: fields.name.slice(0, 15),
    keySize: 0,
    valueSize: 0,
    maxEntries: 0,
    flags: 0,
    pinning: "none",
    btfKeyTypeId: 0,
    btfValueTypeId: 0,
    contents: [],
    freeze: false,
    origin: "user",
    section: "",
    ...fields,
  };
}

/** Read `int (*name)[N]` (libbpf's __uint) → N. */
function uintMember(btf: Btf, typeId: number, what: string): number {
  const ptr = btf.type(typeId);
  if (ptr.kind !== "ptr") throw new ObjectError("OBJ_BAD_MAP", `${what}: expected __uint() (pointer to array), got ${btf.toString(typeId)}`);
  const arr = btf.type(btf.resolve(ptr.type));
  if (arr.kind !== "array") throw new ObjectError("OBJ_BAD_MAP", `${what}: expected __uint() (pointer to array), got ${btf.toString(typeId)}`);
  return arr.nelems;
}

/** Read `typeof(T) *name` (libbpf's __type) → type id of T. */
function typeMember(btf: Btf, typeId: number, what: string): number {
  const ptr = btf.type(typeId);
  if (ptr.kind !== "ptr") throw new ObjectError("OBJ_BAD_MAP", `${what}: expected __type() (a pointer), got ${btf.toString(typeId)}`);
  return ptr.type;
}

interface DefResult {
  spec: MapSpec;
  /** Byte offset of the `values` member inside the definition, for initial-value relocations. */
  valuesOffset: number | undefined;
  valuesKind: "program" | "map" | undefined;
}

/** Parse one BTF map definition struct (outer or inner). */
function parseMapDef(btf: Btf, name: string, structId: number, section: string, inner: boolean): DefResult {
  const where = `map "${name}"`;
  const def = btf.type(btf.resolve(structId));
  if (def.kind !== "struct") throw new ObjectError("OBJ_BAD_MAP", `${where}: definition must be a struct, got ${btf.toString(structId)}`);
  let type: MapTypeName = "UNSPEC";
  let keySize: number | undefined, valueSize: number | undefined;
  let keyType = 0, valueType = 0;
  let maxEntries = 0, flags = 0, pinning = LIBBPF_PIN_NONE;
  let numaNode: number | undefined;
  let mapExtra: bigint | undefined;
  let innerMap: MapSpec | undefined;
  let valuesOffset: number | undefined;
  let valuesKind: "program" | "map" | undefined;
  for (const m of def.members) {
    const what = `${where} field "${m.name}"`;
    switch (m.name) {
      case "type": type = mapTypeName(uintMember(btf, m.type, what), where); break;
      case "max_entries": maxEntries = uintMember(btf, m.type, what); break;
      case "map_flags": flags = uintMember(btf, m.type, what); break;
      case "numa_node": numaNode = uintMember(btf, m.type, what); break;
      case "map_extra": mapExtra = BigInt(uintMember(btf, m.type, what)); break;
      case "pinning": {
        pinning = uintMember(btf, m.type, what);
        if (pinning !== LIBBPF_PIN_NONE && pinning !== LIBBPF_PIN_BY_NAME)
          throw new ObjectError("OBJ_BAD_MAP", `${where}: unsupported pinning ${pinning}`);
        if (inner && pinning !== LIBBPF_PIN_NONE) throw new ObjectError("OBJ_BAD_MAP", `${where}: an inner map cannot be pinned`);
        break;
      }
      case "key_size": keySize = uintMember(btf, m.type, what); break;
      case "value_size": valueSize = uintMember(btf, m.type, what); break;
      case "key": {
        keyType = typeMember(btf, m.type, what);
        const sz = btf.sizeof(keyType);
        if (keySize !== undefined && keySize !== sz) throw new ObjectError("OBJ_BAD_MAP", `${where}: key_size ${keySize} conflicts with key type size ${sz}`);
        keySize = sz;
        break;
      }
      case "value": {
        valueType = typeMember(btf, m.type, what);
        const sz = btf.sizeof(valueType);
        if (valueSize !== undefined && valueSize !== sz) throw new ObjectError("OBJ_BAD_MAP", `${where}: value_size ${valueSize} conflicts with value type size ${sz}`);
        valueSize = sz;
        break;
      }
      case "values": {
        if (inner) throw new ObjectError("OBJ_BAD_MAP", `${where}: an inner map cannot itself have values`);
        const arr = btf.type(m.type);
        if (arr.kind !== "array") throw new ObjectError("OBJ_BAD_MAP", `${what}: expected __array()`);
        const ptr = btf.type(btf.skipQualifiers(arr.elemType));
        if (ptr.kind !== "ptr") throw new ObjectError("OBJ_BAD_MAP", `${what}: expected __array() of pointers`);
        const target = btf.type(btf.resolve(ptr.type));
        valuesOffset = m.bitOffset / 8;
        if (target.kind === "func_proto") {
          valuesKind = "program";
        } else if (target.kind === "struct") {
          valuesKind = "map";
          innerMap = parseMapDef(btf, `${name}.inner`, target.id, section, true).spec;
        } else {
          throw new ObjectError("OBJ_BAD_MAP", `${what}: values must point to a map definition or a program prototype`);
        }
        break;
      }
      default:
        throw new ObjectError("OBJ_BAD_MAP", `${where}: unknown field "${m.name}"`);
    }
  }
  if (valuesKind === "map" && type !== "ARRAY_OF_MAPS" && type !== "HASH_OF_MAPS")
    throw new ObjectError("OBJ_BAD_MAP", `${where}: __array(values, struct ...) needs a map-of-maps type, not ${type}`);
  if (valuesKind === "program" && type !== "PROG_ARRAY")
    throw new ObjectError("OBJ_BAD_MAP", `${where}: __array(values, program) needs PROG_ARRAY, not ${type}`);
  if (type === "ARRAY_OF_MAPS" || type === "HASH_OF_MAPS") {
    if (!innerMap) throw new ObjectError("OBJ_BAD_MAP", `${where}: a map of maps needs __array(values, struct inner_map)`);
    valueSize ??= 4;
  }
  if (type === "PROG_ARRAY") { keySize ??= 4; valueSize ??= 4; }
  const spec = mapSpec({
    name, type, keySize: keySize ?? 0, valueSize: valueSize ?? 0, maxEntries, flags,
    pinning: pinning === LIBBPF_PIN_BY_NAME ? "by_name" : "none",
    btfKeyTypeId: keyType, btfValueTypeId: valueType, origin: "btf", section,
    ...(numaNode !== undefined ? { numaNode } : {}),
    ...(mapExtra !== undefined ? { mapExtra } : {}),
    ...(innerMap ? { innerMap } : {}),
  });
  return { spec, valuesOffset, valuesKind };
}

/** Read every BTF-defined map in the `.maps` section. */
export function readBtfMaps(elf: ElfFile, btf: Btf | undefined, section: ElfSection): MapSpec[] {
  if (!btf) throw new ObjectError("OBJ_NO_BTF", `section ".maps" needs BTF to describe its maps, but the object has no .BTF section (compile with -g)`);
  const [secId] = btf.find(".maps", "datasec");
  if (secId === undefined) throw new ObjectError("OBJ_BAD_MAP", `section ".maps" has no matching BTF DATASEC`);
  const datasec = btf.type(secId);
  if (datasec.kind !== "datasec") throw new ObjectError("OBJ_BAD_MAP", `.maps: BTF type ${secId} is not a DATASEC`);
  // Symbols in .maps by name → value (the datasec offsets may be zero before fixup).
  // Symbols in .maps by name: their value is the definition's offset and their size covers the
  // declared initial values too (a zero-length `values` array does not count in the BTF struct size).
  const symByName = new Map<string, { value: number; size: number }>();
  for (const s of elf.symbols) {
    if (s.shndx === section.index && s.type === STT_OBJECT) symByName.set(s.name, { value: s.value, size: s.size });
  }
  const relos = elf.relocations(section.index);
  const maps: MapSpec[] = [];
  for (const vi of datasec.vars) {
    const v: BtfType = btf.type(vi.type);
    if (v.kind !== "var") throw new ObjectError("OBJ_BAD_MAP", `.maps: entry ${vi.type} is not a BTF VAR`);
    const sym = symByName.get(v.name);
    const start = sym?.value ?? vi.offset;
    const { spec, valuesOffset, valuesKind } = parseMapDef(btf, v.name, v.type, ".maps", false);
    let result = spec;
    if (valuesOffset !== undefined && valuesKind) {
      const contents: MapContent[] = [];
      const size = Math.max(sym?.size ?? 0, btf.sizeof(v.type));
      for (const r of relos) {
        if (r.offset < start + valuesOffset || r.offset >= start + size) continue;
        const rel = r.offset - start - valuesOffset;
        if (rel % 8 !== 0) throw new ObjectError("OBJ_BAD_RELOCATION", `map "${v.name}": misaligned initial value relocation at offset ${r.offset}`);
        const target = elf.symbols[r.symbol];
        if (!target) throw new ObjectError("OBJ_BAD_RELOCATION", `map "${v.name}": relocation names symbol ${r.symbol}, which does not exist`);
        if (valuesKind === "program" && target.type !== STT_FUNC)
          throw new ObjectError("OBJ_BAD_RELOCATION", `map "${v.name}": initial value "${target.name}" is not a program`);
        if (valuesKind === "map" && (target.shndx !== section.index || target.shndx === SHN_UNDEF))
          throw new ObjectError("OBJ_BAD_RELOCATION", `map "${v.name}": initial value "${target.name}" is not a map in .maps`);
        const index = rel / 8;
        if (spec.type !== "HASH_OF_MAPS" && index >= spec.maxEntries)
          throw new ObjectError("OBJ_BAD_MAP", `map "${v.name}": initial value index ${index} is beyond max_entries ${spec.maxEntries}`);
        contents.push({ index, kind: valuesKind, name: target.name });
      }
      contents.sort((a, b) => a.index - b.index);
      result = { ...spec, contents };
    }
    maps.push(result);
  }
  return maps;
}

/** Read legacy `struct bpf_map_def` maps (SEC("maps")): type, key_size, value_size, max_entries, map_flags. */
export function readLegacyMaps(elf: ElfFile, section: ElfSection): MapSpec[] {
  const syms = elf.symbols.filter((s) => s.shndx === section.index && s.name !== "" && s.type !== 3 /* STT_SECTION */);
  if (syms.length === 0) return [];
  const dv = new DataView(section.data.buffer, section.data.byteOffset, section.data.byteLength);
  const defSize = syms.every((s) => s.size > 0) ? 0 : Math.floor(section.size / syms.length);
  return syms.map((s) => {
    const size = s.size || defSize;
    if (size < 20 || s.value + size > section.data.byteLength)
      throw new ObjectError("OBJ_BAD_MAP", `legacy map "${s.name}": definition of ${size} bytes at offset ${s.value} does not fit in section "maps" (${section.data.byteLength} bytes)`);
    const at = (i: number) => dv.getUint32(s.value + i * 4, true);
    for (let i = 5; i * 4 < size; i++) {
      if (at(i) !== 0) throw new ObjectError("OBJ_BAD_MAP", `legacy map "${s.name}": unsupported non-zero field ${i} in bpf_map_def`);
    }
    return mapSpec({
      name: s.name, type: mapTypeName(at(0), `legacy map "${s.name}"`), keySize: at(1), valueSize: at(2),
      maxEntries: at(3), flags: at(4), origin: "legacy", section: section.name,
    });
  });
}
