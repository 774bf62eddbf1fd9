// `tsbpf inspect <object.o>`: print what an object holds (programs with sections and attach targets,
// maps, global variables, externs) without touching the kernel; `--disasm` adds the instructions.

import { Command } from "commander";
import pc from "../colors.js";
import { disassemble } from "../../asm/disasm.js";
import { objectNameFromPath, readCollectionSpec } from "../../object/reader.js";
import { readUserFile, USER_FILE_LIMITS } from "../../sys/user-file.js";

export interface InspectOptions {
  disasm?: boolean;
}

/** The lines `tsbpf inspect` prints. */
export function runInspect(file: string, opts: InspectOptions = {}): string[] {
  const spec = readCollectionSpec(readUserFile(file, "ELF object", USER_FILE_LIMITS.object), { name: objectNameFromPath(file) });
  const out: string[] = [`object ${spec.name}: license "${spec.license}"${spec.btf ? ", BTF" : ""}`];
  for (const p of spec.programs.values()) {
    const target = p.attachTarget ? ` → ${p.attachTarget}` : "";
    out.push(`program ${pc.bold(p.name)}: ${p.type.toLowerCase()} (section ${p.sectionName}${target}), ${p.instructions.length} instructions${p.functions.length > 1 ? `, calls ${p.functions.slice(1).join(", ")}` : ""}`);
    if (opts.disasm) for (const line of disassemble(p.instructions)) out.push(`    ${line}`);
  }
  for (const m of spec.maps.values()) {
    out.push(`map ${pc.bold(m.name)}: ${m.type.toLowerCase()}, key ${m.keySize} B, value ${m.valueSize} B, max ${m.maxEntries}${m.flags ? `, flags 0x${m.flags.toString(16)}` : ""}${m.pinning === "by_name" ? ", pinned by name" : ""}`);
  }
  for (const v of spec.variables.values()) out.push(`variable ${v.name}: ${v.size} B at ${v.map}+${v.offset}`);
  for (const k of spec.kconfig) out.push(`kconfig ${k.name}${k.weak ? " (weak)" : ""}`);
  for (const k of spec.ksyms) out.push(`ksym ${k.name} (${k.kind}${k.weak ? ", weak" : ""})`);
  return out;
}

export function inspectCommand(): Command {
  return new Command("inspect")
    .description("show the programs, maps, variables and externs of an eBPF object (no kernel needed)")
    .argument("<object>", "ELF object file (.o)")
    .option("--disasm", "disassemble each program")
    .action((file: string, opts: InspectOptions) => {
      process.stdout.write(runInspect(file, opts).map((l) => l + "\n").join(""));
    });
}
