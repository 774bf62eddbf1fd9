// LayoutError: the typed error of tsbpf/types (bad layout definitions, values that do not fit, short buffers).
// Also the internal fault record that encoders throw so containers can prefix the field path cheaply.

import { TsbpfError } from "../errors.js";

/** Stable `code` values of {@link LayoutError}. */
export const LayoutErrorCode = {
  /** A layout definition is invalid (bad length, alignment, field name, ...). */
  Definition: "LAYOUT_DEFINITION",
  /** A value has the wrong JavaScript type for its layout (e.g. a string for a u32). */
  Type: "LAYOUT_TYPE",
  /** A value does not fit its layout (out of range for the width, string or array too long, ...). */
  Range: "LAYOUT_RANGE",
  /** A struct field is missing from the value given to `encode` (use `from` for partial values). */
  MissingField: "LAYOUT_MISSING_FIELD",
  /** The buffer is too short for the layout at the given offset, or the offset is invalid. */
  BufferTooShort: "LAYOUT_BUFFER_TOO_SHORT",
} as const;

/** One of the {@link LayoutErrorCode} values. */
export type LayoutErrorCodeValue = (typeof LayoutErrorCode)[keyof typeof LayoutErrorCode];

/**
 * A layout could not be defined, or a value could not be encoded/decoded with it.
 * `path` names the offending field (e.g. `exec_event.comm[3]`) when one is involved.
 */
export class LayoutError extends TsbpfError {
  /** Field path of the offending value (`root.field[3].x`), or `""` when the error is not about a field. */
  readonly path: string;
  constructor(code: LayoutErrorCodeValue, message: string, path = "") {
    super(code, message);
    this.path = path;
  }
}

/**
 * Internal: thrown by field encoders; containers append their path segment while it propagates and the
 * public entry point turns it into a {@link LayoutError}. Never escapes the module.
 */
export class FieldFault {
  /** Path segments, innermost first (`[3]`, `.comm`). */
  readonly segments: string[] = [];
  constructor(
    readonly code: LayoutErrorCodeValue,
    readonly detail: string,
  ) {}
}

/** Internal: throws a {@link FieldFault}. */
export function fault(code: LayoutErrorCodeValue, detail: string): never {
  throw new FieldFault(code, detail);
}

/** Internal: a short printable form of a bad value for error messages. */
export function show(value: unknown): string {
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? value.slice(0, 40) + "…" : value);
  if (value === null) return "null";
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (value instanceof Uint8Array) return `a Uint8Array of length ${value.length}`;
  if (typeof value === "object") return "an object";
  if (typeof value === "function") return "a function";
  return String(value);
}

/** Internal: `typeof`-like name of a value's JavaScript type for "wrong type" messages. */
export function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (value instanceof Uint8Array) return "Uint8Array";
  return typeof value;
}
