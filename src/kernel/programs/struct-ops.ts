// struct_ops: kernel structs of function pointers (a TCP congestion control) implemented in TypeScript,
// and the kernel functions (kfuncs) their handlers call. Compiler side: src/compiler/kinds/struct-ops.ts
// and src/compiler/lower/kfuncs.ts.

import type { i32, i64, u8, u32 } from "../index.js";
import type { sock } from "../vmlinux.js";

/** struct ack_sample (pkts_acked's argument). */
export interface AckSample {
  readonly pkts_acked: u32;
  readonly rtt_us: i32;
  readonly in_flight: u32;
}

/** struct rate_sample (cong_control's argument): the fields most controls use. */
export interface RateSample {
  readonly delivered: i32;
  readonly interval_us: i64;
  readonly rtt_us: i64;
  readonly losses: i32;
  readonly acked_sacked: u32;
  readonly prior_in_flight: u32;
}

/**
 * struct tcp_sock, as tcp_congestion_ops handlers receive it: the kernel passes their `struct sock *`
 * as the tcp_sock it is (a BTF pointer; fields read directly). The fields congestion controls use.
 */
export interface TcpSock {
  readonly snd_cwnd: u32;
  readonly snd_ssthresh: u32;
  readonly snd_cwnd_cnt: u32;
  readonly snd_cwnd_clamp: u32;
  readonly prior_cwnd: u32;
  readonly mss_cache: u32;
  readonly srtt_us: u32;
  readonly packets_out: u32;
  readonly delivered: u32;
  readonly max_packets_out: u32;
  readonly snd_una: u32;
  readonly rcv_nxt: u32;
}

/**
 * The kernel structs `structOps` implements: `handlers` are the function-pointer members (argument
 * types from the kernel's prototypes), `data` the data members.
 */
export interface StructOpsTypes {
  tcp_congestion_ops: {
    handlers: {
      /** Slow-start threshold after a loss. Required. */
      ssthresh(sk: TcpSock): u32;
      /** Grows the window on an ACK (`ack` sequence, `acked` segments). Required unless cong_control is set. */
      cong_avoid(sk: TcpSock, ack: u32, acked: u32): void;
      /** The congestion state changed (TCP_CA_Open...). */
      set_state(sk: TcpSock, new_state: u8): void;
      /** A congestion window event (enum tcp_ca_event). */
      cwnd_event(sk: TcpSock, ev: u32): void;
      /** An ACK arrived (CA_ACK_* flags). */
      in_ack_event(sk: TcpSock, flags: u32): void;
      /** Packets were acked (RTT sample). */
      pkts_acked(sk: TcpSock, sample: AckSample): void;
      /** Minimum TSO segments. */
      min_tso_segs(sk: TcpSock): u32;
      /** Replaces cong_avoid: full control on each ACK. */
      cong_control(sk: TcpSock, ack: u32, flag: i32, rs: RateSample): void;
      /** The window to restore after a spurious loss. Required. */
      undo_cwnd(sk: TcpSock): u32;
      /** Send buffer expansion factor. */
      sndbuf_expand(sk: TcpSock): u32;
      /** A connection starts using this congestion control. */
      init(sk: TcpSock): void;
      /** A connection stops using it. */
      release(sk: TcpSock): void;
    };
    data: {
      /** The algorithm's name (at most 15 characters): what setsockopt(TCP_CONGESTION) and sysctl select. */
      name: string;
      /** TCP_CONG_NON_RESTRICTED (1), TCP_CONG_NEEDS_ECN (2)... */
      flags?: u32;
    };
  };
}

/** Handlers return what the kernel's member returns (void members: nothing, or a number that is ignored). */
type Handler<F> = F extends (...args: infer A) => infer R ? (...args: A) => R extends void ? void | number : R : never;

/** A `structOps` implementation: any handlers of `T`, and its data members. */
export type StructOpsImpl<T extends keyof StructOpsTypes> =
  { [K in keyof StructOpsTypes[T]["handlers"]]?: Handler<StructOpsTypes[T]["handlers"][K]> } & StructOpsTypes[T]["data"];

/** A struct_ops value: registered with `obj.structOps(name).attach()`. */
export interface StructOps<T extends string> {
  readonly structOps: T;
}

/**
 * A kernel struct of function pointers implemented in TypeScript: `SEC(".struct_ops")` (or, with
 * `{ link: true }`, `SEC(".struct_ops.link")`, Linux 6.4+) variable named as the exported const, each
 * handler a `struct_ops/<const>_<member>` program. Handler arguments are typed from the kernel's
 * prototype; kernel pointers among them are BTF pointers.
 */
export declare function structOps<T extends keyof StructOpsTypes>(type: T, impl: StructOpsImpl<T>, options?: { readonly link?: boolean }): StructOps<T>;

/**
 * Kernel functions (kfuncs) callable from programs, typed from the kernel's BTF; each call is resolved
 * by the loader against the running kernel (a kernel that lacks one refuses the load with
 * KFUNC_NOT_FOUND). The kernel decides which program types may call which kfunc.
 */
export declare const kfuncs: {
  /** Reno's slow-start threshold: max(cwnd / 2, 2). */
  tcp_reno_ssthresh(sk: TcpSock | sock): u32;
  /** Reno's window growth: slow start below ssthresh, then additive increase. */
  tcp_reno_cong_avoid(sk: TcpSock | sock, ack: u32, acked: u32): void;
  /** Reno's undo: max(cwnd, prior_cwnd). */
  tcp_reno_undo_cwnd(sk: TcpSock | sock): u32;
  /** Slow start: grows cwnd by `acked` up to ssthresh; returns the leftover acked segments. */
  tcp_slow_start(tp: TcpSock, acked: u32): u32;
  /** Additive increase by one segment per `w` acked. */
  tcp_cong_avoid_ai(tp: TcpSock, w: u32, acked: u32): void;
};
