// Public entry of the ELF layer: the reader and the shared ELF data model.
// Pure code: parses bytes, never touches the kernel.

export * from "./types.js";
export { readElf, SHN_LORESERVE, SHN_XINDEX, SHT_SYMTAB_SHNDX } from "./reader.js";
export type { ReadElfOptions } from "./reader.js";
