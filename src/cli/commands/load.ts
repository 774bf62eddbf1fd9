// `tsbpf load <object.o> --pin <dir> [--replace] [--token <bpffs> | --no-token]`: load every map and
// program of an ELF object without attaching (through a BPF token when one is named or implied, see
// docs/token.md), pin programs at <dir>/<program> and maps at <dir>/maps/<map> (Collection.pin), and
// print what was loaded.

import { resolve } from "node:path";
import { Command } from "commander";
import pc from "../colors.js";
import { objectNameFromPath, readCollectionSpec } from "../../object/reader.js";
import { loadCollection } from "../../runtime/collection.js";
import { readUserFile, USER_FILE_LIMITS } from "../../sys/user-file.js";
import { checkPinPath } from "../../runtime/pin.js";
import { BPFFS_PATH, ensureBpffs } from "../../sys/system.js";

export interface LoadCommandOptions {
  pin?: string;
  replace?: boolean;
  json?: boolean;
  /** bpffs to take a BPF token from; false (`--no-token`): none; unset: the environment / implicit default. */
  token?: string | false;
}

/** Load `file`; pin under `opts.pin` (replacing an earlier load with `opts.replace`). Returns the printed summary lines. */
export function runLoad(file: string, opts: LoadCommandOptions): string[] {
  const spec = readCollectionSpec(readUserFile(file, "ELF object", USER_FILE_LIMITS.object), { name: objectNameFromPath(file) });
  // Under /sys/fs/bpf, mount bpffs there on demand (as root); elsewhere the pin path is checked as it is.
  if (opts.pin && resolve(opts.pin).startsWith(BPFFS_PATH + "/")) ensureBpffs();
  // Refuse a pin directory off bpffs before loading anything (Collection.pin checks again).
  if (opts.pin) checkPinPath(opts.pin);
  const coll = loadCollection(spec, opts.token !== undefined ? { token: opts.token } : {});
  try {
    const where = new Map<string, string>();
    if (opts.pin) for (const p of coll.pin(opts.pin, { replace: opts.replace })) where.set(`${p.kind}:${p.name}`, ` pinned at ${p.path}`);
    const out: string[] = [];
    for (const p of coll.programs.values()) {
      out.push(`program ${pc.bold(p.name)} (${p.type.toLowerCase()}, section ${p.spec.sectionName})${where.get(`program:${p.name}`) ?? ""}`);
    }
    for (const m of coll.maps.values()) {
      out.push(`map ${pc.bold(m.name)} (${m.type.toLowerCase()}, key ${m.keySize} B, value ${m.valueSize} B, max ${m.maxEntries})${where.get(`map:${m.name}`) ?? ""}`);
    }
    return out;
  } finally {
    coll.close();
  }
}

export function loadCommand(): Command {
  return new Command("load")
    .description("load every map and program of an eBPF object (clang's or tsbpf's) without attaching")
    .argument("<object>", "ELF object file (.o)")
    .option("--pin <dir>", "pin programs at <dir>/<program> and maps at <dir>/maps/<map> (full map names, '.' as '_'; on bpffs)")
    .option("--replace", "replace the pins an earlier load left in <dir>: pin into a new directory, then swap it in atomically")
    .option("--token <bpffs>", "load through a BPF token from this delegated bpffs mount (Linux 6.9+, in a user namespace; default: $TSBPF_BPF_TOKEN_PATH, $LIBBPF_BPF_TOKEN_PATH, else /sys/fs/bpf when delegated; see docs/token.md)")
    .option("--no-token", "load without a BPF token, whatever the environment says")
    .action((file: string, opts: LoadCommandOptions) => {
      const lines = runLoad(file, opts);
      process.stdout.write(lines.map((l) => l + "\n").join(""));
      process.stdout.write(`${pc.green("loaded")} ${file}\n`);
    });
}
