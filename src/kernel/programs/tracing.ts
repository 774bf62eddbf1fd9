// Tracing program kinds: tracepoints (classic, raw, BTF), kprobes, uprobes, fentry/fexit and LSM.
// Compiler side: src/compiler/kinds/{tracepoint,raw-tracepoint,btf-tracepoint,kprobe,uprobe,fentry,lsm}.ts.

import type { u64 } from "../index.js";
import type { ArgsContext, NamedArgs, Program } from "../program.js";
import type { BtfTracepointArgs, KernelFunctions, LsmHookArgs, TracepointContexts } from "../vmlinux.js";

/** tp_btf / raw_tp context for event `N`: `ctx.args.<name>` typed from the kernel's BTF when known. */
export type BtfTracepointContext<N extends string> = ArgsContext & NamedArgs<N extends keyof BtfTracepointArgs ? BtfTracepointArgs[N] : never>;
/** fentry context for kernel function `N`: `ctx.args.<name>` typed from BTF when the declarations have `N`. */
export type FentryContext<N extends string> = ArgsContext & NamedArgs<FunctionArgs<N>>;
/** fexit context for kernel function `N`: its arguments and `ctx.ret`, the value it returned. */
export type FexitContext<N extends string> = FentryContext<N> & ([FunctionDecl<N>] extends [never] ? unknown : { readonly ret: FunctionDecl<N>["ret"] });
/** LSM context for hook `N`: `ctx.args.<name>` typed from the `bpf_lsm_<hook>` prototype. */
export type LsmContext<N extends string> = ArgsContext & NamedArgs<N extends keyof LsmHookArgs ? LsmHookArgs[N] : never>;

/** kprobe / uprobe context (struct pt_regs): arguments and return value by the calling convention. */
export interface ProbeContext extends ArgsContext {
  /** The return value (kretprobe / uretprobe). */
  ret(): u64;
}

/**
 * Kernel functions declared by files from `tsbpf gen vmlinux --functions` (such a file augments this
 * interface); they take precedence over the shipped `KernelFunctions`. Declare each function in one file.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface GeneratedFunctions {}

/** The declaration of kernel function `N` (`{ args; ret }`): generated ones first, then the shipped ones. */
type FunctionDecl<N extends string> = N extends keyof GeneratedFunctions
  ? GeneratedFunctions[N] extends { args: infer A; ret: infer R } ? { args: A; ret: R } : never
  : N extends keyof KernelFunctions ? KernelFunctions[N] : never;
/** The arguments of `N`, or never when the declarations do not have it. */
type FunctionArgs<N extends string> = [FunctionDecl<N>] extends [never] ? never : FunctionDecl<N>["args"];

/**
 * kprobe context for kernel function `N`: `ctx.arg(n)` by the calling convention and, when the kernel
 * declarations have `N` (the shipped `KernelFunctions` or a file from `tsbpf gen vmlinux --functions`),
 * `ctx.args.<name>` read from the register of each of the first six arguments (x86-64: di, si, dx, cx,
 * r8, r9). Kernel pointers among them are read with probe reads.
 */
export type KprobeContext<N extends string> = ProbeContext & NamedArgs<FunctionArgs<N>>;
/** kretprobe context for kernel function `N`. */
export interface KretprobeContext<N extends string> extends ArgsContext {
  /** The value `N` returned (register ax), typed by its return type when the kernel declarations have `N`, else u64. */
  ret(): [FunctionDecl<N>] extends [never] ? u64 : FunctionDecl<N>["ret"];
}

/** Tracepoint context for `category/name`: the event's `trace_event_raw_<name>` struct when known. */
export type TracepointContext<N extends string> = N extends `${string}/${infer E}`
  ? E extends keyof TracepointContexts ? TracepointContexts[E] : object
  : object;

/** `SEC("tracepoint/<category>/<name>")`. Return 0. */
export declare function tracepoint<N extends string>(name: N, fn: (ctx: TracepointContext<N>) => number): Program<"tracepoint">;
/** `SEC("raw_tp/<name>")`. */
export declare function rawTracepoint<N extends string>(name: N, fn: (ctx: BtfTracepointContext<N>) => number): Program<"raw_tracepoint">;
/** `SEC("tp_btf/<name>")`. Return 0. */
export declare function btfTracepoint<N extends string>(name: N, fn: (ctx: BtfTracepointContext<N>) => number): Program<"tp_btf">;
/** `SEC("kprobe/<function>")`: `ctx.args.<name>` typed from the function's prototype when the declarations have it. */
export declare function kprobe<N extends string>(fn: N, handler: (ctx: KprobeContext<N>) => number): Program<"kprobe">;
/** `SEC("kretprobe/<function>")`: `ctx.ret()` typed by the function's return type when the declarations have it. */
export declare function kretprobe<N extends string>(fn: N, handler: (ctx: KretprobeContext<N>) => number): Program<"kretprobe">;
/** `SEC("uprobe/<binary>:<symbol>")`; binary and symbol may be left empty and given at attach time. */
export declare function uprobe(target: string, handler: (ctx: ProbeContext) => number): Program<"uprobe">;
/** `SEC("uretprobe/<binary>:<symbol>")`. */
export declare function uretprobe(target: string, handler: (ctx: ProbeContext) => number): Program<"uretprobe">;
/** `SEC("fentry/<function>")`: `ctx.args.<name>` typed from the function's prototype when the declarations have it. Return 0. */
export declare function fentry<N extends string>(fn: N, handler: (ctx: FentryContext<N>) => number): Program<"fentry">;
/** `SEC("fexit/<function>")`: arguments, then the return value as `ctx.ret`. Return 0. */
export declare function fexit<N extends string>(fn: N, handler: (ctx: FexitContext<N>) => number): Program<"fexit">;
/** `SEC("lsm/<hook>")`: return 0 to allow, a negative errno to deny. */
export declare function lsm<N extends string>(hook: N, handler: (ctx: LsmContext<N>) => number): Program<"lsm">;
