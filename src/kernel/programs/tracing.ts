// Tracing program kinds: tracepoints (classic, raw, BTF), kprobes, uprobes, fentry/fexit and LSM.
// Compiler side: src/compiler/kinds/{tracepoint,raw-tracepoint,btf-tracepoint,kprobe,uprobe,fentry,lsm}.ts.

import type { DataLoc, i32, u64 } from "../index.js";
import type { ArgsContext, NamedArgs, Program } from "../program.js";
import type { BtfTracepointArgs, KernelFunctions, LsmHookArgs, SyscallTracepoints, TracepointContexts } from "../vmlinux.js";

/** tp_btf / raw_tp context for event `N`: `ctx.args.<name>` typed from the kernel's BTF when known. */
export type BtfTracepointContext<N extends string> = ArgsContext & NamedArgs<N extends keyof BtfTracepointArgs ? BtfTracepointArgs[N] : never>;
/** fentry context for kernel function `N`: `ctx.args.<name>` typed from BTF when the declarations have `N`. */
export type FentryContext<N extends string> = ArgsContext & NamedArgs<N extends keyof KernelFunctions ? KernelFunctions[N]["args"] : never>;
/** fexit context for kernel function `N`: its arguments and `ctx.ret`, the value it returned. */
export type FexitContext<N extends string> = FentryContext<N> & (N extends keyof KernelFunctions ? { readonly ret: KernelFunctions[N]["ret"] } : unknown);
/** LSM context for hook `N`: `ctx.args.<name>` typed from the `bpf_lsm_<hook>` prototype. */
export type LsmContext<N extends string> = ArgsContext & NamedArgs<N extends keyof LsmHookArgs ? LsmHookArgs[N] : never>;

/**
 * USDT probe context (struct pt_regs at the probe site): the probe's arguments as its `.note.stapsdt`
 * entry describes them, fetched through the argument specs the loader writes (libbpf's usdt.bpf.h scheme).
 */
export interface UsdtContext {
  /**
   * Argument `n` (a constant, 0 ≤ n < 12) of the probe: a register, memory at a register plus an offset,
   * or a constant, sign- or zero-extended from its size to 64 bits (an `i64` unless a type is given:
   * `ctx.arg<u32>(0)` keeps the low 32 bits). 0 when the probe has fewer arguments.
   */
  arg<T = bigint>(n: number): T;
  /** The number of arguments of the probe (-ESRCH, -3, when the loader wrote no spec for this site). */
  argCount(): i32;
  /** The cookie given when attaching (`attach({ cookie })`), 0 when none. */
  cookie(): u64;
}

/** kprobe / uprobe context (struct pt_regs): arguments and return value by the calling convention. */
export interface ProbeContext extends ArgsContext {
  /** The return value (kretprobe / uretprobe). */
  ret(): u64;
}

/**
 * The `__data_loc` strings of a tracepoint record `T`: member `__data_loc_<name>` (a u32 holding
 * `offset | length << 16`) also reads as `<name>`, the string's address in the record
 * (`bpf.probeReadKernelStr(buf, ctx.filename)`).
 */
export type DataLocStrings<T> = { readonly [K in keyof T as K extends `__data_loc_${infer F}` ? F : never]: DataLoc };

/**
 * Tracepoint context for `category/name`: for `syscalls/sys_enter_<call>` the record laid out by the
 * event's tracefs format (`ctx.args.<name>`; `sys_exit_<call>`: `ctx.ret`), otherwise the event's
 * `trace_event_raw_<name>` struct when known, with its `__data_loc` strings.
 */
export type TracepointContext<N extends string> = N extends `syscalls/${infer S}`
  ? S extends keyof SyscallTracepoints ? SyscallTracepoints[S] : object
  : N extends `${string}/${infer E}`
    ? E extends keyof TracepointContexts ? TracepointContexts[E] & DataLocStrings<TracepointContexts[E]> : object
    : object;

/** `SEC("tracepoint/<category>/<name>")`. Return 0. */
export declare function tracepoint<N extends string>(name: N, fn: (ctx: TracepointContext<N>) => number): Program<"tracepoint">;
/** `SEC("raw_tp/<name>")`. */
export declare function rawTracepoint<N extends string>(name: N, fn: (ctx: BtfTracepointContext<N>) => number): Program<"raw_tracepoint">;
/** `SEC("tp_btf/<name>")`. Return 0. */
export declare function btfTracepoint<N extends string>(name: N, fn: (ctx: BtfTracepointContext<N>) => number): Program<"tp_btf">;
/** `SEC("kprobe/<function>")`. */
export declare function kprobe(fn: string, handler: (ctx: ProbeContext) => number): Program<"kprobe">;
/** `SEC("kretprobe/<function>")`. */
export declare function kretprobe(fn: string, handler: (ctx: ProbeContext) => number): Program<"kretprobe">;
/** `SEC("uprobe/<binary>:<symbol>")`; binary and symbol may be left empty and given at attach time. */
export declare function uprobe(target: string, handler: (ctx: ProbeContext) => number): Program<"uprobe">;
/** `SEC("uretprobe/<binary>:<symbol>")`. */
export declare function uretprobe(target: string, handler: (ctx: ProbeContext) => number): Program<"uretprobe">;
/**
 * `SEC("usdt/<binary>:<provider>:<name>")` (`SEC("usdt")` when the target is empty: give binary and
 * probe when attaching). Attach with `prog.attach()` (or `attachUsdt`), which writes the argument specs.
 */
export declare function usdt(target: string, handler: (ctx: UsdtContext) => number): Program<"usdt">;
/** `SEC("fentry/<function>")`. Return 0. */
export declare function fentry<N extends string>(fn: N, handler: (ctx: FentryContext<N>) => number): Program<"fentry">;
/** `SEC("fexit/<function>")`: arguments, then the return value as `ctx.ret`. Return 0. */
export declare function fexit<N extends string>(fn: N, handler: (ctx: FexitContext<N>) => number): Program<"fexit">;
/** `SEC("lsm/<hook>")`: return 0 to allow, a negative errno to deny. */
export declare function lsm<N extends string>(hook: N, handler: (ctx: LsmContext<N>) => number): Program<"lsm">;
