// `tsbpf gen vmlinux`: TypeScript declarations of kernel types from BTF (for `*.bpf.ts` programs).
// Reads /sys/kernel/btf/vmlinux (or --btf), writes stdout or -o; conventions in docs/gen.md.

import { createHash } from "node:crypto";
import { mkdirSync } from "node:fs";
import { release } from "node:os";
import { basename, dirname } from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { kernelBtf, VMLINUX_BTF_PATH } from "../../btf/kernel.js";
import { BtfError, FileError } from "../../errors.js";
import { writeUserFile } from "../../sys/user-file.js";
import { DEFAULT_DEPTH, DEFAULT_IMPORT_FROM, generateDeclarations, type GeneratedDeclarations } from "../../gen/typescript.js";
import { readTracefsFormats } from "../../gen/tracepoints.js";
import { readSyscallFormats } from "../../gen/syscalls.js";

/** Options of {@link runGenVmlinux} (the CLI flags). */
export interface GenVmlinuxOptions {
  /** BTF file (default /sys/kernel/btf/vmlinux). */
  btf?: string;
  /** Root type names. */
  types?: readonly string[];
  /** Pointer depth (default 3). */
  depth?: number;
  tracepoints?: boolean;
  all?: boolean;
  /** Emit the BTF tracepoint and LSM hook argument maps. */
  hooks?: boolean;
  /** Kernel functions whose prototypes to emit (fentry/fexit). */
  functions?: readonly string[];
  /** Enumerator name prefixes whose enums' constants to emit. */
  constants?: readonly string[];
  /**
   * Syscalls (`openat`, `execve`; `all` for every one) whose tracepoint records to emit in
   * `SyscallTracepoints`, from the tracefs format files (`--tracefs` or the usual mounts).
   */
  syscalls?: readonly string[];
  /** Module to import scalar aliases and helpers from (default "tsbpf/kernel"). */
  importFrom?: string;
  /**
   * tracefs mount to match tracepoint events exactly: a directory, false for none, undefined for the
   * default (the usual mounts, only when the BTF is the running kernel's).
   */
  tracefs?: string | false;
  /** Text after the `@tsbpf-btf` marker (default: derived from the BTF file). */
  source?: string;
  /** The command line named in the header (default: rebuilt from the options). */
  generator?: string;
}

/** Describe a BTF file for the marker line: `vmlinux 6.18.0 sha256:0123456789abcdef`. */
export function describeBtfSource(path: string, bytes: Uint8Array): string {
  const digest = createHash("sha256").update(bytes).digest("hex").slice(0, 16);
  const what = path === VMLINUX_BTF_PATH ? `vmlinux ${release()}` : basename(path);
  return `${what} sha256:${digest}`;
}

/** The command line that reproduces a generation (named in the generated file's header). */
export function genCommandLine(opts: GenVmlinuxOptions): string {
  const parts = ["tsbpf gen vmlinux"];
  if (opts.btf && opts.btf !== VMLINUX_BTF_PATH) parts.push(`--btf ${basename(opts.btf)}`);
  if (opts.all) parts.push("--all");
  if (opts.types && opts.types.length > 0) parts.push(`--types ${[...opts.types].join(",")}`);
  if (!opts.all) parts.push(`--depth ${opts.depth ?? DEFAULT_DEPTH}`);
  if (opts.tracepoints) parts.push("--tracepoints");
  if (opts.hooks) parts.push("--hooks");
  if (opts.functions && opts.functions.length > 0) parts.push(`--functions ${[...opts.functions].join(",")}`);
  if (opts.constants && opts.constants.length > 0) parts.push(`--constants ${[...opts.constants].join(",")}`);
  if (opts.syscalls && opts.syscalls.length > 0) parts.push(`--syscalls ${[...opts.syscalls].join(",")}`);
  if (opts.importFrom && opts.importFrom !== DEFAULT_IMPORT_FROM) parts.push(`--import-from ${opts.importFrom}`);
  return parts.join(" ");
}

/**
 * Generate declarations as `tsbpf gen vmlinux` does.
 * @throws BtfError `BTF_KERNEL_NOT_FOUND` / `BTF_KERNEL_READ` for the BTF file, `BTF_GEN_*` for the selection.
 */
export function runGenVmlinux(opts: GenVmlinuxOptions = {}): GeneratedDeclarations {
  const path = opts.btf ?? VMLINUX_BTF_PATH;
  const btf = kernelBtf(path);
  let tracefsFormats;
  if (opts.tracepoints && opts.tracefs !== false && (opts.tracefs !== undefined || path === VMLINUX_BTF_PATH)) {
    const formats = readTracefsFormats(opts.tracefs);
    if (formats.size > 0) tracefsFormats = formats;
    else if (opts.tracefs !== undefined) {
      throw new BtfError("BTF_GEN_BAD_OPTION", `gen vmlinux: no tracepoint event formats under ${opts.tracefs}/events (is tracefs mounted there?)`);
    }
  }
  let syscallFormats;
  const syscalls = opts.syscalls ?? [];
  if (syscalls.length > 0) {
    const where = opts.tracefs === false ? undefined : opts.tracefs;
    syscallFormats = readSyscallFormats(where);
    if (syscallFormats.size === 0) {
      throw new BtfError("BTF_GEN_BAD_OPTION", `gen vmlinux: --syscalls needs tracefs: no events/syscalls formats under ${where ?? "/sys/kernel/tracing"} (is tracefs mounted, and the kernel built with CONFIG_FTRACE_SYSCALLS?)`);
    }
    const missing = syscalls.filter((n) => n !== "all" && !syscallFormats!.has(`sys_enter_${n}`) && !syscallFormats!.has(`sys_exit_${n}`));
    if (missing.length > 0) throw new BtfError("BTF_GEN_UNKNOWN_TYPE", `gen vmlinux: no syscall tracepoint for ${missing.join(", ")} in tracefs (names as in events/syscalls/sys_enter_<name>)`);
  }
  return generateDeclarations(btf, {
    types: opts.types ?? [],
    depth: opts.depth ?? DEFAULT_DEPTH,
    tracepoints: opts.tracepoints === true,
    all: opts.all === true,
    hooks: opts.hooks === true,
    functions: opts.functions ?? [],
    constants: opts.constants ?? [],
    importFrom: opts.importFrom ?? DEFAULT_IMPORT_FROM,
    source: opts.source ?? describeBtfSource(path, btf.bytes),
    generator: opts.generator ?? `\`${genCommandLine(opts)}\``,
    ...(tracefsFormats ? { tracefsFormats } : {}),
    ...(syscallFormats ? { syscallFormats, ...(syscalls.includes("all") ? {} : { syscalls }) } : {}),
  });
}

function parseDepth(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new InvalidArgumentError("must be a non-negative integer");
  return n;
}

function parseList(value: string, previous: string[] | undefined): string[] {
  const items = value.split(",").map((s) => s.trim()).filter((s) => s !== "");
  return (previous ?? []).concat(items);
}

interface CliFlags {
  btf?: string;
  types?: string[];
  depth: number;
  tracepoints?: boolean;
  all?: boolean;
  hooks?: boolean;
  functions?: string[];
  constants?: string[];
  syscalls?: string[];
  output?: string;
  importFrom?: string;
  tracefs?: string | boolean;
}

/** The `gen` command with its `vmlinux` subcommand. */
export function genCommand(): Command {
  const gen = new Command("gen").description("generate TypeScript declarations (kernel types from BTF)");
  gen
    .command("vmlinux")
    .description("TypeScript interfaces for kernel structs, unions, typedefs and enums from BTF")
    .option("--btf <path>", "BTF file to read", VMLINUX_BTF_PATH)
    .option("--types <names>", "comma-separated root types (repeatable)", parseList)
    .option("--depth <n>", "pointer hops from a root whose targets keep their members", parseDepth, DEFAULT_DEPTH)
    .option("--tracepoints", "add every trace_event_raw_* struct and a TracepointContexts map")
    .option("--all", "every struct, union, typedef and enum (large)")
    .option("--hooks", "add the arguments of every BTF tracepoint and LSM hook (BtfTracepointArgs, LsmHookArgs)")
    .option("--functions <names>", "comma-separated kernel functions whose arguments to add (KernelFunctions, repeatable)", parseList)
    .option("--constants <prefixes>", "comma-separated enumerator prefixes (TCP_,BPF_F_): add those enums' constants, anonymous enums included", parseList)
    .option("--syscalls <names>", "comma-separated syscalls (openat,execve; all) whose tracepoint records to add from tracefs (SyscallTracepoints, repeatable)", parseList)
    .option("--import-from <module>", "module the scalar aliases and helpers come from", DEFAULT_IMPORT_FROM)
    .option("--tracefs <dir>", "tracefs mount used to match tracepoint events (default: the running kernel's)")
    .option("--no-tracefs", "do not read tracefs")
    .option("-o, --output <file>", "write here instead of stdout")
    .action((flags: CliFlags) => {
      if (!flags.all && !flags.tracepoints && !flags.hooks && (flags.types ?? []).length === 0 && (flags.functions ?? []).length === 0 && (flags.constants ?? []).length === 0 && (flags.syscalls ?? []).length === 0) {
        throw new BtfError("BTF_GEN_BAD_OPTION", "gen vmlinux: nothing selected (give --types, --tracepoints, --hooks, --functions, --syscalls or --all)");
      }
      const opts: GenVmlinuxOptions = {
        types: flags.types ?? [],
        depth: flags.depth,
        tracepoints: flags.tracepoints === true,
        all: flags.all === true,
        hooks: flags.hooks === true,
        functions: flags.functions ?? [],
        constants: flags.constants ?? [],
        syscalls: flags.syscalls ?? [],
        ...(flags.btf !== undefined ? { btf: flags.btf } : {}),
        ...(flags.importFrom !== undefined ? { importFrom: flags.importFrom } : {}),
        ...(flags.tracefs === false ? { tracefs: false as const } : typeof flags.tracefs === "string" ? { tracefs: flags.tracefs } : {}),
      };
      const r = runGenVmlinux(opts);
      if (flags.output === undefined) {
        process.stdout.write(r.text);
        return;
      }
      try {
        mkdirSync(dirname(flags.output), { recursive: true });
        writeUserFile(flags.output, r.text, "declarations file");
      } catch (e) {
        const why = e instanceof FileError ? e.message : `write ${flags.output}: ${(e as Error).message}`;
        throw new BtfError("BTF_GEN_WRITE", `gen vmlinux: ${why}`, { cause: e });
      }
      process.stderr.write(
        `${flags.output}: ${r.interfaces} interfaces, ${r.stubs} stubs, ${r.typedefs} typedefs, ${r.enums} enums, ` +
          `${r.constants} constants, ${r.tracepoints} tracepoints, ${r.prototypes} prototypes, ${r.text.length} bytes\n`,
      );
    });
  return gen;
}
