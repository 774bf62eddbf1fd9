// bpf_func_id → helper name table for the disassembler and call("name"), derived from the one
// generated helper id table (src/sys/helper-ids.ts, made by scripts/gen-helper-ids.ts).

import { HELPER_IDS } from "../sys/helper-ids.js";

/** Helper names indexed by bpf_func_id, in the kernel's spelling (`bpf_` prefix); index 0 is "bpf_unspec". */
export const HELPER_NAMES: readonly (string | undefined)[] = (() => {
  const names: (string | undefined)[] = ["bpf_unspec"];
  for (const [name, id] of Object.entries(HELPER_IDS)) names[id] = `bpf_${name}`;
  return names;
})();

let byName: Map<string, number> | undefined;

/** The kernel's name for helper `id` (e.g. 1 -> "bpf_map_lookup_elem"), or undefined if unknown. */
export function helperName(id: number): string | undefined {
  return Number.isInteger(id) && id >= 0 ? HELPER_NAMES[id] : undefined;
}

/** The bpf_func_id of a helper named with or without the "bpf_" prefix, or undefined. */
export function helperId(name: string): number | undefined {
  if (!byName) {
    byName = new Map();
    HELPER_NAMES.forEach((n, i) => {
      if (n !== undefined) byName!.set(n, i);
    });
  }
  return byName.get(name) ?? byName.get(`bpf_${name}`);
}
