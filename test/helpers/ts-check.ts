// Type-check TypeScript sources held in memory (plus real files by absolute path) with the compiler API
// under strict settings; used by the `tsbpf gen` tests to prove generated declarations compile.

import ts from "typescript";

/** Strict ESM options like the project's tsconfig (no node types, small lib). */
export const STRICT_OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  strict: true,
  noEmit: true,
  skipLibCheck: true,
  verbatimModuleSyntax: true,
  isolatedModules: true,
  noUncheckedIndexedAccess: false,
  types: [],
  lib: ["lib.es2022.d.ts"],
};

const VIRTUAL = "/virtual-ts-check";

/**
 * Type-check `files` (name → source; names are relative, e.g. "vmlinux.ts") starting from `roots`.
 * Every file is checked, not only the roots. Returns the diagnostics formatted one per line.
 */
export function typecheck(files: Record<string, string>, roots: readonly string[]): string[] {
  const virtual = new Map<string, string>();
  for (const [name, text] of Object.entries(files)) virtual.set(`${VIRTUAL}/${name}`, text);
  virtual.set(`${VIRTUAL}/package.json`, JSON.stringify({ type: "module" }));
  const base = ts.createCompilerHost(STRICT_OPTIONS);
  const host: ts.CompilerHost = {
    ...base,
    getCurrentDirectory: () => VIRTUAL,
    fileExists: (f) => virtual.has(f) || (!f.startsWith(VIRTUAL) && base.fileExists(f)),
    readFile: (f) => virtual.get(f) ?? (f.startsWith(VIRTUAL) ? undefined : base.readFile(f)),
    getSourceFile(f, lang, onError, create) {
      const text = virtual.get(f);
      if (text !== undefined) return ts.createSourceFile(f, text, lang, true);
      return base.getSourceFile(f, lang, onError, create);
    },
    directoryExists: (d) => d === VIRTUAL || d.startsWith(`${VIRTUAL}/`) ? true : (base.directoryExists?.(d) ?? true),
  };
  const program = ts.createProgram(roots.map((r) => `${VIRTUAL}/${r}`), STRICT_OPTIONS, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const msg = ts.flattenDiagnosticMessageText(d.messageText, "\n");
    if (!d.file || d.start === undefined) return msg;
    const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
    return `${d.file.fileName.replace(`${VIRTUAL}/`, "")}:${line + 1}:${character + 1}: ${msg}`;
  });
}

/** A stand-in for `tsbpf/kernel`'s scalar aliases plus the real src/kernel/types.ts helpers. */
export function kernelStandIn(typesTs: string): Record<string, string> {
  return {
    "types.ts": typesTs,
    "index.ts": [
      "export type u8 = number; export type u16 = number; export type u32 = number; export type u64 = bigint;",
      "export type i8 = number; export type i16 = number; export type i32 = number; export type i64 = bigint;",
      "export type bool = boolean;",
      'export type * from "./types.js";',
      "",
    ].join("\n"),
  };
}
