// `cgroupDevice((ctx) => ...)`: SEC("cgroup/dev"), a process of the cgroup opening (or mknod'ing) a
// device node. The context is struct bpf_cgroup_dev_ctx, read-only: `accessType` (BPF_DEVCG_ACC_* << 16 |
// BPF_DEVCG_DEV_*), `major`, `minor`. Returns 1 to allow, 0 to refuse (EPERM).

import { getRetval, setRetval } from "./cgroup-methods.js";
import { u32Fields, type ProgramKind } from "./kind.js";

export const cgroupDevice: ProgramKind = {
  entry: "cgroupDevice",
  targets: 0,
  section: () => "cgroup/dev",
  contextTypes: ["DeviceContext"],
  context: { k: "fields", what: "device context", fields: u32Fields({ accessType: [0], major: [4], minor: [8] }) },
  helpers: ["task"],
  returns: () => ({ min: 0, max: 1, meaning: "1 allows, 0 refuses the access with EPERM" }),
  methods: { getRetval, setRetval },
};
