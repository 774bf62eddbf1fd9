// Layouts and decoders of the structs BPF_OBJ_GET_INFO_BY_FD fills: bpf_prog_info, bpf_map_info,
// bpf_link_info and bpf_btf_info. Decoders return plain objects with camelCase names.

import { bits, bytes, chars, layout, StructReader, u32, s32, u64, type Layout } from "./layout.js";
import { LINK_TYPE } from "./constants.js";

export const PROG_INFO_LAYOUT = layout(
  "bpf_prog_info",
  "struct bpf_prog_info",
  "",
  {
    type: u32(0),
    id: u32(4),
    tag: bytes(8, 8),
    jited_prog_len: u32(16),
    xlated_prog_len: u32(20),
    jited_prog_insns: u64(24),
    xlated_prog_insns: u64(32),
    load_time: u64(40),
    created_by_uid: u32(48),
    nr_map_ids: u32(52),
    map_ids: u64(56),
    name: chars(64, 16),
    ifindex: u32(80),
    gpl_compatible: bits(84, 4, 0),
    netns_dev: u64(88),
    netns_ino: u64(96),
    nr_jited_ksyms: u32(104),
    nr_jited_func_lens: u32(108),
    jited_ksyms: u64(112),
    jited_func_lens: u64(120),
    btf_id: u32(128),
    func_info_rec_size: u32(132),
    func_info: u64(136),
    nr_func_info: u32(144),
    nr_line_info: u32(148),
    line_info: u64(152),
    jited_line_info: u64(160),
    nr_jited_line_info: u32(168),
    line_info_rec_size: u32(172),
    jited_line_info_rec_size: u32(176),
    nr_prog_tags: u32(180),
    prog_tags: u64(184),
    run_time_ns: u64(192),
    run_cnt: u64(200),
    recursion_misses: u64(208),
    verified_insns: u32(216),
    attach_btf_obj_id: u32(220),
    attach_btf_id: u32(224),
  },
  232,
);

export const MAP_INFO_LAYOUT = layout(
  "bpf_map_info",
  "struct bpf_map_info",
  "",
  {
    type: u32(0),
    id: u32(4),
    key_size: u32(8),
    value_size: u32(12),
    max_entries: u32(16),
    map_flags: u32(20),
    name: chars(24, 16),
    ifindex: u32(40),
    btf_vmlinux_value_type_id: u32(44),
    netns_dev: u64(48),
    netns_ino: u64(56),
    btf_id: u32(64),
    btf_key_type_id: u32(68),
    btf_value_type_id: u32(72),
    btf_vmlinux_id: u32(76),
    map_extra: u64(80),
  },
  88,
);

export const BTF_INFO_LAYOUT = layout("bpf_btf_info", "struct bpf_btf_info", "", {
  btf: u64(0),
  btf_size: u32(8),
  id: u32(12),
  name: u64(16),
  name_len: u32(24),
  kernel_btf: u32(28),
});

export const LINK_INFO_LAYOUT = layout(
  "bpf_link_info",
  "struct bpf_link_info",
  "",
  {
    type: u32(0),
    id: u32(4),
    prog_id: u32(8),
    "raw_tracepoint.tp_name": u64(16),
    "raw_tracepoint.tp_name_len": u32(24),
    "tracing.attach_type": u32(16),
    "tracing.target_obj_id": u32(20),
    "tracing.target_btf_id": u32(24),
    "cgroup.cgroup_id": u64(16),
    "cgroup.attach_type": u32(24),
    "iter.target_name": u64(16),
    "iter.target_name_len": u32(24),
    "iter.map.map_id": u32(28),
    "netns.netns_ino": u32(16),
    "netns.attach_type": u32(20),
    "xdp.ifindex": u32(16),
    "struct_ops.map_id": u32(16),
    "netfilter.pf": u32(16),
    "netfilter.hooknum": u32(20),
    "netfilter.priority": s32(24),
    "netfilter.flags": u32(28),
    "kprobe_multi.addrs": u64(16),
    "kprobe_multi.count": u32(24),
    "kprobe_multi.flags": u32(28),
    "uprobe_multi.path": u64(16),
    "uprobe_multi.path_size": u32(48),
    "uprobe_multi.count": u32(52),
    "uprobe_multi.flags": u32(56),
    "uprobe_multi.pid": u32(60),
    "perf_event.type": u32(16),
    "tcx.ifindex": u32(16),
    "tcx.attach_type": u32(20),
    "netkit.ifindex": u32(16),
    "netkit.attach_type": u32(20),
    "sockmap.map_id": u32(16),
    "sockmap.attach_type": u32(20),
  },
  64,
);

/** Every info layout, for the offsetof check. */
export const INFO_LAYOUTS: readonly Layout[] = [PROG_INFO_LAYOUT, MAP_INFO_LAYOUT, BTF_INFO_LAYOUT, LINK_INFO_LAYOUT];

/** Decoded bpf_prog_info (the commonly used fields). */
export interface ProgInfo {
  type: number;
  id: number;
  /** The program tag as 16 hex digits. */
  tag: string;
  jitedProgLen: number;
  xlatedProgLen: number;
  /** Boot-time nanoseconds when the program was loaded. */
  loadTime: bigint;
  createdByUid: number;
  nrMapIds: number;
  name: string;
  ifindex: number;
  gplCompatible: boolean;
  netnsDev: bigint;
  netnsIno: bigint;
  btfId: number;
  nrFuncInfo: number;
  nrLineInfo: number;
  funcInfoRecSize: number;
  lineInfoRecSize: number;
  runTimeNs: bigint;
  runCnt: bigint;
  recursionMisses: bigint;
  verifiedInsns: number;
  attachBtfObjId: number;
  attachBtfId: number;
}

export function decodeProgInfo(buf: Uint8Array): ProgInfo {
  const r = new StructReader(PROG_INFO_LAYOUT, buf);
  const tag = [...r.raw("tag")].map((b) => b.toString(16).padStart(2, "0")).join("");
  return {
    type: r.num("type"),
    id: r.num("id"),
    tag,
    jitedProgLen: r.num("jited_prog_len"),
    xlatedProgLen: r.num("xlated_prog_len"),
    loadTime: r.big("load_time"),
    createdByUid: r.num("created_by_uid"),
    nrMapIds: r.num("nr_map_ids"),
    name: r.string("name"),
    ifindex: r.num("ifindex"),
    gplCompatible: r.num("gpl_compatible") === 1,
    netnsDev: r.big("netns_dev"),
    netnsIno: r.big("netns_ino"),
    btfId: r.num("btf_id"),
    nrFuncInfo: r.num("nr_func_info"),
    nrLineInfo: r.num("nr_line_info"),
    funcInfoRecSize: r.num("func_info_rec_size"),
    lineInfoRecSize: r.num("line_info_rec_size"),
    runTimeNs: r.big("run_time_ns"),
    runCnt: r.big("run_cnt"),
    recursionMisses: r.big("recursion_misses"),
    verifiedInsns: r.num("verified_insns"),
    attachBtfObjId: r.num("attach_btf_obj_id"),
    attachBtfId: r.num("attach_btf_id"),
  };
}

/** Decoded bpf_map_info. */
export interface MapInfo {
  type: number;
  id: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  mapFlags: number;
  name: string;
  ifindex: number;
  btfVmlinuxValueTypeId: number;
  netnsDev: bigint;
  netnsIno: bigint;
  btfId: number;
  btfKeyTypeId: number;
  btfValueTypeId: number;
  btfVmlinuxId: number;
  mapExtra: bigint;
}

export function decodeMapInfo(buf: Uint8Array): MapInfo {
  const r = new StructReader(MAP_INFO_LAYOUT, buf);
  return {
    type: r.num("type"),
    id: r.num("id"),
    keySize: r.num("key_size"),
    valueSize: r.num("value_size"),
    maxEntries: r.num("max_entries"),
    mapFlags: r.num("map_flags"),
    name: r.string("name"),
    ifindex: r.num("ifindex"),
    btfVmlinuxValueTypeId: r.num("btf_vmlinux_value_type_id"),
    netnsDev: r.big("netns_dev"),
    netnsIno: r.big("netns_ino"),
    btfId: r.num("btf_id"),
    btfKeyTypeId: r.num("btf_key_type_id"),
    btfValueTypeId: r.num("btf_value_type_id"),
    btfVmlinuxId: r.num("btf_vmlinux_id"),
    mapExtra: r.big("map_extra"),
  };
}

/** Decoded bpf_btf_info (name is filled by the caller from the name buffer). */
export interface BtfInfo {
  btfSize: number;
  id: number;
  nameLen: number;
  kernelBtf: boolean;
}

export function decodeBtfInfo(buf: Uint8Array): BtfInfo {
  const r = new StructReader(BTF_INFO_LAYOUT, buf);
  return {
    btfSize: r.num("btf_size"),
    id: r.num("id"),
    nameLen: r.num("name_len"),
    kernelBtf: r.num("kernel_btf") !== 0,
  };
}

/** Decoded bpf_link_info: common fields plus the type-specific ones that need no extra buffers. */
export interface LinkInfo {
  type: number;
  id: number;
  progId: number;
  /** Attach type for tracing, cgroup, netns, tcx and netkit links. */
  attachType?: number;
  /** Interface index for xdp, tcx and netkit links. */
  ifindex?: number;
  cgroupId?: bigint;
  targetObjId?: number;
  targetBtfId?: number;
  netnsIno?: number;
  mapId?: number;
  netfilter?: { pf: number; hooknum: number; priority: number; flags: number };
  kprobeMulti?: { count: number; flags: number };
  uprobeMulti?: { count: number; flags: number; pid: number };
  perfEventType?: number;
}

export function decodeLinkInfo(buf: Uint8Array): LinkInfo {
  const r = new StructReader(LINK_INFO_LAYOUT, buf);
  const info: LinkInfo = { type: r.num("type"), id: r.num("id"), progId: r.num("prog_id") };
  switch (info.type) {
    case LINK_TYPE.TRACING:
      info.attachType = r.num("tracing.attach_type");
      info.targetObjId = r.num("tracing.target_obj_id");
      info.targetBtfId = r.num("tracing.target_btf_id");
      break;
    case LINK_TYPE.CGROUP:
      info.cgroupId = r.big("cgroup.cgroup_id");
      info.attachType = r.num("cgroup.attach_type");
      break;
    case LINK_TYPE.NETNS:
      info.netnsIno = r.num("netns.netns_ino");
      info.attachType = r.num("netns.attach_type");
      break;
    case LINK_TYPE.XDP:
      info.ifindex = r.num("xdp.ifindex");
      break;
    case LINK_TYPE.STRUCT_OPS:
      info.mapId = r.num("struct_ops.map_id");
      break;
    case LINK_TYPE.NETFILTER:
      info.netfilter = {
        pf: r.num("netfilter.pf"),
        hooknum: r.num("netfilter.hooknum"),
        priority: r.num("netfilter.priority"),
        flags: r.num("netfilter.flags"),
      };
      break;
    case LINK_TYPE.KPROBE_MULTI:
      info.kprobeMulti = { count: r.num("kprobe_multi.count"), flags: r.num("kprobe_multi.flags") };
      break;
    case LINK_TYPE.UPROBE_MULTI:
      info.uprobeMulti = {
        count: r.num("uprobe_multi.count"),
        flags: r.num("uprobe_multi.flags"),
        pid: r.num("uprobe_multi.pid"),
      };
      break;
    case LINK_TYPE.PERF_EVENT:
      info.perfEventType = r.num("perf_event.type");
      break;
    case LINK_TYPE.TCX:
      info.ifindex = r.num("tcx.ifindex");
      info.attachType = r.num("tcx.attach_type");
      break;
    case LINK_TYPE.NETKIT:
      info.ifindex = r.num("netkit.ifindex");
      info.attachType = r.num("netkit.attach_type");
      break;
    case LINK_TYPE.ITER:
      info.mapId = r.num("iter.map.map_id");
      break;
    case LINK_TYPE.SOCKMAP:
      info.mapId = r.num("sockmap.map_id");
      info.attachType = r.num("sockmap.attach_type");
      break;
    default:
      break;
  }
  return info;
}
