// Test support for the compiler's kernel suites: compile TypeScript kernel programs (from disk or from
// a string) and load them, plus a JS reference model of the documented integer semantics (C promotion).

import { resolve } from "node:path";
import { compile, formatDiagnostic, type CompileOptions, type CompileResult } from "../../src/compiler/index.js";
import { loadCollection, readCollectionSpec } from "../../src/index.js";
import type { CompiledModule } from "../../src/compiler/module.js";
import type { Collection } from "../../src/runtime/collection.js";
import { REPO_ROOT } from "./toolchain.js";

/** Where the TypeScript semantic fixtures live. */
export const TS_FIXTURES = resolve(REPO_ROOT, "test", "fixtures", "ts", "semantics");

let counter = 0;

/** Compiles a `*.bpf.ts` file (or `source` given for a virtual path); throws with every diagnostic. */
export function compileTs(path: string, source?: string, opts: Omit<CompileOptions, "sources"> = {}): Uint8Array {
  const abs = resolve(path);
  const r = compile(abs, { ...opts, ...(source !== undefined ? { sources: new Map([[abs, source]]) } : {}) });
  if (!r.object) throw new Error(`compile ${path}:\n${r.diagnostics.map(formatDiagnostic).join("\n")}`);
  return r.object;
}

/** A fresh virtual path next to the fixtures (so relative imports of fixtures resolve); `tag` names it. */
export function virtualPath(tag = "virtual"): string {
  return resolve(TS_FIXTURES, `${tag}-${process.pid}-${counter++}.bpf.ts`);
}

/** Compiles a kernel program given as text as a virtual file next to the fixtures; returns the whole result. */
export function compileVirtual(source: string, opts: Omit<CompileOptions, "sources"> = {}, tag?: string): CompileResult {
  const path = virtualPath(tag);
  return compile(path, { ...opts, sources: new Map([[path, source]]) });
}

/** Compiles a kernel program given as text (a virtual file next to the fixtures). */
export function compileSource(source: string, opts: Omit<CompileOptions, "sources"> = {}): Uint8Array {
  return compileTs(virtualPath(), source, opts);
}

/** The global data sections (".data", ".bss", ".rodata"...) of a module with their initial bytes. */
export function globalSections(module: CompiledModule): Record<string, Uint8Array> {
  const sections: Record<string, Uint8Array> = {};
  for (const g of module.globals) {
    const cur = sections[g.section];
    const next = new Uint8Array(Math.max(cur?.length ?? 0, g.offset + g.size));
    if (cur) next.set(cur);
    if (g.init) next.set(g.init, g.offset);
    sections[g.section] = next;
  }
  return sections;
}

/** Compiles and loads a kernel program given as text. */
export function loadSource(source: string, opts: Omit<CompileOptions, "sources"> = {}): Collection {
  return loadCollection(readCollectionSpec(compileSource(source, opts)));
}

/** Compiles and loads a fixture file under test/fixtures/ts/semantics. */
export function loadFixture(name: string, opts: Omit<CompileOptions, "sources"> = {}): Collection {
  return loadCollection(readCollectionSpec(compileTs(resolve(TS_FIXTURES, name), undefined, opts)));
}

/** Reads entry `index` of an array map whose values are u64s (or an array of u64s) as bigints. */
export function readU64s(coll: Collection, map: string, index = 0): bigint[] {
  const key = new Uint8Array(4);
  new DataView(key.buffer).setUint32(0, index, true);
  const raw = coll.map(map).getRaw(key);
  if (!raw) throw new Error(`map ${map}: no entry ${index}`);
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out: bigint[] = [];
  for (let i = 0; i + 8 <= raw.byteLength; i += 8) out.push(dv.getBigUint64(i, true));
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Reference model of the integer semantics (docs/language.md): 8–32-bit values are computed in 32
// bits after C's integer promotions, 64-bit in 64 bits; the usual arithmetic conversions pick the type
// of a binary operation; every result wraps (two's complement). BPF's division rules: x / 0 == 0,
// x % 0 == x, MIN / -1 == MIN.

/** An integer type. */
export interface IntType {
  readonly name: "u8" | "u16" | "u32" | "u64" | "i8" | "i16" | "i32" | "i64";
  readonly bits: 8 | 16 | 32 | 64;
  readonly signed: boolean;
}

const T = (name: IntType["name"], bits: IntType["bits"], signed: boolean): IntType => ({ name, bits, signed });
/** Every integer type. */
export const INT_TYPES: readonly IntType[] = [
  T("u8", 8, false), T("u16", 16, false), T("u32", 32, false), T("u64", 64, false),
  T("i8", 8, true), T("i16", 16, true), T("i32", 32, true), T("i64", 64, true),
];
/** The type named `name`. */
export function intType(name: IntType["name"]): IntType {
  return INT_TYPES.find((t) => t.name === name)!;
}
const I32 = intType("i32");

/** Wraps `v` into `t`'s range. */
export function wrap(v: bigint, t: IntType): bigint {
  return t.signed ? BigInt.asIntN(t.bits, v) : BigInt.asUintN(t.bits, v);
}
/** Integer promotion: types narrower than 32 bits become i32. */
export function promote(t: IntType): IntType {
  return t.bits < 32 ? I32 : t;
}
/** The usual arithmetic conversions. */
export function arithType(a: IntType, b: IntType): IntType {
  const pa = promote(a), pb = promote(b);
  if (pa.bits !== pb.bits) return pa.bits > pb.bits ? pa : pb;
  return pa.signed && pb.signed ? pa : INT_TYPES.find((t) => t.bits === pa.bits && !t.signed)!;
}

/** Binary operators of the language. */
export type BinOp = "+" | "-" | "*" | "/" | "%" | "&" | "|" | "^" | "<<" | ">>" | ">>>";
/** Comparison operators. */
export type CmpOp = "<" | "<=" | ">" | ">=" | "===" | "!==";

/** Result type and value of `a op b` (a of type ta, b of type tb), per the reference semantics. */
export function binop(op: BinOp, a: bigint, ta: IntType, b: bigint, tb: IntType): { type: IntType; value: bigint } {
  const shift = op === "<<" || op === ">>" || op === ">>>";
  // A shift has the promoted left operand's type; `>>>` is logical with an unsigned result.
  const pt = promote(ta);
  const t = !shift ? arithType(ta, tb) : op === ">>>" ? INT_TYPES.find((u) => u.bits === pt.bits && !u.signed)! : pt;
  const x = wrap(a, t);
  const y = shift ? b : wrap(b, t);
  const bits = BigInt(t.bits);
  let v: bigint;
  switch (op) {
    case "+": v = x + y; break;
    case "-": v = x - y; break;
    case "*": v = x * y; break;
    case "/": v = y === 0n ? 0n : x / y; break;
    case "%": v = y === 0n ? x : x % y; break;
    case "&": v = x & y; break;
    case "|": v = x | y; break;
    case "^": v = x ^ y; break;
    case "<<": v = x << y; break;
    case ">>": v = x >> y; break; // x is signed or unsigned per t: arithmetic or logical
    case ">>>": v = BigInt.asUintN(t.bits, x) >> y; break;
  }
  void bits;
  return { type: t, value: wrap(v, t) };
}

/** `a op b` for comparisons (after the usual arithmetic conversions). */
export function compare(op: CmpOp, a: bigint, ta: IntType, b: bigint, tb: IntType): boolean {
  const t = arithType(ta, tb);
  const x = wrap(a, t), y = wrap(b, t);
  switch (op) {
    case "<": return x < y;
    case "<=": return x <= y;
    case ">": return x > y;
    case ">=": return x >= y;
    case "===": return x === y;
    case "!==": return x !== y;
  }
}

/** A value converted to u64 as C's `(u64)v` does (sign extension of signed values). */
export function toU64(v: bigint): bigint {
  return BigInt.asUintN(64, v);
}

/** Edge-case values of a type: zero, ±1, extremes and their neighbours, powers of two. */
export function edgeValues(t: IntType): bigint[] {
  const min = t.signed ? -(1n << BigInt(t.bits - 1)) : 0n;
  const max = t.signed ? (1n << BigInt(t.bits - 1)) - 1n : (1n << BigInt(t.bits)) - 1n;
  const vs = [0n, 1n, 2n, 3n, 7n, -1n, -2n, -7n, min, min + 1n, max, max - 1n, 1n << BigInt(t.bits - 2), 100n, -100n];
  if (t.bits > 8) vs.push(255n, 256n, -129n, 128n);
  if (t.bits > 16) vs.push(65535n, 65536n, 0x12345678n, -0x12345678n);
  if (t.bits > 32) vs.push(0xffffffffn, 0x100000000n, -0x100000000n, 0x123456789abcdef0n, 0x80000000n);
  return [...new Set(vs.map((v) => wrap(v, t)))];
}

/** A deterministic pseudo-random generator (xorshift32) for generated inputs. */
export function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s;
  };
}

/** A random value of type `t`. */
export function randomValue(t: IntType, next: () => number): bigint {
  const raw = (BigInt(next()) << 32n) | BigInt(next());
  return wrap(raw, t);
}

// ---------------------------------------------------------------------------------------------------
// Equivalent C / TypeScript program pairs (test/fixtures/c/compiler + test/fixtures/ts/semantics),
// shared by the differential tests and bench/compiler.ts.

/** A pair of equivalent programs and a generator of inputs for them. */
export interface ProgramPair {
  readonly name: string;
  /** Program name in both objects. */
  readonly program: string;
  /** Base name of `<name>.bpf.ts` and `<name>.bpf.c`. */
  readonly file: string;
  readonly cpu: "v3" | "v4";
  /** `count` generated packets (deterministic for a seed). */
  packets(count: number, seed?: number): Uint8Array[];
}

/** The C twin's path. */
export function cTwinPath(file: string): string {
  return resolve(REPO_ROOT, "test", "fixtures", "c", "compiler", `${file}.bpf.c`);
}

function parserPackets(count: number, seed = 1): Uint8Array[] {
  const next = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[next() % xs.length]!;
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const b = new Uint8Array(pick([64, 64, 64, 128, 14, 20, 34, 36, 40, 54]));
    const dv = new DataView(b.buffer);
    for (let j = 0; j < b.length; j++) b[j] = next() & 0xff;
    if (b.length >= 14) dv.setUint16(12, pick([0x0800, 0x0800, 0x0800, 0x86dd, 0x0806]));
    if (b.length >= 34) {
      b[14] = pick([0x45, 0x45, 0x45, 0x46, 0x4f, 0x44, 0x35]);
      b[23] = pick([6, 17, 6, 17, 1, 47, next() & 0xff]);
      dv.setUint16(16, next() % 1500);
    }
    const ihl = ((b[14] ?? 0) & 0xf) * 4;
    if (b.length >= 14 + ihl + 4) dv.setUint16(14 + ihl + 2, pick([23, 80, 443, 53, 8080, next() & 0xffff]));
    out.push(b);
  }
  return out;
}

function arithPackets(count: number, seed = 2): Uint8Array[] {
  const next = prng(seed);
  const out: Uint8Array[] = [];
  const edges = [0, 1, -1, 2, -2, 3, 7, -7, 0x7fffffff, -0x80000000, 100, -100];
  for (let i = 0; i < count; i++) {
    const b = new Uint8Array(64);
    const dv = new DataView(b.buffer);
    for (let j = 0; j < 8; j++) dv.setUint32(4 * j, i % 4 === 0 ? edges[next() % edges.length]! >>> 0 : next(), true);
    dv.setInt32(32, i % 2 ? edges[next() % edges.length]! : next() | 0, true);
    dv.setInt32(36, i % 3 ? edges[next() % edges.length]! : next() | 0, true);
    dv.setBigUint64(40, (BigInt(next()) << 32n) | BigInt(next()), true);
    out.push(b);
  }
  return out;
}

function mapPackets(count: number, seed = 3): Uint8Array[] {
  const next = prng(seed);
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const b = new Uint8Array(64);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, 1 + (next() % 20), true);
    dv.setUint32(4, 0x0a000001 + (next() % 3), true);
    dv.setUint16(8, 1000 + (next() % 4), true);
    dv.setUint16(10, [80, 443][next() % 2]!, true);
    b[12] = [6, 17][next() % 2]!;
    for (const j of [13, 14, 15]) b[j] = next() & 0xff; // padding of the key: must not matter
    b[16] = [0, 0, 0, 1, 2, 4][next() % 6]!;
    dv.setUint32(20, next() % 2000, true);
    out.push(b);
  }
  return out;
}

/** The program pairs: packet parser/counter, arithmetic-heavy, map-heavy. */
export const PROGRAM_PAIRS: readonly ProgramPair[] = [
  { name: "packet parser/counter (XDP)", program: "parser", file: "diff_parser", cpu: "v3", packets: parserPackets },
  { name: "arithmetic-heavy (XDP)", program: "arith", file: "diff_arith", cpu: "v3", packets: arithPackets },
  { name: "map-heavy flow table (XDP)", program: "flowtab", file: "diff_maps", cpu: "v3", packets: mapPackets },
];

/** Every entry of every map of a collection as `name key=value` lines (per-CPU values summed), sorted. */
export function dumpMaps(coll: Collection): string[] {
  const lines: string[] = [];
  const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
  for (const [name, m] of coll.maps) {
    const type = m.spec.type as string;
    if (type === "RINGBUF" || type === "QUEUE" || type === "STACK" || name.startsWith(".")) continue;
    for (const [k, v] of m.entriesRaw()) {
      if (type.startsWith("PERCPU") || type.startsWith("LRU_PERCPU")) {
        const size = m.spec.valueSize;
        const stride = (size + 7) & ~7;
        const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
        let sum = 0n;
        for (let off = 0; off + 8 <= v.byteLength; off += stride) sum += dv.getBigUint64(off, true);
        lines.push(`${name} ${hex(k)}=${sum}`);
      } else lines.push(`${name} ${hex(k)}=${hex(v)}`);
    }
  }
  return lines.sort();
}
