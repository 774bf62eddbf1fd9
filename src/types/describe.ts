// describe(layout): a C-like rendering of a layout for error messages and docs,
// e.g. `struct exec_event { u32 pid; u32 ppid; char comm[16]; }`.

import { codecOf, type AnyLayout } from "./layout.js";

interface Described {
  readonly kind: string;
  readonly length?: number;
  readonly element?: AnyLayout;
  readonly fields?: Readonly<Record<string, { readonly layout: AnyLayout }>>;
  readonly btfName?: string;
  readonly packed?: boolean;
  readonly alignAttribute?: number;
}

/**
 * C-like declaration of a layout. Scalars use the kernel's short names (`u32`, `i64`, `bool`), bytes and
 * padding are `u8 x[n]`, cstrings `char x[n]`; attributes show as `__attribute__((packed))`/`aligned(n)`.
 *
 * @example
 * describe(struct({ pid: u32, comm: bytes(16) })); // "struct { u32 pid; u8 comm[16]; }"
 * describe(array(u32, 4)); // "u32[4]"
 */
export function describe(layout: AnyLayout): string {
  codecOf(layout, "describe(layout)");
  return declare(layout, "");
}

/** Declaration of `name` with layout `l` (`name` may be "" for an abstract declarator). */
function declare(l: AnyLayout, name: string): string {
  const d = l as unknown as Described;
  const sep = name === "" || name.startsWith("[") ? "" : " ";
  switch (d.kind) {
    case "bytes":
    case "padding":
      return `u8${sep}${name}[${d.length}]`;
    case "cstring":
      return `char${sep}${name}[${d.length}]`;
    case "array":
      return declare(d.element!, `${name}[${d.length}]`);
    case "struct":
    case "union":
      return `${record(d)}${sep}${name}`;
    default:
      return `${d.kind}${sep}${name}`;
  }
}

function record(d: Described): string {
  let head: string = d.kind;
  if (d.packed) head += " __attribute__((packed))";
  if (d.alignAttribute !== undefined) head += ` __attribute__((aligned(${d.alignAttribute})))`;
  if (d.btfName !== undefined) head += ` ${d.btfName}`;
  const members = Object.entries(d.fields ?? {}).map(([n, f]) => `${declare(f.layout, n)}; `);
  return `${head} { ${members.join("")}}`;
}
