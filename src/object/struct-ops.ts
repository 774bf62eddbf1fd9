// struct_ops variables of an object (SEC(".struct_ops") / SEC(".struct_ops.link")): each becomes a
// STRUCT_OPS map spec with its initial bytes and, per function-pointer member, the program it names.

import type { Btf } from "../btf/btf.js";
import type { ElfFile, ElfSection } from "../elf/types.js";
import { STT_OBJECT, STT_SECTION } from "../elf/types.js";
import { ObjectError } from "../errors.js";
import { MAP_FLAGS } from "../sys/constants.js";
import { mapSpec } from "./maps.js";
import type { ProgramTypeName } from "./sections.js";
import type { MapSpec, StructOpsMember } from "./spec.js";

/** Section of struct_ops maps registered by a map update. */
export const STRUCT_OPS_SECTION = ".struct_ops";
/** Section of struct_ops maps registered through a BPF link (Linux 6.4+). */
export const STRUCT_OPS_LINK_SECTION = ".struct_ops.link";

/** Is `name` a section holding struct_ops variables? */
export function isStructOpsSection(name: string): boolean {
  return name === STRUCT_OPS_SECTION || name === STRUCT_OPS_LINK_SECTION;
}

/** A function of the object found by section index and byte offset (for relocations pointing at code). */
export interface FunctionAtOffset {
  readonly name: string;
  readonly section: string;
  /** Program type of an entry point; undefined for a subprogram (e.g. a `.text` function). */
  readonly type: ProgramTypeName | undefined;
}

/** Looks up the function starting at `offset` bytes into section `shndx`. */
export type FunctionLookup = (shndx: number, offset: number) => FunctionAtOffset | undefined;

const bad = (msg: string) => new ObjectError("OBJ_BAD_STRUCT_OPS", msg);

/**
 * Read every struct_ops variable of `section` into a STRUCT_OPS map spec. The relocations of the
 * section say which function-pointer member points at which program; each must be a struct_ops
 * program (`SEC("struct_ops/...")`). The kernel-side layout is resolved at load time against the
 * running kernel's BTF (see runtime/maps/struct-ops.ts).
 *
 * @throws ObjectError OBJ_NO_BTF without BTF, OBJ_BAD_STRUCT_OPS for a variable that is not a named
 *   struct, a bitfield member, or a member that points at something other than a struct_ops program.
 */
export function readStructOpsMaps(elf: ElfFile, btf: Btf | undefined, section: ElfSection, functionAt: FunctionLookup): MapSpec[] {
  const where = `section "${section.name}"`;
  if (!btf) throw new ObjectError("OBJ_NO_BTF", `${where}: struct_ops variables need BTF to describe their type, but the object has no .BTF section (compile with -g)`);
  const secId = btf.find(section.name, "datasec")[0];
  if (secId === undefined) throw bad(`${where} has no matching BTF DATASEC`);
  const datasec = btf.type(secId);
  if (datasec.kind !== "datasec") throw bad(`${where}: BTF type ${secId} is not a DATASEC`);

  const symOffset = new Map<string, number>();
  for (const s of elf.symbols) if (s.shndx === section.index && s.type === STT_OBJECT && s.name) symOffset.set(s.name, s.value);

  interface Var { name: string; offset: number; size: number; typeName: string; typeId: number; data: Uint8Array; members: StructOpsMember[] }
  const vars: Var[] = [];
  for (const vi of datasec.vars) {
    const v = btf.type(vi.type);
    if (v.kind !== "var") throw bad(`${where}: entry ${vi.type} is not a BTF VAR`);
    const typeId = btf.resolve(v.type);
    const t = btf.type(typeId);
    if (t.kind !== "struct") throw bad(`struct_ops variable "${v.name}" in ${where} is a ${btf.toString(v.type)}, not a struct`);
    if (!t.name) throw bad(`struct_ops variable "${v.name}" in ${where} has an anonymous struct type; struct_ops types are found in the kernel by name`);
    const offset = symOffset.get(v.name) ?? vi.offset;
    if (offset + t.size > section.data.byteLength)
      throw bad(`struct_ops variable "${v.name}" (${t.size} bytes at ${offset}) lies outside ${where} (${section.data.byteLength} bytes)`);
    const members: StructOpsMember[] = t.members.map((m, index) => {
      if (m.bitfieldSize) throw bad(`struct_ops variable "${v.name}": member "${m.name}" is a bitfield, which struct_ops maps do not support`);
      const resolved = btf.type(btf.resolve(m.type));
      let kind: StructOpsMember["kind"] = "data";
      if (resolved.kind === "ptr") kind = btf.type(btf.resolve(resolved.type)).kind === "func_proto" ? "func" : "pointer";
      const size = resolved.kind === "array" && resolved.nelems === 0 ? 0 : btf.sizeof(m.type);
      return { name: m.name, index, offset: m.bitOffset / 8, size, kind };
    });
    vars.push({ name: v.name, offset, size: t.size, typeName: t.name, typeId, data: section.data.slice(offset, offset + t.size), members });
  }

  const dv = new DataView(section.data.buffer, section.data.byteOffset, section.data.byteLength);
  for (const r of elf.relocations(section.index)) {
    const owner = vars.find((x) => r.offset >= x.offset && r.offset < x.offset + x.size);
    if (!owner) throw bad(`${where}: relocation at offset ${r.offset} lies outside every struct_ops variable`);
    const moff = r.offset - owner.offset;
    const mi = owner.members.findIndex((m) => m.offset === moff);
    const member = owner.members[mi];
    if (!member) throw bad(`struct_ops variable "${owner.name}": relocation at byte ${moff} does not start a member of struct ${owner.typeName}`);
    const sym = elf.symbols[r.symbol];
    if (!sym) throw bad(`struct_ops variable "${owner.name}" member "${member.name}": relocation names symbol ${r.symbol}, which does not exist`);
    if (member.kind !== "func")
      throw bad(`struct_ops variable "${owner.name}": member "${member.name}" is not a function pointer, but is set to "${sym.name}"`);
    // A section symbol carries the function's offset as the implicit addend (SHT_REL) or the explicit one.
    let target = sym.value;
    if (sym.type === STT_SECTION) target += Number(r.addend !== 0n ? r.addend : (r.offset + 8 <= dv.byteLength ? dv.getBigUint64(r.offset, true) : 0n));
    if (target % 8 !== 0) throw bad(`struct_ops variable "${owner.name}" member "${member.name}": "${sym.name}" is not at an instruction boundary (offset ${target})`);
    const fn = functionAt(sym.shndx, target);
    if (!fn) throw bad(`struct_ops variable "${owner.name}" member "${member.name}" points at "${sym.name}", which is not a function of the object`);
    if (fn.type !== "STRUCT_OPS") {
      const what = fn.type ? `a ${fn.type} program (section "${fn.section}")` : `a subprogram in section "${fn.section}"`;
      throw bad(`struct_ops variable "${owner.name}" member "${member.name}" points at "${fn.name}", which is ${what}, not a struct_ops program (declare it with SEC("struct_ops/${fn.name}"))`);
    }
    owner.members[mi] = { ...member, program: fn.name };
    owner.data.fill(0, moff, moff + 8);
  }

  return vars.map((x) => mapSpec({
    name: x.name,
    kernelName: x.name.slice(0, 15).replace(/[^A-Za-z0-9_.]/g, "_"),
    type: "STRUCT_OPS",
    keySize: 4,
    valueSize: x.size,
    maxEntries: 1,
    flags: section.name === STRUCT_OPS_LINK_SECTION ? MAP_FLAGS.LINK : 0,
    btfValueTypeId: x.typeId,
    origin: "struct_ops",
    section: section.name,
    structOps: { typeName: x.typeName, btfTypeId: x.typeId, data: x.data, members: x.members, link: section.name === STRUCT_OPS_LINK_SECTION },
  }));
}
