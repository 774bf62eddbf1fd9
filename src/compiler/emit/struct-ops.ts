// struct_ops variables in the object: the `.struct_ops` / `.struct_ops.link` data (one struct per
// variable), their BTF (the struct, a VAR each and the DATASEC), and the relocations that point their
// function-pointer members at programs, as clang writes them for `SEC(".struct_ops") struct ... x = {...}`.

import { BTF_VAR_GLOBAL_ALLOCATED } from "../../btf/types.js";
import type { CompiledModule, CompiledStructOps } from "../module.js";
import type { BtfTypeTable } from "./btf-types.js";
import { emitError } from "./errors.js";

/** One struct_ops section's bytes and each variable's place in it. */
export interface StructOpsSection {
  readonly name: CompiledStructOps["section"];
  readonly data: Uint8Array;
  readonly vars: readonly { readonly so: CompiledStructOps; readonly offset: number }[];
}

/**
 * Lays out the module's struct_ops variables by section (8-aligned, in declaration order) and declares
 * their BTF (struct, VAR, DATASEC).
 * @throws EmitError EMIT_BAD_GLOBAL for a variable whose bytes do not match its struct's size or whose
 *   function member lies outside it, EMIT_UNKNOWN_FUNCTION for a member naming no function of the module.
 */
export function layoutStructOps(mod: CompiledModule, table: BtfTypeTable): StructOpsSection[] {
  const out: StructOpsSection[] = [];
  for (const section of [".struct_ops", ".struct_ops.link"] as const) {
    const list = (mod.structOps ?? []).filter((so) => so.section === section);
    if (!list.length) continue;
    let size = 0;
    const vars: { so: CompiledStructOps; offset: number; varId: number }[] = [];
    for (const so of list) {
      const where = `struct_ops variable "${so.name}"`;
      const typeId = table.ctype(so.type, where);
      if (so.data.length !== so.type.size) throw emitError("EMIT_BAD_GLOBAL", `${where}: ${so.data.length} initial bytes for a ${so.type.size}-byte struct`);
      for (const f of so.functions) {
        if (!Number.isInteger(f.offset) || f.offset < 0 || f.offset + 8 > so.type.size) throw emitError("EMIT_BAD_GLOBAL", `${where}: function member at ${f.offset} lies outside the struct`);
        if (!mod.functions.some((fn) => fn.name === f.function)) throw emitError("EMIT_UNKNOWN_FUNCTION", `${where} points at "${f.function}", which is not a function of the module`);
      }
      const offset = Math.ceil(size / 8) * 8;
      size = offset + so.type.size;
      vars.push({ so, offset, varId: table.addUnique({ kind: "var", name: so.name, type: typeId, linkage: BTF_VAR_GLOBAL_ALLOCATED }) });
    }
    const data = new Uint8Array(size);
    for (const v of vars) data.set(v.so.data, v.offset);
    table.addUnique({ kind: "datasec", name: section, size, vars: vars.map((v) => ({ type: v.varId, offset: v.offset, size: v.so.type.size })) });
    out.push({ name: section, data, vars: vars.map(({ so, offset }) => ({ so, offset })) });
  }
  return out;
}
