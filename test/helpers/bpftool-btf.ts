// Test oracle: `bpftool -j btf dump file` output converted to tsbpf's decoded BtfType model.
// Lets BTF tests compare every type of an object (or vmlinux) against an independent implementation.

import { execFileSync } from "node:child_process";
import type { BtfType } from "../../src/btf/types.js";

interface JsonType { [key: string]: unknown; id: number; kind: string; name: string }

const LINKAGE: Record<string, number> = { static: 0, global: 1, extern: 2, "global-alloc": 1 };

function name(n: unknown): string {
  return n === "(anon)" ? "" : String(n);
}

/**
 * Dump a BTF file (raw BTF or an ELF object with .BTF) with bpftool and convert each type. `base` is the
 * base BTF file for split BTF (`-B`). Enum values come back as bigint (32-bit enums as unsigned 32-bit,
 * since bpftool sign-extends some values).
 */
export function bpftoolTypes(file: string, base?: string): BtfType[] {
  const args = ["-j", "btf", "dump", "file", file];
  if (base) args.splice(0, 0, "-B", base);
  const text = execFileSync("bpftool", args, { encoding: "utf8", maxBuffer: 1 << 30 });
  // Keep 64-bit enum values exact: quote them before JSON.parse.
  const json = JSON.parse(text.replace(/"val":\s*(-?\d+)/g, '"val":"$1"')) as { types: JsonType[] };
  return json.types.map(convert);
}

function convert(t: JsonType): BtfType {
  const id = t.id;
  const nm = name(t.name);
  const n = (k: string): number => t[k] as number;
  switch (t.kind) {
    case "INT": {
      const enc = t.encoding as string;
      return {
        id, name: nm, kind: "int", size: n("size"), signed: enc === "SIGNED", char: enc === "CHAR", bool: enc === "BOOL",
        bitOffset: n("bits_offset"), bits: n("nr_bits"),
      };
    }
    case "PTR": return { id, name: nm, kind: "ptr", type: n("type_id") };
    case "ARRAY": return { id, name: nm, kind: "array", elemType: n("type_id"), indexType: n("index_type_id"), nelems: n("nr_elems") };
    case "STRUCT": case "UNION":
      return {
        id, name: nm, kind: t.kind === "STRUCT" ? "struct" : "union", size: n("size"),
        members: (t.members as JsonType[]).map((m) => ({
          name: name(m.name), type: m.type_id as number, bitOffset: m.bits_offset as number, bitfieldSize: (m.bitfield_size as number | undefined) ?? 0,
        })),
      };
    case "ENUM": case "ENUM64": {
      const is64 = t.kind === "ENUM64";
      return {
        id, name: nm, kind: "enum", size: n("size"), signed: t.encoding === "SIGNED", is64,
        values: (t.values as JsonType[]).map((v) => {
          const raw = BigInt(v.val as string);
          return { name: name(v.name), value: is64 ? (t.encoding === "SIGNED" ? BigInt.asIntN(64, raw) : BigInt.asUintN(64, raw)) : BigInt.asUintN(32, raw) };
        }),
      };
    }
    case "FWD": return { id, name: nm, kind: "fwd", fwdKind: t.fwd_kind === "union" ? "union" : "struct" };
    case "TYPEDEF": case "VOLATILE": case "CONST": case "RESTRICT": case "TYPE_TAG":
      return { id, name: nm, kind: t.kind.toLowerCase() as "typedef", type: n("type_id") };
    case "FUNC": return { id, name: nm, kind: "func", type: n("type_id"), linkage: LINKAGE[t.linkage as string] ?? -1 };
    case "FUNC_PROTO":
      return {
        id, name: nm, kind: "func_proto", returnType: n("ret_type_id"),
        params: (t.params as JsonType[]).map((p) => ({ name: name(p.name), type: p.type_id as number })),
      };
    case "VAR": return { id, name: nm, kind: "var", type: n("type_id"), linkage: LINKAGE[t.linkage as string] ?? -1 };
    case "DATASEC":
      return {
        id, name: nm, kind: "datasec", size: n("size"),
        vars: (t.vars as JsonType[]).map((v) => ({ type: v.type_id as number, offset: v.offset as number, size: v.size as number })),
      };
    case "FLOAT": return { id, name: nm, kind: "float", size: n("size") };
    case "DECL_TAG": return { id, name: nm, kind: "decl_tag", type: n("type_id"), componentIdx: n("component_idx") };
    default: throw new Error(`bpftool oracle: unknown kind ${t.kind}`);
  }
}

/** Our decoded type normalized the same way as {@link bpftoolTypes} (32-bit enum values as unsigned, no tag attribute flag). */
export function normalize(t: BtfType): BtfType {
  if ((t.kind === "type_tag" || t.kind === "decl_tag") && t.attribute !== undefined) {
    const { attribute: _, ...rest } = t; // bpftool 7.1 does not report the attribute kind_flag
    return rest;
  }
  if (t.kind !== "enum" || t.is64) return t;
  return { ...t, values: t.values.map((v) => ({ name: v.name, value: BigInt.asUintN(32, v.value) })) };
}
