// The perf_event program kind (sampling). Compiler side: src/compiler/kinds/perf-event.ts.

import type { u64 } from "../index.js";
import type { Program } from "../program.js";

/** perf_event context (struct bpf_perf_event_data). */
export interface PerfEventContext {
  readonly samplePeriod: u64;
  readonly addr: u64;
}

/** `SEC("perf_event")`. */
export declare function perfEvent(handler: (ctx: PerfEventContext) => number): Program<"perf_event">;
