// Builds the .BTF.ext records of an object: func_info (one per function), line_info (one whenever the
// source location changes, and at every function start) and CO-RE relocations, offsets in section bytes.

import type { SourceLocation } from "../../asm/instruction.js";
import type { BtfCoreRelo, BtfExt, BtfFuncInfo, BtfLineInfo, CoreReloKindNumber } from "../../btf/types.js";
import { CoreReloKind } from "../../btf/types.js";
import type { CompiledModule, CoreKind } from "../module.js";
import type { BtfTypeTable } from "./btf-types.js";
import { emitError } from "./errors.js";
import type { CodeSection } from "./relocations.js";

const CORE_KINDS: Record<CoreKind, CoreReloKindNumber> = {
  field_byte_offset: CoreReloKind.FieldByteOffset,
  field_byte_size: CoreReloKind.FieldByteSize,
  field_exists: CoreReloKind.FieldExists,
  field_signed: CoreReloKind.FieldSigned,
  field_lshift_u64: CoreReloKind.FieldLShiftU64,
  field_rshift_u64: CoreReloKind.FieldRShiftU64,
  type_id_local: CoreReloKind.TypeIdLocal,
  type_id_target: CoreReloKind.TypeIdTarget,
  type_exists: CoreReloKind.TypeExists,
  type_size: CoreReloKind.TypeSize,
  enumval_exists: CoreReloKind.EnumvalExists,
  enumval_value: CoreReloKind.EnumvalValue,
  type_matches: CoreReloKind.TypeMatches,
};

/** Largest line and column bpf_line_info.line_col can hold (22 and 10 bits). */
const MAX_LINE = (1 << 22) - 1, MAX_COL = (1 << 10) - 1;

/** Splits each source file into lines once. */
class SourceLines {
  readonly #files = new Map<string, readonly string[]>();
  constructor(private readonly sources: ReadonlyMap<string, string>) {}
  text(loc: SourceLocation): string {
    let lines = this.#files.get(loc.file);
    if (!lines) {
      const src = this.sources instanceof Map ? this.sources.get(loc.file) : undefined;
      lines = typeof src === "string" ? src.split("\n") : [];
      this.#files.set(loc.file, lines);
    }
    const raw = lines[loc.line - 1] ?? loc.text ?? "";
    return raw.replace(/\r$/, "").replace(/\0/g, "");
  }
}

function validLocation(loc: unknown): loc is SourceLocation {
  if (typeof loc !== "object" || loc === null) return false;
  const l = loc as SourceLocation;
  return typeof l.file === "string" && l.file !== "" && !l.file.includes("\0") && Number.isInteger(l.line) && l.line >= 0;
}

/**
 * The .BTF.ext content for the placed code. `funcTypes` maps function names to their BTF FUNC ids.
 * Line info is written for every function when any instruction has a source location; a function
 * whose first instruction has none starts with its declaration site (or its first located instruction),
 * as the kernel requires a record at each function's first instruction.
 */
export function buildExt(
  mod: CompiledModule,
  sections: readonly CodeSection[],
  funcTypes: ReadonlyMap<string, number>,
  table: BtfTypeTable,
): BtfExt {
  const funcInfo = new Map<string, BtfFuncInfo[]>();
  const lineInfo = new Map<string, BtfLineInfo[]>();
  const coreRelos = new Map<string, BtfCoreRelo[]>();
  const lines = new SourceLines(mod.sources);
  const anyLines = mod.functions.some((f) => f.instructions.some((i) => validLocation(i.source)));

  for (const sec of sections) {
    const fi: BtfFuncInfo[] = [];
    const li: BtfLineInfo[] = [];
    const cr: BtfCoreRelo[] = [];
    for (const pf of sec.functions) {
      const fn = pf.fn;
      fi.push({ insnOff: pf.startSlot * 8, typeId: funcTypes.get(fn.name)! });

      if (anyLines) {
        const first = fn.instructions.find((i) => validLocation(i.source))?.source;
        let current: SourceLocation | undefined;
        fn.instructions.forEach((insn, i) => {
          let loc = validLocation(insn.source) ? insn.source : undefined;
          if (i === 0 && !loc) loc = validLocation(fn.loc) ? fn.loc : first ?? { file: mod.name || "module", line: 0, column: 0 };
          if (!loc) return;
          if (current && loc.file === current.file && loc.line === current.line && (loc.column ?? 0) === (current.column ?? 0)) return;
          current = loc;
          li.push({
            insnOff: (pf.startSlot + pf.slotOf[i]!) * 8,
            fileName: loc.file,
            line: lines.text(loc),
            lineNum: Math.min(loc.line, MAX_LINE),
            lineCol: Math.min(Math.max(0, Number.isInteger(loc.column) ? loc.column : 0), MAX_COL),
            fileNameOff: 0,
            lineOff: 0,
          });
        });
      }

      const relocs = Array.isArray(fn.coreRelocations) ? fn.coreRelocations : [];
      for (const r of relocs) {
        const where = `function "${fn.name}" CO-RE relocation at instruction ${String(r?.index)}`;
        if (!Number.isInteger(r?.index) || r.index < 0 || r.index >= fn.instructions.length) {
          throw emitError("EMIT_BAD_CORE", `${where}: no such instruction (the function has ${fn.instructions.length})`);
        }
        const kindName = String(r.access?.kind);
        const kind = Object.hasOwn(CORE_KINDS, kindName) ? CORE_KINDS[kindName as CoreKind] : undefined;
        if (kind === undefined) throw emitError("EMIT_BAD_CORE", `${where}: unknown kind ${JSON.stringify(r.access?.kind)}`);
        const access = r.access.access;
        if (typeof access !== "string" || !/^\d+(:\d+)*$/.test(access)) {
          throw emitError("EMIT_BAD_CORE", `${where}: access string ${JSON.stringify(access)} is not of the form "0:1:2"`);
        }
        const root = r.access.root;
        if (root?.kind !== "struct" && root?.kind !== "union" && root?.kind !== "enum" && root?.kind !== "typedef" && root?.kind !== "int" && root?.kind !== "ptr" && root?.kind !== "array") {
          throw emitError("EMIT_BAD_CORE", `${where}: root type must be a struct, union, enum, typedef or scalar, not ${JSON.stringify(root?.kind)}`);
        }
        if (kind <= CoreReloKind.FieldRShiftU64 && root.kind !== "struct" && root.kind !== "union" && root.kind !== "typedef") {
          throw emitError("EMIT_BAD_CORE", `${where}: a field relocation needs a struct or union root, not ${root.kind}`);
        }
        if (kind !== CoreReloKind.TypeIdLocal && !("name" in root && typeof root.name === "string" && root.name !== "")) {
          throw emitError("EMIT_BAD_CORE", `${where}: the root type must be named so libbpf can find it in the kernel's BTF`);
        }
        const typeId = table.ctype(root, where);
        cr.push({ insnOff: (pf.startSlot + pf.slotOf[r.index]!) * 8, typeId, accessStr: access, kind });
      }
    }
    funcInfo.set(sec.name, fi);
    if (li.length) lineInfo.set(sec.name, li);
    if (cr.length) coreRelos.set(sec.name, cr.sort((a, b) => a.insnOff - b.insnOff));
  }
  return { funcInfo, lineInfo, coreRelos };
}
