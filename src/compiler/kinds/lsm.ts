// `lsm("hook", ...)`: SEC("lsm/<hook>"). Arguments typed from the `bpf_lsm_<hook>` prototype; return 0 to
// allow or a negative errno to deny.

import { TRACING_HELPERS, type ProgramKind } from "./kind.js";

export const lsm: ProgramKind = {
  entry: "lsm",
  targets: 1,
  section: ([t]) => `lsm/${t}`,
  contextTypes: ["LsmContext", "ArgsContext"],
  context: { k: "args" },
  helpers: TRACING_HELPERS,
  btfPointers: true,
};
