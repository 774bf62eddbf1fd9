// Encoders for the union bpf_attr variants passed to bpf(2), one layout table per command family.
// Encoders are pure apart from taking user-memory addresses through the seam (sys().addressOf).

import { TsbpfError } from "../errors.js";
import { BPF_CMD, bpfCmdName, FILE_FLAGS } from "./constants.js";
import { chars, checkInt, layout, s32, StructWriter, u32, u64, type Layout } from "./layout.js";
import { sys } from "./seam.js";

/** An encoded bpf_attr ready for bpf(2). `refs` keeps user memory referenced by pointers alive. */
export interface Attr {
  readonly cmd: number;
  /** The operation name used in errors, e.g. `BPF_MAP_CREATE`. */
  readonly op: string;
  readonly bytes: Uint8Array;
  readonly refs: readonly ArrayBufferView[];
}

/* ---------- layouts (offsets from include/uapi/linux/bpf.h, verified against the C compiler) ---------- */

export const MAP_CREATE_LAYOUT = layout("MAP_CREATE", "union bpf_attr", "", {
  map_type: u32(0),
  key_size: u32(4),
  value_size: u32(8),
  max_entries: u32(12),
  map_flags: u32(16),
  inner_map_fd: u32(20),
  numa_node: u32(24),
  map_name: chars(28, 16),
  map_ifindex: u32(44),
  btf_fd: u32(48),
  btf_key_type_id: u32(52),
  btf_value_type_id: u32(56),
  btf_vmlinux_value_type_id: u32(60),
  map_extra: u64(64),
  value_type_btf_obj_fd: s32(72),
  map_token_fd: s32(76),
});

export const MAP_ELEM_LAYOUT = layout("MAP_ELEM", "union bpf_attr", "", {
  map_fd: u32(0),
  key: u64(8),
  value: u64(16),
  next_key: u64(16),
  flags: u64(24),
});

export const MAP_BATCH_LAYOUT = layout("MAP_BATCH", "union bpf_attr", "batch.", {
  in_batch: u64(0),
  out_batch: u64(8),
  keys: u64(16),
  values: u64(24),
  count: u32(32),
  map_fd: u32(36),
  elem_flags: u64(40),
  flags: u64(48),
});

export const PROG_LOAD_LAYOUT = layout("PROG_LOAD", "union bpf_attr", "", {
  prog_type: u32(0),
  insn_cnt: u32(4),
  insns: u64(8),
  license: u64(16),
  log_level: u32(24),
  log_size: u32(28),
  log_buf: u64(32),
  kern_version: u32(40),
  prog_flags: u32(44),
  prog_name: chars(48, 16),
  prog_ifindex: u32(64),
  expected_attach_type: u32(68),
  prog_btf_fd: u32(72),
  func_info_rec_size: u32(76),
  func_info: u64(80),
  func_info_cnt: u32(88),
  line_info_rec_size: u32(92),
  line_info: u64(96),
  line_info_cnt: u32(104),
  attach_btf_id: u32(108),
  attach_prog_fd: u32(112),
  attach_btf_obj_fd: u32(112),
  core_relo_cnt: u32(116),
  fd_array: u64(120),
  core_relos: u64(128),
  core_relo_rec_size: u32(136),
  log_true_size: u32(140),
  prog_token_fd: s32(144),
  fd_array_cnt: u32(148),
});

export const OBJ_LAYOUT = layout("OBJ", "union bpf_attr", "", {
  pathname: u64(0),
  bpf_fd: u32(8),
  file_flags: u32(12),
  path_fd: s32(16),
});

export const PROG_ATTACH_LAYOUT = layout("PROG_ATTACH", "union bpf_attr", "", {
  target_fd: u32(0),
  target_ifindex: u32(0),
  attach_bpf_fd: u32(4),
  attach_type: u32(8),
  attach_flags: u32(12),
  replace_bpf_fd: u32(16),
  relative_fd: u32(20),
  relative_id: u32(20),
  expected_revision: u64(24),
});

export const TEST_RUN_LAYOUT = layout("PROG_TEST_RUN", "union bpf_attr", "test.", {
  prog_fd: u32(0),
  retval: u32(4),
  data_size_in: u32(8),
  data_size_out: u32(12),
  data_in: u64(16),
  data_out: u64(24),
  repeat: u32(32),
  duration: u32(36),
  ctx_size_in: u32(40),
  ctx_size_out: u32(44),
  ctx_in: u64(48),
  ctx_out: u64(56),
  flags: u32(64),
  cpu: u32(68),
  batch_size: u32(72),
});

export const GET_ID_LAYOUT = layout("GET_ID", "union bpf_attr", "", {
  start_id: u32(0),
  prog_id: u32(0),
  map_id: u32(0),
  btf_id: u32(0),
  link_id: u32(0),
  next_id: u32(4),
  open_flags: u32(8),
  fd_by_id_token_fd: s32(12),
});

export const INFO_LAYOUT = layout("OBJ_GET_INFO_BY_FD", "union bpf_attr", "info.", {
  bpf_fd: u32(0),
  info_len: u32(4),
  info: u64(8),
});

export const QUERY_LAYOUT = layout("PROG_QUERY", "union bpf_attr", "query.", {
  target_fd: u32(0),
  target_ifindex: u32(0),
  attach_type: u32(4),
  query_flags: u32(8),
  attach_flags: u32(12),
  prog_ids: u64(16),
  prog_cnt: u32(24),
  count: u32(24),
  prog_attach_flags: u64(32),
  link_ids: u64(40),
  link_attach_flags: u64(48),
  revision: u64(56),
});

export const RAW_TRACEPOINT_LAYOUT = layout("RAW_TRACEPOINT_OPEN", "union bpf_attr", "raw_tracepoint.", {
  name: u64(0),
  prog_fd: u32(8),
  cookie: u64(16),
});

export const BTF_LOAD_LAYOUT = layout("BTF_LOAD", "union bpf_attr", "", {
  btf: u64(0),
  btf_log_buf: u64(8),
  btf_size: u32(16),
  btf_log_size: u32(20),
  btf_log_level: u32(24),
  btf_log_true_size: u32(28),
  btf_flags: u32(32),
  btf_token_fd: s32(36),
});

export const TASK_FD_QUERY_LAYOUT = layout("TASK_FD_QUERY", "union bpf_attr", "task_fd_query.", {
  pid: u32(0),
  fd: u32(4),
  flags: u32(8),
  buf_len: u32(12),
  buf: u64(16),
  prog_id: u32(24),
  fd_type: u32(28),
  probe_offset: u64(32),
  probe_addr: u64(40),
});

export const LINK_CREATE_LAYOUT = layout("LINK_CREATE", "union bpf_attr", "link_create.", {
  prog_fd: u32(0),
  map_fd: u32(0),
  target_fd: u32(4),
  target_ifindex: u32(4),
  attach_type: u32(8),
  flags: u32(12),
  target_btf_id: u32(16),
  iter_info: u64(16),
  iter_info_len: u32(24),
  "perf_event.bpf_cookie": u64(16),
  "kprobe_multi.flags": u32(16),
  "kprobe_multi.cnt": u32(20),
  "kprobe_multi.syms": u64(24),
  "kprobe_multi.addrs": u64(32),
  "kprobe_multi.cookies": u64(40),
  "tracing.target_btf_id": u32(16),
  "tracing.cookie": u64(24),
  "netfilter.pf": u32(16),
  "netfilter.hooknum": u32(20),
  "netfilter.priority": s32(24),
  "netfilter.flags": u32(28),
  "tcx.relative_fd": u32(16),
  "tcx.relative_id": u32(16),
  "tcx.expected_revision": u64(24),
  "uprobe_multi.path": u64(16),
  "uprobe_multi.offsets": u64(24),
  "uprobe_multi.ref_ctr_offsets": u64(32),
  "uprobe_multi.cookies": u64(40),
  "uprobe_multi.cnt": u32(48),
  "uprobe_multi.flags": u32(52),
  "uprobe_multi.pid": u32(56),
  "netkit.relative_fd": u32(16),
  "netkit.relative_id": u32(16),
  "netkit.expected_revision": u64(24),
});

export const LINK_UPDATE_LAYOUT = layout("LINK_UPDATE", "union bpf_attr", "link_update.", {
  link_fd: u32(0),
  new_prog_fd: u32(4),
  new_map_fd: u32(4),
  flags: u32(8),
  old_prog_fd: u32(12),
  old_map_fd: u32(12),
});

export const LINK_DETACH_LAYOUT = layout("LINK_DETACH", "union bpf_attr", "link_detach.", { link_fd: u32(0) });

export const ENABLE_STATS_LAYOUT = layout("ENABLE_STATS", "union bpf_attr", "enable_stats.", { type: u32(0) });

export const ITER_CREATE_LAYOUT = layout("ITER_CREATE", "union bpf_attr", "iter_create.", {
  link_fd: u32(0),
  flags: u32(4),
});

export const PROG_BIND_MAP_LAYOUT = layout("PROG_BIND_MAP", "union bpf_attr", "prog_bind_map.", {
  prog_fd: u32(0),
  map_fd: u32(4),
  flags: u32(8),
});

export const TOKEN_CREATE_LAYOUT = layout("TOKEN_CREATE", "union bpf_attr", "token_create.", {
  flags: u32(0),
  bpffs_fd: u32(4),
});

/** Every bpf_attr layout, for the offsetof check. */
export const ATTR_LAYOUTS: readonly Layout[] = [
  MAP_CREATE_LAYOUT,
  MAP_ELEM_LAYOUT,
  MAP_BATCH_LAYOUT,
  PROG_LOAD_LAYOUT,
  OBJ_LAYOUT,
  PROG_ATTACH_LAYOUT,
  TEST_RUN_LAYOUT,
  GET_ID_LAYOUT,
  INFO_LAYOUT,
  QUERY_LAYOUT,
  RAW_TRACEPOINT_LAYOUT,
  BTF_LOAD_LAYOUT,
  TOKEN_CREATE_LAYOUT,
  TASK_FD_QUERY_LAYOUT,
  LINK_CREATE_LAYOUT,
  LINK_UPDATE_LAYOUT,
  LINK_DETACH_LAYOUT,
  ENABLE_STATS_LAYOUT,
  ITER_CREATE_LAYOUT,
  PROG_BIND_MAP_LAYOUT,
];

/* ---------- the builder ---------- */

/** User memory an attr may point at. */
export type UserMemory = ArrayBufferView;

/** A StructWriter that also stores user pointers and remembers what they point at. */
export class AttrBuilder<F extends string> extends StructWriter<F> {
  private readonly refs: ArrayBufferView[] = [];

  constructor(
    private readonly cmd: number,
    layoutOf: Layout<F>,
  ) {
    super(layoutOf);
  }

  /** Stores the address of `mem` (0 for null/undefined or empty memory). */
  ptr(name: F, mem: UserMemory | null | undefined): this {
    if (mem === null || mem === undefined || mem.byteLength === 0) return this;
    this.refs.push(mem);
    return this.set(name, sys().addressOf(mem));
  }

  /** Stores a pointer to a NUL-terminated copy of `s`. */
  cstring(name: F, s: string | null | undefined): this {
    if (s === null || s === undefined) return this;
    return this.ptr(name, cString(s));
  }

  /** Keeps extra memory alive for the duration of the call (memory referenced from pointed-to arrays). */
  keep(mem: UserMemory): this {
    this.refs.push(mem);
    return this;
  }

  build(): Attr {
    return { cmd: this.cmd, op: bpfCmdName(this.cmd), bytes: this.bytes, refs: this.refs };
  }
}

/** A NUL-terminated UTF-8 copy of `s`; rejects embedded NULs. */
export function cString(s: string): Uint8Array {
  if (s.includes("\0")) throw new TsbpfError("INVALID_ARGUMENT", `string ${JSON.stringify(s)} contains a NUL byte`);
  const enc = new TextEncoder().encode(s);
  const out = new Uint8Array(enc.length + 1);
  out.set(enc);
  return out;
}

/** Converts a list of u64 values into a BigUint64Array (shares it when already one). */
export function u64Array(where: string, values: readonly (number | bigint)[] | BigUint64Array): BigUint64Array {
  if (values instanceof BigUint64Array) return values;
  const out = new BigUint64Array(values.length);
  values.forEach((v, i) => {
    out[i] = checkInt(`${where}[${i}]`, v, 8, false);
  });
  return out;
}

function fdOrZero(fd: number | undefined): number | undefined {
  return fd === undefined || fd < 0 ? undefined : fd;
}

/* ---------- maps ---------- */

/** Options of BPF_MAP_CREATE (names follow the UAPI fields). */
export interface MapCreateAttr {
  mapType: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  mapFlags?: number;
  innerMapFd?: number;
  numaNode?: number;
  mapName?: string;
  mapIfindex?: number;
  btfFd?: number;
  btfKeyTypeId?: number;
  btfValueTypeId?: number;
  btfVmlinuxValueTypeId?: number;
  mapExtra?: number | bigint;
  valueTypeBtfObjFd?: number;
  mapTokenFd?: number;
}

export function encodeMapCreate(o: MapCreateAttr): Attr {
  return new AttrBuilder(BPF_CMD.MAP_CREATE, MAP_CREATE_LAYOUT)
    .set("map_type", o.mapType)
    .set("key_size", o.keySize)
    .set("value_size", o.valueSize)
    .set("max_entries", o.maxEntries)
    .set("map_flags", o.mapFlags)
    .set("inner_map_fd", fdOrZero(o.innerMapFd))
    .set("numa_node", o.numaNode)
    .string("map_name", o.mapName)
    .set("map_ifindex", o.mapIfindex)
    .set("btf_fd", fdOrZero(o.btfFd))
    .set("btf_key_type_id", o.btfKeyTypeId)
    .set("btf_value_type_id", o.btfValueTypeId)
    .set("btf_vmlinux_value_type_id", o.btfVmlinuxValueTypeId)
    .set("map_extra", o.mapExtra)
    .set("value_type_btf_obj_fd", o.valueTypeBtfObjFd)
    .set("map_token_fd", o.mapTokenFd)
    .build();
}

/** Commands sharing the map element layout. */
export type MapElemCmd =
  | typeof BPF_CMD.MAP_LOOKUP_ELEM
  | typeof BPF_CMD.MAP_UPDATE_ELEM
  | typeof BPF_CMD.MAP_DELETE_ELEM
  | typeof BPF_CMD.MAP_GET_NEXT_KEY
  | typeof BPF_CMD.MAP_LOOKUP_AND_DELETE_ELEM;

/**
 * MAP_LOOKUP_ELEM/UPDATE/DELETE/LOOKUP_AND_DELETE: `value` is the value buffer; for GET_NEXT_KEY it is
 * the next-key buffer. A null key (GET_NEXT_KEY) asks for the first key.
 */
export function encodeMapElem(
  cmd: MapElemCmd,
  mapFd: number,
  key: UserMemory | null,
  value: UserMemory | null,
  flags: number | bigint = 0,
): Attr {
  return new AttrBuilder(cmd, MAP_ELEM_LAYOUT)
    .set("map_fd", mapFd)
    .ptr("key", key)
    .ptr(cmd === BPF_CMD.MAP_GET_NEXT_KEY ? "next_key" : "value", value)
    .set("flags", flags)
    .build();
}

export function encodeMapFreeze(mapFd: number): Attr {
  return new AttrBuilder(BPF_CMD.MAP_FREEZE, MAP_ELEM_LAYOUT).set("map_fd", mapFd).build();
}

/** Commands sharing the batch layout. */
export type MapBatchCmd =
  | typeof BPF_CMD.MAP_LOOKUP_BATCH
  | typeof BPF_CMD.MAP_LOOKUP_AND_DELETE_BATCH
  | typeof BPF_CMD.MAP_UPDATE_BATCH
  | typeof BPF_CMD.MAP_DELETE_BATCH;

/** Options of the MAP_*_BATCH commands; `count` is the number of elements the buffers hold. */
export interface MapBatchAttr {
  mapFd: number;
  /** Opaque cursor from the previous call (null: start from the beginning). Lookup only. */
  inBatch?: UserMemory | null;
  /** Where the kernel stores the cursor for the next call. Lookup only. */
  outBatch?: UserMemory | null;
  keys?: UserMemory | null;
  values?: UserMemory | null;
  count: number;
  elemFlags?: number | bigint;
  flags?: number | bigint;
}

export function encodeMapBatch(cmd: MapBatchCmd, o: MapBatchAttr): Attr {
  return new AttrBuilder(cmd, MAP_BATCH_LAYOUT)
    .ptr("in_batch", o.inBatch)
    .ptr("out_batch", o.outBatch)
    .ptr("keys", o.keys)
    .ptr("values", o.values)
    .set("count", o.count)
    .set("map_fd", o.mapFd)
    .set("elem_flags", o.elemFlags)
    .set("flags", o.flags)
    .build();
}

/* ---------- programs ---------- */

/** Options of BPF_PROG_LOAD (names follow the UAPI fields). */
export interface ProgLoadAttr {
  progType: number;
  /** Raw instructions, 8 bytes each. */
  insns: Uint8Array;
  license: string;
  logLevel?: number;
  /** Buffer the verifier writes its log into (log_size is its length). */
  logBuf?: Uint8Array | null;
  kernVersion?: number;
  progFlags?: number;
  progName?: string;
  progIfindex?: number;
  expectedAttachType?: number;
  progBtfFd?: number;
  /** bpf_func_info records (funcInfoRecSize bytes each). */
  funcInfo?: Uint8Array | null;
  funcInfoRecSize?: number;
  /** bpf_line_info records (lineInfoRecSize bytes each). */
  lineInfo?: Uint8Array | null;
  lineInfoRecSize?: number;
  attachBtfId?: number;
  attachProgFd?: number;
  attachBtfObjFd?: number;
  /** Map/BTF fds referenced by index from instructions (BPF_PSEUDO_MAP_IDX, kfunc module BTF). */
  fdArray?: Int32Array | Uint32Array | null;
  /** Set fd_array_cnt (Linux 6.14+); leave unset for older kernels. */
  fdArrayCnt?: number;
  progTokenFd?: number;
}

function recordCount(where: string, bytes: Uint8Array | null | undefined, recSize: number | undefined): number {
  if (!bytes || bytes.length === 0) return 0;
  if (!recSize || bytes.length % recSize !== 0) {
    throw new TsbpfError(
      "INVALID_ARGUMENT",
      `BPF_PROG_LOAD: ${where} is ${bytes.length} bytes, not a multiple of its record size ${recSize ?? 0}`,
    );
  }
  return bytes.length / recSize;
}

export function encodeProgLoad(o: ProgLoadAttr): Attr {
  if (o.insns.length === 0 || o.insns.length % 8 !== 0) {
    throw new TsbpfError(
      "INVALID_ARGUMENT",
      `BPF_PROG_LOAD: instructions must be a non-empty multiple of 8 bytes, got ${o.insns.length}`,
    );
  }
  if (o.attachProgFd !== undefined && o.attachBtfObjFd !== undefined) {
    throw new TsbpfError("INVALID_ARGUMENT", "BPF_PROG_LOAD: attachProgFd and attachBtfObjFd share a field; set one");
  }
  const funcCnt = recordCount("func_info", o.funcInfo, o.funcInfoRecSize);
  const lineCnt = recordCount("line_info", o.lineInfo, o.lineInfoRecSize);
  const b = new AttrBuilder(BPF_CMD.PROG_LOAD, PROG_LOAD_LAYOUT)
    .set("prog_type", o.progType)
    .set("insn_cnt", o.insns.length / 8)
    .ptr("insns", o.insns)
    .cstring("license", o.license)
    .set("kern_version", o.kernVersion)
    .set("prog_flags", o.progFlags)
    .string("prog_name", o.progName)
    .set("prog_ifindex", o.progIfindex)
    .set("expected_attach_type", o.expectedAttachType)
    .set("prog_btf_fd", fdOrZero(o.progBtfFd))
    .set("attach_btf_id", o.attachBtfId)
    .set("attach_prog_fd", fdOrZero(o.attachProgFd))
    .set("attach_btf_obj_fd", fdOrZero(o.attachBtfObjFd))
    .ptr("fd_array", o.fdArray)
    .set("fd_array_cnt", o.fdArrayCnt)
    .set("prog_token_fd", o.progTokenFd);
  if (o.logBuf && o.logBuf.length > 0) {
    b.set("log_level", o.logLevel ?? 1)
      .set("log_size", o.logBuf.length)
      .ptr("log_buf", o.logBuf);
  } else if (o.logLevel) {
    throw new TsbpfError("INVALID_ARGUMENT", "BPF_PROG_LOAD: logLevel needs a logBuf");
  }
  if (funcCnt > 0) {
    b.set("func_info_rec_size", o.funcInfoRecSize).ptr("func_info", o.funcInfo).set("func_info_cnt", funcCnt);
  }
  if (lineCnt > 0) {
    b.set("line_info_rec_size", o.lineInfoRecSize).ptr("line_info", o.lineInfo).set("line_info_cnt", lineCnt);
  }
  return b.build();
}

/** The verifier's log_true_size after PROG_LOAD (0 on kernels before 6.4). */
export function progLoadLogTrueSize(attr: Attr): number {
  return new DataView(attr.bytes.buffer).getUint32(PROG_LOAD_LAYOUT.fields.log_true_size.offset, true);
}

/** BPF_OBJ_PIN: pin `bpfFd` at `pathname` (inside a bpffs). */
export function encodeObjPin(pathname: string, bpfFd: number, pathFd?: number): Attr {
  return new AttrBuilder(BPF_CMD.OBJ_PIN, OBJ_LAYOUT)
    .cstring("pathname", pathname)
    .set("bpf_fd", bpfFd)
    .set("file_flags", pathFd !== undefined ? FILE_FLAGS.PATH_FD : 0)
    .set("path_fd", pathFd)
    .build();
}

/** BPF_OBJ_GET: open the object pinned at `pathname`; fileFlags is FILE_FLAGS.RDONLY/WRONLY. */
export function encodeObjGet(pathname: string, fileFlags = 0, pathFd?: number): Attr {
  return new AttrBuilder(BPF_CMD.OBJ_GET, OBJ_LAYOUT)
    .cstring("pathname", pathname)
    .set("file_flags", fileFlags | (pathFd !== undefined ? FILE_FLAGS.PATH_FD : 0))
    .set("path_fd", pathFd)
    .build();
}

/** Options of BPF_PROG_ATTACH / BPF_PROG_DETACH. */
export interface ProgAttachAttr {
  /** Target fd (cgroup, netns, sockmap) or ifindex (tcx). */
  target: number;
  /** The program (0 / undefined for detach by type on some hooks). */
  attachBpfFd?: number;
  attachType: number;
  attachFlags?: number;
  replaceBpfFd?: number;
  /** mprog ordering (tcx, netkit): a relative fd or id selected by attachFlags. */
  relativeFdOrId?: number;
  expectedRevision?: number | bigint;
}

export function encodeProgAttach(
  cmd: typeof BPF_CMD.PROG_ATTACH | typeof BPF_CMD.PROG_DETACH,
  o: ProgAttachAttr,
): Attr {
  return new AttrBuilder(cmd, PROG_ATTACH_LAYOUT)
    .set("target_fd", o.target)
    .set("attach_bpf_fd", fdOrZero(o.attachBpfFd))
    .set("attach_type", o.attachType)
    .set("attach_flags", o.attachFlags)
    .set("replace_bpf_fd", fdOrZero(o.replaceBpfFd))
    .set("relative_fd", o.relativeFdOrId)
    .set("expected_revision", o.expectedRevision)
    .build();
}

/** Options of BPF_PROG_TEST_RUN. Output buffers are filled by the kernel; sizes are read back. */
export interface TestRunAttr {
  progFd: number;
  dataIn?: Uint8Array | null;
  dataOut?: Uint8Array | null;
  ctxIn?: Uint8Array | null;
  ctxOut?: Uint8Array | null;
  repeat?: number;
  flags?: number;
  cpu?: number;
  batchSize?: number;
}

export function encodeTestRun(o: TestRunAttr): Attr {
  return new AttrBuilder(BPF_CMD.PROG_TEST_RUN, TEST_RUN_LAYOUT)
    .set("prog_fd", o.progFd)
    .set("data_size_in", o.dataIn?.length ?? 0)
    .set("data_size_out", o.dataOut?.length ?? 0)
    .ptr("data_in", o.dataIn)
    .ptr("data_out", o.dataOut)
    .set("repeat", o.repeat)
    .set("ctx_size_in", o.ctxIn?.length ?? 0)
    .set("ctx_size_out", o.ctxOut?.length ?? 0)
    .ptr("ctx_in", o.ctxIn)
    .ptr("ctx_out", o.ctxOut)
    .set("flags", o.flags)
    .set("cpu", o.cpu)
    .set("batch_size", o.batchSize)
    .build();
}

/** Output fields of PROG_TEST_RUN read back from the attr. */
export interface TestRunOutput {
  retval: number;
  duration: number;
  dataSizeOut: number;
  ctxSizeOut: number;
}

export function decodeTestRun(attr: Attr): TestRunOutput {
  const v = new DataView(attr.bytes.buffer);
  const f = TEST_RUN_LAYOUT.fields;
  return {
    retval: v.getUint32(f.retval.offset, true),
    duration: v.getUint32(f.duration.offset, true),
    dataSizeOut: v.getUint32(f.data_size_out.offset, true),
    ctxSizeOut: v.getUint32(f.ctx_size_out.offset, true),
  };
}

/* ---------- ids, info, query ---------- */

export type GetNextIdCmd =
  | typeof BPF_CMD.PROG_GET_NEXT_ID
  | typeof BPF_CMD.MAP_GET_NEXT_ID
  | typeof BPF_CMD.BTF_GET_NEXT_ID
  | typeof BPF_CMD.LINK_GET_NEXT_ID;

export function encodeGetNextId(cmd: GetNextIdCmd, startId: number): Attr {
  return new AttrBuilder(cmd, GET_ID_LAYOUT).set("start_id", startId).build();
}

/** The next_id the kernel wrote back. */
export function decodeNextId(attr: Attr): number {
  return new DataView(attr.bytes.buffer).getUint32(GET_ID_LAYOUT.fields.next_id.offset, true);
}

export type GetFdByIdCmd =
  | typeof BPF_CMD.PROG_GET_FD_BY_ID
  | typeof BPF_CMD.MAP_GET_FD_BY_ID
  | typeof BPF_CMD.BTF_GET_FD_BY_ID
  | typeof BPF_CMD.LINK_GET_FD_BY_ID;

export function encodeGetFdById(cmd: GetFdByIdCmd, id: number, openFlags = 0): Attr {
  return new AttrBuilder(cmd, GET_ID_LAYOUT).set("start_id", id).set("open_flags", openFlags).build();
}

/** OBJ_GET_INFO_BY_FD with `info` as the output struct buffer. */
export function encodeObjInfo(bpfFd: number, info: Uint8Array): Attr {
  return new AttrBuilder(BPF_CMD.OBJ_GET_INFO_BY_FD, INFO_LAYOUT)
    .set("bpf_fd", bpfFd)
    .set("info_len", info.length)
    .ptr("info", info)
    .build();
}

/** The info_len the kernel wrote back. */
export function decodeInfoLen(attr: Attr): number {
  return new DataView(attr.bytes.buffer).getUint32(INFO_LAYOUT.fields.info_len.offset, true);
}

/** Options of BPF_PROG_QUERY. `progIds` receives up to its length ids. */
export interface ProgQueryAttr {
  /** Target fd (cgroup, netns) or ifindex (tcx, netkit). */
  target: number;
  attachType: number;
  queryFlags?: number;
  progIds?: Uint32Array | null;
  progAttachFlags?: Uint32Array | null;
  linkIds?: Uint32Array | null;
  linkAttachFlags?: Uint32Array | null;
}

export function encodeProgQuery(o: ProgQueryAttr): Attr {
  return new AttrBuilder(BPF_CMD.PROG_QUERY, QUERY_LAYOUT)
    .set("target_fd", o.target)
    .set("attach_type", o.attachType)
    .set("query_flags", o.queryFlags)
    .ptr("prog_ids", o.progIds)
    .set("count", o.progIds?.length ?? 0)
    .ptr("prog_attach_flags", o.progAttachFlags)
    .ptr("link_ids", o.linkIds)
    .ptr("link_attach_flags", o.linkAttachFlags)
    .build();
}

/** Output fields of PROG_QUERY. */
export interface ProgQueryOutput {
  attachFlags: number;
  count: number;
  revision: bigint;
}

export function decodeProgQuery(attr: Attr): ProgQueryOutput {
  const v = new DataView(attr.bytes.buffer);
  const f = QUERY_LAYOUT.fields;
  return {
    attachFlags: v.getUint32(f.attach_flags.offset, true),
    count: v.getUint32(f.count.offset, true),
    revision: v.getBigUint64(f.revision.offset, true),
  };
}

/** BPF_TASK_FD_QUERY: what program/probe is behind fd `fd` of process `pid`. */
export function encodeTaskFdQuery(pid: number, fd: number, buf: Uint8Array | null): Attr {
  return new AttrBuilder(BPF_CMD.TASK_FD_QUERY, TASK_FD_QUERY_LAYOUT)
    .set("pid", pid)
    .set("fd", fd)
    .set("buf_len", buf?.length ?? 0)
    .ptr("buf", buf)
    .build();
}

/* ---------- tracing, BTF ---------- */

/** BPF_RAW_TRACEPOINT_OPEN: attach a raw_tp program to `name` (null for tp_btf/fentry/lsm programs). */
export function encodeRawTracepointOpen(name: string | null, progFd: number, cookie?: number | bigint): Attr {
  return new AttrBuilder(BPF_CMD.RAW_TRACEPOINT_OPEN, RAW_TRACEPOINT_LAYOUT)
    .cstring("name", name)
    .set("prog_fd", progFd)
    .set("cookie", cookie)
    .build();
}

/** Options of BPF_BTF_LOAD. */
export interface BtfLoadAttr {
  btf: Uint8Array;
  logBuf?: Uint8Array | null;
  logLevel?: number;
  btfFlags?: number;
  btfTokenFd?: number;
}

export function encodeBtfLoad(o: BtfLoadAttr): Attr {
  const b = new AttrBuilder(BPF_CMD.BTF_LOAD, BTF_LOAD_LAYOUT)
    .ptr("btf", o.btf)
    .set("btf_size", o.btf.length)
    .set("btf_flags", o.btfFlags)
    .set("btf_token_fd", o.btfTokenFd);
  if (o.logBuf && o.logBuf.length > 0) {
    b.ptr("btf_log_buf", o.logBuf)
      .set("btf_log_size", o.logBuf.length)
      .set("btf_log_level", o.logLevel ?? 1);
  }
  return b.build();
}

/** The btf_log_true_size after BTF_LOAD (0 on kernels before 6.4). */
/** BPF_TOKEN_CREATE (Linux 6.9+): a token from the root of a bpffs mounted with delegate_* options. */
export function encodeTokenCreate(bpffsFd: number, flags = 0): Attr {
  return new AttrBuilder(BPF_CMD.TOKEN_CREATE, TOKEN_CREATE_LAYOUT).set("flags", flags).set("bpffs_fd", bpffsFd).build();
}

export function btfLoadLogTrueSize(attr: Attr): number {
  return new DataView(attr.bytes.buffer).getUint32(BTF_LOAD_LAYOUT.fields.btf_log_true_size.offset, true);
}

/* ---------- links ---------- */

/** Attach-type specific part of LINK_CREATE. */
export type LinkCreateExtra =
  | { kind: "none" }
  /** BPF_TRACE_FENTRY/FEXIT/... to a BTF id of another program or module. */
  | { kind: "target_btf_id"; targetBtfId: number }
  /** BPF_TRACE_ITER: a struct bpf_iter_link_info blob. */
  | { kind: "iter"; iterInfo: Uint8Array }
  | { kind: "perf_event"; bpfCookie: number | bigint }
  | {
      kind: "kprobe_multi";
      flags?: number;
      syms?: readonly string[];
      addrs?: readonly (number | bigint)[] | BigUint64Array;
      cookies?: readonly (number | bigint)[] | BigUint64Array;
    }
  | { kind: "tracing"; targetBtfId?: number; cookie?: number | bigint }
  | { kind: "netfilter"; pf: number; hooknum: number; priority: number; flags?: number }
  | { kind: "tcx" | "netkit"; relativeFdOrId?: number; expectedRevision?: number | bigint }
  | {
      kind: "uprobe_multi";
      path: string;
      offsets: readonly (number | bigint)[] | BigUint64Array;
      refCtrOffsets?: readonly (number | bigint)[] | BigUint64Array;
      cookies?: readonly (number | bigint)[] | BigUint64Array;
      flags?: number;
      pid?: number;
    };

/** Options of BPF_LINK_CREATE. */
export interface LinkCreateAttr {
  /** The program fd (or map fd for struct_ops links). */
  progFd: number;
  /** Target fd (cgroup, netns, perf event, program) or ifindex (xdp, tcx, netkit); 0 when none. */
  target?: number;
  attachType: number;
  flags?: number;
  extra?: LinkCreateExtra;
}

function sameCount(what: string, n: number, arr: BigUint64Array | undefined): void {
  if (arr && arr.length !== n) {
    throw new TsbpfError("INVALID_ARGUMENT", `BPF_LINK_CREATE: ${what} has ${arr.length} entries, expected ${n}`);
  }
}

export function encodeLinkCreate(o: LinkCreateAttr): Attr {
  const b = new AttrBuilder(BPF_CMD.LINK_CREATE, LINK_CREATE_LAYOUT)
    .set("prog_fd", o.progFd)
    .set("target_fd", o.target)
    .set("attach_type", o.attachType)
    .set("flags", o.flags);
  const x = o.extra ?? { kind: "none" };
  switch (x.kind) {
    case "none":
      break;
    case "target_btf_id":
      b.set("target_btf_id", x.targetBtfId);
      break;
    case "iter":
      b.ptr("iter_info", x.iterInfo).set("iter_info_len", x.iterInfo.length);
      break;
    case "perf_event":
      b.set("perf_event.bpf_cookie", x.bpfCookie);
      break;
    case "kprobe_multi": {
      const addrs = x.addrs ? u64Array("kprobe_multi.addrs", x.addrs) : undefined;
      const cookies = x.cookies ? u64Array("kprobe_multi.cookies", x.cookies) : undefined;
      let syms: BigUint64Array | undefined;
      if (x.syms) {
        syms = new BigUint64Array(x.syms.length);
        x.syms.forEach((s, i) => {
          const c = cString(s);
          b.keep(c);
          syms![i] = sys().addressOf(c);
        });
      }
      const cnt = syms?.length ?? addrs?.length ?? 0;
      if ((syms === undefined) === (addrs === undefined)) {
        throw new TsbpfError("INVALID_ARGUMENT", "BPF_LINK_CREATE: kprobe_multi needs exactly one of syms or addrs");
      }
      sameCount("kprobe_multi.cookies", cnt, cookies);
      b.set("kprobe_multi.flags", x.flags)
        .set("kprobe_multi.cnt", cnt)
        .ptr("kprobe_multi.syms", syms)
        .ptr("kprobe_multi.addrs", addrs)
        .ptr("kprobe_multi.cookies", cookies);
      break;
    }
    case "tracing":
      b.set("tracing.target_btf_id", x.targetBtfId).set("tracing.cookie", x.cookie);
      break;
    case "netfilter":
      b.set("netfilter.pf", x.pf)
        .set("netfilter.hooknum", x.hooknum)
        .set("netfilter.priority", x.priority)
        .set("netfilter.flags", x.flags);
      break;
    case "tcx":
    case "netkit":
      b.set(`${x.kind}.relative_fd`, x.relativeFdOrId).set(`${x.kind}.expected_revision`, x.expectedRevision);
      break;
    case "uprobe_multi": {
      const offsets = u64Array("uprobe_multi.offsets", x.offsets);
      const refs = x.refCtrOffsets ? u64Array("uprobe_multi.ref_ctr_offsets", x.refCtrOffsets) : undefined;
      const cookies = x.cookies ? u64Array("uprobe_multi.cookies", x.cookies) : undefined;
      sameCount("uprobe_multi.ref_ctr_offsets", offsets.length, refs);
      sameCount("uprobe_multi.cookies", offsets.length, cookies);
      b.cstring("uprobe_multi.path", x.path)
        .ptr("uprobe_multi.offsets", offsets)
        .ptr("uprobe_multi.ref_ctr_offsets", refs)
        .ptr("uprobe_multi.cookies", cookies)
        .set("uprobe_multi.cnt", offsets.length)
        .set("uprobe_multi.flags", x.flags)
        .set("uprobe_multi.pid", x.pid);
      break;
    }
    default: {
      const never: never = x;
      throw new TsbpfError("INVALID_ARGUMENT", `BPF_LINK_CREATE: unknown variant ${JSON.stringify(never)}`);
    }
  }
  return b.build();
}

/** BPF_LINK_UPDATE: replace the program of a link (oldProgFd with BPF_F_REPLACE checks the current one). */
export function encodeLinkUpdate(linkFd: number, newProgFd: number, flags = 0, oldProgFd?: number): Attr {
  return new AttrBuilder(BPF_CMD.LINK_UPDATE, LINK_UPDATE_LAYOUT)
    .set("link_fd", linkFd)
    .set("new_prog_fd", newProgFd)
    .set("flags", flags)
    .set("old_prog_fd", fdOrZero(oldProgFd))
    .build();
}

export function encodeLinkDetach(linkFd: number): Attr {
  return new AttrBuilder(BPF_CMD.LINK_DETACH, LINK_DETACH_LAYOUT).set("link_fd", linkFd).build();
}

export function encodeEnableStats(type: number): Attr {
  return new AttrBuilder(BPF_CMD.ENABLE_STATS, ENABLE_STATS_LAYOUT).set("type", type).build();
}

export function encodeIterCreate(linkFd: number, flags = 0): Attr {
  return new AttrBuilder(BPF_CMD.ITER_CREATE, ITER_CREATE_LAYOUT).set("link_fd", linkFd).set("flags", flags).build();
}

export function encodeProgBindMap(progFd: number, mapFd: number, flags = 0): Attr {
  return new AttrBuilder(BPF_CMD.PROG_BIND_MAP, PROG_BIND_MAP_LAYOUT)
    .set("prog_fd", progFd)
    .set("map_fd", mapFd)
    .set("flags", flags)
    .build();
}
