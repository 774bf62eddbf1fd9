// `btfTracepoint("name", ...)`: SEC("tp_btf/<name>"). Like raw_tp, but the verifier types the arguments
// from BTF, so kernel pointers are read with direct loads. The kernel requires a return of 0.

import { TRACING_HELPERS, type ProgramKind } from "./kind.js";

export const btfTracepoint: ProgramKind = {
  entry: "btfTracepoint",
  targets: 1,
  section: ([t]) => `tp_btf/${t}`,
  contextTypes: ["BtfTracepointContext", "ArgsContext"],
  context: { k: "args" },
  helpers: TRACING_HELPERS,
  btfPointers: true,
  returns: () => ({ min: 0, max: 0, meaning: "tp_btf programs return 0" }),
};
