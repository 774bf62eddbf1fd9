// Tracepoint record fields placed by a tracefs format rather than BTF: syscall tracepoints
// (`syscalls/sys_enter_openat`), whose generated declarations tag each field `@tracefs <offset> <size>`
// (src/gen/syscalls.ts), and `__data_loc` strings (`ctx.filename` for the member `__data_loc_filename`).

import ts from "typescript";
import { DiagnosticCode as D } from "../diagnostics.js";
import type { VReg } from "../ir.js";
import type { CoreAccess } from "../module.js";
import { showTy, U64, type Ty } from "../types.js";
import type { Lowerer } from "./function.js";
import type { KernelMember } from "./kernel.js";
import type { Place } from "./values.js";
import { imm, reg } from "./values.js";

/** The `@tracefs` tag text of a property declaration, if it has one. */
function tracefsTag(decl: ts.Declaration): string | undefined {
  for (const tag of ts.getJSDocTags(decl)) {
    if (tag.tagName.text === "tracefs") return typeof tag.comment === "string" ? tag.comment.trim() : "";
  }
  return undefined;
}

/**
 * `ctx.<name>` (or `ctx.args.<name>`) when the record's declaration places the field by its tracefs
 * format: `@tracefs args` is the record itself seen as its arguments; `@tracefs <offset> <size>` a field
 * read at that offset of the context, as wide as its declared type (the record is little-endian, so the
 * low bytes of a wider slot come first). Undefined when the property is not tagged.
 */
export function tracefsField(L: Lowerer, e: ts.PropertyAccessExpression, name: string, ctx: VReg): Place | undefined {
  const prop = L.checker.getTypeAtLocation(e.expression).getProperty(name);
  const decl = prop?.declarations?.[0];
  const tag = decl && tracefsTag(decl);
  if (tag === undefined || !decl) return undefined;
  if (tag === "args") return { k: "value", value: { ty: { k: "ctx" }, op: reg(ctx) }, what: `ctx.${name}` };
  const m = /^(\d+)\s+(\d+)\b/.exec(tag);
  if (!m || !ts.isPropertySignature(decl) || !decl.type) return L.report(e.name, D.KernelType, `the declaration of "${name}" has a malformed @tracefs tag ("${tag}"); regenerate it with tsbpf gen vmlinux --syscalls`);
  const offset = Number(m[1]), size = Number(m[2]);
  const ty: Ty = L.m.typeOfNode(decl.type);
  if (ty.k !== "int" || ty.bits / 8 > size) {
    return L.report(e.name, D.KernelType, `the tracefs field "${name}" (${size} bytes) cannot be read as ${showTy(ty)}`);
  }
  return { k: "mem", base: ctx, offset, ty, what: `ctx.${name}`, readonly: true };
}

/**
 * `ctx.<name>` for a `__data_loc` member `__data_loc_<name>` of the record struct: the u32 there holds
 * `offset | length << 16` (offset from the record start), so the string is at ctx + (loc & 0xffff). The
 * result is that address, for `bpf.probeReadKernelStr(buf, ctx.<name>)` (the verifier takes a context
 * pointer with a variable offset as a probe-read source).
 */
export function dataLocField(L: Lowerer, ctx: VReg, name: string, mem: KernelMember, core: CoreAccess | undefined): Place {
  const loc = L.b.reg();
  L.b.emit({ op: "load", size: 4, dst: loc, base: ctx, offset: mem.offset, ...(core ? { core } : {}) });
  const off = L.b.reg();
  L.b.emit({ op: "alu", alu: "and", bits: 64, dst: off, a: reg(loc), b: imm(0xffff) });
  const addr = L.b.reg();
  L.b.emit({ op: "alu", alu: "add", bits: 64, dst: addr, a: reg(ctx), b: reg(off) });
  return { k: "value", value: { ty: U64, op: reg(addr) }, what: `ctx.${name}` };
}
