// The TypeScript front end: builds a type-checked ts.Program for a kernel program with `tsbpf/kernel`
// and `tsbpf/types` mapped to this package's sources. Parsed files are cached across compilations.

import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { FileError } from "../errors.js";
import { readUserFile, USER_FILE_LIMITS } from "../sys/user-file.js";
import type { Diagnostic } from "./diagnostics.js";
import { scanNesting } from "./nesting.js";

/** This package's root (the directory holding package.json and src/). */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

function sourceDir(): string {
  // Prefer the TypeScript sources (shipped in the package) so that declarations carry JSDoc and BTF markers.
  const src = join(PACKAGE_ROOT, "src");
  return existsSync(join(src, "kernel", "index.ts")) ? src : join(PACKAGE_ROOT, "..", "src");
}

/** Paths of the kernel-side library modules. */
export function libraryPaths(): { kernel: string; types: string; dir: string } {
  const dir = sourceDir();
  return { kernel: join(dir, "kernel", "index.ts"), types: join(dir, "types", "index.ts"), dir };
}

/** Compiler options used for kernel programs: strict, ES2022 library (for bigint), no emit. */
export function compilerOptions(): ts.CompilerOptions {
  const lib = libraryPaths();
  return {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ["lib.es2022.d.ts"],
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    allowImportingTsExtensions: true,
    types: [],
    paths: {
      "tsbpf/kernel": [lib.kernel],
      "tsbpf/types": [lib.types],
    },
  };
}

interface CachedFile {
  readonly hash: string;
  readonly sf: ts.SourceFile;
}

const fileCache = new Map<string, CachedFile>();
let lastProgram: ts.Program | undefined;

function hashText(text: string): string {
  return createHash("sha1").update(text).digest("hex");
}

/** In-memory overrides (file name → text), e.g. for tests and the fuzzer. */
export type SourceOverrides = ReadonlyMap<string, string>;

/**
 * Creates the ts.Program for `entry`. Library and unchanged user files are parsed once per process;
 * the previous program is passed to TypeScript for structure reuse. A user file nested too deeply for
 * the parser is not parsed: it stands as an empty file and its diagnostic goes to `tooDeep`.
 */
export function createProgram(entry: string, overrides?: SourceOverrides, tooDeep: Diagnostic[] = []): ts.Program {
  const options = compilerOptions();
  const host = ts.createCompilerHost(options, true);
  // Sources and their imports are user files: a FIFO, device or huge file is refused, not read.
  const readText = (name: string): string | undefined => {
    const text = overrides?.get(name);
    if (text !== undefined) return text;
    try {
      return readUserFile(name, "source file", USER_FILE_LIMITS.source).toString("utf8");
    } catch (e) {
      if (e instanceof FileError && e.code === "FILE_NOT_FOUND") return undefined;
      throw e;
    }
  };
  host.readFile = (name) => {
    try {
      return readText(name);
    } catch {
      return undefined;
    }
  };
  host.fileExists = (name) => overrides?.has(name) === true || existsSync(name);
  host.getSourceFile = (name, languageVersion, onError) => {
    let text: string | undefined;
    try {
      text = readText(name);
    } catch (e) {
      // TypeScript turns this into a "Cannot read file" diagnostic at the import.
      if (!(e instanceof FileError)) throw e;
      onError?.(e.message);
      return undefined;
    }
    if (text === undefined) return undefined;
    const hash = hashText(text);
    const cached = fileCache.get(name);
    if (cached && cached.hash === hash) return cached.sf;
    if (!isLibraryFile(name) && !name.includes("/node_modules/")) {
      const deep = scanNesting(name, text);
      if (deep) {
        tooDeep.push(deep);
        return ts.createSourceFile(name, "", languageVersion, true);
      }
    }
    const sf = ts.createSourceFile(name, text, languageVersion, true);
    fileCache.set(name, { hash, sf });
    return sf;
  };
  const program = ts.createProgram({ rootNames: [resolve(entry)], options, host, oldProgram: lastProgram });
  lastProgram = program;
  return program;
}

/** Whether `fileName` is one of tsbpf's own library modules (kernel declarations, layouts). */
export function isLibraryFile(fileName: string): boolean {
  const dir = libraryPaths().dir;
  return resolve(fileName).startsWith(dir + "/");
}
