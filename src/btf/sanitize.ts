// BTF sanitising for older kernels: an object built by a newer clang (or tsbpf) may hold BTF kinds the
// target kernel's BTF loader does not know, and the kernel then refuses the whole BTF (and with it the
// maps' and programs' type information). Each unknown kind is rewritten into one the kernel knows, in
// place (same type id, same size), so line info, func info and CO-RE records keep pointing at the
// right ids:
//
// | kind (kernel that added it)        | rewritten to                                   |
// | ---------------------------------- | ---------------------------------------------- |
// | FLOAT (5.13)                       | an empty STRUCT of the same size               |
// | DECL_TAG (5.16)                    | a 1-byte INT with no name (nothing refers to tags) |
// | TYPE_TAG (5.17)                    | CONST of the same type (a qualifier the verifier ignores) |
// | ENUM64 (6.0)                       | an empty UNION of the same size                |
// | global FUNC linkage (5.6)          | static linkage                                 |
// | tag "attribute" kind flag (6.14)   | DECL_TAG: a 1-byte INT; TYPE_TAG: CONST        |

import type { Btf } from "./btf.js";
import type { BtfType } from "./types.js";
import { BtfBuilder, type BtfTypeSpec } from "./writer.js";

/** The BTF features a kernel may lack that {@link sanitizeBtf} can rewrite. */
export type BtfFeature = "float" | "decl_tag" | "type_tag" | "enum64" | "func_global" | "tag_attribute";

/** Every feature, oldest first. */
export const BTF_FEATURES: readonly BtfFeature[] = ["func_global", "float", "decl_tag", "type_tag", "enum64", "tag_attribute"];

/** What sanitising changed: per feature, how many types were rewritten. */
export type SanitizeReport = Partial<Record<BtfFeature, number>>;

/**
 * Rewrites the types of `btf` that use a feature `supported` says the kernel lacks. Returns the new BTF
 * bytes (type ids and string offsets unchanged) and what was rewritten, or undefined bytes when nothing
 * needed to change.
 *
 * @example
 * const { bytes } = sanitizeBtf(spec.btf, (f) => haveBtfFeature(f));
 * const fd = btfLoad(bytes ?? spec.btf.bytes);
 */
export function sanitizeBtf(btf: Btf, supported: (feature: BtfFeature) => boolean): { bytes: Uint8Array | undefined; report: SanitizeReport } {
  const report: SanitizeReport = {};
  const lacks = new Map<BtfFeature, boolean>();
  const missing = (f: BtfFeature): boolean => {
    let v = lacks.get(f);
    if (v === undefined) lacks.set(f, (v = !supported(f)));
    return v;
  };
  const count = (f: BtfFeature): void => {
    report[f] = (report[f] ?? 0) + 1;
  };
  const out: BtfTypeSpec[] = [];
  let changed = false;
  for (let id = btf.firstId; id < btf.typeCount; id++) {
    const t = btf.type(id);
    const r = rewrite(t, missing, count);
    if (r !== t) changed = true;
    out.push(strip(r));
  }
  if (!changed) return { bytes: undefined, report };
  const b = new BtfBuilder({ strings: btf.rawStrings });
  for (const t of out) b.add(t);
  return { bytes: b.encode(), report };
}

function rewrite(t: BtfType, missing: (f: BtfFeature) => boolean, count: (f: BtfFeature) => void): BtfType {
  switch (t.kind) {
    case "float":
      if (!missing("float")) return t;
      count("float");
      return { kind: "struct", id: t.id, name: t.name, size: t.size, members: [] };
    case "decl_tag":
      if (!missing("decl_tag") && !(t.attribute && missing("tag_attribute"))) return t;
      count(missing("decl_tag") ? "decl_tag" : "tag_attribute");
      return dummyInt(t.id);
    case "type_tag":
      if (!missing("type_tag") && !(t.attribute && missing("tag_attribute"))) return t;
      count(missing("type_tag") ? "type_tag" : "tag_attribute");
      return { kind: "const", id: t.id, name: "", type: t.type };
    case "enum":
      if (!t.is64 || !missing("enum64")) return t;
      count("enum64");
      return { kind: "union", id: t.id, name: t.name, size: t.size, members: [] };
    case "func":
      if (t.linkage !== 1 || !missing("func_global")) return t;
      count("func_global");
      return { ...t, linkage: 0 };
    default:
      return t;
  }
}

function dummyInt(id: number): BtfType {
  return { kind: "int", id, name: "", size: 1, signed: false, char: false, bool: false, bitOffset: 0, bits: 8 };
}

function strip(t: BtfType): BtfTypeSpec {
  const { id: _id, ...rest } = t;
  return rest as BtfTypeSpec;
}

