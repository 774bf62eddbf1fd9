// `perfEvent((ctx) => ...)`: SEC("perf_event"), run on a perf event's overflow (sampling). The context is
// struct bpf_perf_event_data.

import { TRACING_HELPERS, type ProgramKind } from "./kind.js";

export const perfEvent: ProgramKind = {
  entry: "perfEvent",
  targets: 0,
  section: () => "perf_event",
  contextTypes: ["PerfEventContext"],
  context: {
    k: "fields",
    what: "perf_event context",
    // After the saved registers (struct pt_regs, x86-64).
    fields: { samplePeriod: { offset: 168, size: 8 }, addr: { offset: 176, size: 8 } },
  },
  helpers: TRACING_HELPERS,
};
