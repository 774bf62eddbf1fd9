// `iter("target", (ctx) => ...)`: SEC("iter/<target>"), BPF iterators (`iterSleepable`: SEC("iter.s/<target>")).
// The context is the kernel's `struct bpf_iter__<target>`: `ctx.meta` (struct bpf_iter_meta: the
// seq_file, session id and sequence number) and the object of this step (`ctx.task`, `ctx.file`,
// `ctx.sk_common`, `ctx.map`...), typed from kernel BTF; pointers other than `meta` are BTF pointers
// that are null at the end of the walk, so the program must check them. `ctx.printf(fmt, ...args)`
// (bpf_seq_printf) and `ctx.write(value)` (bpf_seq_write) write to the iterator's output. Return 0
// (1 asks the kernel to show this object again).

import type ts from "typescript";
import { HELPER_IDS as H } from "../../sys/helper-ids.js";
import { DiagnosticCode as D } from "../diagnostics.js";
import type { VReg } from "../ir.js";
import { bprintfArgs } from "../lower/bprintf.js";
import { arg, callHelper, memArg } from "../lower/call-args.js";
import type { Lowerer } from "../lower/function.js";
import { tyOfLayout, isLayout } from "../lower/function.js";
import { reg, type Value } from "../lower/values.js";
import { I64, U64, type Ty } from "../types.js";
import { TRACING_HELPERS, type ContextMethod, type ProgramKind } from "./kind.js";

/** Members of the iterator context structs (`struct bpf_iter__<target>`) across the kernel's targets. */
const MEMBERS = [
  "meta", "task", "file", "fd", "vma", "sk_common", "udp_sk", "unix_sk", "uid", "bucket", "map", "key", "value",
  "prog", "link", "cgroup", "ksym", "sk", "rt", "sk_meta", "kmem_cache", "dmabuf",
] as const;

/** The kernel's `struct bpf_iter__<target>`, by BTF id; reported when the kernel has no such iterator. */
function contextStruct(L: Lowerer, node: ts.Node): { id: number; name: string } {
  const target = L.targets[0] ?? "";
  const name = `bpf_iter__${target}`;
  const id = L.m.kernel.find(name, "struct");
  if (id === undefined) return L.report(node, D.KernelType, `the kernel has no iterator "${target}" (no struct ${name} in its BTF)`);
  return { id, name };
}

/**
 * `ctx.<member>`: a constant-offset load from the context (the verifier checks context accesses by the
 * iterator's prototype, so they are not CO-RE-relocated), typed from the member's BTF type.
 */
function member(L: Lowerer, ctx: VReg, name: string, node: ts.Node): Value {
  const { id, name: struct } = contextStruct(L, node);
  const m = L.m.kernel.member(id, name);
  if (!m) return L.report(node, D.KernelType, `the ${L.targets[0]} iterator's context (struct ${struct}) has no member "${name}"`);
  const dst = L.b.reg();
  if (m.kind.k === "ptr") {
    L.b.emit({ op: "load", size: 8, dst, base: ctx, offset: m.offset });
    // void * (bpf_map_elem's key and value): an address; read it with ctx.key(layout) / ctx.value(layout).
    if (!m.kind.target) return { ty: U64, op: reg(dst) };
    return { ty: { k: "kptr", name: m.kind.target.name, btfKind: m.kind.target.btfKind, btf: true }, op: reg(dst) };
  }
  if (m.kind.k === "int" && !m.bitfield) {
    L.b.emit({ op: "load", size: m.size as 1 | 2 | 4 | 8, dst, base: ctx, offset: m.offset });
    return { ty: m.kind.ty, op: reg(dst) };
  }
  return L.report(node, D.KernelType, `struct ${struct}.${name} has a type iterator programs cannot read`);
}

/** The iterator's seq_file: ctx->meta->seq. */
function seqFile(L: Lowerer, ctx: VReg, node: ts.Node): Value {
  const meta = member(L, ctx, "meta", node);
  return L.read(L.kernelMember(node, meta, "seq"), node);
}

/** `ctx.key(layout)` / `ctx.value(layout)` (bpf_map_elem): the element's bytes as `layout`, null at the end. */
const elementView = (which: "key" | "value"): ContextMethod => (L, c, ctx) => {
  const l = L.m.consts.evaluate(arg(L, c, 0), `the ${which} layout`);
  if (!isLayout(l)) return L.report(arg(L, c, 0), D.TypeMismatch, `ctx.${which} needs a layout (an integer type or a struct)`);
  const addr = member(L, ctx, which, c);
  const ty: Ty = tyOfLayout(l);
  return { ty: ty.k === "mem" ? ty : { k: "ref", to: ty as Extract<Ty, { k: "int" }> }, op: addr.op };
};

const methods: Record<string, ContextMethod> = {
  printf: (L, c, ctx) => {
    const seq = seqFile(L, ctx, c);
    const f = bprintfArgs(L, c, arg(L, c, 0), c.arguments.slice(1), "ctx.printf");
    return callHelper(L, H.seq_printf, [seq.op, f.fmt, { imm: BigInt(f.fmtSize) }, f.data, { imm: BigInt(f.dataSize) }], I64);
  },
  write: (L, c, ctx) => {
    const seq = seqFile(L, ctx, c);
    const a = arg(L, c, 0);
    const { addr, size } = memArg(L, a, undefined, "ctx.write data");
    return callHelper(L, H.seq_write, [seq.op, reg(addr), { imm: BigInt(size) }], I64);
  },
  key: elementView("key"),
  value: elementView("value"),
};

export const iter: ProgramKind = {
  entry: "iter",
  targets: 1,
  section: ([t]) => `iter/${t}`,
  contextTypes: ["IterContext"],
  context: {
    k: "fields",
    what: "iterator context",
    fields: {},
    computed: Object.fromEntries(MEMBERS.map((name) => [name, (L: Lowerer, ctx: VReg, node: ts.Node) => member(L, ctx, name, node)])),
  },
  helpers: TRACING_HELPERS,
  btfPointers: true,
  returns: () => ({ min: 0, max: 1, meaning: "iterator programs return 0 (1 shows the object again)" }),
  methods,
};

/** Sleepable iterators: SEC("iter.s/<target>"), may call helpers that fault in user memory. */
export const iterSleepable: ProgramKind = {
  ...iter,
  entry: "iterSleepable",
  section: ([t]) => `iter.s/${t}`,
};
