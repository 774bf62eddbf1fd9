// Which BTF features the running kernel's BTF loader accepts: each probed once by loading a minimal
// blob that uses it (src/btf/sanitize.ts builds them), memoised for the process.

import { btfFeatureProbe, type BtfFeature } from "../btf/sanitize.js";
import { SyscallError } from "../errors.js";
import { btfLoad } from "../sys/bpf.js";

const known = new Map<BtfFeature, boolean>();

/**
 * Whether the kernel's BTF loader accepts `feature`. A kernel that refuses BTF altogether (EPERM) is
 * reported as supporting it: rewriting the types would not help there, and the real load says why.
 */
export function kernelSupportsBtf(feature: BtfFeature): boolean {
  let v = known.get(feature);
  if (v !== undefined) return v;
  try {
    btfLoad(btfFeatureProbe(feature), { logBuf: new Uint8Array(4096), logLevel: 1 }).close();
    v = true;
  } catch (e) {
    if (!(e instanceof SyscallError)) throw e;
    v = e.code === "EPERM" || e.code === "EACCES";
  }
  known.set(feature, v);
  return v;
}
