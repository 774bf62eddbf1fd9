// `log.info\`pid ${pid} opened ${name}\`` (and error/warn/debug/trace): kernel-side logging. Each call site
// becomes one entry of the object's format table (literal pieces, argument kinds and offsets; kept in
// `.rodata`, read by the loader, never sent) and, at run time: a load of the min-level `.rodata`
// constant (a frozen map value, so the verifier prunes disabled levels), then one fixed-size
// bpf_ringbuf_reserve in the `__tsbpf_log` ring buffer, the header and the arguments stored straight
// into the record (no stack), and bpf_ringbuf_submit. Arguments are evaluated only when the level is
// enabled. Record layout and argument kinds: src/log/format.ts.

import { basename } from "node:path";
import ts from "typescript";
import { HELPER_IDS as H } from "../../sys/helper-ids.js";
import type { AnyLayout } from "../../types/index.js";
import {
  argAlign, argSize, LOG_DROPPED_VAR, LOG_FORMATS_VAR, LOG_HEADER, LOG_HEADER_SIZE, LOG_LEVELS, LOG_MAP, LOG_MAX_RECORD, LOG_MIN_LEVEL_VAR, LOG_RING_SIZE,
  type LogArg, type LogArgKind, type LogFormat, type LogFormatTable, type LogLevel,
} from "../../log/format.js";
import { DiagnosticCode as D } from "../diagnostics.js";
import type { AccessSize, Operand, VReg } from "../ir.js";
import type { CompiledGlobal, CompiledMap, CType } from "../module.js";
import { showTy, U64, VOID } from "../types.js";
import { callHelper, mapFd } from "./call-args.js";
import type { Lowerer } from "./function.js";
import { imm, reg, type Value } from "./values.js";

const NOTHING: Value = { ty: VOID, op: imm(0) };

/** What the module gives the log table: a place in `.rodata`/`.bss` for a new variable, and the ring buffer's declaration. */
export interface LogHost {
  global(section: ".rodata" | ".bss", global: Omit<CompiledGlobal, "offset" | "section">, align: number): number;
  declareMap(map: CompiledMap): void;
}

const U32_C: CType = { kind: "int", name: "unsigned int", size: 4, signed: false };
const U64_C: CType = { kind: "int", name: "unsigned long long", size: 8, signed: false };

/** The object's format table and its two `.rodata` variables, made on the first log call. */
export class LogTable {
  readonly formats: LogFormat[] = [];
  readonly #host: LogHost;
  #levelOffset: number | undefined;
  #droppedOffset: number | undefined;

  constructor(host: LogHost) {
    this.#host = host;
  }

  /** Offset in `.rodata` of the min-level u32 (0 = trace: every level), declaring it and the ring buffer on first use. */
  levelOffset(): number {
    if (this.#levelOffset === undefined) {
      this.#levelOffset = this.#host.global(".rodata", { name: LOG_MIN_LEVEL_VAR, type: U32_C, size: 4, global: true }, 4);
      this.#host.declareMap({ name: LOG_MAP, type: "ringbuf", maxEntries: LOG_RING_SIZE });
    }
    return this.#levelOffset;
  }

  /** Offset in `.bss` of the u64 counting records dropped because the ring buffer was full. */
  droppedOffset(): number {
    return (this.#droppedOffset ??= this.#host.global(".bss", { name: LOG_DROPPED_VAR, type: U64_C, size: 8, global: true }, 8));
  }

  /** Adds a call site; its format id. */
  add(f: LogFormat): number {
    this.formats.push(f);
    return this.formats.length - 1;
  }

  /** Places the format table (when anything logs); call once, after every program is lowered. */
  finish(): void {
    if (this.#levelOffset === undefined) return;
    const table: LogFormatTable = { version: 1, formats: this.formats };
    const bytes = new TextEncoder().encode(JSON.stringify(table) + "\0");
    this.#host.global(".rodata", { name: LOG_FORMATS_VAR, type: { kind: "array", element: { kind: "int", name: "char", size: 1, signed: true, char: true }, length: bytes.length }, size: bytes.length, init: bytes, global: true }, 1);
  }
}

/** An argument ready to store: a scalar operand or the address of memory to copy. */
type Stored = { readonly kind: LogArgKind; readonly scalar: Operand } | { readonly kind: LogArgKind; readonly from: VReg; readonly align: number };

/** Whether `e` is a tagged template `log.<level>\`...\``. */
export function isLogCall(L: Lowerer, e: ts.TaggedTemplateExpression): boolean {
  const tag = e.tag;
  return ts.isPropertyAccessExpression(tag) && ts.isIdentifier(tag.expression) && L.m.consts.libraryName(tag.expression) === "log";
}

/** Lowers a tagged template expression: only `log.<level>\`...\`` is one the kernel language has. */
export function lowerTaggedTemplate(L: Lowerer, e: ts.TaggedTemplateExpression): Value {
  if (!isLogCall(L, e)) return L.report(e.tag, D.UnsupportedSyntax, "tagged templates are only for logging: log.info`...` (and error, warn, debug, trace)");
  const tag = e.tag as ts.PropertyAccessExpression;
  const level = tag.name.text as LogLevel;
  const levelNo = LOG_LEVELS.indexOf(level);
  if (levelNo < 0) return L.report(tag.name, D.UnknownHelper, `log has no level "${tag.name.text}" (levels: ${LOG_LEVELS.join(", ")})`);
  const t = e.template;
  const pieces = ts.isNoSubstitutionTemplateLiteral(t) ? [t.text] : [t.head.text, ...t.templateSpans.map((s) => s.literal.text)];
  const exprs = ts.isNoSubstitutionTemplateLiteral(t) ? [] : t.templateSpans.map((s) => s.expression);

  // The min-level check first: when the constant says this level is off, the verifier drops the rest.
  const minAddr = L.b.reg(), min = L.b.reg();
  L.b.emit({ op: "mapValue", dst: minAddr, map: ".rodata", offset: L.m.log.levelOffset() });
  L.b.emit({ op: "load", size: 4, dst: min, base: minAddr, offset: 0 });
  const on = L.b.block(), done = L.b.block();
  L.b.terminate({ op: "br", cond: "gt", bits: 32, a: min, b: imm(levelNo), then: done, else: on });
  L.b.setBlock(on);

  // Arguments: constants fold into the text, the rest are stored.
  const parts: string[] = [pieces[0]!];
  const stored: Stored[] = [];
  exprs.forEach((x, i) => {
    const a = argument(L, x);
    if (typeof a === "string") parts[parts.length - 1] += a + pieces[i + 1]!;
    else {
      stored.push(a);
      parts.push(pieces[i + 1]!);
    }
  });
  const args: LogArg[] = [];
  let size = 0;
  for (const s of stored) {
    const align = argAlign(s.kind);
    size = Math.ceil(size / align) * align;
    args.push({ ...s.kind, offset: size });
    size += argSize(s.kind);
  }
  const total = Math.ceil((LOG_HEADER_SIZE + size) / 8) * 8;
  if (total > LOG_MAX_RECORD) {
    return L.report(e, D.LogRecordSize, `this log record needs ${LOG_HEADER_SIZE + size} bytes (${size} of arguments); a record holds at most ${LOG_MAX_RECORD} — log fewer or smaller values (e.g. two calls)`);
  }
  const sf = e.getSourceFile();
  const line = sf.getLineAndCharacterOfPosition(e.getStart(sf)).line + 1;
  const id = L.m.log.add({ level, program: L.b.name, at: `${basename(sf.fileName)}:${line}`, parts, args, size });

  const rec = callHelper(L, H.ringbuf_reserve, [mapFd(L, L.m.mapByName(LOG_MAP)), imm(total), imm(0)], U64).op;
  const p = L.b.toReg(rec);
  const fill = L.b.block(), full = L.b.block();
  L.b.terminate({ op: "br", cond: "eq", bits: 64, a: p, b: imm(0), then: full, else: fill });
  // A full ring: count the drop (the reader reports it), never wait.
  L.b.setBlock(full);
  const counter = L.b.reg();
  L.b.emit({ op: "mapValue", dst: counter, map: ".bss", offset: L.m.log.droppedOffset() });
  L.b.emit({ op: "atomic", rmw: "add", size: 8, base: counter, offset: 0, value: L.b.toReg(imm(1)) });
  L.b.jumpTo(done);
  L.b.setBlock(fill);
  const store = (size: AccessSize, offset: number, value: Operand) => L.b.emit({ op: "store", size, base: p, offset, value: "imm" in value ? reg(L.b.toReg(value)) : value });
  store(4, LOG_HEADER.id, imm(id));
  const task = L.prog.helpers.includes("task");
  store(1, LOG_HEADER.level, imm(levelNo));
  store(1, LOG_HEADER.flags, imm(task ? 1 : 0));
  store(2, LOG_HEADER.argSize, imm(size));
  store(8, LOG_HEADER.time, callHelper(L, H.ktime_get_ns, [], U64).op);
  store(8, LOG_HEADER.pidTgid, task ? callHelper(L, H.get_current_pid_tgid, [], U64).op : imm(0));
  store(4, LOG_HEADER.cpu, callHelper(L, H.get_smp_processor_id, [], U64).op);
  store(4, LOG_HEADER.cpu + 4, imm(0));
  stored.forEach((s, i) => {
    const off = LOG_HEADER_SIZE + args[i]!.offset;
    const n = argSize(s.kind);
    if ("scalar" in s) {
      store(n as AccessSize, off, s.scalar);
      return;
    }
    // Memory: copied in the widest chunks the source's alignment allows (the verifier refuses misaligned stack loads).
    for (let at = 0; at < n;) {
      let chunk = 8;
      while (chunk > 1 && (chunk > n - at || s.align % chunk !== 0 || at % chunk !== 0 || (off + at) % chunk !== 0)) chunk /= 2;
      const v = L.b.reg();
      L.b.emit({ op: "load", size: chunk as AccessSize, dst: v, base: s.from, offset: at });
      L.b.emit({ op: "store", size: chunk as AccessSize, base: p, offset: off + at, value: reg(v) });
      at += chunk;
    }
  });
  L.b.emit({ op: "call", helper: H.ringbuf_submit, args: [reg(p), imm(0)] });
  L.b.jumpTo(done);
  L.b.setBlock(done);
  return NOTHING;
}

/** The `tsbpf/kernel` functions that format a log argument (meaningful only inside a log template). */
export const LOG_WRAPPERS: ReadonlySet<string> = new Set(["hex", "ipv4", "ipv6", "mac"]);

/** One template argument: folded text for a constant, else what to store. */
function argument(L: Lowerer, x: ts.Expression): string | Stored {
  let inner = x;
  while (ts.isParenthesizedExpression(inner) || ts.isAsExpression(inner) || ts.isNonNullExpression(inner)) inner = inner.expression;
  if (ts.isCallExpression(inner) && ts.isIdentifier(inner.expression)) {
    const lib = L.m.consts.libraryName(inner.expression);
    if (lib && LOG_WRAPPERS.has(lib)) {
      const a = inner.arguments[0];
      if (!a || inner.arguments.length !== 1) return L.report(inner, D.LogArgument, `${lib}() takes one argument`);
      return wrapped(L, lib, a);
    }
  }
  const v = L.expr(x);
  if (v.ty.k === "str") return v.ty.value;
  if (v.ty.k === "mem") {
    if (isByteString(v.ty.layout)) return { kind: { k: "str", size: v.ty.layout.size }, from: L.b.toReg(v.op), align: v.ty.layout.align };
    return L.report(x, D.LogArgument, `log cannot format ${showTy(v.ty)}: log its fields, or wrap bytes in hex(...), ipv4(...), ipv6(...) or mac(...)`);
  }
  if (v.ty.k === "kptr") return L.report(x, D.LogArgument, `log cannot read kernel memory (${showTy(v.ty)}): log an integer field, or copy a string first (bpf.probeReadKernelStr into a bytes(n) buffer)`);
  const s = L.value(v, x);
  if (s.ty.k === "lit") return String((s.op as { imm: bigint }).imm);
  if (s.ty.k === "bool") return { kind: { k: "bool" }, scalar: s.op };
  if (s.ty.k === "int") return { kind: { k: "int", size: (s.ty.bits / 8) as 1 | 2 | 4 | 8, signed: s.ty.signed }, scalar: L.operandOf(s, x) };
  return L.report(x, D.LogArgument, `log cannot format ${showTy(s.ty)} (integers, booleans, byte strings, and hex/ipv4/ipv6/mac of integers or bytes)`);
}

/** `hex(x)`, `ipv4(x)`, `ipv6(x)`, `mac(x)`. */
function wrapped(L: Lowerer, fn: string, a: ts.Expression): string | Stored {
  const want = fn === "ipv4" ? 4 : fn === "ipv6" ? 16 : fn === "mac" ? 6 : undefined;
  const v = L.expr(a);
  if (v.ty.k === "mem") {
    const size = v.ty.layout.size;
    if (want !== undefined && size !== want) return L.report(a, D.LogArgument, `${fn}() needs ${want} bytes, got ${showTy(v.ty)}`);
    const kind: LogArgKind = fn === "hex" ? { k: "hexbytes", size } : { k: fn as "ipv4" | "ipv6" | "mac" };
    return { kind, from: L.b.toReg(v.op), align: v.ty.layout.align };
  }
  if (fn === "ipv6" || fn === "mac") return L.report(a, D.LogArgument, `${fn}() takes ${want} bytes in memory (e.g. a bytes(${want}) field or array(u8, ${want})), got ${showTy(v.ty)}`);
  const s = L.value(v, a);
  if (s.ty.k === "lit") {
    const n = (s.op as { imm: bigint }).imm;
    if (fn === "hex") return BigInt.asUintN(64, n).toString(16);
    return L.report(a, D.LogArgument, "ipv4() of a constant: write the address in the text");
  }
  if (s.ty.k !== "int") return L.report(a, D.LogArgument, `${fn}() needs an integer${fn === "ipv4" ? " (a u32 in network byte order) or 4 bytes" : " or bytes"}, got ${showTy(s.ty)}`);
  if (fn === "ipv4" && s.ty.bits !== 32) return L.report(a, D.LogArgument, `ipv4() needs a u32 in network byte order, got ${showTy(s.ty)}`);
  if (fn === "ipv4") return { kind: { k: "ipv4" }, scalar: L.operandOf(s, a) };
  return { kind: { k: "hex", size: (s.ty.bits / 8) as 1 | 2 | 4 | 8 }, scalar: L.operandOf(s, a) };
}

/** bytes(n), cstring(n), or an array of 8-bit integers. */
function isByteString(l: AnyLayout): boolean {
  const k = (l as { kind: string }).kind;
  if (k === "bytes" || k === "cstring") return true;
  if (k === "array") {
    const el = (l as unknown as { element: AnyLayout }).element;
    return el.size === 1 && ((el as { kind: string }).kind === "u8" || (el as { kind: string }).kind === "i8" || (el as { kind: string }).kind === "char");
  }
  return false;
}
