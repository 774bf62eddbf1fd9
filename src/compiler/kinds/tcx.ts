// `tcx("ingress" | "egress", (ctx) => ...)`: SEC("tcx/ingress"), SEC("tcx/egress"): a sched_cls program
// whose section says where a TCX link attaches it. Same context, methods and verdicts as `tc`.

import type { ProgramKind } from "./kind.js";
import { tc } from "./tc.js";

export const tcx: ProgramKind = {
  ...tc,
  entry: "tcx",
  targets: 1,
  section: ([direction]) => `tcx/${direction}`,
};
