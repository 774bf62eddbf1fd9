// What a program kind is, for the compiler: everything about one kind lives in one file of this
// folder (its `tsbpf/kernel` declaration lives in src/kernel/programs/). src/compiler/kinds/index.ts
// lists them. Adding a kind is one file here, its declaration, and one line in each index.

import type ts from "typescript";
import type { VReg } from "../ir.js";
import type { CompiledMap, CType } from "../module.js";
import type { Lowerer } from "../lower/function.js";
import { reg, type Value } from "../lower/values.js";
import { U32 } from "../types.js";

/**
 * Groups of kernel helpers beyond the base set every program may call (time, random, cpu, printk, map
 * operations). A kind lists the groups the kernel allows it; each `bpf.*` helper names its group.
 * - `task`: the current task (pid/tid, uid/gid, comm, task_struct);
 * - `probe`: probe reads of kernel and user memory;
 * - `stack`: stack traces (`StackTraceMap.getStackId`);
 * - `redirect`: `bpf.redirect` to an interface;
 * - `sleepable`: helpers that may sleep (`bpf.copyFromUser`), for sleepable kinds (`uprobe.s`, `lsm.s`...).
 */
export type HelperGroup = "task" | "probe" | "stack" | "redirect"
  | "sleepable";

/** A field of a fixed UAPI context struct (struct xdp_md, struct __sk_buff...). */
export interface ContextField {
  /** Byte offset in the context struct. */
  readonly offset: number;
  readonly size: 1 | 2 | 4 | 8;
  /** Whether the program may assign it (the kernel's context access check allows the write). */
  readonly writable?: boolean;
  readonly signed?: boolean;
  /** Set when this kind cannot read the field: the reason, reported at the access. */
  readonly unavailable?: string;
  /** An array of `count` elements of `size` bytes (`__u32 user_ip6[4]`), read as `ctx.field[i]` (i constant). */
  readonly count?: number;
}

/** Packet data reached through the context: where `data`/`data_end` are, and how it may be read. */
export interface PacketShape {
  readonly data: number;
  readonly dataEnd: number;
  /** Direct (bounds-checked pointer) access; otherwise `ctx.load` copies with bpf_skb_load_bytes. */
  readonly direct: boolean;
  /** Width of the `data`/`data_end` fields: 4 (default, `__u32`) or 8 (`__bpf_md_ptr`, e.g. struct sk_msg_md, struct bpf_sockopt). */
  readonly pointerSize?: 4 | 8;
}

/** How a kind's context is accessed. */
export type ContextShape =
  /** A tracepoint record: fields typed from the kernel's `trace_event_raw_<event>` struct by CO-RE. */
  | { readonly k: "tracepoint" }
  /** u64 argument slots (`ctx.arg(n)`, `ctx.args.<name>`); with `ret`, `ctx.ret` follows the arguments (fexit). */
  | { readonly k: "args"; readonly ret?: boolean }
  /** struct pt_regs: `ctx.arg(n)` by the calling convention, `ctx.ret()`. */
  | { readonly k: "pt_regs" }
  /**
   * A struct layout the program declares, given as the kind's first argument before the handler (syscall
   * programs: the buffer the caller passes): `ctx.<field>` reads and writes it as memory.
   */
  | { readonly k: "layout" }
  /** A fixed UAPI struct: named fields, optional packet data, optional computed fields. */
  | {
      readonly k: "fields";
      /** What the context is called in messages, e.g. "XDP context". */
      readonly what: string;
      readonly fields: Readonly<Record<string, ContextField>>;
      readonly packet?: PacketShape;
      /** Fields computed from others (e.g. XDP's `len`, data_end - data); `node` is the access, for diagnostics. */
      readonly computed?: Readonly<Record<string, (L: Lowerer, ctx: VReg, node: ts.Node) => Value>>;
    };

/** The return values the kernel accepts from a kind, checked at compile time where constant. */
export interface ReturnRule {
  readonly min: number;
  readonly max: number;
  /** What the values mean, for the diagnostic, e.g. "1 allows, 0 drops". */
  readonly meaning: string;
}

/** A method of the context (`ctx.name(...)`), lowered by the kind. */
export type ContextMethod = (L: Lowerer, call: ts.CallExpression, ctx: VReg) => Value;

/** One program kind. */
export interface ProgramKind {
  /** The `tsbpf/kernel` function name, e.g. `tracepoint`. */
  readonly entry: string;
  /** Number of leading string arguments (targets) before the handler. */
  readonly targets: number;
  /** Section name from the target arguments (a name libbpf accepts too). */
  section(targets: readonly string[]): string;
  /** The `tsbpf/kernel` type names of the context (a parameter of one of these types is the context). */
  readonly contextTypes: readonly string[];
  readonly context: ContextShape;
  /** Helper groups the kernel allows this kind beyond the base set. */
  readonly helpers: readonly HelperGroup[];
  /**
   * Whether the kernel types the arguments from BTF (tp_btf, fentry/fexit, LSM): kernel pointers from
   * `ctx.args` and the current task are trusted BTF pointers, read with direct loads instead of probe reads.
   */
  readonly btfPointers?: boolean;
  /** Return values the kernel accepts (none: any value). */
  returns?(targets: readonly string[]): ReturnRule | undefined;
  /** Methods of the context beyond the shape's own (`arg`, `ret`, `load`). */
  readonly methods?: Readonly<Record<string, ContextMethod>>;
  /**
   * Maps the compiler declares in the object when a program of this kind exists (once per object, by
   * name), e.g. libbpf's USDT argument-spec maps that the loader fills.
   */
  readonly maps?: readonly CompiledMap[];
  /**
   * The kind as a program with these targets sees it, when its context or methods depend on them (a
   * cgroup sock_addr program's fields differ between connect4 and sendmsg6).
   */
  forTargets?(targets: readonly string[]): ProgramKind;
  /** Why these targets are wrong (e.g. an unknown kind name): the message and the target's index, reported there. */
  checkTargets?(targets: readonly string[]): { readonly index: number; readonly message: string } | undefined;
  /** The program's BTF prototype when the kernel checks it (freplace: the replaced function's); default `int (void *ctx)`. */
  proto?(): CType & { readonly kind: "func_proto" };
}

/** Groups tracing kinds have: the current task, probe reads and stack traces. */
export const TRACING_HELPERS: readonly HelperGroup[] = ["task", "probe", "stack"];

/** Builds a table of 4-byte u32 fields: name → [offset, writable?]. */
export function u32Fields(table: Readonly<Record<string, readonly [number, boolean?]>>): Record<string, ContextField> {
  const out: Record<string, ContextField> = {};
  for (const [name, [offset, writable]] of Object.entries(table)) out[name] = { offset, size: 4, ...(writable ? { writable } : {}) };
  return out;
}

/** x86-64 struct pt_regs offsets of the argument registers (di, si, dx, cx, r8, r9) and ax. */
export const PT_REGS_X86 = { args: [112, 104, 96, 88, 72, 64], ret: 80 } as const;

/** A computed `len` for packet contexts: data_end - data, the bytes in reach (pointers of the shape's width). */
export function packetLength(packet: PacketShape): (L: Lowerer, ctx: VReg) => Value {
  const size = packet.pointerSize ?? 4;
  return (L, ctx) => {
    const data = L.b.reg(), end = L.b.reg(), len = L.b.reg();
    L.b.emit({ op: "load", size, dst: data, base: ctx, offset: packet.data });
    L.b.emit({ op: "load", size, dst: end, base: ctx, offset: packet.dataEnd });
    L.b.emit({ op: "alu", alu: "sub", bits: 64, dst: len, a: reg(end), b: reg(data) });
    return { ty: U32, op: reg(len) };
  };
}
