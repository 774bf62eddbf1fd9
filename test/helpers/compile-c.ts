// Test helper: compile a C snippet with clang (default -O2 -g -target bpf) into .cache/c/, cached by content.
// Also runs llvm tools (llvm-readelf, bpftool) whose output the ELF/BTF tests compare against.

import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = new URL("../..", import.meta.url).pathname;
const cacheDir = join(root, ".cache", "c");

let multiarch: string | undefined;
function includeFlags(): string[] {
  if (multiarch === undefined) {
    try {
      multiarch = execFileSync("gcc", ["-print-multiarch"], { encoding: "utf8" }).trim();
    } catch {
      multiarch = "";
    }
  }
  const flags = ["-I", join(root, "test", "fixtures", "c")];
  if (multiarch) flags.push("-I", `/usr/include/${multiarch}`);
  return flags;
}

/** Options for {@link compileC}. */
export interface CompileOptions {
  /** Replaces the default flags `-O2 -g -target bpf`. */
  readonly flags?: readonly string[];
  /** Base name of the output file (for readable cache entries). */
  readonly name?: string;
}

/** A compiled object: its path in the cache and its bytes. */
export interface CompiledObject {
  readonly path: string;
  readonly bytes: Uint8Array;
}

/** Compile C source text to an object file (cached in .cache/c by source, flags and clang version). */
export function compileC(source: string, opts: CompileOptions = {}): CompiledObject {
  const flags = [...(opts.flags ?? ["-O2", "-g", "-target", "bpf"]), ...includeFlags()];
  const key = createHash("sha256").update(source).update("\0").update(flags.join("\0")).update(clangVersion()).digest("hex").slice(0, 16);
  mkdirSync(cacheDir, { recursive: true });
  const base = `${opts.name ?? "snippet"}-${key}`;
  const out = join(cacheDir, `${base}.o`);
  if (!existsSync(out)) {
    const src = join(cacheDir, `${base}.c`);
    writeFileSync(src, source);
    const tmp = `${out}.${process.pid}.tmp`;
    execFileSync("clang", [...flags, "-c", src, "-o", tmp], { stdio: ["ignore", "ignore", "pipe"] });
    renameSync(tmp, out);
  }
  return { path: out, bytes: new Uint8Array(readFileSync(out)) };
}

/** Compile a file under test/fixtures/c. */
export function compileFixture(file: string, opts: CompileOptions = {}): CompiledObject {
  return compileC(readFileSync(join(root, "test", "fixtures", "c", file), "utf8"), { name: file.replace(/\.c$/, ""), ...opts });
}

let version: string | undefined;
function clangVersion(): string {
  return (version ??= execFileSync("clang", ["--version"], { encoding: "utf8" }).split("\n")[0] ?? "");
}

/** Run a tool and return its stdout. */
export function run(cmd: string, args: readonly string[]): string {
  return execFileSync(cmd, args, { encoding: "utf8", maxBuffer: 1 << 28 });
}

/** Is this command available? */
export function hasTool(cmd: string): boolean {
  try {
    execFileSync(cmd, ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
