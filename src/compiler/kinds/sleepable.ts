// Sleepable variants of tracing kinds: `uprobeSleepable` / `uretprobeSleepable` (SEC("uprobe.s/..."),
// SEC("uretprobe.s/...")), `fentrySleepable` / `fexitSleepable` (SEC("fentry.s/<fn>"), SEC("fexit.s/<fn>"))
// and `lsmSleepable` (SEC("lsm.s/<hook>")). Loaded with BPF_F_SLEEPABLE, they may call helpers that sleep:
// `bpf.copyFromUser` (bpf_copy_from_user), which faults user memory in where `bpf.probeReadUser` gives up.
// Everything else is the base kind's.

import { fentry, fexit } from "./fentry.js";
import type { ProgramKind } from "./kind.js";
import { lsm } from "./lsm.js";
import { uprobe, uretprobe } from "./uprobe.js";

const sleepable = (base: ProgramKind, section: string): ProgramKind => ({
  ...base,
  entry: `${base.entry}Sleepable`,
  section: ([t]) => (t ? `${section}/${t}` : section),
  helpers: [...base.helpers, "sleepable"],
});

export const uprobeSleepable = sleepable(uprobe, "uprobe.s");
export const uretprobeSleepable = sleepable(uretprobe, "uretprobe.s");
export const fentrySleepable = sleepable(fentry, "fentry.s");
export const fexitSleepable = sleepable(fexit, "fexit.s");
export const lsmSleepable = sleepable(lsm, "lsm.s");
