// The object writer's typed error: an invalid CompiledModule (unknown reference, duplicate name, bad
// type or layout) is reported with a code naming the problem instead of crashing or writing a bad object.

import { TsbpfError } from "../../errors.js";

/**
 * Raised by `writeObject` when the module cannot be written. Codes:
 * `EMIT_DUPLICATE_NAME`, `EMIT_BAD_NAME`, `EMIT_BAD_TYPE`, `EMIT_BAD_MAP`, `EMIT_BAD_GLOBAL`, `EMIT_BAD_EXTERN`,
 * `EMIT_BAD_FUNCTION`, `EMIT_BAD_INSTRUCTION`, `EMIT_UNKNOWN_MAP`, `EMIT_UNKNOWN_FUNCTION`, `EMIT_UNKNOWN_EXTERN`,
 * `EMIT_UNKNOWN_DATA`, `EMIT_BAD_CALL`, `EMIT_BAD_CORE`.
 */
export class EmitError extends TsbpfError {}

/** Shorthand: an EmitError whose message starts with the operation. */
export function emitError(code: string, detail: string, cause?: unknown): EmitError {
  return new EmitError(code, `write object: ${detail}`, cause === undefined ? undefined : { cause });
}
