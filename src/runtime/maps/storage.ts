// Storage maps: cgroup storage (CGROUP_STORAGE / PERCPU_CGROUP_STORAGE, keyed by cgroup id and attach
// type) and local storage (SK/TASK/INODE/CGRP_STORAGE), keyed from userspace by an fd of the owner.

import { MapError } from "../../errors.js";
import { Fd } from "../../sys/fd.js";
import { sys } from "../../sys/seam.js";
import type { Layout } from "../../types/index.js";
import type { Codec } from "../map.js";
import { BpfMap, expectType, mapFailure, TypedMap } from "../map.js";
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

/** An fd referring to process `pid` (pidfd_open(2), Linux 5.3+): the key of task storage maps. Close it when done. */
export function openPidfd(pid: number): Fd {
  if (!Number.isInteger(pid) || pid <= 0 || pid > 0x7fffffff)
    throw new MapError("BAD_KEY", "task storage", "open pidfd", `${String(pid)} is not a process id`);
  return new Fd(sys().pidfdOpen(pid, 0), `pidfd ${pid}`);
}

/**
 * A TASK_STORAGE map: a value attached to each task (thread group leader or thread) a program stores
 * to. From userspace an element is addressed by a pidfd — `get(pidfd)` like any local storage — or by
 * a process id with `getPid`/`setPid`/`deletePid`, which open and close a pidfd around the call.
 *
 * @example
 * const seen = new TaskStorage(coll.map("tasks"), u64);
 * seen.setPid(process.pid, 0n);           // a program reads and bumps it on this process's syscalls
 * seen.getPid(process.pid);               // 17n
 */
export class TaskStorage<V, VI = V> extends LocalStorage<V, VI> {
  constructor(map: BpfMap, value: Codec<V, VI>) {
    expectType(map, "TaskStorage", "TASK_STORAGE");
    super(map, value);
  }

  #withPid<T>(op: string, pid: number, fn: (fd: Fd) => T): T {
    let fd: Fd;
    try {
      fd = openPidfd(pid);
    } catch (e) {
      if (e instanceof MapError) throw new MapError(e.code, this.map.name, op, `${String(pid)} is not a process id`);
      throw mapFailure(e, this.map.name, `${op} (pidfd_open of pid ${pid})`);
    }
    try {
      return fn(fd);
    } finally {
      fd.close();
    }
  }

  /** The value stored for process `pid`, or undefined when there is none. */
  getPid(pid: number): V | undefined {
    return this.#withPid("lookup", pid, (fd) => this.get(fd));
  }

  /** Store `value` for process `pid` (flags: UpdateFlags). */
  setPid(pid: number, value: VI, flags = 0): void {
    this.#withPid("update", pid, (fd) => this.set(fd, value, flags));
  }

  /** Delete the value of process `pid`; false when there was none. */
  deletePid(pid: number): boolean {
    return this.#withPid("delete", pid, (fd) => this.delete(fd));
  }
}