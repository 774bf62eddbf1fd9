// The XDP program kind. Compiler side: src/compiler/kinds/xdp.ts.

import type { i32, i64, u32, u64 } from "../index.js";
import type { PacketAccess, Program } from "../program.js";

/** XDP context (struct xdp_md). */
export interface XdpContext extends PacketAccess {
  readonly ingressIfindex: u32;
  readonly rxQueueIndex: u32;
  /** The interface a redirected packet leaves by (only in {@link xdpDevmap} programs). */
  readonly egressIfindex: u32;
  /**
   * bpf_xdp_adjust_head: moves the packet start by `delta` bytes (negative: room for a new header,
   * positive: strips bytes). Returns 0 or a negative errno. Changes packet data: load headers again after it.
   */
  adjustHead(delta: i32): i64;
  /** bpf_xdp_adjust_tail: moves the packet end by `delta` bytes. Changes packet data. */
  adjustTail(delta: i32): i64;
  /** bpf_xdp_adjust_meta: moves the metadata start by `delta` bytes. Changes packet data. */
  adjustMeta(delta: i32): i64;
  /** bpf_xdp_get_buff_len: the packet's length including fragments (xdpFrags programs). */
  bufLen(): u64;
  /** bpf_xdp_load_bytes: copies `dest`'s size of bytes at `offset` (fragments included) into `dest`. */
  loadBytes(offset: u32, dest: object): i64;
  /** bpf_xdp_store_bytes: writes `value` (an integer of a declared width, e.g. `u16(x)`, or a struct) at `offset`. */
  storeBytes(offset: u32, value: object | number | bigint): i64;
}

/** `SEC("xdp")`: return an {@link XdpAction} (a constant outside 0..4 is a compile error). */
export declare function xdp(handler: (ctx: XdpContext) => number): Program<"xdp">;

/**
 * `SEC("xdp.frags")`: an XDP program that accepts multi-buffer packets; `ctx.load`/`ctx.len` see the
 * first buffer, `bufLen`/`loadBytes`/`storeBytes` the whole packet. Returns an {@link XdpAction}.
 */
export declare function xdpFrags(handler: (ctx: XdpContext) => number): Program<"xdp.frags">;

/**
 * `SEC("xdp/devmap")`: run by a DevMap entry (declared with `valueSize: 8`, the program's fd in the
 * entry's second u32) on packets redirected to it; `ctx.egressIfindex` is the interface they leave by.
 * Returns XdpAction.PASS (send), DROP or ABORTED.
 */
export declare function xdpDevmap(handler: (ctx: XdpContext) => number): Program<"xdp/devmap">;

/** XDP verdicts. */
export declare const XdpAction: { readonly ABORTED: 0; readonly DROP: 1; readonly PASS: 2; readonly TX: 3; readonly REDIRECT: 4 };
