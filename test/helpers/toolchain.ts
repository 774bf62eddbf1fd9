// The C and assembly toolchain of the tests: compiles eBPF C with clang and assembles BPF text with
// llvm-mc, every output cached by content in one directory (node_modules/.cache/tsbpf-toolchain/);
// also finds bpftool and the LLVM tools, and generates vmlinux.h from the kernel's BTF.
//
// Three ways to compile, for three kinds of caller:
// - compileC(file) / compileCSource(name, text): async, the libbpf flags of scripts/build-bpf.sh
//   (-mcpu=v3, __TARGET_ARCH_*, libbpf's headers); loader and interop tests;
// - compileCText(text) / compileFixture(file): sync, bare `-O2 -g -target bpf` (or given flags) with
//   test/fixtures/c on the include path; the ELF and BTF reader tests, which compare with llvm-readelf;
// - compileCForCpu(file, cpu): sync, the newest installed clang at -mcpu=vN; the asm tests.

import { execFile, execFileSync, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { machine, release } from "node:os";
import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { TsbpfError } from "../../src/errors.js";

/** Repository root (two levels above test/helpers). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
/** The one cache of compiled objects, assembled code, C sources given as text and vmlinux.h. */
export const TOOLCHAIN_CACHE_DIR = join(REPO_ROOT, "node_modules", ".cache", "tsbpf-toolchain");
/** The C test corpus: `<repo>/test/fixtures/c`. */
export const CORPUS_DIR = join(REPO_ROOT, "test", "fixtures", "c");

const SETUP_HINT = "run `bash scripts/setup.sh` (installs clang, llvm, libbpf-dev, bpftool)";

/** A build tool (clang, llvm-mc, bpftool) is missing or failed. `code`: TOOL_MISSING or TOOL_FAILED. */
export class ToolchainError extends TsbpfError {}

// ---------------------------------------------------------------------------------------------------
// The cache: every entry is named by a hash of everything that determines its contents, and written
// to a temporary name first, then renamed, so concurrent test processes never see half a file.

/** First 16 hex digits of the sha256 of `parts` (separated, so that ["ab", "c"] differs from ["a", "bc"]). */
function digest(parts: readonly (string | Uint8Array)[]): string {
  const h = createHash("sha256");
  for (const p of parts) h.update(p).update("\0");
  return h.digest("hex").slice(0, 16);
}

function tmpName(path: string): string {
  return `${path}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
}

/** `produce(tmp)` writes the entry; it is renamed to `path` on success and removed on failure. */
function publish(path: string, produce: (tmp: string) => void): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = tmpName(path);
  try {
    produce(tmp);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  renameSync(tmp, path);
}

/** The cache path of an output named `<name>.<hash><ext>`, hashed from `key`. */
function entryPath(name: string, key: readonly (string | Uint8Array)[], ext: string): string {
  return join(TOOLCHAIN_CACHE_DIR, `${name}.${digest(key)}${ext}`);
}

/** Writes C source text to `src/<hash>/<fileName(hash)>` in the cache (once) and returns the path. */
function sourceFile(text: string, fileName: (hash: string) => string): string {
  const hash = digest([text]);
  const file = join(TOOLCHAIN_CACHE_DIR, "src", hash, fileName(hash));
  if (!existsSync(file)) publish(file, (tmp) => writeFileSync(tmp, text));
  return file;
}

// ---------------------------------------------------------------------------------------------------
// Tools.

/** The clang executable: `$CLANG` or `clang` on PATH. */
export function clangPath(): string {
  return process.env.CLANG || "clang";
}

let clangVersionCache: string | undefined;

/** First line of `clang --version`; throws ToolchainError(TOOL_MISSING) when clang is absent. */
export function clangVersion(): string {
  if (clangVersionCache !== undefined) return clangVersionCache;
  try {
    const out = execFileSync(clangPath(), ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    clangVersionCache = out.split("\n")[0].trim();
    return clangVersionCache;
  } catch (err) {
    throw new ToolchainError(
      "TOOL_MISSING",
      `compile eBPF C: cannot run ${clangPath()} (${(err as Error).message.split("\n")[0]}); ${SETUP_HINT}`,
      { cause: err },
    );
  }
}

/** A located LLVM tool and the newest BPF cpu version it supports (3 or 4). */
export interface Tool {
  path: string;
  version: string;
  cpu: 3 | 4;
}

function majorOf(versionText: string): number {
  const m = /version (\d+)\./.exec(versionText);
  return m ? Number(m[1]) : 0;
}

const toolCache = new Map<string, Tool | undefined>();

/** The newest of `name-N` (N = 21..14) or plain `name` on PATH; cpu 4 needs LLVM >= 17. */
export function findTool(name: "llvm-mc" | "clang" | "llvm-objcopy" | "llvm-objdump"): Tool | undefined {
  if (toolCache.has(name)) return toolCache.get(name);
  let best: Tool | undefined;
  for (const candidate of [...Array.from({ length: 8 }, (_, i) => `${name}-${21 - i}`), name]) {
    const r = spawnSync(candidate, ["--version"], { encoding: "utf8" });
    if (r.error || r.status !== 0) continue;
    const version = (r.stdout + r.stderr).split("\n").find((l) => /version \d+\./.test(l))?.trim() ?? "";
    const major = majorOf(version);
    const tool: Tool = { path: candidate, version, cpu: major >= 17 ? 4 : 3 };
    if (!best || majorOf(best.version) < major) best = tool;
  }
  toolCache.set(name, best);
  return best;
}

/** Is this command available (does `cmd --version` succeed)? */
export function hasTool(cmd: string): boolean {
  try {
    execFileSync(cmd, ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Runs a tool and returns its stdout (throws with its stderr when it fails). */
export function run(cmd: string, args: readonly string[]): string {
  return execFileSync(cmd, args, { encoding: "utf8", maxBuffer: 1 << 28 });
}

/** The bpftool executable: `$BPFTOOL`, `bpftool` on PATH, or /usr/sbin/bpftool. */
export function bpftoolPath(): string {
  if (process.env.BPFTOOL) return process.env.BPFTOOL;
  for (const dir of (process.env.PATH ?? "").split(":").filter(Boolean)) {
    if (existsSync(join(dir, "bpftool"))) return join(dir, "bpftool");
  }
  for (const candidate of ["/usr/sbin/bpftool", "/sbin/bpftool", "/usr/local/sbin/bpftool"]) {
    if (existsSync(candidate)) return candidate;
  }
  throw new ToolchainError("TOOL_MISSING", `find bpftool: not installed; ${SETUP_HINT}`);
}

/** The ToolchainError for a failed run of `tool` on `what` (TOOL_MISSING when it is not installed). */
function toolFailure(err: unknown, tool: string, what: string): ToolchainError {
  if (err instanceof ToolchainError) return err;
  const e = err as NodeJS.ErrnoException & { stderr?: string | Buffer };
  if (e.code === "ENOENT") return new ToolchainError("TOOL_MISSING", `${what}: ${tool} not found; ${SETUP_HINT}`, { cause: err });
  return new ToolchainError("TOOL_FAILED", `${what}: ${basename(tool)} failed:\n${String(e.stderr ?? "") || e.message}`, { cause: err });
}

/** Runs `tool args` synchronously (stdin `input`); a failure is a ToolchainError carrying its stderr. */
function runSync(tool: string, args: readonly string[], what: string, input?: string): void {
  try {
    execFileSync(tool, args, { input, stdio: [input === undefined ? "ignore" : "pipe", "ignore", "pipe"], maxBuffer: 64 << 20 });
  } catch (err) {
    throw toolFailure(err, tool, what);
  }
}

// ---------------------------------------------------------------------------------------------------
// clang with libbpf's flags (async).

/** Options for {@link compileC}. */
export interface CompileOptions {
  /** `-D` macros: `{ FOO: 1, BAR: "x", BAZ: true }` gives `-DFOO=1 -DBAR=x -DBAZ`. */
  defines?: Record<string, string | number | boolean>;
  /** Extra `-I` directories (searched before the libbpf and arch directories). */
  includes?: string[];
  /** `-mcpu=` value; default `v3`. */
  mcpu?: string;
  /** Any further clang flags, appended last. */
  extraFlags?: string[];
}

/** The kernel architecture name used by bpf_tracing.h (`__TARGET_ARCH_<name>`), from `uname -m`. */
export function targetArch(m: string = machine()): string {
  if (m === "x86_64" || /^i[3-6]86$/.test(m)) return "x86";
  if (m === "aarch64" || m === "arm64") return "arm64";
  if (m.startsWith("arm")) return "arm";
  if (m.startsWith("ppc") || m.startsWith("powerpc")) return "powerpc";
  if (m.startsWith("riscv")) return "riscv";
  if (m.startsWith("loongarch")) return "loongarch";
  if (m.startsWith("s390")) return "s390";
  if (m.startsWith("mips")) return "mips";
  return m;
}

/** Directory holding libbpf's headers as `<dir>/bpf/bpf_helpers.h` (`$LIBBPF_INCLUDE` or /usr/include). */
export function libbpfIncludeDir(): string {
  return process.env.LIBBPF_INCLUDE || "/usr/include";
}

/** The system include directories every compile gets: libbpf's and the Debian multiarch one (asm/types.h). */
function systemIncludes(): string[] {
  const dirs = libbpfIncludeDir() === "/usr/include" ? [] : [libbpfIncludeDir()];
  dirs.push(join(libbpfIncludeDir(), "bpf"));
  for (const multiarch of [`/usr/include/${machine()}-linux-gnu`, `/usr/include/${machine()}-linux-gnueabihf`]) {
    if (existsSync(multiarch)) dirs.push(multiarch);
  }
  return dirs;
}

/** The full clang argument list (without input and output) for `opts`; the same flags scripts/build-bpf.sh uses. */
export function clangFlags(opts: CompileOptions = {}): string[] {
  const flags = ["-O2", "-g", "-target", "bpf", `-mcpu=${opts.mcpu ?? "v3"}`, `-D__TARGET_ARCH_${targetArch()}`];
  for (const [name, value] of Object.entries(opts.defines ?? {})) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new ToolchainError("TOOL_FAILED", `compile eBPF C: invalid macro name ${JSON.stringify(name)}`);
    }
    if (value === false) continue;
    flags.push(value === true ? `-D${name}` : `-D${name}=${value}`);
  }
  for (const dir of opts.includes ?? []) flags.push(`-I${resolve(dir)}`);
  for (const dir of systemIncludes()) flags.push(`-I${dir}`);
  flags.push(...(opts.extraFlags ?? []));
  return flags;
}

/** Contents of every `#include "..."` file reachable from `file` (resolved like clang does), for the cache key. */
function localHeaders(file: string, includeDirs: string[], seen = new Set<string>()): string[] {
  const out: string[] = [];
  const text = readFileSync(file, "utf8");
  for (const match of text.matchAll(/^\s*#\s*include\s+"([^"]+)"/gm)) {
    const name = match[1];
    const candidates = [join(dirname(file), name), ...includeDirs.map((d) => join(d, name))];
    const found = candidates.find((c) => existsSync(c));
    if (!found || seen.has(found)) continue;
    seen.add(found);
    out.push(`${found}\n${readFileSync(found, "utf8")}`);
    out.push(...localHeaders(found, includeDirs, seen));
  }
  return out;
}

function runAsync(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    execFile(cmd, args, { encoding: "utf8", maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(Object.assign(err, { stdout, stderr }));
      else resolvePromise();
    });
  });
}

/**
 * Compiles one eBPF C file with `clang -O2 -g -target bpf -mcpu=v3 -c` and returns the path of the
 * object. Objects are cached as `<name>.<hash>.o`, keyed by the source, its local headers, the flags,
 * the clang version and libbpf's header version; `<name>` keeps the source's base name so loaders
 * derive the same object name as from `clang -o <name>.o` (libbpf names internal maps after it,
 * e.g. `globals.bss`).
 *
 * @throws ToolchainError TOOL_MISSING when clang is not installed, TOOL_FAILED with clang's
 *   diagnostics when the compile fails.
 */
export async function compileC(file: string, opts: CompileOptions = {}): Promise<string> {
  const source = isAbsolute(file) ? file : resolve(REPO_ROOT, file);
  if (!existsSync(source)) throw new ToolchainError("TOOL_FAILED", `compile eBPF C: ${source} does not exist`);
  const version = clangVersion();
  const flags = clangFlags(opts);
  const libbpfVersion = join(libbpfIncludeDir(), "bpf", "libbpf_version.h");
  const key = [JSON.stringify({ flags, version }), readFileSync(source), ...localHeaders(source, (opts.includes ?? []).map((d) => resolve(d)))];
  if (existsSync(libbpfVersion)) key.push(readFileSync(libbpfVersion));
  const out = entryPath(basename(source).replace(/\.c$/, ""), key, ".o");
  if (existsSync(out)) return out;

  mkdirSync(TOOLCHAIN_CACHE_DIR, { recursive: true });
  const tmp = tmpName(out);
  try {
    await runAsync(clangPath(), [...flags, "-c", source, "-o", tmp]);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw toolFailure(err, clangPath(), `compile ${source}`);
  }
  renameSync(tmp, out);
  return out;
}

/**
 * Compiles C source text (for tests that build a program inline). `name` becomes the file and object
 * name (letters, digits, `_`, `-`); the source is written to the cache as `src/<hash>/<name>.bpf.c`.
 */
export async function compileCSource(name: string, source: string, opts: CompileOptions = {}): Promise<string> {
  if (!/^[A-Za-z0-9_-]+$/.test(name)) {
    throw new ToolchainError("TOOL_FAILED", `compile eBPF C: invalid source name ${JSON.stringify(name)}`);
  }
  return compileC(sourceFile(source, () => `${name}.bpf.c`), opts);
}

// ---------------------------------------------------------------------------------------------------
// clang with given flags (sync): the ELF/BTF reader tests and the asm tests.

/** Compiles `file` with `tool` and exactly `flags`, cached by the file's path and text, the flags and the tool's version. */
function compileSync(file: string, flags: readonly string[], tool: { path: string; version: string }, name: string): string {
  const out = entryPath(name, [file, readFileSync(file), ...flags, tool.version], ".o");
  if (!existsSync(out)) publish(out, (tmp) => runSync(tool.path, [...flags, "-c", file, "-o", tmp], `compile ${file}`));
  return out;
}

let multiarch: string | undefined;
/** `-I test/fixtures/c` and the Debian multiarch include directory (asm/types.h), from gcc. */
function fixtureIncludes(): string[] {
  if (multiarch === undefined) {
    try {
      multiarch = execFileSync("gcc", ["-print-multiarch"], { encoding: "utf8" }).trim();
    } catch {
      multiarch = "";
    }
  }
  const flags = ["-I", CORPUS_DIR];
  if (multiarch) flags.push("-I", `/usr/include/${multiarch}`);
  return flags;
}

/** Options for {@link compileCText}. */
export interface TextCompileOptions {
  /** Replaces the default flags `-O2 -g -target bpf`. */
  readonly flags?: readonly string[];
  /** Base name of the source and object (for readable cache entries); the source is `<name>-<hash>.c`. */
  readonly name?: string;
}

/** A compiled object: its path in the cache and its bytes. */
export interface CompiledObject {
  readonly path: string;
  readonly bytes: Uint8Array;
}

/** Compiles C source text to an object file with `-O2 -g -target bpf` (or `opts.flags`) and test/fixtures/c included. */
export function compileCText(source: string, opts: TextCompileOptions = {}): CompiledObject {
  const name = opts.name ?? "snippet";
  const file = sourceFile(source, (hash) => `${name}-${hash}.c`);
  const flags = [...(opts.flags ?? ["-O2", "-g", "-target", "bpf"]), ...fixtureIncludes()];
  const path = compileSync(file, flags, { path: clangPath(), version: clangVersion() }, name);
  return { path, bytes: new Uint8Array(readFileSync(path)) };
}

/** Compiles a file under test/fixtures/c with {@link compileCText}. */
export function compileFixture(file: string, opts: TextCompileOptions = {}): CompiledObject {
  return compileCText(readFileSync(join(CORPUS_DIR, file), "utf8"), { name: file.replace(/\.c$/, ""), ...opts });
}

/** Compiles a C file to a BPF object with the newest clang, `-O2 -g -target bpf -mcpu=vN`; returns the ELF bytes. */
export function compileCForCpu(sourcePath: string, cpu: 1 | 2 | 3 | 4): Uint8Array {
  const clang = findTool("clang");
  if (!clang) throw new ToolchainError("TOOL_MISSING", `compile ${sourcePath}: clang not found; ${SETUP_HINT}`);
  const flags = ["-O2", "-g", "-target", "bpf", `-mcpu=v${cpu}`, `-I/usr/include/${machine()}-linux-gnu`];
  return new Uint8Array(readFileSync(compileSync(sourcePath, flags, clang, basename(sourcePath).replace(/\.c$/, ""))));
}

// ---------------------------------------------------------------------------------------------------
// llvm-mc (sync).

function llvmMc(): Tool {
  const mc = findTool("llvm-mc");
  if (!mc) throw new ToolchainError("TOOL_MISSING", `assemble BPF: llvm-mc not found; ${SETUP_HINT}`);
  return mc;
}

/** Path of the relocatable ELF object llvm-mc assembles from `text` (cached). */
function assembledObject(text: string, cpu: 3 | 4): string {
  const mc = llvmMc();
  const out = entryPath("asm", ["mc", mc.version, String(cpu), text], ".o");
  if (!existsSync(out)) {
    publish(out, (tmp) => runSync(mc.path, ["-triple", "bpfel", `-mcpu=v${cpu}`, "-filetype=obj", "-o", tmp], "assemble BPF", text));
  }
  return out;
}

/** Assembles BPF assembly text with llvm-mc into a relocatable ELF object (cached); returns its bytes. */
export function assembleObject(text: string, cpu: 3 | 4): Uint8Array {
  return new Uint8Array(readFileSync(assembledObject(text, cpu)));
}

/** Assembles BPF assembly text with llvm-mc and returns the `.text` bytes (cached). */
export function assemble(text: string, cpu: 3 | 4): Uint8Array {
  const objcopy = findTool("llvm-objcopy");
  if (!objcopy) throw new ToolchainError("TOOL_MISSING", `assemble BPF: llvm-objcopy not found; ${SETUP_HINT}`);
  const obj = assembledObject(text, cpu);
  const out = entryPath("asm", ["text", objcopy.version, obj], ".bin");
  if (!existsSync(out)) publish(out, (tmp) => runSync(objcopy.path, ["-O", "binary", "--only-section=.text", obj, tmp], "extract .text"));
  return new Uint8Array(readFileSync(out));
}

// ---------------------------------------------------------------------------------------------------
// vmlinux.h.

/**
 * Path of `vmlinux.h` in the cache, generated once with `bpftool btf dump file /sys/kernel/btf/vmlinux
 * format c` and regenerated when the running kernel changes (its release and BTF size are recorded
 * next to it in `vmlinux.h.stamp`). Add `dirname(vmlinuxHeader())` to `includes`.
 */
export function vmlinuxHeader(btfPath = "/sys/kernel/btf/vmlinux"): string {
  const header = join(TOOLCHAIN_CACHE_DIR, "vmlinux", "vmlinux.h");
  const stampFile = `${header}.stamp`;
  if (!existsSync(btfPath)) {
    throw new ToolchainError("TOOL_FAILED", `generate vmlinux.h: ${btfPath} is missing (kernel built without CONFIG_DEBUG_INFO_BTF)`);
  }
  const stamp = `${release()} ${statSync(btfPath).size}`;
  if (existsSync(header) && existsSync(stampFile) && readFileSync(stampFile, "utf8") === stamp) return header;
  let text: string;
  try {
    text = execFileSync(bpftoolPath(), ["btf", "dump", "file", btfPath, "format", "c"], {
      encoding: "utf8",
      maxBuffer: 512 << 20,
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (err) {
    throw toolFailure(err, "bpftool", "generate vmlinux.h");
  }
  publish(header, (tmp) => writeFileSync(tmp, text));
  writeFileSync(stampFile, stamp);
  return header;
}
