// XDP redirect maps: DEVMAP / DEVMAP_HASH (→ network device, optional XDP program run on redirect),
// CPUMAP (→ CPU with a queue size and optional program) and XSKMAP (→ AF_XDP socket).

import type { Codec } from "../map.js";
import { BpfMap, expectType, TypedMap } from "../map.js";
import { fdCodec, fdOf, u32Codec, type FdSource } from "./codecs.js";

/** A devmap entry: the target interface and, for 8-byte values, a program run before transmit. */
export interface DevMapValue {
  readonly ifindex: number;
  /** Program id on lookup (0 = none). */
  readonly programId: number;
}

/** What a devmap update takes: an ifindex, or the ifindex with a program (fd). */
export type DevMapInput = number | { readonly ifindex: number; readonly program?: FdSource };

function devCodec(size: number): Codec<DevMapValue, DevMapInput> {
  return {
    size,
    decode: (src, off) => {
      const dv = new DataView(src.buffer, src.byteOffset);
      return { ifindex: dv.getUint32(off, true), programId: size >= 8 ? dv.getUint32(off + 4, true) : 0 };
    },
    encode: (v, dst, off) => {
      const dv = new DataView(dst.buffer, dst.byteOffset);
      const o = typeof v === "number" ? { ifindex: v } : v;
      dv.setUint32(off, o.ifindex, true);
      if (size >= 8) dv.setInt32(off + 4, o.program === undefined ? -1 : fdOf(o.program), true);
    },
  };
}

/**
 * A DEVMAP (u32 index) or DEVMAP_HASH (u32 key) for bpf_redirect_map() to network devices.
 *
 * @example
 * const ports = createMap({ type: "devmap", maxEntries: 8 });
 * ports.set(0, { ifindex: 1 });
 * ports.get(0); // { ifindex: 1, programId: 0 }
 */
export class DevMap extends TypedMap<number, DevMapValue, number, DevMapInput> {
  constructor(map: BpfMap) {
    expectType(map, "DevMap", "DEVMAP", "DEVMAP_HASH");
    super(map, u32Codec, devCodec(map.valueSize));
  }
}

/** A cpumap entry: the queue size for the CPU and the program id run there (0 = none). */
export interface CpuMapValue {
  readonly queueSize: number;
  readonly programId: number;
}

/** What a cpumap update takes: a queue size, or the queue size with a program (fd). */
export type CpuMapInput = number | { readonly queueSize: number; readonly program?: FdSource };

function cpuCodec(size: number): Codec<CpuMapValue, CpuMapInput> {
  return {
    size,
    decode: (src, off) => {
      const dv = new DataView(src.buffer, src.byteOffset);
      return { queueSize: dv.getUint32(off, true), programId: size >= 8 ? dv.getUint32(off + 4, true) : 0 };
    },
    encode: (v, dst, off) => {
      const dv = new DataView(dst.buffer, dst.byteOffset);
      const o = typeof v === "number" ? { queueSize: v } : v;
      dv.setUint32(off, o.queueSize, true);
      if (size >= 8) dv.setInt32(off + 4, o.program === undefined ? -1 : fdOf(o.program), true);
    },
  };
}

/**
 * A CPUMAP: CPU index → queue (bpf_redirect_map() moves XDP frames to that CPU).
 *
 * @example
 * const cpus = createMap({ type: "cpumap", maxEntries: 2 });
 * cpus.set(1, { queueSize: 192 });
 */
export class CpuMap extends TypedMap<number, CpuMapValue, number, CpuMapInput> {
  constructor(map: BpfMap) {
    expectType(map, "CpuMap", "CPUMAP");
    super(map, u32Codec, cpuCodec(map.valueSize));
  }
}

/**
 * An XSKMAP: index → AF_XDP socket (bound to a umem and queue). Userspace can set and delete
 * entries; the kernel does not allow reading them back (get fails with EOPNOTSUPP).
 *
 * @example
 * const xsks = createMap({ type: "xskmap", maxEntries: 4 });
 * xsks.set(0, xdpSocketFd);
 */
export class XskMap extends TypedMap<number, number, number, FdSource> {
  constructor(map: BpfMap) {
    expectType(map, "XskMap", "XSKMAP");
    super(map, u32Codec, fdCodec(4));
  }
}
