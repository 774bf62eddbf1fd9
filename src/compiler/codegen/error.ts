// The typed error code generation throws: a function that cannot be compiled to eBPF as given
// (stack frame over 512 bytes, an operation the target CPU version lacks, malformed IR).

import type { SourceLocation } from "../../asm/instruction.js";
import { TsbpfError } from "../../errors.js";

/**
 * Code generation failed for function `fn`. `code` is one of `STACK_TOO_LARGE`, `UNSUPPORTED_ON_CPU`,
 * `TOO_MANY_ARGUMENTS`, `INVALID_IR`, `REGALLOC_FAILED`; `loc` points at the TypeScript source when known.
 */
export class CodegenError extends TsbpfError {
  /** The function being compiled. */
  readonly fn: string;
  /** The source position of the offending instruction or declaration. */
  readonly loc: SourceLocation | undefined;
  /** The problem alone, without the function and position (diagnostics carry those). */
  readonly detail: string;
  constructor(code: string, fn: string, detail: string, loc?: SourceLocation) {
    const where = loc ? ` at ${loc.file}:${loc.line}:${loc.column}` : "";
    super(code, `compile function "${fn}"${where}: ${detail}`);
    this.fn = fn;
    this.loc = loc;
    this.detail = detail;
  }
}
