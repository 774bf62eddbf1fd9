// `kprobeMulti("glob", ...)` / `kretprobeMulti(...)`: SEC("kprobe.multi/<glob>"), one kprobe_multi link over
// every kernel function the glob matches; `uprobeMulti("path:glob", ...)` / `uretprobeMulti(...)`:
// SEC("uprobe.multi/<path>:<glob>"), one uprobe_multi link over the binary's matching functions. The
// context is struct pt_regs as for kprobes and uprobes (`ctx.arg(n)`, `ctx.ret()`); the functions differ,
// so there are no named arguments. An empty target leaves binary and glob to attach time.

import { TRACING_HELPERS, type ProgramKind } from "./kind.js";

const multi = (entry: string, section: string): ProgramKind => ({
  entry,
  targets: 1,
  section: ([t]) => (t ? `${section}/${t}` : section),
  contextTypes: ["ProbeContext", "ArgsContext"],
  context: { k: "pt_regs" },
  helpers: TRACING_HELPERS,
});

export const kprobeMulti = multi("kprobeMulti", "kprobe.multi");
export const kretprobeMulti = multi("kretprobeMulti", "kretprobe.multi");
export const uprobeMulti = multi("uprobeMulti", "uprobe.multi");
export const uretprobeMulti = multi("uretprobeMulti", "uretprobe.multi");
