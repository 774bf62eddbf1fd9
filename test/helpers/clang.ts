// Compiles eBPF C sources with clang for the tests, caching each object by content hash under
// .cache/clang/; also finds bpftool and generates .cache/vmlinux.h from the kernel's BTF.

import { execFile, execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { machine, release } from "node:os";
import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { TsbpfError } from "../../src/errors.js";

/** Repository root (two levels above test/helpers). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
/** Where compiled objects are cached: `<repo>/.cache/clang`. */
export const CLANG_CACHE_DIR = join(REPO_ROOT, ".cache", "clang");
/** The C test corpus: `<repo>/test/fixtures/c`. */
export const CORPUS_DIR = join(REPO_ROOT, "test", "fixtures", "c");

const SETUP_HINT = "run `bash scripts/setup.sh` (installs clang, llvm, libbpf-dev, bpftool)";

/** A build tool (clang, bpftool) is missing or failed. `code`: TOOL_MISSING or TOOL_FAILED. */
export class ToolchainError extends TsbpfError {}

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

function run(cmd: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    execFile(cmd, args, { encoding: "utf8", maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(Object.assign(err, { stdout, stderr }));
      else resolvePromise({ stdout, stderr });
    });
  });
}

/**
 * Compiles one eBPF C file with `clang -O2 -g -target bpf -mcpu=v3 -c` and returns the path of the
 * object. Objects are cached in `.cache/clang/<name>.<hash>.o`, keyed by the source, its local
 * headers, the flags, the clang version and libbpf's header version; `<name>` keeps the source's
 * base name so loaders derive the same object name as from `clang -o <name>.o` (libbpf names
 * internal maps after it, e.g. `globals.bss`).
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
  const hash = createHash("sha256");
  hash.update(JSON.stringify({ flags, version }));
  hash.update(readFileSync(source));
  for (const header of localHeaders(source, (opts.includes ?? []).map((d) => resolve(d)))) hash.update(header);
  if (existsSync(libbpfVersion)) hash.update(readFileSync(libbpfVersion));
  const name = basename(source).replace(/\.c$/, "");
  const out = join(CLANG_CACHE_DIR, `${name}.${hash.digest("hex").slice(0, 16)}.o`);
  if (existsSync(out)) return out;

  mkdirSync(CLANG_CACHE_DIR, { recursive: true });
  const tmp = `${out}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    await run(clangPath(), [...flags, "-c", source, "-o", tmp]);
  } catch (err) {
    rmSync(tmp, { force: true });
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === "ENOENT") {
      throw new ToolchainError("TOOL_MISSING", `compile ${source}: ${clangPath()} not found; ${SETUP_HINT}`, { cause: err });
    }
    throw new ToolchainError("TOOL_FAILED", `compile ${source}: clang failed:\n${e.stderr ?? e.message}`, { cause: err });
  }
  renameSync(tmp, out);
  return out;
}

/**
 * Compiles C source text (for tests that build a program inline). `name` becomes the file and object
 * name (letters, digits, `_`, `-`); the source is written under `.cache/clang/src/`.
 */
export async function compileCSource(name: string, source: string, opts: CompileOptions = {}): Promise<string> {
  if (!/^[A-Za-z0-9_-]+$/.test(name)) {
    throw new ToolchainError("TOOL_FAILED", `compile eBPF C: invalid source name ${JSON.stringify(name)}`);
  }
  const digest = createHash("sha256").update(source).digest("hex").slice(0, 16);
  const dir = join(CLANG_CACHE_DIR, "src", digest);
  const file = join(dir, `${name}.bpf.c`);
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
    writeFileSync(tmp, source);
    renameSync(tmp, file);
  }
  return compileC(file, opts);
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

/**
 * Path of `.cache/vmlinux.h`, generated once with `bpftool btf dump file /sys/kernel/btf/vmlinux
 * format c` and regenerated when the running kernel changes (its release and BTF size are recorded
 * next to it in `.cache/vmlinux.h.stamp`). Add `dirname(vmlinuxHeader())` to `includes`.
 */
export function vmlinuxHeader(btfPath = "/sys/kernel/btf/vmlinux"): string {
  const header = join(REPO_ROOT, ".cache", "vmlinux.h");
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
    if (err instanceof ToolchainError) throw err;
    const e = err as Error & { stderr?: string };
    throw new ToolchainError("TOOL_FAILED", `generate vmlinux.h: bpftool failed: ${e.stderr || e.message}`, { cause: err });
  }
  mkdirSync(dirname(header), { recursive: true });
  const tmp = `${header}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  writeFileSync(tmp, text);
  renameSync(tmp, header);
  writeFileSync(stampFile, stamp);
  return header;
}
