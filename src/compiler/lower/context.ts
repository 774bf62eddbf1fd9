// What lowering a function needs from the module being compiled: maps, globals, user functions,
// the program kind, constant evaluation, kernel types and diagnostics.

import type ts from "typescript";
import type { ConstEvaluator } from "../consteval.js";
import type { Diagnostic } from "../diagnostics.js";
import type { CompiledMap, CompiledMapType, CType } from "../module.js";
import type { Ty } from "../types.js";
import type { KernelTypes } from "./kernel.js";
import type { LogTable } from "./log.js";
import type { Subprograms } from "./subprograms.js";

/** A declared map. `key`/`value` are the element types (`mem` for aggregates). */
export interface MapInfo {
  readonly name: string;
  /** The `tsbpf/kernel` class, e.g. `HashMap`. */
  readonly className: string;
  readonly type: CompiledMapType;
  readonly key: Ty | undefined;
  readonly value: Ty | undefined;
  readonly compiled: CompiledMap;
}

/** A module-level variable in .data/.bss. */
export interface GlobalVar {
  readonly name: string;
  readonly section: ".data" | ".bss" | ".rodata";
  readonly offset: number;
  readonly ty: Ty;
}

/** Module-wide services used while lowering functions. */
export interface ModuleContext {
  readonly checker: ts.TypeChecker;
  readonly consts: ConstEvaluator;
  readonly kernel: KernelTypes;
  /** Reports and aborts the current statement. */
  report(node: ts.Node, code: string, message: string): never;
  /** Reports and continues. */
  warnOrError(d: Diagnostic): void;
  /** The map a declaration is, declaring it on first use. */
  mapOf(decl: ts.Declaration): MapInfo | undefined;
  /** A declared map by name. */
  mapByName(name: string): MapInfo;
  /** Whether a module-level declaration was already reported (its uses abort quietly). */
  failed(decl: ts.Declaration): boolean;
  /** The global a declaration is. */
  globalOf(decl: ts.Declaration): GlobalVar | undefined;
  /** The `.rodata` array holding module-level constant array `decl` (with `values`), made on first use. */
  constTable(decl: ts.VariableDeclaration, values: readonly unknown[]): GlobalVar;
  /** Offset in `.rodata` of a NUL-terminated string constant. */
  rodataString(text: string): number;
  /** Resolves a type annotation to a compiler type. */
  typeOfNode(node: ts.TypeNode): Ty;
  /** Declares kernel function `name` (a `.ksyms` extern the loader resolves) with its prototype, once. */
  kfunc(name: string, proto: CType & { readonly kind: "func_proto" }): void;
  /** The object's log format table (log.info`...`, src/compiler/lower/log.ts). */
  readonly log: LogTable;
  /** User functions compiled as bpf-to-bpf subprograms (absent: every call is inlined). */
  readonly subprograms?: Subprograms;
}
