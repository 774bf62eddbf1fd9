// `rawTracepoint("name", ...)`: SEC("raw_tp/<name>"). The context is the tracepoint's arguments as u64
// slots (`ctx.arg(n)`, `ctx.args.<name>` where the kernel's BTF names them); pointers are raw.

import { TRACING_HELPERS, type ProgramKind } from "./kind.js";

export const rawTracepoint: ProgramKind = {
  entry: "rawTracepoint",
  targets: 1,
  section: ([t]) => `raw_tp/${t}`,
  contextTypes: ["BtfTracepointContext", "ArgsContext"],
  context: { k: "args" },
  helpers: TRACING_HELPERS,
};
