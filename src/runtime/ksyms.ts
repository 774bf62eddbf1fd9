// Resolves `__ksym` externs: typed kernel variables and kfuncs by their BTF id in the kernel's BTF,
// typeless variables by address from /proc/kallsyms. Weak externs the kernel lacks resolve to 0.

import { readFileSync } from "node:fs";
import type { Btf } from "../btf/btf.js";
import { MissingFeatureError } from "../errors.js";
import type { KsymExtern } from "../object/spec.js";

export type KsymVar =
  | { readonly kind: "btf"; readonly btfId: number; readonly moduleBtfFd?: number }
  | { readonly kind: "addr"; readonly address: bigint };

export interface KsymFunc { readonly btfId: number; readonly moduleBtfFd?: number }

/** Resolution of the externs of one object. */
export interface KsymResolver {
  variable(name: string): KsymVar;
  /** undefined for a weak kfunc the kernel does not have. */
  func(name: string): KsymFunc | undefined;
}

let kallsyms: Map<string, bigint> | undefined;

/** Addresses from /proc/kallsyms (all zero without CAP_SYSLOG / kptr_restrict). */
export function kallsymsAddress(name: string): bigint | undefined {
  if (!kallsyms) {
    kallsyms = new Map();
    for (const line of readFileSync("/proc/kallsyms", "utf8").split("\n")) {
      const [addr, , sym] = line.split(/\s+/);
      if (addr && sym && !kallsyms.has(sym)) kallsyms.set(sym, BigInt("0x" + addr));
    }
  }
  return kallsyms.get(name);
}

/** Build a resolver for `externs` against the kernel BTF (loaded only if a typed ksym needs it). */
export function ksymResolver(externs: readonly KsymExtern[], kernelBtf: () => Btf): KsymResolver {
  const byName = new Map(externs.map((e) => [e.name, e]));
  return {
    variable(name: string): KsymVar {
      const e = byName.get(name);
      if (!e) throw new MissingFeatureError("KSYM_UNKNOWN", `ksym "${name}" is not declared in the object`);
      if (e.kind === "func") {
        const fid = kernelBtf().find(name, "func")[0];
        if (fid === undefined) {
          if (e.weak) return { kind: "addr", address: 0n };
          throw new MissingFeatureError("KFUNC_NOT_FOUND", `kfunc "${name}": the kernel's BTF has no function of that name`);
        }
        return { kind: "btf", btfId: fid };
      }
      if (e.typeless) {
        const address = kallsymsAddress(name);
        if (address === undefined) {
          if (e.weak) return { kind: "addr", address: 0n };
          throw new MissingFeatureError("KSYM_NOT_FOUND", `ksym "${name}": no such symbol in /proc/kallsyms`);
        }
        return { kind: "addr", address };
      }
      const id = kernelBtf().find(name, "var")[0];
      if (id === undefined) {
        if (e.weak) return { kind: "addr", address: 0n };
        throw new MissingFeatureError("KSYM_NOT_FOUND", `ksym "${name}": the kernel's BTF has no variable of that name (per-CPU or module variable?)`);
      }
      return { kind: "btf", btfId: id };
    },
    func(name: string): KsymFunc | undefined {
      const e = byName.get(name);
      const id = kernelBtf().find(name, "func")[0];
      if (id === undefined) {
        if (e?.weak) return undefined;
        throw new MissingFeatureError("KFUNC_NOT_FOUND", `kfunc "${name}": the kernel's BTF has no function of that name`);
      }
      return { btfId: id };
    },
  };
}
