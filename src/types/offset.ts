// offsetOf(layout, "items[2].b"): byte offset and layout of a member designator, like C's offsetof.
// Used by tests against gcc and handy for hand-written BPF assembly that pokes at struct members.

import { LayoutError, LayoutErrorCode } from "./errors.js";
import { codecOf, type AnyLayout } from "./layout.js";
import { u8 } from "./scalars.js";

interface Walkable {
  readonly kind: string;
  readonly element?: AnyLayout;
  readonly length?: number;
  readonly fields?: Readonly<Record<string, { readonly offset: number; readonly layout: AnyLayout }>>;
}

/**
 * Resolves a C member designator (`pid`, `inner.y`, `items[2].b`, `m[1][2]`) to its byte offset from the
 * start of `layout` and the member's layout. Throws LayoutError for unknown members or bad indexes.
 *
 * @example
 * memberOf(ExecEvent, "comm"); // { offset: 8, layout: bytes(16) }
 */
export function memberOf(layout: AnyLayout, path: string): { offset: number; layout: AnyLayout } {
  codecOf(layout, "offsetOf(layout, path)");
  const tokens = typeof path === "string" ? path.match(/\.?[A-Za-z_][A-Za-z0-9_]*|\[\d+\]|./g) : null;
  const bad = (msg: string): never => {
    throw new LayoutError(LayoutErrorCode.Definition, `offsetOf(${String(layout)}, ${JSON.stringify(path)}): ${msg}`);
  };
  if (tokens === null || tokens.length === 0) bad("expected a member designator such as a.b[2]");
  let offset = 0;
  let cur = layout;
  tokens!.forEach((tok, i) => {
    const w = cur as unknown as Walkable;
    if (tok.startsWith("[") && tok.endsWith("]") && tok.length > 2) {
      if (w.kind !== "array" && w.kind !== "bytes" && w.kind !== "cstring") bad(`${tok} applied to a non-array`);
      const index = Number(tok.slice(1, -1));
      if (index >= w.length!) bad(`index ${index} is out of bounds (length ${w.length})`);
      const elSize = w.kind === "array" ? w.element!.size : 1;
      offset += index * elSize;
      if (w.kind === "array") cur = w.element!;
      else cur = u8;
    } else if (/^\.?[A-Za-z_]/.test(tok) && (i === 0 ? !tok.startsWith(".") : tok.startsWith("."))) {
      const name = tok.startsWith(".") ? tok.slice(1) : tok;
      const f = w.fields !== undefined && Object.hasOwn(w.fields, name) ? w.fields[name] : undefined;
      if (f === undefined) bad(`no member "${name}"`);
      offset += f!.offset;
      cur = f!.layout;
    } else {
      bad(`unexpected ${JSON.stringify(tok)}`);
    }
  });
  return { offset, layout: cur };
}

/** Byte offset of a member designator within `layout` (C `offsetof`). See {@link memberOf}. */
export function offsetOf(layout: AnyLayout, path: string): number {
  return memberOf(layout, path).offset;
}
