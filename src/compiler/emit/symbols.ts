// The object's symbol table: section symbols and static functions/variables first (STB_LOCAL), then
// programs, global subprograms, maps, global variables, the license and undefined externs.

import type { OutSymbol } from "./elf-writer.js";
import { emitError } from "./errors.js";

/** Key of a section's STT_SECTION symbol. */
export const sectionKey = (section: string): string => `section:${section}`;
/** Key of a named symbol. */
export const nameKey = (name: string): string => `name:${name}`;

/** Collects symbols in two groups and numbers them locals first, as ELF requires. */
export class SymbolTableBuilder {
  readonly #locals: [string, OutSymbol][] = [];
  readonly #globals: [string, OutSymbol][] = [];
  readonly #keys = new Set<string>();

  #add(list: [string, OutSymbol][], key: string, sym: OutSymbol): void {
    if (this.#keys.has(key)) throw emitError("EMIT_DUPLICATE_NAME", `symbol "${sym.name}" is defined twice`);
    this.#keys.add(key);
    list.push([key, sym]);
  }

  /** Add an STB_LOCAL symbol. */
  local(key: string, sym: OutSymbol): void {
    this.#add(this.#locals, key, sym);
  }

  /** Add an STB_GLOBAL or STB_WEAK symbol. */
  global(key: string, sym: OutSymbol): void {
    this.#add(this.#globals, key, sym);
  }

  /** The symbols in table order (without the null symbol) and each key's .symtab index. */
  finish(): { symbols: OutSymbol[]; index: Map<string, number> } {
    const all = [...this.#locals, ...this.#globals];
    const index = new Map<string, number>();
    all.forEach(([key], i) => index.set(key, i + 1));
    return { symbols: all.map(([, s]) => s), index };
  }
}
