// TypeScript declarations of kernel types from BTF: one interface per struct/union, aliases for typedefs
// and enums, enumerator constants and the tracepoint context map. The conventions are in docs/gen.md.

import type { Btf } from "../btf/btf.js";
import type { BtfComposite, BtfType } from "../btf/types.js";
import { BtfError } from "../errors.js";
import { functionProtos, protoTypes, type FunctionProtos } from "./functions.js";
import { GENERATED_FUNCTIONS, IMPORTED_NAMES, NameTable, PROTO_MAPS, SYSCALL_TRACEPOINTS, TRACEPOINT_CONTEXTS } from "./names.js";
import { findRoots, fwdTarget, selectTypes, type Selection } from "./select.js";
import { syscallTracepointsBlock, type SyscallFormat } from "./syscalls.js";
import { RAW_STRUCT_PREFIX, tracepointContexts, traceEventClasses, type TraceFormat } from "./tracepoints.js";

/** The marker the first line of every generated file starts with (the compiler looks for it). */
export const BTF_MARKER = "// @tsbpf-btf";
/** Default pointer depth of `tsbpf gen vmlinux`. */
export const DEFAULT_DEPTH = 3;
/** Where user-generated files import the scalar aliases and helpers from by default. */
export const DEFAULT_IMPORT_FROM = "tsbpf/kernel";

/** Options of {@link generateDeclarations}. */
export interface GenerateOptions {
  /** Root type names (struct, union, typedef or enum). */
  readonly types?: readonly string[];
  /** Pointer hops from a root whose targets still get members (default {@link DEFAULT_DEPTH}). */
  readonly depth?: number;
  /** Add every `trace_event_raw_*` struct as a root and emit `TracepointContexts`. */
  readonly tracepoints?: boolean;
  /** Every named struct, union, typedef and enum, with no depth limit. */
  readonly all?: boolean;
  /**
   * Emit `BtfTracepointArgs` and `LsmHookArgs`: every BTF tracepoint's and LSM hook's arguments (the
   * structs they point at come along with their members).
   */
  readonly hooks?: boolean;
  /** Kernel functions to emit in `KernelFunctions` (arguments and return type, for fentry/fexit). */
  readonly functions?: readonly string[];
  /**
   * Enumerator name prefixes (`TCP_`, `BPF_F_`): every enum, anonymous ones included, with an
   * enumerator starting with one of them is emitted with all its constants.
   */
  readonly constants?: readonly string[];
  /** Module the scalar aliases and helpers are imported from (default "tsbpf/kernel"). */
  readonly importFrom?: string;
  /** Text after the marker on the first line, e.g. "vmlinux 6.18.0 (/sys/kernel/btf/vmlinux)". */
  readonly source?: string;
  /** Command line (or script) that produced the file, named on the second line. */
  readonly generator?: string;
  /** tracefs formats of the same kernel, to match tracepoint events to their classes exactly. */
  readonly tracefsFormats?: ReadonlyMap<string, TraceFormat>;
  /**
   * Syscall tracepoint formats (see `readSyscallFormats`): emit `SyscallTracepoints` for the syscalls
   * named in {@link syscalls} (every one in the map when that is undefined).
   */
  readonly syscallFormats?: ReadonlyMap<string, SyscallFormat>;
  /** Syscall names (`openat`, `execve`) whose enter and exit events go into `SyscallTracepoints`. */
  readonly syscalls?: readonly string[];
}

/** What {@link generateDeclarations} produced. */
export interface GeneratedDeclarations {
  /** The TypeScript source. */
  readonly text: string;
  /** Interfaces with members (named, typedef-named and synthetic anonymous ones). */
  readonly interfaces: number;
  /** Empty interfaces: structs beyond the depth and forward declarations without a definition. */
  readonly stubs: number;
  /** Type aliases emitted for typedefs. */
  readonly typedefs: number;
  /** Type aliases emitted for named enums. */
  readonly enums: number;
  /** Enumerator constants. */
  readonly constants: number;
  /** Entries of `TracepointContexts`. */
  readonly tracepoints: number;
  /** Entries of `BtfTracepointArgs`, `LsmHookArgs` and `KernelFunctions` together. */
  readonly prototypes: number;
  /** Entries of `SyscallTracepoints`. */
  readonly syscalls: number;
}

/** One declaration to emit, before sorting. */
interface Decl { readonly name: string; readonly text: string }

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
/** Longest type chain followed when mapping a type (bad BTF may loop). */
const MAX_CHAIN = 32;

function isComposite(t: BtfType): t is BtfComposite {
  return t.kind === "struct" || t.kind === "union";
}

/** Scalar alias for an integer of `size` bytes. */
function intAlias(size: number, signed: boolean): string {
  const bytes = size <= 1 ? 1 : size <= 2 ? 2 : size <= 4 ? 4 : size <= 8 ? 8 : size <= 16 ? 16 : 0;
  if (bytes === 0) return `CharArray<${size}>`;
  return `${signed ? "i" : "u"}${bytes * 8}`;
}

function propName(name: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? name : JSON.stringify(name);
}

/** Escape text placed inside a JSDoc comment. */
function doc(text: string): string {
  return oneLine(text).replace(/\*\//g, "*\\/");
}

/** Text kept on one line (names from malformed BTF or options may hold line breaks). */
function oneLine(text: string): string {
  return text.replace(/[\r\n\u2028\u2029]/g, " ");
}

/**
 * Generate TypeScript declarations for kernel types of a BTF blob (see docs/gen.md for the conventions).
 * Output is deterministic: the same BTF and options give the same text.
 * @throws BtfError `BTF_GEN_UNKNOWN_TYPE` for a root name the BTF lacks, `BTF_GEN_BAD_OPTION` for a bad
 *   depth or an empty selection; BTF decoding errors of malformed input.
 */
export function generateDeclarations(btf: Btf, opts: GenerateOptions = {}): GeneratedDeclarations {
  const depth = opts.depth ?? DEFAULT_DEPTH;
  if (!Number.isInteger(depth) || depth < 0) {
    throw new BtfError("BTF_GEN_BAD_OPTION", `gen: depth must be a non-negative integer, got ${String(opts.depth)}`);
  }
  const rootNames = [...new Set(opts.types ?? [])].sort(cmp);
  if (rootNames.length === 0 && !opts.tracepoints && !opts.all && !opts.hooks && (opts.functions ?? []).length === 0 && (opts.constants ?? []).length === 0 && !opts.syscallFormats) {
    throw new BtfError("BTF_GEN_BAD_OPTION", "gen: nothing selected (give type names, tracepoints or all)");
  }
  const roots = findRoots(btf, rootNames);
  let contexts = new Map<string, number>();
  if (opts.tracepoints) {
    roots.push(...traceEventClasses(btf).values());
    contexts = tracepointContexts(btf, opts.tracefsFormats ? { formats: opts.tracefsFormats } : {});
  }
  const classes = new Map([...contexts].map(([event, id]) => [event, btf.nameOf(id).slice(RAW_STRUCT_PREFIX.length)]));
  const protos = functionProtos(btf, { hooks: opts.hooks === true, functions: opts.functions ?? [], classes });
  let sel = selectTypes(btf, { roots, depth, all: opts.all === true, argTypes: protoTypes(protos) });
  const prefixes = opts.constants ?? [];
  if (prefixes.length > 0) {
    const enums = new Set(sel.enums);
    for (const id of btf.ids()) {
      const t = btf.kindOf(id) === "enum" ? btf.type(id) : undefined;
      if (t?.kind === "enum" && t.values.some((v) => prefixes.some((p) => v.name.startsWith(p)))) enums.add(id);
    }
    sel = { ...sel, enums };
  }
  return new Emitter(btf, sel, opts, contexts, protos).run();
}

class Emitter {
  readonly #btf: Btf;
  readonly #sel: Selection;
  readonly #opts: GenerateOptions;
  readonly #contexts: Map<string, number>;
  readonly #protos: FunctionProtos;
  /** TS name of each emitted struct/union/fwd id (named, typedef-named or synthetic). */
  readonly #names = new Map<number, string>();
  /** How each interface's `@btf` tag reads, by id. */
  readonly #tags = new Map<number, string>();
  readonly #typedefNames = new Map<number, string>();
  readonly #enumNames = new Map<number, string>();
  readonly #types = new NameTable(IMPORTED_NAMES.concat(TRACEPOINT_CONTEXTS, SYSCALL_TRACEPOINTS, Object.values(PROTO_MAPS)));
  readonly #used = new Set<string>();

  constructor(btf: Btf, sel: Selection, opts: GenerateOptions, contexts: Map<string, number>, protos: FunctionProtos) {
    this.#btf = btf;
    this.#sel = sel;
    this.#opts = opts;
    this.#contexts = contexts;
    this.#protos = protos;
  }

  run(): GeneratedDeclarations {
    const btf = this.#btf;
    const sel = this.#sel;
    const byNameThenId = (a: number, b: number): number => cmp(btf.nameOf(a), btf.nameOf(b)) || a - b;

    // 1. Named structs and unions (full or stub) and forward declarations without a definition.
    const composites = [...sel.full, ...sel.stubs].filter((id) => btf.nameOf(id) !== "").sort(byNameThenId);
    for (const id of composites) this.#nameComposite(id, `${btf.kindOf(id)} ${btf.nameOf(id)}`, btf.nameOf(id));
    for (const id of [...sel.opaque].sort(byNameThenId)) {
      const t = btf.type(id);
      if (t.kind === "fwd") this.#nameComposite(id, `${t.fwdKind} ${t.name}`, t.name);
    }

    // 2. Anonymous structs/unions named by a typedef (`typedef struct { ... } atomic_t`).
    const typedefs = [...sel.typedefs].sort(byNameThenId);
    const anonTypedef = new Set<number>();
    for (const id of typedefs) {
      const t = btf.type(id);
      if (t.kind !== "typedef") continue;
      const target = btf.skipQualifiers(t.type);
      if (this.#names.has(target) || !sel.full.has(target) && !sel.stubs.has(target)) continue;
      if (btf.nameOf(target) !== "" || !isComposite(btf.type(target))) continue;
      this.#nameComposite(target, `typedef ${t.name} ${btf.kindOf(target)}`, t.name);
      anonTypedef.add(id);
    }

    // 3. Named enums.
    const enums = [...sel.enums].sort(byNameThenId);
    for (const id of enums) {
      const name = btf.nameOf(id);
      if (name !== "") this.#enumNames.set(id, this.#types.claim(name));
    }

    // 4. Typedefs (skipping those that would alias themselves: `typedef struct foo foo`, `typedef __u32 u32`).
    for (const id of typedefs) {
      if (anonTypedef.has(id)) continue;
      const name = btf.nameOf(id);
      if (this.#selfAlias(id, name)) continue;
      this.#typedefNames.set(id, this.#types.claim(name));
    }

    // 5. Synthetic names for anonymous structs/unions used by named members: Parent__member.
    this.#nameAnonymous();

    // Emit.
    const decls: Decl[] = [];
    let interfaces = 0;
    let stubs = 0;
    for (const [id, name] of this.#names) {
      const t = btf.type(id);
      const tag = this.#tags.get(id)!;
      if (isComposite(t) && sel.full.has(id)) {
        interfaces++;
        decls.push({ name, text: this.#interface(name, tag, t) });
      } else {
        stubs++;
        const why = t.kind === "fwd" ? " @btfOpaque" : " @btfStub";
        decls.push({ name, text: `/** @btf ${doc(tag)}${why} */\nexport interface ${name} {}\n` });
      }
    }
    for (const [id, name] of this.#typedefNames) {
      const t = btf.type(id);
      if (t.kind !== "typedef") continue;
      decls.push({ name, text: `/** @btf typedef ${doc(t.name)} */\nexport type ${name} = ${this.#ts(t.type)};\n` });
    }
    for (const [id, name] of this.#enumNames) {
      const t = btf.type(id);
      if (t.kind !== "enum") continue;
      decls.push({ name, text: `/** @btf enum ${doc(t.name)} */\nexport type ${name} = ${this.#scalar(intAlias(t.size, t.signed))};\n` });
    }
    decls.sort((a, b) => cmp(a.name, b.name));

    // Enumerator constants: enums in name order (anonymous ones last, by id), first definition of a name wins.
    const values = new NameTable();
    const seen = new Set<string>();
    const consts: Decl[] = [];
    const enumOrder = enums.slice().sort((a, b) => {
      const na = btf.nameOf(a), nb = btf.nameOf(b);
      if ((na === "") !== (nb === "")) return na === "" ? 1 : -1;
      return cmp(na, nb) || a - b;
    });
    for (const id of enumOrder) {
      const t = btf.type(id);
      if (t.kind !== "enum") continue;
      const type = this.#scalar(intAlias(t.size, t.signed));
      const owner = t.name === "" ? "(anon)" : t.name;
      for (const v of t.values) {
        if (seen.has(v.name) || v.name === "") continue;
        seen.add(v.name);
        const name = values.claim(v.name);
        const real = name === v.name ? "" : ` ${doc(v.name)}`;
        consts.push({ name, text: `/** @btf enum ${doc(owner)}${real} = ${v.value} */\nexport declare const ${name}: ${type};\n` });
      }
    }
    consts.sort((a, b) => cmp(a.name, b.name));

    let tracepointBlock = "";
    if (this.#opts.tracepoints) {
      const lines: string[] = [];
      for (const [event, id] of this.#contexts) {
        const name = this.#names.get(id);
        if (name !== undefined) lines.push(`  ${JSON.stringify(event)}: ${name};\n`);
      }
      tracepointBlock = `/** Tracepoint event name → its context (the trace event class's record struct). */\n` +
        `export interface ${TRACEPOINT_CONTEXTS} {\n${lines.join("")}}\n`;
    }

    const protoBlocks = this.#protoBlocks();
    const syscalls = this.#opts.syscallFormats ? syscallTracepointsBlock(this.#opts.syscallFormats, this.#opts.syscalls, btf, this.#used) : undefined;
    const imports = [...this.#used].sort(cmp);
    const head = [
      `${BTF_MARKER} ${oneLine(this.#opts.source ?? "BTF")}`,
      `// Generated by ${oneLine(this.#opts.generator ?? "tsbpf gen vmlinux")} from kernel BTF; do not edit (see docs/gen.md).`,
    ];
    if (imports.length > 0) head.push(`import type { ${imports.join(", ")} } from ${JSON.stringify(this.#opts.importFrom ?? DEFAULT_IMPORT_FROM)};`);
    const body = [head.join("\n") + "\n", ...decls.map((d) => d.text), ...consts.map((d) => d.text)];
    if (tracepointBlock) body.push(tracepointBlock);
    body.push(...protoBlocks.blocks);
    if (syscalls) body.push(syscalls.text);
    if (decls.length === 0 && consts.length === 0 && !tracepointBlock && protoBlocks.blocks.length === 0 && !syscalls) body.push("export {};\n");
    return {
      text: body.join("\n"),
      interfaces,
      stubs,
      typedefs: this.#typedefNames.size,
      enums: this.#enumNames.size,
      constants: consts.length,
      tracepoints: tracepointBlock ? this.#contexts.size : 0,
      prototypes: protoBlocks.entries,
      syscalls: syscalls?.entries ?? 0,
    };
  }

  /** `BtfTracepointArgs`, `LsmHookArgs` (with hooks) and `KernelFunctions` (with functions). */
  #protoBlocks(): { blocks: string[]; entries: number } {
    const p = this.#protos;
    const blocks: string[] = [];
    let entries = 0;
    const args = (params: FunctionProtos["functions"][number]["params"]): string =>
      `{ ${params.map((a) => `${propName(a.name)}: ${this.#ts(a.type)};`).join(" ")}${params.length > 0 ? " " : ""}}`;
    const block = (name: string, what: string, lines: string[]): void => {
      entries += lines.length;
      blocks.push(`/** ${what} */\nexport interface ${name} {\n${lines.join("")}}\n`);
    };
    if (this.#opts.hooks) {
      block(PROTO_MAPS.btfTracepoints, "BTF tracepoint event → its arguments (tp_btf and raw_tp programs: `ctx.args`).",
        p.btfTracepoints.map((f) => `  ${JSON.stringify(f.name)}: ${args(f.params)};\n`));
      block(PROTO_MAPS.lsmHooks, "LSM hook → its arguments (lsm programs: `ctx.args`).",
        p.lsmHooks.map((f) => `  ${JSON.stringify(f.name)}: ${args(f.params)};\n`));
    }
    if ((this.#opts.functions ?? []).length > 0) {
      block(PROTO_MAPS.functions, "Kernel function → its arguments and return type (fentry/fexit programs: `ctx.args`, `ctx.ret`).",
        p.functions.map((f) => `  ${JSON.stringify(f.name)}: { args: ${args(f.params)}; ret: ${f.ret === 0 ? "void" : this.#ts(f.ret)} };\n`));
      // Outside tsbpf itself (a package import, not a relative one), let the kernel declarations see them:
      // fentry/fexit/kprobe/kretprobe contexts look functions up in `GeneratedFunctions` first.
      const from = this.#opts.importFrom ?? DEFAULT_IMPORT_FROM;
      if (!from.startsWith(".")) {
        blocks.push(`/** Types \`ctx.args\` and \`ctx.ret\` of fentry, fexit, kprobe and kretprobe programs for the functions above. */\n` +
          `declare module ${JSON.stringify(from)} {\n  interface ${GENERATED_FUNCTIONS} extends ${PROTO_MAPS.functions} {}\n}\n`);
      }
    }
    return { blocks, entries };
  }

  #nameComposite(id: number, tag: string, wanted: string): void {
    const name = this.#types.claim(wanted);
    this.#names.set(id, name);
    this.#tags.set(id, tag);
  }

  /** Would this typedef, given its name, say `type X = X`? */
  #selfAlias(id: number, name: string): boolean {
    const btf = this.#btf;
    const target = btf.type(btf.resolve(id));
    if (isComposite(target) || target.kind === "enum") return target.name === name && (this.#names.get(target.id) ?? this.#enumNames.get(target.id)) === name;
    if (target.kind === "fwd") {
      const full = fwdTarget(btf, target.id) ?? target.id;
      return target.name === name && this.#names.get(full) === name;
    }
    if (target.kind === "int" && IMPORTED_NAMES.includes(name)) return this.#intType(target) === name;
    return false;
  }

  /**
   * Give every anonymous struct/union that some emitted interface uses through a named member a name
   * `Parent__member`, parents before children, the smallest candidate winning.
   */
  #nameAnonymous(): void {
    const btf = this.#btf;
    const sel = this.#sel;
    /** Anonymous composite id → (parent id, member name) references from full composites. */
    const refs = new Map<number, { parent: number; member: string }[]>();
    for (const parent of sel.full) {
      const t = btf.type(parent);
      if (!isComposite(t)) continue;
      this.#eachMember(t, (m) => {
        const anon = this.#anonTarget(m.type);
        if (anon === undefined) return;
        const list = refs.get(anon);
        if (list) list.push({ parent, member: m.name });
        else refs.set(anon, [{ parent, member: m.name }]);
      });
    }
    for (;;) {
      const round: { id: number; wanted: string; tag: string }[] = [];
      for (const [anon, list] of refs) {
        if (this.#names.has(anon)) continue;
        let best: { wanted: string; tag: string } | undefined;
        for (const r of list) {
          const pn = this.#names.get(r.parent);
          if (pn === undefined) continue;
          const wanted = `${pn}__${r.member}`;
          if (best === undefined || cmp(wanted, best.wanted) < 0) best = { wanted, tag: `anon ${btf.kindOf(anon)} ${pn}.${r.member}` };
        }
        if (best) round.push({ id: anon, ...best });
      }
      if (round.length === 0) break;
      round.sort((a, b) => cmp(a.wanted, b.wanted) || a.id - b.id);
      for (const r of round) this.#nameComposite(r.id, r.tag, r.wanted);
    }
  }

  /** The anonymous struct/union a member type names through qualifiers, arrays and pointers (not typedefs). */
  #anonTarget(id: number): number | undefined {
    const btf = this.#btf;
    for (let i = 0; i < MAX_CHAIN; i++) {
      const t = btf.type(id);
      switch (t.kind) {
        case "const": case "volatile": case "restrict": case "type_tag": case "ptr": id = t.type; continue;
        case "array": id = t.elemType; continue;
        case "struct": case "union":
          return t.name === "" && (this.#sel.full.has(id) || this.#sel.stubs.has(id)) ? id : undefined;
        default: return undefined;
      }
    }
    return undefined;
  }

  /** Visit the named members of a struct/union, with anonymous struct/union members flattened in. */
  #eachMember(t: BtfComposite, fn: (m: { name: string; type: number }) => void, seen = new Set<number>()): void {
    seen.add(t.id);
    for (const m of t.members) {
      if (m.name !== "") {
        fn(m);
        continue;
      }
      const inner = this.#btf.type(this.#btf.resolve(m.type));
      // Each anonymous type is flattened once: valid C cannot repeat one (its member names would clash),
      // and malformed BTF that nests a struct in itself must not loop.
      if (isComposite(inner) && !seen.has(inner.id)) this.#eachMember(inner, fn, seen);
      // An unnamed non-composite member is padding (`int : 3`): nothing to declare.
    }
  }

  #interface(name: string, tag: string, t: BtfComposite): string {
    const lines: string[] = [`/** @btf ${doc(tag)} */\nexport interface ${name} {\n`];
    const seen = new Set<string>();
    this.#eachMember(t, (m) => {
      if (seen.has(m.name)) return;
      seen.add(m.name);
      lines.push(`  ${propName(m.name)}: ${this.#ts(m.type)};\n`);
    });
    lines.push("}\n");
    return lines.join("");
  }

  #scalar(alias: string): string {
    const base = /^[A-Za-z]+\d*/.exec(alias)?.[0];
    if (base && IMPORTED_NAMES.includes(base)) this.#used.add(base);
    return alias;
  }

  #intType(t: BtfType & { kind: "int" }): string {
    if (t.bool) return this.#scalar("bool");
    return this.#scalar(intAlias(t.size, t.signed));
  }

  /** The TS name of a struct/union (or a fwd's definition), falling back to unknown for unnamed ones. */
  #compositeName(id: number): string {
    const direct = this.#names.get(id);
    if (direct !== undefined) return direct;
    const btf = this.#btf;
    if (btf.kindOf(id) === "fwd") {
      const full = fwdTarget(btf, id);
      const n = full === undefined ? undefined : this.#names.get(full);
      if (n !== undefined) return n;
    }
    return "unknown";
  }

  /** The TypeScript type text of a BTF type used as a member (or typedef target). */
  #ts(id: number, level = 0): string {
    const btf = this.#btf;
    if (level > MAX_CHAIN) return "unknown";
    const t = btf.type(id);
    switch (t.kind) {
      case "void": return "void";
      case "int": return this.#intType(t);
      case "enum": return this.#scalar(intAlias(t.size, t.signed));
      case "float": return "number";
      case "const": case "volatile": case "restrict": case "type_tag": return this.#ts(t.type, level + 1);
      case "typedef": {
        const named = this.#names.get(btf.skipQualifiers(t.type));
        if (named !== undefined && btf.nameOf(btf.skipQualifiers(t.type)) === "") return named;
        return this.#ts(t.type, level + 1);
      }
      case "struct": case "union": case "fwd": return this.#compositeName(id);
      case "array": {
        const elem = btf.type(btf.resolve(t.elemType));
        if (elem.kind === "int" && elem.size === 1 && !elem.bool) {
          this.#used.add("CharArray");
          return `CharArray<${t.nelems}>`;
        }
        this.#used.add("FixedArray");
        return `FixedArray<${this.#ts(t.elemType, level + 1)}, ${t.nelems}>`;
      }
      case "ptr": {
        // Pointers to structs and unions are the interface itself (implicit dereference).
        let target = t.type;
        for (let i = 0; i < MAX_CHAIN; i++) {
          const k = btf.kindOf(target);
          if (k === "const" || k === "volatile" || k === "restrict" || k === "type_tag") {
            target = (btf.type(target) as { type: number }).type;
            continue;
          }
          if (k === "typedef") {
            const next = (btf.type(target) as { type: number }).type;
            const under = btf.type(btf.resolve(next));
            if (isComposite(under) || under.kind === "fwd" || under.kind === "func_proto" || under.kind === "void") {
              target = next;
              continue;
            }
          }
          break;
        }
        const tt = btf.type(target);
        if (isComposite(tt) || tt.kind === "fwd") {
          const n = this.#compositeName(target);
          if (n !== "unknown") return n;
        }
        this.#used.add("KernelPtr");
        if (tt.kind === "func_proto") return `KernelPtr<"fn">`;
        if (tt.kind === "void") return "KernelPtr<void>";
        return `KernelPtr<${this.#ts(target, level + 1)}>`;
      }
      case "func_proto":
        this.#used.add("KernelPtr");
        return `KernelPtr<"fn">`;
      default:
        return "unknown";
    }
  }
}
