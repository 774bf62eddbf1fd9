// Candidate search for CO-RE: the target types a local type may correspond to, by kind and "essential name".
// Flavor suffixes (`task_struct___v1`) are ignored; vmlinux is searched first, module BTFs only when it has none.

import type { Btf } from "../btf/btf.js";
import type { BtfType } from "../btf/types.js";
import { CoreError } from "../errors.js";

/** One candidate target type: a type id in a target BTF. */
export interface CoreCandidate {
  /** The BTF the candidate lives in (vmlinux or a module's split BTF). */
  readonly btf: Btf;
  /** Type id of the candidate in `btf`. */
  readonly id: number;
}

/**
 * The BTFs a program is relocated against: the kernel's (vmlinux) and, optionally, module BTFs (split BTF
 * on top of vmlinux). Modules may be given lazily; they are only asked for when vmlinux has no candidate.
 */
export interface CoreTargetSet {
  readonly vmlinux: Btf;
  readonly modules?: readonly Btf[] | (() => readonly Btf[]);
}

/**
 * Accepted forms of relocation targets: one BTF (vmlinux), a list (vmlinux first, then modules), or a
 * {@link CoreTargetSet}.
 */
export type CoreTargets = Btf | readonly Btf[] | CoreTargetSet;

/** Normalized targets with the module list resolved at most once. */
export interface ResolvedTargets {
  readonly vmlinux: Btf;
  modules(): readonly Btf[];
}

/** Turn any {@link CoreTargets} form into {@link ResolvedTargets}. */
export function resolveTargets(targets: CoreTargets | ResolvedTargets): ResolvedTargets {
  if (isResolved(targets)) return targets;
  if (Array.isArray(targets)) {
    const list = targets as readonly Btf[];
    if (list.length === 0) throw new CoreError("CORE_NO_TARGET", "CO-RE relocation: no target BTF was given");
    return { vmlinux: list[0], modules: () => list.slice(1) };
  }
  if ("vmlinux" in (targets as object)) {
    const set = targets as CoreTargetSet;
    let mods: readonly Btf[] | undefined;
    return {
      vmlinux: set.vmlinux,
      modules: () => (mods ??= typeof set.modules === "function" ? set.modules() : (set.modules ?? [])),
    };
  }
  const btf = targets as Btf;
  return { vmlinux: btf, modules: () => [] };
}

function isResolved(t: unknown): t is ResolvedTargets {
  return typeof t === "object" && t !== null && typeof (t as ResolvedTargets).modules === "function" && "vmlinux" in t;
}

/** True when `name[i..i+5)` is `X___Y` with X and Y not underscores (a flavor separator). */
function isFlavorSeparator(name: string, i: number): boolean {
  return (
    name.charCodeAt(i) !== 0x5f && name.charCodeAt(i + 1) === 0x5f && name.charCodeAt(i + 2) === 0x5f &&
    name.charCodeAt(i + 3) === 0x5f && name.charCodeAt(i + 4) !== 0x5f
  );
}

/**
 * Length of the part of a name that CO-RE compares: everything before the last `___` flavor separator
 * (`task_struct___v1` → 11), or the whole name.
 */
export function essentialNameLength(name: string): number {
  for (let i = name.length - 5; i >= 0; i--) if (isFlavorSeparator(name, i)) return i + 1;
  return name.length;
}

/** A name without its flavor suffix: `task_struct___v1` → `task_struct`. */
export function essentialName(name: string): string {
  return name.slice(0, essentialNameLength(name));
}

/**
 * Do two names match for CO-RE purposes? An anonymous target only matches an anonymous local; otherwise
 * the essential names must be equal.
 */
export function namesMatch(localName: string, targetName: string): boolean {
  if (targetName === "") return localName === "";
  return essentialName(localName) === essentialName(targetName);
}

/**
 * Index of one BTF's own types whose names carry a flavor suffix (`nf_conn___init`): kind + essential
 * name → ids. Unflavored names are looked up with the BTF's own name index instead, so this index only
 * needs the (rare) strings containing `___`, found by scanning the raw string section.
 */
type FlavorIndex = Map<string, number[]>;
const flavorIndexes = new WeakMap<Btf, FlavorIndex>();
/** String offsets (global, base-relative for split BTF) of flavored names in one BTF's own strings. */
const flavoredStrings = new WeakMap<Btf, Set<number>>();

function indexKey(kind: BtfType["kind"], essential: string): string {
  return `${kind}\0${essential}`;
}

/** Offsets of the own strings that have a flavor separator. */
function ownFlavoredStrings(btf: Btf): Set<number> {
  let set = flavoredStrings.get(btf);
  if (set) return set;
  set = new Set();
  const raw = btf.rawStrings;
  // Find each "___" with the native byte search, then take the whole NUL-terminated string around it.
  const buf = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  let marked = -1;
  for (let i = buf.indexOf("___"); i !== -1; i = buf.indexOf("___", i + 1)) {
    const start = buf.lastIndexOf(0, i) + 1;
    if (start === marked) continue;
    marked = start;
    const off = btf.stringBase + start;
    const name = btf.string(off);
    if (essentialNameLength(name) !== name.length) set.add(off);
  }
  flavoredStrings.set(btf, set);
  return set;
}

/** Build (once per Btf) the index of its own flavored types. */
function flavorIndex(btf: Btf): FlavorIndex {
  let idx = flavorIndexes.get(btf);
  if (idx) return idx;
  idx = new Map();
  const flavored = new Set<number>();
  for (let b: Btf | undefined = btf; b; b = b.base) for (const off of ownFlavoredStrings(b)) flavored.add(off);
  if (flavored.size > 0) {
    const end = btf.typeCount;
    for (let id = btf.firstId; id < end; id++) {
      if (!flavored.has(btf.nameOffsetOf(id))) continue;
      const key = indexKey(btf.kindOf(id), essentialName(btf.nameOf(id)));
      const list = idx.get(key);
      if (list) list.push(id);
      else idx.set(key, [id]);
    }
  }
  flavorIndexes.set(btf, idx);
  return idx;
}

/** Candidates among every type of `btf` (its base chain first), or only its own types. */
function searchBtf(btf: Btf, kind: BtfType["kind"], essential: string, ownOnly: boolean, out: CoreCandidate[]): void {
  if (!ownOnly && btf.base) searchBtf(btf.base, kind, essential, false, out);
  const exact = btf.findOwn(essential, kind);
  const flavored = flavorIndex(btf).get(indexKey(kind, essential)) ?? [];
  const ids = flavored.length === 0 ? exact : [...exact, ...flavored].sort((a, b) => a - b);
  for (const id of ids) out.push({ btf, id });
}

/**
 * Candidate target types for local type `localId`: every type of the same kind class (struct, union,
 * enum/enum64, fwd, int, typedef, ...) whose essential name equals the local type's. vmlinux is searched
 * first; module BTFs (their own types only) are searched only when vmlinux has no candidate.
 * Exact names come from each BTF's name index; flavored target names from a per-Btf index built once.
 * @throws CoreError `CORE_ANONYMOUS_TYPE` when the local type has no name.
 */
export function findCandidates(localBtf: Btf, localId: number, targets: CoreTargets | ResolvedTargets): CoreCandidate[] {
  const t = resolveTargets(targets);
  const name = localBtf.nameOf(localId);
  if (name === "") {
    throw new CoreError(
      "CORE_ANONYMOUS_TYPE",
      `CO-RE candidate search: local type [${localId}] ${localBtf.toString(localId)} is anonymous; candidates are found by name`,
    );
  }
  const kind = localBtf.kindOf(localId);
  const essential = essentialName(name);
  const out: CoreCandidate[] = [];
  searchBtf(t.vmlinux, kind, essential, false, out);
  if (out.length > 0) return out;
  for (const mod of t.modules()) searchBtf(mod, kind, essential, true, out);
  return out;
}
