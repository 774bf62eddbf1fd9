// Cgroup arrays (BPF_MAP_TYPE_CGROUP_ARRAY): index → cgroup, set from userspace with a cgroup directory
// fd and tested by programs with bpf_current_task_under_cgroup() / bpf_skb_under_cgroup().

import { BpfMap, expectType, TypedMap } from "../map.js";
import { fdCodec, u32Codec, type FdSource } from "./codecs.js";

/**
 * A CGROUP_ARRAY: index → cgroup (a directory fd under /sys/fs/cgroup), for
 * bpf_current_task_under_cgroup() and bpf_skb_under_cgroup(). Not readable from userspace.
 *
 * @example
 * const cgs = createMap({ type: "cgroup_array", maxEntries: 1 });
 * cgs.set(0, fs.openSync("/sys/fs/cgroup/my.slice", "r"));
 */
export class CgroupArray extends TypedMap<number, number, number, FdSource> {
  constructor(map: BpfMap) {
    expectType(map, "CgroupArray", "CGROUP_ARRAY");
    super(map, u32Codec, fdCodec(4));
  }
}
