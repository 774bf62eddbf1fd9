// Rewrites an object's BTF into the form the kernel accepts: DATASEC sizes and variable offsets
// filled in from the ELF, extern variables and functions turned into types the kernel can check.

import { Btf } from "../btf/btf.js";
import type { BtfDatasec, BtfType, BtfVarSecinfo } from "../btf/types.js";
import { BTF_FUNC_EXTERN, BTF_FUNC_GLOBAL, BTF_FUNC_STATIC, BTF_VAR_GLOBAL_ALLOCATED, BTF_VAR_GLOBAL_EXTERN } from "../btf/types.js";
import { BtfBuilder, type BtfTypeSpec } from "../btf/writer.js";
import type { ElfFile } from "../elf/types.js";
import type { KconfigExtern } from "./spec.js";

/**
 * Return BTF the kernel will load for this object. The string section is kept byte for byte, so string
 * offsets in line info stay valid; type ids are unchanged.
 */
export function fixupBtf(btf: Btf, elf: ElfFile, kconfig: readonly KconfigExtern[], kconfigSize: number): Btf {
  const types: BtfType[] = [];
  for (const id of btf.ids()) types.push(btf.type(id));
  let int32 = types.find((t) => t.kind === "int" && t.size === 4 && !t.bool && t.bits === 32)?.id;
  let changed = false;
  const extra: BtfTypeSpec[] = [];
  const nextId = () => btf.typeCount + extra.length;

  // The kernel requires named parameters on every FUNC's prototype; kfunc declarations have none.
  const externProtos = new Set(types.filter((t) => t.kind === "func" && t.linkage === BTF_FUNC_EXTERN).map((t) => (t as { type: number }).type));
  // Like libbpf: global functions with hidden/internal visibility (e.g. usdt.bpf.h's bpf_usdt_arg) are
  // verified as static subprograms, with their callers' context, not as independent global functions.
  const hiddenFuncs = new Set(elf.symbols.filter((s) => s.type === 2 && s.bind !== 0 && (s.visibility === 2 || s.visibility === 1)).map((s) => s.name));
  const patched = types.map((t): BtfType => {
    if (t.kind === "func" && t.linkage === BTF_FUNC_GLOBAL && hiddenFuncs.has(t.name)) {
      changed = true;
      return { ...t, linkage: BTF_FUNC_STATIC };
    }
    if (t.kind === "func" && t.linkage === BTF_FUNC_EXTERN) {
      changed = true;
      return { ...t, linkage: BTF_FUNC_GLOBAL };
    }
    if (t.kind === "func_proto" && externProtos.has(t.id) && t.params.some((p) => !p.name && p.type)) {
      changed = true;
      return { ...t, params: t.params.map((p, i) => (p.name || !p.type ? p : { ...p, name: `arg${i}` })) };
    }
    if (t.kind !== "datasec") return t;
    const sec = elf.section(t.name);
    if (t.name === ".kconfig") {
      changed = true;
      const vars: BtfVarSecinfo[] = [];
      for (const vi of t.vars) {
        const k = kconfig.find((e) => e.name === btf.nameOf(vi.type));
        if (k) vars.push({ type: vi.type, offset: k.offset, size: k.size });
      }
      return sortVars({ ...t, size: kconfigSize, vars });
    }
    if (t.name === ".ksyms") {
      // Externs take no space; give each a 4-byte int slot like libbpf so the DATASEC is valid.
      changed = true;
      if (int32 === undefined) {
        int32 = nextId();
        extra.push({ kind: "int", name: "int", size: 4, signed: true, char: false, bool: false, bitOffset: 0, bits: 32 });
      }
      const vars: BtfVarSecinfo[] = [];
      let off = 0;
      for (const vi of t.vars) {
        if (btf.kindOf(vi.type) !== "var") {
          // A kfunc in .ksyms: replace with a dummy variable.
          const dummy = nextId();
          extra.push({ kind: "var", name: `__tsbpf_ksym_${off / 4}`, type: int32, linkage: BTF_VAR_GLOBAL_ALLOCATED });
          vars.push({ type: dummy, offset: off, size: 4 });
        } else {
          vars.push({ type: vi.type, offset: off, size: 4 });
        }
        off += 4;
      }
      return { ...t, size: off, vars };
    }
    if (!sec) return t;
    const symOff = new Map<string, number>();
    for (const s of elf.symbols) if (s.shndx === sec.index && s.name) symOff.set(s.name, s.value);
    const vars = t.vars.map((vi) => {
      const off = symOff.get(btf.nameOf(vi.type));
      return off !== undefined && off !== vi.offset ? { ...vi, offset: off } : vi;
    });
    const size = t.size || sec.size;
    if (size !== t.size || vars.some((v, i) => v !== t.vars[i])) {
      changed = true;
      return sortVars({ ...t, size, vars });
    }
    return t;
  });
  // Extern variables (in .kconfig / .ksyms) must look allocated to the kernel.
  const final = patched.map((t): BtfType => {
    if (t.kind === "var" && t.linkage === BTF_VAR_GLOBAL_EXTERN) {
      changed = true;
      const inKsyms = patched.some((d) => d.kind === "datasec" && d.name === ".ksyms" && d.vars.some((v) => v.type === t.id));
      return { ...t, linkage: BTF_VAR_GLOBAL_ALLOCATED, ...(inKsyms ? { type: int32! } : {}) };
    }
    return t;
  });
  if (!changed && extra.length === 0) return btf;
  const b = new BtfBuilder({ strings: btf.rawStrings });
  for (const t of final) {
    const { id: _id, ...spec } = t;
    b.add(spec as BtfTypeSpec);
  }
  for (const t of extra) b.add(t);
  return Btf.parse(b.encode());
}

function sortVars(t: BtfDatasec): BtfDatasec {
  return { ...t, vars: [...t.vars].sort((a, b) => a.offset - b.offset) };
}
