// Data model of a parsed ELF64 little-endian relocatable object (what the ELF reader returns).
// Pure data: nothing here touches the kernel.

export interface ElfSection {
  /** Section header index. */
  readonly index: number;
  readonly name: string;
  /** sh_type (SHT_PROGBITS, SHT_NOBITS, SHT_SYMTAB, SHT_REL, ...). */
  readonly type: number;
  /** sh_flags (SHF_ALLOC, SHF_EXECINSTR, SHF_WRITE, ...). */
  readonly flags: number;
  readonly offset: number;
  readonly size: number;
  readonly link: number;
  readonly info: number;
  readonly addralign: number;
  readonly entsize: number;
  /** Section contents (a view into the file; empty for SHT_NOBITS). */
  readonly data: Uint8Array;
}

export interface ElfSymbol {
  /** Index in .symtab. */
  readonly index: number;
  readonly name: string;
  readonly value: number;
  readonly size: number;
  /** STT_* */
  readonly type: number;
  /** STB_* */
  readonly bind: number;
  /** STV_* */
  readonly visibility: number;
  /** Section index the symbol is defined in (SHN_UNDEF = 0, SHN_ABS, SHN_COMMON ...). */
  readonly shndx: number;
}

export interface ElfRelocation {
  /** Byte offset inside the target section. */
  readonly offset: number;
  /** Index of the symbol in .symtab. */
  readonly symbol: number;
  /** R_BPF_* relocation type. */
  readonly type: number;
  /** Explicit addend for SHT_RELA, 0n for SHT_REL. */
  readonly addend: bigint;
}

export interface ElfFile {
  /** e_machine (EM_BPF = 247). */
  readonly machine: number;
  /** e_type (ET_REL = 1). */
  readonly type: number;
  readonly sections: readonly ElfSection[];
  readonly symbols: readonly ElfSymbol[];
  /** Section by name, or undefined. */
  section(name: string): ElfSection | undefined;
  /** Relocations that apply to the section with the given index (merged from its SHT_REL/SHT_RELA sections). */
  relocations(sectionIndex: number): readonly ElfRelocation[];
}

export const EM_BPF = 247;
export const ET_REL = 1;
export const SHT_NULL = 0, SHT_PROGBITS = 1, SHT_SYMTAB = 2, SHT_STRTAB = 3, SHT_RELA = 4, SHT_NOBITS = 8, SHT_REL = 9;
export const SHF_WRITE = 0x1, SHF_ALLOC = 0x2, SHF_EXECINSTR = 0x4, SHF_STRINGS = 0x20;
export const STT_NOTYPE = 0, STT_OBJECT = 1, STT_FUNC = 2, STT_SECTION = 3, STT_FILE = 4;
export const STB_LOCAL = 0, STB_GLOBAL = 1, STB_WEAK = 2;
export const STV_DEFAULT = 0, STV_HIDDEN = 2;
export const SHN_UNDEF = 0, SHN_ABS = 0xfff1, SHN_COMMON = 0xfff2;
export const R_BPF_NONE = 0, R_BPF_64_64 = 1, R_BPF_64_ABS64 = 2, R_BPF_64_ABS32 = 3, R_BPF_64_NODYLD32 = 4, R_BPF_64_32 = 10;
