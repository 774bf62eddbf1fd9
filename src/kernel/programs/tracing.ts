// Tracing program kinds: tracepoints (classic, raw, BTF), kprobes, uprobes, fentry/fexit and LSM.
// Compiler side: src/compiler/kinds/{tracepoint,raw-tracepoint,btf-tracepoint,kprobe,uprobe,fentry,lsm}.ts.

import type { DataLoc, i32, u64 } from "../index.js";
import type { ArgsContext, NamedArgs, Program } from "../program.js";
import type { RetvalMethods } from "./cgroup.js";
import type { BtfTracepointArgs, KernelFunctions, LsmHookArgs, SyscallTracepoints, TracepointContexts } from "../vmlinux.js";

/** tp_btf / raw_tp context for event `N`: `ctx.args.<name>` typed from the kernel's BTF when known. */
export type BtfTracepointContext<N extends string> = ArgsContext & NamedArgs<N extends keyof BtfTracepointArgs ? BtfTracepointArgs[N] : never>;
/** fentry context for kernel function `N`: `ctx.args.<name>` typed from BTF when the declarations have `N`. */
export type FentryContext<N extends string> = ArgsContext & NamedArgs<FunctionArgs<N>>;
/** fexit context for kernel function `N`: its arguments and `ctx.ret`, the value it returned. */
export type FexitContext<N extends string> = FentryContext<N> & ([FunctionDecl<N>] extends [never] ? unknown : { readonly ret: FunctionDecl<N>["ret"] });
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

/**
 * Kernel functions declared by files from `tsbpf gen vmlinux --functions` (such a file augments this
 * interface); they take precedence over the shipped `KernelFunctions`. Declare each function in one file.
 */
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
/**
 * `SEC("usdt/<binary>:<provider>:<name>")` (`SEC("usdt")` when the target is empty: give binary and
 * probe when attaching). Attach with `prog.attach()` (or `attachUsdt`), which writes the argument specs.
 */
export declare function usdt(target: string, handler: (ctx: UsdtContext) => number): Program<"usdt">;
/** `SEC("fentry/<function>")`: `ctx.args.<name>` typed from the function's prototype when the declarations have it. Return 0. */
export declare function fentry<N extends string>(fn: N, handler: (ctx: FentryContext<N>) => number): Program<"fentry">;
/** `SEC("fexit/<function>")`: arguments, then the return value as `ctx.ret`. Return 0. */
export declare function fexit<N extends string>(fn: N, handler: (ctx: FexitContext<N>) => number): Program<"fexit">;
/** `SEC("lsm/<hook>")`: return 0 to allow, a negative errno to deny. */
export declare function lsm<N extends string>(hook: N, handler: (ctx: LsmContext<N>) => number): Program<"lsm">;
/** lsm_cgroup context: the LSM hook's arguments, and the errno a denial returns (bpf_get_retval/bpf_set_retval). */
export type LsmCgroupContext<N extends string> = LsmContext<N> & RetvalMethods;
/**
 * `SEC("lsm_cgroup/<hook>")`: an LSM program attached to a cgroup (`attach({ cgroup })`, Linux 6.0+), run for
 * the hook in that cgroup only. Return 1 to allow, 0 to deny (EPERM, or the errno given to `ctx.setRetval`).
 */
export declare function lsmCgroup<N extends string>(hook: N, handler: (ctx: LsmCgroupContext<N>) => number): Program<"lsm_cgroup">;

/**
 * ksyscall context: `ctx.arg<T>(n)` is syscall argument `n` (0..5) as the *caller* passed it — read from
 * the user registers the x86-64 syscall wrapper receives (di, si, dx, r10, r8, r9), with a probe read.
 */
export interface KsyscallContext {
  /** Syscall argument `n` (0-based), as a u64 or as the integer type given (`ctx.arg<i32>(0)`). */
  arg<T = bigint>(n: number): T;
}

/** `SEC("ksyscall/<syscall>")`: a kprobe on the syscall's kernel entry (`__x64_sys_<name>`), resolved by the loader. */
export declare function ksyscall(syscall: string, handler: (ctx: KsyscallContext) => number): Program<"ksyscall">;
/** `SEC("kretsyscall/<syscall>")`: `ctx.ret()` is the syscall's return value. */
export declare function kretsyscall(syscall: string, handler: (ctx: ProbeContext) => number): Program<"kretsyscall">;
/** `SEC("kprobe.multi/<glob>")`: one kprobe_multi link over every kernel function matching the glob. */
export declare function kprobeMulti(glob: string, handler: (ctx: ProbeContext) => number): Program<"kprobe.multi">;
/** `SEC("kretprobe.multi/<glob>")`. */
export declare function kretprobeMulti(glob: string, handler: (ctx: ProbeContext) => number): Program<"kretprobe.multi">;
/** `SEC("uprobe.multi/<binary>:<glob>")`: one uprobe_multi link over the binary's functions matching the glob. */
export declare function uprobeMulti(target: string, handler: (ctx: ProbeContext) => number): Program<"uprobe.multi">;
/** `SEC("uretprobe.multi/<binary>:<glob>")`. */
export declare function uretprobeMulti(target: string, handler: (ctx: ProbeContext) => number): Program<"uretprobe.multi">;
/**
 * `SEC("fmod_ret/<function>")`: the fexit context, `ctx.ret` being the return value so far. Return 0 to let
 * the function run; anything else skips it and becomes its return value (a negative errno). The kernel
 * allows functions open to error injection and `security_*` hooks.
 */
export declare function fmodRet<N extends string>(fn: N, handler: (ctx: FexitContext<N>) => number): Program<"fmod_ret">;
/** `SEC("uprobe.s/<binary>:<symbol>")`: a sleepable uprobe, which may call `bpf.copyFromUser`. */
export declare function uprobeSleepable(target: string, handler: (ctx: ProbeContext) => number): Program<"uprobe.s">;
/** `SEC("uretprobe.s/<binary>:<symbol>")`: a sleepable uretprobe. */
export declare function uretprobeSleepable(target: string, handler: (ctx: ProbeContext) => number): Program<"uretprobe.s">;
/**
 * `SEC("fentry.s/<function>")`: a sleepable fentry. The verifier allows functions open to error injection
 * (syscalls, on kernels with CONFIG_FUNCTION_ERROR_INJECTION) and sleepable fmod_ret kfuncs. Return 0.
 */
export declare function fentrySleepable<N extends string>(fn: N, handler: (ctx: FentryContext<N>) => number): Program<"fentry.s">;
/** `SEC("fexit.s/<function>")`: a sleepable fexit. Return 0. */
export declare function fexitSleepable<N extends string>(fn: N, handler: (ctx: FexitContext<N>) => number): Program<"fexit.s">;
/** `SEC("lsm.s/<hook>")`: a sleepable LSM program (sleepable hooks only); 0 allows, a negative errno denies. */
export declare function lsmSleepable<N extends string>(hook: N, handler: (ctx: LsmContext<N>) => number): Program<"lsm.s">;
