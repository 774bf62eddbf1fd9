// Public entry point of tsbpf: load eBPF objects, then use their maps, programs and links.
// Lower layers (asm, elf, btf, object, sys) are exported for tools that need them.

import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { TsbpfError } from "./errors.js";
import { objectNameFromPath, readCollectionSpec } from "./object/reader.js";
import type { CollectionSpec } from "./object/spec.js";
import { Collection, loadCollection, type CollectionOptions } from "./runtime/collection.js";

export * from "./errors.js";
export { objectNameFromPath, readCollectionSpec } from "./object/reader.js";
export type { ReadOptions } from "./object/reader.js";
export type * from "./object/spec.js";
export { sectionInfo, knownSections } from "./object/sections.js";
export type { SectionInfo, ProgramTypeName, AttachTypeName, AttachKind } from "./object/sections.js";
export { Collection, loadCollection } from "./runtime/collection.js";
export type { CollectionOptions } from "./runtime/collection.js";
export { BpfMap, TypedMap, UpdateFlags } from "./runtime/map.js";
export type { Codec, CreateMapOptions, RawBatch, BatchOptions } from "./runtime/map.js";
export * from "./runtime/maps/index.js";
export { Program, loadProgram } from "./runtime/program.js";
export type { TestRunOptions, TestRunResult } from "./runtime/program.js";
export { Link } from "./runtime/links/link.js";
export type { AttachOptions } from "./runtime/links/attach.js";
export type { XdpMode } from "./runtime/links/xdp.js";
export { RingBufReader } from "./runtime/ringbuf.js";

/** Options for {@link load}: how to name the object, plus everything {@link loadCollection} takes. */
export interface LoadOptions extends CollectionOptions {
  /** Object name (for global data map names); defaults to the file name up to its first dot, as in libbpf. */
  readonly name?: string;
}

/**
 * Read an eBPF ELF object (a path, file URL or bytes) and load its maps and programs into the kernel.
 *
 * @example
 * import { load } from "tsbpf";
 * await using obj = await load("./execsnoop.bpf.o");
 * obj.program("handle_exec").attach();
 */
export async function load(source: string | URL | Uint8Array, opts: LoadOptions = {}): Promise<Collection> {
  let bytes: Uint8Array;
  let name = opts.name;
  if (source instanceof Uint8Array) {
    bytes = source;
  } else {
    const path = source instanceof URL ? fileURLToPath(source) : source;
    if (path.endsWith(".ts")) {
      throw new TsbpfError("UNSUPPORTED", `load ${path}: compiling TypeScript kernel programs is not available yet; load a compiled ELF object (.o)`);
    }
    bytes = await readFile(path);
    name ??= objectNameFromPath(path);
  }
  const spec: CollectionSpec = readCollectionSpec(bytes, { name: name ?? "obj" });
  return loadCollection(spec, opts);
}
