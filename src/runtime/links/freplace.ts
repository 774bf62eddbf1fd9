// freplace (BPF_PROG_TYPE_EXT): resolves the function of an already loaded program that an extension
// program replaces (the target program's fd and the function's BTF id, needed at load time).

import { Btf } from "../../btf/btf.js";
import { TsbpfError } from "../../errors.js";
import { btfInfo, getFdById, progInfo } from "../../sys/bpf.js";
import type { Fd } from "../../sys/fd.js";
import { withOp } from "../map.js";
import type { Program } from "../program.js";

/** The target an EXT program is loaded against: the program to extend and its function's BTF id. */
export interface FreplaceTarget {
  readonly progFd: Fd;
  readonly btfId: number;
}

/**
 * Find global function `fn` in loaded program `target` (which must have been loaded with BTF).
 *
 * @example
 * const coll = loadCollection(extSpec, { freplace: { new_check: { target: base.program("xdp_main"), function: "check" } } });
 */
export function freplaceTarget(target: Program | Fd, fn: string): FreplaceTarget {
  const progFd = "spec" in target ? target.fd : target;
  const what = `freplace ${fn} in program ${"spec" in target ? `"${target.name}"` : String(progFd)}`;
  const info = withOp(what, () => progInfo(progFd));
  if (!info.btfId) throw new TsbpfError("FREPLACE_NO_BTF", `${what}: the target program was loaded without BTF, so its functions cannot be replaced`);
  const btfFd = withOp(what, () => getFdById("btf", info.btfId));
  let btf: Btf;
  try {
    const data = withOp(what, () => btfInfo(btfFd, { data: true }).data);
    if (!data) throw new TsbpfError("FREPLACE_NO_BTF", `${what}: could not read the target program's BTF`);
    btf = Btf.parse(data);
  } finally {
    btfFd.close();
  }
  const id = btf.find(fn, "func")[0];
  if (id === undefined) throw new TsbpfError("SYMBOL_NOT_FOUND", `${what}: the target program has no function "${fn}"`);
  return { progFd, btfId: id };
}
