// Storage maps: cgroup storage (CGROUP_STORAGE / PERCPU_CGROUP_STORAGE, keyed by cgroup id and attach
// type) and local storage (SK/TASK/INODE/CGRP_STORAGE), keyed from userspace by an fd of the owner.

import type { Layout } from "../../types/index.js";
import type { Codec } from "../map.js";
import { BpfMap, expectType, TypedMap } from "../map.js";
import { checkSize, fdOf, perCpuCodec, type FdSource } from "./codecs.js";

/** Key of a cgroup storage element: the cgroup's inode id and the attach type of the program. */
export interface CgroupStorageKey {
  readonly cgroupInodeId: bigint;
  /** ATTACH_TYPE value (absent for maps with 8-byte keys, shared across attach types). */
  readonly attachType: number;
}

function cgroupKeyCodec(size: number): Codec<CgroupStorageKey, { cgroupInodeId: bigint | number; attachType?: number }> {
  return {
    size,
    decode: (src, off) => {
      const dv = new DataView(src.buffer, src.byteOffset);
      return { cgroupInodeId: dv.getBigUint64(off, true), attachType: size > 8 ? dv.getUint32(off + 8, true) : 0 };
    },
    encode: (k, dst, off) => {
      const dv = new DataView(dst.buffer, dst.byteOffset);
      dv.setBigUint64(off, BigInt(k.cgroupInodeId), true);
      if (size > 8) dv.setUint32(off + 8, k.attachType ?? 0, true);
    },
  };
}

/**
 * A CGROUP_STORAGE map: one value per (cgroup, attach type) a program using it is attached to.
 * Elements exist only while such an attachment exists; userspace reads and updates them.
 *
 * @example
 * const st = new CgroupStorage(coll.map("per_cgroup"), u64);
 * for (const [key, value] of st) console.log(key.cgroupInodeId, value);
 */
export class CgroupStorage<V, VI = V> extends TypedMap<CgroupStorageKey, V, { cgroupInodeId: bigint | number; attachType?: number }, VI> {
  constructor(map: BpfMap, value: Codec<V, VI>) {
    expectType(map, "CgroupStorage", "CGROUP_STORAGE");
    super(map, cgroupKeyCodec(map.keySize), value);
  }
}

/** A PERCPU_CGROUP_STORAGE map: as CgroupStorage, with one value per possible CPU. */
export class PerCpuCgroupStorage<V, VI = V> extends TypedMap<CgroupStorageKey, V[], { cgroupInodeId: bigint | number; attachType?: number }, readonly VI[]> {
  constructor(map: BpfMap, value: Layout<V, VI, unknown>) {
    expectType(map, "PerCpuCgroupStorage", "PERCPU_CGROUP_STORAGE");
    checkSize(map.name, "value", value, map.valueSize);
    super(map, cgroupKeyCodec(map.keySize), perCpuCodec(value));
  }
}

/** Key codec of local storage maps: the owner's fd as a 32-bit int. Decoding gives the raw number back. */
const fdKey: Codec<number, FdSource> = {
  size: 4,
  decode: (src, off) => new DataView(src.buffer, src.byteOffset).getInt32(off, true),
  encode: (k, dst, off) => new DataView(dst.buffer, dst.byteOffset).setInt32(off, fdOf(k), true),
};

/**
 * Local storage (SK_STORAGE, TASK_STORAGE, INODE_STORAGE, CGRP_STORAGE): a value attached to a kernel
 * object, addressed from userspace by an fd of that object — a socket fd, a pidfd, an open file
 * (inode storage; needs the BPF LSM active) or a cgroup directory fd. Not iterable from userspace.
 *
 * @example
 * const owners = createMap({ type: "sk_storage", value: u64 });
 * owners.set(socketFd, 42n);
 * owners.get(socketFd); // 42n
 */
export class LocalStorage<V, VI = V> extends TypedMap<number, V, FdSource, VI> {
  constructor(map: BpfMap, value: Codec<V, VI>) {
    expectType(map, "LocalStorage", "SK_STORAGE", "TASK_STORAGE", "INODE_STORAGE", "CGRP_STORAGE");
    super(map, fdKey, value);
  }
}
