// The tsbpf compiler: a `*.bpf.ts` kernel program in, a standard eBPF ELF object out (BTF, .BTF.ext,
// CO-RE relocations), with coded diagnostics for everything the kernel language does not support.

import { basename, resolve } from "node:path";
import type ts from "typescript";
import type { Btf } from "../btf/btf.js";
import { kernelBtf } from "../btf/kernel.js";
import { checkCallGraph, type CallGraphNode } from "./callgraph.js";
import { generate, type Cpu } from "./codegen/index.js";
import { CompileError, DiagnosticCode, fromTypeScript, type Diagnostic } from "./diagnostics.js";
import { writeObject } from "./emit/index.js";
import { createProgram, isLibraryFile, type SourceOverrides } from "./host.js";
import { checkUserFile, USER_FILE_LIMITS } from "../sys/user-file.js";
import type { IrFunction } from "./ir.js";
import { lowerModule } from "./lower/module.js";
import { checkNesting, deepestPath, isStackOverflow, nestingAt } from "./nesting.js";
import type { CompiledFunction, CompiledModule } from "./module.js";

export { CompileError, formatDiagnostic, DiagnosticCode } from "./diagnostics.js";
export type { Diagnostic } from "./diagnostics.js";

/** Options of {@link compile}. */
export interface CompileOptions {
  /** Kernel BTF used at compile time for kernel struct layouts (default: the running kernel's). */
  readonly btf?: Btf | (() => Btf);
  /** Instruction set: "v3" (default, Linux 5.1+) or "v4" (Linux 6.6+). */
  readonly cpu?: Cpu;
  /** In-memory file contents (absolute path → text), overriding the disk. */
  readonly sources?: SourceOverrides;
}

/** The result of a compilation. */
export interface CompileResult {
  /** The ELF object (absent when there are errors). */
  readonly object: Uint8Array | undefined;
  /** Every problem found. */
  readonly diagnostics: readonly Diagnostic[];
  /** The compiled module (for inspection and tests). */
  readonly module: CompiledModule | undefined;
  /** IR of each program, then of each subprogram, before code generation. */
  readonly ir: readonly IrFunction[];
}

/**
 * Compiles a kernel program. Never throws for problems in the source: they are returned as
 * diagnostics (use {@link compileOrThrow} to get a CompileError instead). A syntax error is reported
 * alone, as tsc does: type checking and lowering a file that did not parse only add noise.
 *
 * @throws FileError when `entry` is missing, not a regular file or over 16 MiB (`FILE_NOT_FOUND`,
 * `FILE_NOT_REGULAR`, `FILE_TOO_LARGE`); an unreadable import is a diagnostic at the import.
 *
 * @example
 * const { object, diagnostics } = compile("execsnoop.bpf.ts");
 * if (!object) console.error(diagnostics.map(formatDiagnostic).join("\n"));
 */
export function compile(entry: string, opts: CompileOptions = {}): CompileResult {
  const path = resolve(entry);
  if (!opts.sources?.has(path)) checkUserFile(entry, "kernel program source", USER_FILE_LIMITS.source);
  const tooDeep: Diagnostic[] = [];
  let program: ts.Program;
  try {
    program = createProgram(path, opts.sources, tooDeep);
  } catch (e) {
    if (!isStackOverflow(e)) throw e;
    // Only bracket nesting is checked before parsing; other right-recursive syntax (`!!!...x`) ends here.
    return failed([{ code: DiagnosticCode.Nesting, message: "source nested too deeply for the TypeScript parser: split deeply nested expressions into several statements with intermediate variables", file: path, line: 1, column: 1, start: 0, length: 0, text: "" }]);
  }
  if (tooDeep.length) return failed(tooDeep);
  const sf = program.getSourceFile(path);
  if (!sf) {
    return { object: undefined, module: undefined, ir: [], diagnostics: [{ code: DiagnosticCode.Import, message: `cannot read ${entry}`, file: entry, line: 0, column: 0, start: 0, length: 0, text: "" }] };
  }
  const userFiles = program.getSourceFiles().filter((f) => !f.isDeclarationFile && !isLibraryFile(f.fileName));
  // Too deep for the checker and the lowering (which recurse per level): diagnosed before they run.
  const nesting = userFiles.map(checkNesting).filter((d) => d !== undefined);
  if (nesting.length) return failed(nesting);
  const diagnostics: Diagnostic[] = [];
  const btf = typeof opts.btf === "function" ? opts.btf : opts.btf ? () => opts.btf as Btf : () => kernelBtf();
  let lowered;
  try {
    // A file that did not parse gets only its syntax errors, as with tsc (checking it adds noise).
    for (const f of userFiles) for (const d of program.getSyntacticDiagnostics(f)) diagnostics.push(fromTypeScript(d));
    if (diagnostics.length) return { object: undefined, module: undefined, ir: [], diagnostics: sortDiagnostics(diagnostics) };
    for (const f of userFiles) for (const d of program.getSemanticDiagnostics(f)) diagnostics.push(fromTypeScript(d as ts.Diagnostic));
    for (const d of program.getOptionsDiagnostics()) diagnostics.push(fromTypeScript(d));
    lowered = lowerModule(program, sf, btf);
  } catch (e) {
    // Under MAX_NESTING and still too deep (a caller that left little stack): located at the deepest expression.
    if (isStackOverflow(e)) {
      const deepest = userFiles.map((f) => ({ f, path: deepestPath(f)! })).reduce((a, b) => (b.path.length > a.path.length ? b : a));
      return failed([nestingAt(deepest.f, deepest.path)]);
    }
    diagnostics.push({ code: DiagnosticCode.Internal, message: `internal compiler error: ${(e as Error).stack ?? e}`, file: path, line: 1, column: 1, start: 0, length: 0, text: "" });
    return { object: undefined, module: undefined, ir: [], diagnostics };
  }
  // Where the compiler and TypeScript refuse the same code, the compiler's report gives the kernel
  // language's reason (an import it does not allow, a read-only context field): keep it alone.
  const ours = lowered.diagnostics;
  const overlaps = (a: Diagnostic, b: Diagnostic): boolean => a.file === b.file && a.start < b.start + Math.max(1, b.length) && b.start < a.start + Math.max(1, a.length);
  for (let i = diagnostics.length - 1; i >= 0; i--) if (ours.some((d) => overlaps(d, diagnostics[i]!))) diagnostics.splice(i, 1);
  for (const d of ours) diagnostics.push(d);
  const ir = [...lowered.programs.map((p) => p.ir), ...lowered.subprograms.map((s) => s.ir)];
  if (diagnostics.length) return { object: undefined, module: undefined, ir, diagnostics: sortDiagnostics(diagnostics) };
  const functions: CompiledFunction[] = [];
  const graph = new Map<string, CallGraphNode>();
  const subFunctions: CompiledFunction[] = [];
  for (const s of lowered.subprograms) {
    try {
      const g = generate(s.ir, { cpu: opts.cpu ?? "v3" });
      graph.set(s.name, { ir: s.ir, stackSize: g.stackSize });
      subFunctions.push({ name: s.name, section: ".text", global: false, proto: s.proto, instructions: g.instructions, coreRelocations: g.coreRelocations, loc: s.loc });
    } catch (e) {
      const loc = (e as { loc?: { line: number; column: number } }).loc ?? s.loc;
      const detail = (e as { detail?: unknown }).detail;
      diagnostics.push({ code: DiagnosticCode.Limit, message: `${s.name}: ${typeof detail === "string" ? detail : (e as Error).message}`, file: s.loc.file, line: loc.line, column: loc.column, start: 0, length: 0, text: "" });
    }
  }
  for (const p of lowered.programs) {
    try {
      const g = generate(p.ir, { cpu: opts.cpu ?? "v3" });
      graph.set(p.name, { ir: p.ir, stackSize: g.stackSize });
      functions.push({
        name: p.name,
        section: p.section,
        global: true,
        proto: p.proto ?? { kind: "func_proto", returns: { kind: "int", name: "int", size: 4, signed: true }, params: [{ name: "ctx", type: { kind: "ptr", target: { kind: "void" } } }] },
        instructions: g.instructions,
        coreRelocations: g.coreRelocations,
        ...(p.loc ? { loc: p.loc } : {}),
      });
    } catch (e) {
      const loc = (e as { loc?: { line: number; column: number } }).loc ?? p.loc;
      const detail = (e as { detail?: unknown }).detail;
      diagnostics.push({ code: DiagnosticCode.Limit, message: `${p.name}: ${typeof detail === "string" ? detail : (e as Error).message}`, file: p.loc?.file ?? path, line: loc?.line ?? 1, column: loc?.column ?? 1, start: 0, length: 0, text: "" });
    }
  }
  functions.push(...subFunctions);
  if (!diagnostics.length && lowered.subprograms.length) {
    for (const pr of checkCallGraph(lowered.programs.map((p) => p.name), graph)) {
      diagnostics.push({ code: DiagnosticCode.Limit, message: pr.message, file: pr.loc?.file ?? path, line: pr.loc?.line ?? 1, column: pr.loc?.column ?? 1, start: 0, length: 0, text: pr.loc?.text ?? "" });
    }
  }
  if (diagnostics.length) return { object: undefined, module: undefined, ir, diagnostics: sortDiagnostics(diagnostics) };
  const sources = new Map<string, string>();
  for (const f of program.getSourceFiles()) if (!f.isDeclarationFile && !isLibraryFile(f.fileName)) sources.set(f.fileName, f.text);
  const module: CompiledModule = {
    name: basename(path).replace(/\..*$/, ""),
    license: lowered.license,
    functions,
    maps: lowered.maps,
    globals: lowered.globals,
    externs: lowered.externs,
    sources,
    ...(lowered.structOps.length ? { structOps: lowered.structOps } : {}),
  };
  try {
    return { object: writeObject(module), module, ir, diagnostics: [] };
  } catch (e) {
    diagnostics.push({ code: DiagnosticCode.Internal, message: `internal compiler error writing the object: ${(e as Error).message}`, file: path, line: 1, column: 1, start: 0, length: 0, text: "" });
    return { object: undefined, module, ir, diagnostics };
  }
}

function failed(diagnostics: Diagnostic[]): CompileResult {
  return { object: undefined, module: undefined, ir: [], diagnostics: sortDiagnostics(diagnostics) };
}

/** Like {@link compile}, but throws a {@link CompileError} listing every diagnostic on failure. */
export function compileOrThrow(entry: string, opts: CompileOptions = {}): Uint8Array {
  const r = compile(entry, opts);
  if (!r.object) throw new CompileError(r.diagnostics);
  return r.object;
}

/** Sorted by position; one per position and message (a function inlined twice reports its errors once). */
function sortDiagnostics(ds: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  const unique = ds.filter((d) => {
    const key = `${d.file}:${d.start}:${d.length}:${d.code}:${d.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return unique.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column);
}
