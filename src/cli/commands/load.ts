// `tsbpf load <object.o> --pin <dir>`: load every map and program of an ELF object without attaching,
// pin programs at <dir>/<program> and maps at <dir>/maps/<map>, and print what was loaded.

import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Command } from "commander";
import pc from "picocolors";
import { objectNameFromPath, readCollectionSpec } from "../../object/reader.js";
import { loadCollection } from "../../runtime/collection.js";
import { ensureBpffs } from "../../sys/system.js";
import { readUserFile, USER_FILE_LIMITS } from "../../sys/user-file.js";
import { FileError } from "../../errors.js";

/** File name a map is pinned under: its kernel name with dots made underscores (bpffs reserves '.'), as libbpf does. */
export function mapPinName(kernelName: string): string {
  return kernelName.replace(/\./g, "_");
}

export interface LoadCommandOptions {
  pin?: string;
  json?: boolean;
}

/** Load `file`; pin under `opts.pin`. Returns the printed summary lines. */
export function runLoad(file: string, opts: LoadCommandOptions): string[] {
  const spec = readCollectionSpec(readUserFile(file, "ELF object", USER_FILE_LIMITS.object), { name: objectNameFromPath(file) });
  const coll = loadCollection(spec);
  const pinned: string[] = [];
  try {
    const out: string[] = [];
    if (opts.pin) {
      ensureBpffs();
      try {
        mkdirSync(join(opts.pin, "maps"), { recursive: true });
      } catch (e) {
        throw new FileError("FILE_UNWRITABLE", opts.pin, `cannot create the pin directory ${join(opts.pin, "maps")}: ${(e as Error).message}`, { cause: e });
      }
    }
    for (const p of coll.programs.values()) {
      let where = "";
      if (opts.pin) {
        const path = join(opts.pin, p.name);
        p.pin(path);
        pinned.push(path);
        where = ` pinned at ${path}`;
      }
      out.push(`program ${pc.bold(p.name)} (${p.type.toLowerCase()}, section ${p.spec.sectionName})${where}`);
    }
    for (const m of coll.maps.values()) {
      let where = "";
      if (opts.pin) {
        const path = join(opts.pin, "maps", mapPinName(m.spec.kernelName));
        m.pin(path);
        pinned.push(path);
        where = ` pinned at ${path}`;
      }
      out.push(`map ${pc.bold(m.name)} (${m.type.toLowerCase()}, key ${m.keySize} B, value ${m.valueSize} B, max ${m.maxEntries})${where}`);
    }
    return out;
  } catch (e) {
    for (const p of pinned) rmSync(p, { force: true });
    throw e;
  } finally {
    coll.close();
  }
}

export function loadCommand(): Command {
  return new Command("load")
    .description("load every map and program of an eBPF object (clang's or tsbpf's) without attaching")
    .argument("<object>", "ELF object file (.o)")
    .option("--pin <dir>", "pin programs at <dir>/<program> and maps at <dir>/maps/<map> (on bpffs)")
    .action((file: string, opts: LoadCommandOptions) => {
      const lines = runLoad(file, opts);
      process.stdout.write(lines.map((l) => l + "\n").join(""));
      process.stdout.write(`${pc.green("loaded")} ${file}\n`);
    });
}
