// Which BTF features the running kernel's BTF loader accepts, for sanitising (src/btf/sanitize.ts):
// the BTF kind probes of src/features.ts, plus the tag "attribute" flag (Linux 6.14), memoised.

import type { BtfFeature } from "../btf/sanitize.js";
import { BtfBuilder } from "../btf/writer.js";
import { SyscallError, TsbpfError } from "../errors.js";
import { haveBtfKind } from "../features.js";
import { btfLoad } from "../sys/bpf.js";

let tagAttribute: boolean | undefined;

/**
 * Whether the kernel's BTF loader accepts `feature`. A kernel that refuses BTF altogether (EPERM) or a
 * probe that cannot decide counts as accepting it: rewriting the types would not help, and the real
 * load says why it fails.
 */
export function kernelSupportsBtf(feature: BtfFeature): boolean {
  if (feature === "tag_attribute") return (tagAttribute ??= probeTagAttribute());
  try {
    return haveBtfKind(feature === "func_global" ? "func" : feature).status !== "no";
  } catch (e) {
    if (e instanceof TsbpfError) return true;
    throw e;
  }
}

/** A TYPE_TAG with the kind flag that marks a plain `__attribute__((...))` text. */
function probeTagAttribute(): boolean {
  const b = new BtfBuilder();
  const int = b.add({ kind: "int", name: "int", size: 4, signed: true, char: false, bool: false, bitOffset: 0, bits: 32 });
  b.add({ kind: "ptr", name: "", type: b.add({ kind: "type_tag", name: "tag", type: int, attribute: true }) });
  try {
    btfLoad(b.encode(), { logBuf: new Uint8Array(4096), logLevel: 1 }).close();
    return true;
  } catch (e) {
    if (!(e instanceof SyscallError)) throw e;
    return e.code === "EPERM" || e.code === "EACCES";
  }
}
