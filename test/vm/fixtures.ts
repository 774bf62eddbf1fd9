// Fixtures of the VM suite (BPF objects, host test binaries), built on the host before the VM boots:
// scripts/vm/prepare.ts builds them all and the VM reads their paths from $TSBPF_VM_MANIFEST.

import { readFileSync } from "node:fs";
import { dirname } from "node:path";
import { compileC, vmlinuxHeader } from "../helpers/clang.js";
import { triggerProgram } from "../helpers/loader.js";

/** BPF objects: name → C source (repo-relative) and whether it includes the host's vmlinux.h. */
const OBJECTS: Record<string, { source: string; vmlinux?: boolean }> = {
};

/** Host executables: name → builder. */
const BINARIES: Record<string, () => string> = {
  trigger: triggerProgram,
};

export type VmFixtureName = keyof typeof OBJECTS;

let manifest: Record<string, string> | undefined;
function fromManifest(name: string): string | undefined {
  const path = process.env.TSBPF_VM_MANIFEST;
  if (!path) return undefined;
  manifest ??= JSON.parse(readFileSync(path, "utf8")) as Record<string, string>;
  const found = manifest[name];
  if (!found) throw new Error(`VM fixture "${name}" is not in ${path}: add it to test/vm/fixtures.ts`);
  return found;
}

/** Path of the compiled BPF object `name` (compiled on the host by prepare.ts; compiled here otherwise). */
export async function vmObject(name: string): Promise<string> {
  const known = fromManifest(`object:${name}`);
  if (known) return known;
  const def = OBJECTS[name];
  if (!def) throw new Error(`unknown VM fixture object "${name}"`);
  return compileC(def.source, def.vmlinux ? { includes: [dirname(vmlinuxHeader())] } : {});
}

/** Path of the host test binary `name`. */
export function vmBinary(name: string): string {
  const known = fromManifest(`binary:${name}`);
  if (known) return known;
  const build = BINARIES[name];
  if (!build) throw new Error(`unknown VM fixture binary "${name}"`);
  return build();
}

/** Builds every fixture; returns the manifest prepare.ts writes. */
export async function buildVmFixtures(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(OBJECTS)) out[`object:${name}`] = await vmObject(name);
  for (const name of Object.keys(BINARIES)) out[`binary:${name}`] = vmBinary(name);
  return out;
}

/** True inside the test VM (scripts/test-vm.sh). */
export const IN_VM = process.env.TSBPF_IN_VM === "1";
