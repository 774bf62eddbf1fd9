// `syscall(Args, (ctx) => ...)`: SEC("syscall"), a sleepable program run only through BPF_PROG_TEST_RUN
// (from user space, or by a loader program) on a context buffer the caller passes. `Args` is a struct
// layout: `ctx` is that struct, read and written as memory; the kernel copies it back to the caller's
// buffer after the run. The return value is the run's result, unchecked.

import { TRACING_HELPERS, type ProgramKind } from "./kind.js";

export const syscall: ProgramKind = {
  entry: "syscall",
  targets: 0,
  section: () => "syscall",
  contextTypes: [],
  context: { k: "layout" },
  helpers: [...TRACING_HELPERS, "sleepable"],
};
