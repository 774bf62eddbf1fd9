// `tsbpf build <file.bpf.ts> -o <out.o>`: compile a TypeScript kernel program to a standard eBPF ELF
// object (loadable by tsbpf and libbpf); prints every diagnostic and exits 1 when there are errors.

import { basename, extname } from "node:path";
import { Command, Option } from "commander";
import pc from "../colors.js";
import { FileError } from "../../errors.js";
import { writeUserFile } from "../../sys/user-file.js";

/** Options of `tsbpf build`. */
export interface BuildCommandOptions {
  output?: string;
  cpu?: "v3" | "v4";
  btf?: string;
}

/**
 * Refuses what `tsbpf build` does not compile, saying what to do instead: C goes through clang and
 * `tsbpf load`, an object is already built.
 * @throws FileError `FILE_WRONG_KIND`.
 */
export function checkBuildInput(file: string): void {
  const ext = extname(file);
  if (/^\.[cm]?ts$/.test(ext)) return;
  const base = basename(file);
  const intro = "tsbpf build compiles TypeScript kernel programs (*.bpf.ts)";
  let why: string;
  if (ext === ".c" || ext === ".h") {
    const obj = base.replace(/\.[ch]$/, ".o");
    why = `${file} is C: build C programs with clang (clang -O2 -g --target=bpf -c ${base} -o ${obj}) and load the object with \`tsbpf load ${obj}\``;
  } else if (ext === ".o") {
    why = `${file} is already an object: load it with \`tsbpf load ${file}\` or look inside with \`tsbpf inspect ${file}\``;
  } else {
    why = `${file} is not a TypeScript file (.ts)`;
  }
  throw new FileError("FILE_WRONG_KIND", file, `${intro}; ${why}`);
}

/**
 * Compiles `file`; returns the exit code (0 ok, 1 diagnostics) after printing.
 * @throws FileError for a missing, non-regular, oversized or non-TypeScript input, or an unwritable output.
 */
export async function runBuild(file: string, opts: BuildCommandOptions): Promise<number> {
  checkBuildInput(file);
  const { compile, formatDiagnostic } = await import("../../compiler/index.js");
  const btfPath = opts.btf;
  const started = performance.now();
  const r = compile(file, {
    ...(opts.cpu ? { cpu: opts.cpu } : {}),
    ...(btfPath ? { btf: (await import("../../btf/kernel.js")).kernelBtf.bind(undefined, btfPath) } : {}),
  });
  if (!r.object || !r.module) {
    for (const d of r.diagnostics) process.stderr.write(`${colorize(formatDiagnostic(d))}\n\n`);
    process.stderr.write(pc.red(`${r.diagnostics.length} error${r.diagnostics.length === 1 ? "" : "s"}\n`));
    return 1;
  }
  const out = opts.output ?? basename(file).replace(/\.ts$/, "") + ".o";
  writeUserFile(out, r.object, "object file");
  const ms = (performance.now() - started).toFixed(0);
  for (const f of r.module.functions) {
    process.stdout.write(`${pc.green("program")} ${f.name} ${pc.dim(`(${f.section}, ${f.instructions.length} instructions)`)}\n`);
  }
  for (const m of r.module.maps) process.stdout.write(`${pc.cyan("map")} ${m.name} ${pc.dim(`(${m.type})`)}\n`);
  process.stdout.write(`wrote ${out} (${r.object.length} bytes) in ${ms} ms\n`);
  return 0;
}

function colorize(text: string): string {
  return text.replace(/ - error (TS\w+|TSBPF\d+):/, (_m, code: string) => ` - ${pc.red("error")} ${pc.dim(code)}:`);
}

/** The `build` command. */
export function buildCommand(): Command {
  return new Command("build")
    .description("compile a TypeScript kernel program (*.bpf.ts) to an eBPF ELF object")
    .argument("<file>", "the kernel program, e.g. execsnoop.bpf.ts")
    .option("-o, --output <file>", "object file to write (default: <name>.bpf.o)")
    .addOption(new Option("--cpu <version>", "eBPF instruction set").choices(["v3", "v4"]).default("v3"))
    .option("--btf <path>", "kernel BTF for kernel struct layouts (default: /sys/kernel/btf/vmlinux)")
    .action(async (file: string, opts: BuildCommandOptions) => {
      process.exitCode = await runBuild(file, opts);
    });
}
