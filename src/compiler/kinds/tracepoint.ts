// `tracepoint("category/name", (ctx) => ...)`: SEC("tracepoint/<category>/<name>"). The context is the
// event's record, typed from the kernel's `trace_event_raw_<name>` struct and read with CO-RE.

import { TRACING_HELPERS, type ProgramKind } from "./kind.js";

export const tracepoint: ProgramKind = {
  entry: "tracepoint",
  targets: 1,
  section: ([t]) => `tracepoint/${t}`,
  contextTypes: ["TracepointContext"],
  context: { k: "tracepoint" },
  helpers: TRACING_HELPERS,
};
