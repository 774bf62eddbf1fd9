// The object-level BTF declarations: a VAR per map definition, a FUNC per function, a VAR per global
// variable, extern FUNCs/VARs for .ksyms/.kconfig, and the DATASECs that place them, in clang's order.

import type { BtfTypeSpec } from "../../btf/writer.js";
import { BTF_FUNC_EXTERN, BTF_FUNC_GLOBAL, BTF_FUNC_STATIC, BTF_VAR_GLOBAL_ALLOCATED, BTF_VAR_GLOBAL_EXTERN, BTF_VAR_STATIC } from "../../btf/types.js";
import type { CompiledExtern, CompiledModule, CType } from "../module.js";
import type { BtfTypeTable } from "./btf-types.js";
import { mapDefinition } from "./maps.js";
import type { DataSection } from "./validate.js";

/** One map's place in `.maps`. */
export interface MapVar {
  readonly name: string;
  readonly varId: number;
  readonly offset: number;
  readonly size: number;
}

/**
 * Add every declaration of the module to `table`. `dataSizes` holds the size of each used data section.
 * Returns the maps' layout in `.maps` and each function's FUNC id (for func_info).
 */
export function declareBtf(mod: CompiledModule, table: BtfTypeTable, dataSizes: ReadonlyMap<DataSection, number>): {
  mapVars: MapVar[]; mapsSize: number; funcTypes: Map<string, number>;
} {
  const mapVars: MapVar[] = [];
  let mapsSize = 0;
  for (const m of mod.maps) {
    const def = mapDefinition(table, m);
    const varId = table.addUnique({ kind: "var", name: m.name, type: def.structId, linkage: BTF_VAR_GLOBAL_ALLOCATED });
    mapVars.push({ name: m.name, varId, offset: mapsSize, size: def.size });
    mapsSize += def.size;
  }
  const funcTypes = new Map<string, number>();
  for (const fn of mod.functions) {
    const proto = table.ctype(namedParams(fn.proto), `function "${fn.name}" prototype`);
    funcTypes.set(fn.name, table.addUnique({ kind: "func", name: fn.name, type: proto, linkage: fn.global ? BTF_FUNC_GLOBAL : BTF_FUNC_STATIC }));
  }
  const globalVars = new Map<string, number>();
  for (const g of mod.globals) {
    const type = table.ctype(g.type, `variable "${g.name}"`);
    globalVars.set(g.name, table.addUnique({ kind: "var", name: g.name, type, linkage: g.global ? BTF_VAR_GLOBAL_ALLOCATED : BTF_VAR_STATIC }));
  }
  // Externs as clang declares them: kfuncs as FUNC with extern linkage, values as extern VARs.
  const externVars = new Map<string, { id: number; size: number }>();
  for (const x of mod.externs) {
    const where = `extern "${x.name}"`;
    if (x.type.kind === "func_proto") {
      const proto = table.ctype(x.type, where);
      externVars.set(x.name, { id: table.addUnique({ kind: "func", name: x.name, type: proto, linkage: BTF_FUNC_EXTERN }), size: 0 });
    } else {
      const type = table.ctype(x.type, where);
      const size = x.type.kind === "void" ? 0 : table.sizeOf(x.type, where);
      externVars.set(x.name, { id: table.addUnique({ kind: "var", name: x.name, type, linkage: BTF_VAR_GLOBAL_EXTERN }), size });
    }
  }
  for (const t of mod.types ?? []) table.ctype(t, "extra type");

  const datasecs: BtfTypeSpec[] = [];
  const dataSec = (s: DataSection) => {
    if (!dataSizes.has(s)) return;
    const vars = mod.globals.filter((g) => g.section === s).sort((a, b) => a.offset - b.offset)
      .map((g) => ({ type: globalVars.get(g.name)!, offset: g.offset, size: g.size }));
    datasecs.push({ kind: "datasec", name: s, size: dataSizes.get(s)!, vars });
  };
  // Extern sections keep clang's zero size and offsets: loaders lay them out.
  const externSec = (s: CompiledExtern["section"]) => {
    const vars = mod.externs.filter((x) => x.section === s).map((x) => ({ type: externVars.get(x.name)!.id, offset: 0, size: externVars.get(x.name)!.size }));
    if (vars.length) datasecs.push({ kind: "datasec", name: s, size: 0, vars });
  };
  // clang's order: by section name.
  dataSec(".bss");
  dataSec(".data");
  externSec(".kconfig");
  externSec(".ksyms");
  if (mapVars.length) datasecs.push({ kind: "datasec", name: ".maps", size: mapsSize, vars: mapVars.map((m) => ({ type: m.varId, offset: m.offset, size: m.size })) });
  dataSec(".rodata");
  for (const d of datasecs) table.addUnique(d);
  return { mapVars, mapsSize, funcTypes };
}

/** A function prototype with every parameter named (the kernel requires names on FUNC prototypes). */
function namedParams(proto: CType & { kind: "func_proto" }): CType {
  if (!Array.isArray(proto.params) || proto.params.every((p) => typeof p?.name === "string" && p.name !== "")) return proto;
  return { ...proto, params: proto.params.map((p, i) => (p?.name ? p : { ...p, name: `arg${i}` })) };
}
