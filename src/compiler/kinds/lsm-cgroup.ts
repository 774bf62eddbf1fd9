// `lsmCgroup("hook", ...)`: SEC("lsm_cgroup/<hook>"), an LSM program attached to a cgroup (BPF_LSM_CGROUP,
// Linux 6.0+): it runs for the hook only in tasks (or sockets) of that cgroup. Arguments typed from the
// `bpf_lsm_<hook>` prototype, as lsm(); the tracing helpers plus bpf_get_retval/bpf_set_retval. The
// kernel's check_return_code wants 1 (allow) or 0 (deny with EPERM, or the errno set with
// ctx.setRetval); hooks returning void only 1 (not known at compile time, so 0..1 here).

import { getRetval, setRetval } from "./cgroup-methods.js";
import { TRACING_HELPERS, type ProgramKind } from "./kind.js";

export const lsmCgroup: ProgramKind = {
  entry: "lsmCgroup",
  targets: 1,
  section: ([t]) => `lsm_cgroup/${t}`,
  contextTypes: ["LsmCgroupContext", "LsmContext", "ArgsContext"],
  context: { k: "args" },
  helpers: TRACING_HELPERS,
  btfPointers: true,
  methods: { getRetval, setRetval },
  returns: () => ({ min: 0, max: 1, meaning: "1 allows, 0 denies (EPERM, or the errno set with ctx.setRetval)" }),
};
