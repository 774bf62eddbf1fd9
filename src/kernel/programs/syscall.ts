// Syscall programs (BPF_PROG_TYPE_SYSCALL). Compiler side: src/compiler/kinds/syscall.ts.

import type { AnyLayout, Infer } from "../../types/index.js";
import type { Program } from "../program.js";

/**
 * `SEC("syscall")`: a sleepable program run through `prog.testRun({ ctx, ctxOutSize: 0 })` on a context
 * buffer laid out as `args`; `ctx` is that struct, read and written in place (the kernel copies it back
 * into the caller's buffer). May call `bpf.copyFromUser`. The return value is the run's `retval`.
 */
export declare function syscall<L extends AnyLayout>(args: L, handler: (ctx: Infer<L>) => number): Program<"syscall">;
