// Which BTF types a generated declaration file holds: root names resolved to ids, then the closure of the
// structs/unions they reference, full up to a pointer depth and as member-less stubs one pointer beyond.

import type { Btf } from "../btf/btf.js";
import { BtfError } from "../errors.js";

/** What the walk found. Sets hold BTF type ids. */
export interface Selection {
  /** Structs/unions (named or anonymous) emitted with their members. */
  readonly full: ReadonlySet<number>;
  /** Structs/unions one pointer beyond the depth: emitted as empty interfaces (still nameable). */
  readonly stubs: ReadonlySet<number>;
  /** Forward declarations without a full definition anywhere in the BTF: emitted as empty interfaces. */
  readonly opaque: ReadonlySet<number>;
  /** Typedefs met on the way (through member types) or given as roots. */
  readonly typedefs: ReadonlySet<number>;
  /** Enums used by members of full types, given as roots, or every enum with `all`. */
  readonly enums: ReadonlySet<number>;
}

/** Options of {@link selectTypes}. */
export interface SelectOptions {
  /** Root type ids (struct, union, typedef, enum; typedefs and qualifiers are followed). */
  readonly roots: readonly number[];
  /**
   * Pointer hops from a root whose targets still get their members (0: only the roots and what they
   * embed). Targets one hop further become stubs. Embedded structs and anonymous members cost nothing.
   */
  readonly depth: number;
  /** Every named struct, union, typedef and enum of the BTF, fully (depth is ignored). */
  readonly all?: boolean;
  /**
   * Parameter and return types of kernel functions: a struct they point at gets its members (as if
   * reached one pointer short of the depth), the structs it points at become stubs.
   */
  readonly argTypes?: readonly number[];
  /** Pointer hops charged to {@link argTypes} before they are visited (default: depth - 1). */
  readonly argDistance?: number;
}

/** Longest pointer / typedef / qualifier / array chain followed before giving up (loops in bad BTF). */
const MAX_CHAIN = 64;

/**
 * Resolve root names: a struct or union of that name (every definition when several exist), else a
 * typedef, else an enum.
 * @throws BtfError `BTF_GEN_UNKNOWN_TYPE` naming every name that matches nothing.
 */
export function findRoots(btf: Btf, names: readonly string[]): number[] {
  const out: number[] = [];
  const missing: string[] = [];
  for (const name of names) {
    let ids = [...btf.find(name, "struct"), ...btf.find(name, "union")];
    if (ids.length === 0) ids = btf.find(name, "typedef");
    if (ids.length === 0) ids = btf.find(name, "enum");
    if (ids.length === 0) missing.push(name);
    out.push(...ids.sort((a, b) => a - b));
  }
  if (missing.length > 0) {
    throw new BtfError(
      "BTF_GEN_UNKNOWN_TYPE",
      `gen: no struct, union, typedef or enum named ${missing.map((n) => JSON.stringify(n)).join(", ")} in the BTF`,
    );
  }
  return out;
}

/**
 * The full definition a forward declaration stands for (the lowest id of that kind and name), or
 * undefined when the BTF has none.
 */
export function fwdTarget(btf: Btf, fwdId: number): number | undefined {
  const t = btf.type(fwdId);
  if (t.kind !== "fwd" || t.name === "") return undefined;
  const ids = btf.find(t.name, t.fwdKind);
  return ids.length > 0 ? ids[0] : undefined;
}

/** Walk the BTF from the roots; see {@link Selection}. */
export function selectTypes(btf: Btf, opts: SelectOptions): Selection {
  const depth = opts.all ? Number.POSITIVE_INFINITY : opts.depth;
  const best = new Map<number, number>();
  const opaque = new Set<number>();
  const typedefs = new Set<number>();
  const enums = new Set<number>();
  /** Buckets of composite ids by distance; distances only grow by 0 or 1, so this is a Dijkstra. */
  const buckets: number[][] = [[]];

  const push = (id: number, d: number): void => {
    const known = best.get(id);
    if (known !== undefined && known <= d) return;
    best.set(id, d);
    if (d > depth) return;
    while (buckets.length <= d) buckets.push([]);
    buckets[d].push(id);
  };

  /** Follow a member (or root) type to what it names, charging one per pointer. */
  const visit = (start: number, d: number): void => {
    let id = start;
    for (let i = 0; i < MAX_CHAIN; i++) {
      const t = btf.type(id);
      switch (t.kind) {
        case "const": case "volatile": case "restrict": case "type_tag":
          id = t.type;
          continue;
        case "typedef":
          if (t.name !== "") typedefs.add(id);
          id = t.type;
          continue;
        case "ptr":
          d += 1;
          id = t.type;
          continue;
        case "array":
          id = t.elemType;
          continue;
        case "struct": case "union":
          push(id, d);
          return;
        case "fwd": {
          const full = fwdTarget(btf, id);
          if (full === undefined) opaque.add(id);
          else push(full, d);
          return;
        }
        case "enum":
          enums.add(id);
          return;
        default:
          return; // int, float, void, func_proto (function pointers are opaque), anything else
      }
    }
  };

  if (opts.all) {
    for (const id of btf.ids()) {
      const kind = btf.kindOf(id);
      if ((kind === "struct" || kind === "union") && btf.nameOf(id) !== "") push(id, 0);
      else if (kind === "typedef" && btf.nameOf(id) !== "") visit(id, 0);
      else if (kind === "enum") enums.add(id);
    }
  }
  for (const root of opts.roots) visit(root, 0);
  const argDistance = opts.argDistance ?? Math.max(0, opts.depth - 1);
  for (const id of opts.argTypes ?? []) visit(id, argDistance);

  for (let d = 0; d < buckets.length; d++) {
    const bucket = buckets[d];
    for (let i = 0; i < bucket.length; i++) {
      const id = bucket[i];
      if (best.get(id) !== d) continue; // reached again more cheaply
      const t = btf.type(id);
      if (t.kind !== "struct" && t.kind !== "union") continue;
      for (const m of t.members) visit(m.type, d);
    }
  }

  const full = new Set<number>();
  const stubs = new Set<number>();
  for (const [id, d] of best) (d <= depth ? full : stubs).add(id);
  return { full, stubs, opaque, typedefs, enums };
}
