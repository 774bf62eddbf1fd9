// `kprobe("fn", ...)` / `kretprobe("fn", ...)`: SEC("kprobe/<fn>"), SEC("kretprobe/<fn>"). The context is
// struct pt_regs: `ctx.arg(n)` by the calling convention, `ctx.ret()` in a kretprobe.

import { TRACING_HELPERS, type ProgramKind } from "./kind.js";

const probe = (entry: string): ProgramKind => ({
  entry,
  targets: 1,
  section: ([t]) => (t ? `${entry}/${t}` : entry),
  contextTypes: ["ProbeContext", "ArgsContext"],
  context: { k: "pt_regs" },
  helpers: TRACING_HELPERS,
});

export const kprobe = probe("kprobe");
export const kretprobe = probe("kretprobe");
