// Naming for generated kernel declarations: which BTF names can be TypeScript type/value names as they
// are, and a table that hands out unique names (reserved or taken names get a trailing "_").

/** Words that cannot name an interface, a type alias or a `const` in a strict-mode TypeScript module. */
const RESERVED: ReadonlySet<string> = new Set([
  // ECMAScript reserved words
  "break", "case", "catch", "class", "const", "continue", "debugger", "default", "delete", "do", "else",
  "enum", "export", "extends", "false", "finally", "for", "function", "if", "import", "in", "instanceof",
  "new", "null", "return", "super", "switch", "this", "throw", "true", "try", "typeof", "var", "void",
  "while", "with",
  // strict-mode reserved words and restricted names
  "implements", "interface", "let", "package", "private", "protected", "public", "static", "yield",
  "await", "arguments", "eval",
  // TypeScript's predefined type names (an interface or alias cannot take them)
  "any", "unknown", "number", "bigint", "boolean", "string", "symbol", "never", "object", "undefined",
  "intrinsic",
  // keywords that cannot start a type reference
  "infer", "keyof", "readonly", "unique",
]);

/** Names the generated file imports (scalar aliases and helpers); a kernel type may not take them. */
export const IMPORTED_NAMES: readonly string[] = [
  "u8", "u16", "u32", "u64", "u128", "i8", "i16", "i32", "i64", "i128", "bool",
  "FixedArray", "CharArray", "KernelPtr", "UserPtr",
];

/** Name of the generated event-name → tracepoint-context interface. */
export const TRACEPOINT_CONTEXTS = "TracepointContexts";
/** The `tsbpf/kernel` interface a generated file with functions augments (see src/kernel/programs/tracing.ts). */
export const GENERATED_FUNCTIONS = "GeneratedFunctions";
/** Names of the generated prototype maps: BTF tracepoint, LSM hook and kernel function → arguments. */
/** Name of the generated syscall tracepoint event → record fields interface (from tracefs formats). */
export const SYSCALL_TRACEPOINTS = "SyscallTracepoints";
export const PROTO_MAPS = { btfTracepoints: "BtfTracepointArgs", lsmHooks: "LsmHookArgs", functions: "KernelFunctions" } as const;

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** True when `name` is a valid identifier that may name a type or a const as it is. */
export function isUsableName(name: string): boolean {
  return IDENT.test(name) && !RESERVED.has(name);
}

/** `name` with every character that cannot appear in an identifier replaced by "_" (never empty). */
export function sanitize(name: string): string {
  let s = name.replace(/[^A-Za-z0-9_$]/g, "_");
  if (s === "" || /^[0-9]/.test(s)) s = "_" + s;
  return s;
}

/**
 * Hands out unique names in one namespace. `claim(wanted)` returns `wanted` when it is free and usable,
 * else `wanted` (sanitized) with "_" appended until it is. The caller decides the order of claims,
 * which is what makes the result deterministic.
 */
export class NameTable {
  readonly #taken = new Set<string>();

  constructor(reserved: Iterable<string> = []) {
    for (const n of reserved) this.#taken.add(n);
  }

  /** Claim a name; returns the name actually given. */
  claim(wanted: string): string {
    let name = sanitize(wanted);
    while (RESERVED.has(name) || this.#taken.has(name)) name += "_";
    this.#taken.add(name);
    return name;
  }

  /** Whether a name is already taken. */
  has(name: string): boolean {
    return this.#taken.has(name);
  }
}
