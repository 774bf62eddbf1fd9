// `uprobe("binary:symbol", ...)` / `uretprobe(...)`: SEC("uprobe/<binary>:<symbol>"); binary and symbol
// may be left empty and given at attach time. The context is struct pt_regs, as for kprobes.

import { TRACING_HELPERS, type ProgramKind } from "./kind.js";

const probe = (entry: string): ProgramKind => ({
  entry,
  targets: 1,
  section: ([t]) => (t ? `${entry}/${t}` : entry),
  contextTypes: ["ProbeContext", "ArgsContext"],
  context: { k: "pt_regs" },
  helpers: TRACING_HELPERS,
});

export const uprobe = probe("uprobe");
export const uretprobe = probe("uretprobe");
