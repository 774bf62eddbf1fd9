// Random kernel programs for the compiler's differential harness (test/kernel/compiler-random.test.ts),
// and an independent JavaScript model of the documented semantics (docs/language.md) that evaluates
// each generated program from its description, never from the compiler's folder or IR.
//
// A generated program is one module holding many small XDP programs ("cases"), one per case so each
// has its own 512-byte stack and a failure names its case. Every case reads its inputs from the array
// map `inp` (u64 words), computes, and writes every observable result as u64s into its entry of `out`;
// map values it changes are compared byte for byte with the model. Cases cover:
//   - expressions with side effects inside them (`++`/`--`, assignments, compound assignments, calls of
//     user functions that change globals and take side-effecting arguments) over locals, globals,
//     struct fields and array elements on the stack and in a map value (R1: strict left-to-right);
//   - literals of every magnitude next to every width, literal-only subexpressions, shifts with
//     literal counts, typed declarations (R2), `?:` mixing literals and narrow conversions (R3), `>>>` (R5);
//   - locals copied from a live map reference and changed afterwards (R4);
//   - nested struct literals, struct copies at 4-byte offsets between the stack and a map value, and
//     several 104-byte structs from nested literals in one program (stack use).
// A case the model says must be rejected (a literal out of range for the type it takes) goes into a
// separate module and must yield TSBPF1103 on its lines.

import { Rng } from "./codegen-random.js";
import { arithType, binop, compare, INT_TYPES, intType, promote, wrap, type BinOp, type CmpOp, type IntType } from "./compile-ts.js";
import * as L from "../../src/types/index.js";
import type { AnyLayout } from "../../src/types/index.js";

export { Rng };

// ---------------------------------------------------------------------------------------------------
// Description of programs

type Kind = "num" | "big";
const kindOf = (t: IntType): Kind => (t.bits === 64 ? "big" : "num");
const NUM_TYPES = INT_TYPES.filter((t) => t.bits < 64);
const BIG_TYPES = INT_TYPES.filter((t) => t.bits === 64);
const typesOf = (k: Kind): IntType[] => (k === "num" ? NUM_TYPES : BIG_TYPES);
const U32 = intType("u32"), I32 = intType("i32"), U64 = intType("u64"), I64 = intType("i64");

/** Where a scalar lives: `ref` cells are the live map reference `v` (storage: the map's value). */
interface Cell {
  readonly name: string; // its TypeScript access path
  readonly type: IntType;
  readonly where: "local" | "global" | "stack" | "map" | "ref" | "param";
}

type Expr =
  | { k: "cell"; cell: Cell }
  | { k: "lit"; v: bigint; big: boolean; hex: boolean }
  | { k: "conv"; to: IntType; e: Expr }
  | { k: "bin"; op: BinOp; l: Expr; r: Expr }
  | { k: "un"; op: "-" | "~"; e: Expr }
  | { k: "cmp"; op: CmpOp; l: Expr; r: Expr }
  | { k: "cond"; c: Expr; a: Expr; b: Expr }
  | { k: "assign"; cell: Cell; op: BinOp | "="; e: Expr }
  | { k: "incdec"; cell: Cell; pre: boolean; delta: 1n | -1n }
  | { k: "call"; fn: Fn; args: Expr[] };

type Stmt =
  | { k: "out"; slot: number; e: Expr } // r.v[slot] = u64(e)
  | { k: "expr"; e: Expr } // e;
  | { k: "decl"; cell: Cell; e: Expr; annotate: boolean } // let name[: T] = e;
  | { k: "update"; map: string; idx: number; type: IntType; e: Expr } // r64.update(idx, e) (changes the ref's storage)
  | { k: "increment"; map: string; idx: number; type: IntType; e: Expr };

interface Fn {
  readonly name: string;
  readonly params: Cell[];
  readonly ret: IntType;
  readonly body: Stmt[];
  readonly result: Expr;
}

/** A value of the struct part: leaves are bigints. */
type SVal = { [k: string]: SVal | bigint };
interface SLayoutDesc {
  readonly name: string;
  readonly fields: [string, IntType | SLayoutDesc][];
}

/** One XDP program of a generated module. */
export interface Case {
  readonly name: string;
  readonly idx: number;
  /** Source lines (without the export wrapper). */
  readonly lines: string[];
  /** Expected results for an input vector, or the reason the case must be rejected. */
  readonly reject: string | undefined;
  readonly model: (inputs: bigint[]) => Expected;
  /** What the case exercises (for messages). */
  readonly what: string;
}

/** The model's outcome of a case for one input vector. */
export interface Expected {
  /** out.v[0..n). */
  readonly out: bigint[];
  /** Expected bytes of map values (at `offset` in the value: only what the case wrote). */
  readonly maps: { map: string; key: number; offset?: number; bytes: Uint8Array }[];
}

/** A generated module. */
export interface GeneratedProgram {
  readonly seed: number;
  readonly prelude: string[];
  readonly cases: Case[];
  /** Input vectors (each INPUT_WORDS u64s). */
  readonly inputs: bigint[][];
  /** Map names and their value layouts (sizes for the IR evaluator and the kernel readback). */
  readonly maps: { name: string; valueSize: number; maxEntries: number }[];
}

export const INPUT_WORDS = 96;
export const OUT_WORDS = 48;

// ---------------------------------------------------------------------------------------------------
// The model: static typing (R2, R3, R5) and left-to-right evaluation (R1, R4)

/** A literal (or literal-only subexpression) that has not taken a type yet. */
type Typed = { t: IntType } | { lit: bigint; big: boolean } | { bool: true };

class Reject extends Error {}

const range = (t: IntType): [bigint, bigint] =>
  t.signed ? [-(1n << BigInt(t.bits - 1)), (1n << BigInt(t.bits - 1)) - 1n] : [0n, (1n << BigInt(t.bits)) - 1n];
const fits = (v: bigint, t: IntType): boolean => {
  const [lo, hi] = range(t);
  return v >= lo && v <= hi;
};

function mustFit(v: bigint, t: IntType, what: string): void {
  if (!fits(v, t)) throw new Reject(`literal ${v} does not fit ${t.name} (${what})`);
}

/** The type a context-free literal takes: the first of i32, u32 (or i64, u64) that holds it. */
function freeLitType(v: bigint, big: boolean): IntType {
  const cands = big ? [I64, U64] : [I32, U32];
  const t = cands.find((c) => fits(v, c));
  if (!t) throw new Reject(`literal ${v} fits neither ${cands[0]!.name} nor ${cands[1]!.name}`);
  return t;
}

const isShift = (op: BinOp): boolean => op === "<<" || op === ">>" || op === ">>>";

/** Folds literal-only operations exactly (JavaScript int32 semantics for << and >>> on numbers). */
function foldLit(op: BinOp, a: bigint, b: bigint, big: boolean): bigint {
  switch (op) {
    case "+": return a + b;
    case "-": return a - b;
    case "*": return a * b;
    case "/": return a / b;
    case "%": return a % b;
    case "&": return a & b;
    case "|": return a | b;
    case "^": return a ^ b;
    case ">>": return a >> b;
    case "<<": return big ? a << b : BigInt(Number(BigInt.asIntN(32, a)) << Number(b & 31n));
    case ">>>": return BigInt(Number(BigInt.asUintN(32, a)) >>> Number(b & 31n));
    default: throw new Error(`no literal fold for ${op}`);
  }
}

/** Static typing of an expression; throws Reject for what must be TSBPF1103. */
function typeOf(e: Expr): Typed {
  switch (e.k) {
    case "cell": return { t: e.cell.type };
    case "lit": return { lit: e.v, big: e.big };
    case "conv": typeOf(e.e); return { t: e.to };
    case "un": {
      const x = typeOf(e.e);
      if ("lit" in x) throw new Error("generator: unary operator on a literal");
      if ("bool" in x) throw new Error("generator: unary on bool");
      return { t: promote(x.t) };
    }
    case "bin": {
      const l = typeOf(e.l), r = typeOf(e.r);
      if ("bool" in l || "bool" in r) throw new Error("generator: bool operand");
      if ("lit" in l && "lit" in r) return { lit: foldLit(e.op, l.lit, r.lit, l.big), big: l.big };
      if (isShift(e.op)) {
        const lt = "lit" in l ? freeLitType(l.lit, l.big) : l.t;
        const T = promote(lt);
        if ("lit" in r && (r.lit < 0n || r.lit >= BigInt(T.bits))) throw new Reject(`shift count ${r.lit} outside 0..${T.bits - 1}`);
        return { t: e.op === ">>>" ? U32 : T };
      }
      if ("lit" in l) { mustFit(l.lit, promote((r as { t: IntType }).t), `operand of ${e.op}`); return { t: promote((r as { t: IntType }).t) }; }
      if ("lit" in r) { mustFit(r.lit, promote(l.t), `operand of ${e.op}`); return { t: promote(l.t) }; }
      return { t: arithType(l.t, r.t) };
    }
    case "cmp": {
      const l = typeOf(e.l), r = typeOf(e.r);
      if ("bool" in l || "bool" in r) throw new Error("generator: bool operand");
      if ("lit" in l && "lit" in r) throw new Error("generator: literal comparison");
      if ("lit" in l) mustFit(l.lit, promote((r as { t: IntType }).t), `compared with ${(r as { t: IntType }).t.name}`);
      if ("lit" in r) mustFit(r.lit, promote((l as { t: IntType }).t), `compared with ${(l as { t: IntType }).t.name}`);
      return { bool: true };
    }
    case "cond": {
      typeOf(e.c);
      const a = typeOf(e.a), b = typeOf(e.b);
      if ("bool" in a || "bool" in b) throw new Error("generator: bool branch");
      if ("lit" in a && "lit" in b) throw new Error("generator: two literal branches");
      if ("lit" in a) { const t = promote((b as { t: IntType }).t); mustFit(a.lit, t, "branch of ?:"); return { t }; }
      if ("lit" in b) { const t = promote(a.t); mustFit(b.lit, t, "branch of ?:"); return { t }; }
      return { t: arithType(a.t, b.t) };
    }
    case "assign": {
      const x = typeOf(e.e);
      const T = e.cell.type;
      if ("lit" in x) {
        if (e.op === "=") mustFit(x.lit, T, `assigned to ${T.name}`);
        else if (isShift(e.op)) { if (x.lit < 0n || x.lit >= BigInt(promote(T).bits)) throw new Reject(`shift count ${x.lit}`); }
        else mustFit(x.lit, promote(T), `operand of ${e.op}=`);
      }
      return { t: T };
    }
    case "incdec": return { t: e.cell.type };
    case "call": {
      e.args.forEach((a, i) => {
        const x = typeOf(a);
        if ("lit" in x) mustFit(x.lit, e.fn.params[i]!.type, `argument of ${e.fn.name}`);
      });
      return { t: e.fn.ret };
    }
  }
}

/** The type an expression's value has where it is used as an operand of a typed context. */
function staticType(e: Expr): IntType {
  const x = typeOf(e);
  if ("t" in x) return x.t;
  throw new Error("staticType of a literal or bool");
}

/** Storage of the model: cells by name; `ref` cells live in map storage. */
interface Env {
  readonly cells: Map<string, bigint>;
  readonly maps: Map<string, bigint>; // "r64:3" → value of a scalar map entry
  readonly refs: Map<string, string>; // ref cell name → map key
}

function read(env: Env, c: Cell): bigint {
  if (c.where === "ref") return env.maps.get(env.refs.get(c.name)!)!;
  const v = env.cells.get(c.name);
  if (v === undefined) throw new Error(`model: ${c.name} read before it is set`);
  return v;
}
function write(env: Env, c: Cell, v: bigint): bigint {
  const w = wrap(v, c.type);
  if (c.where === "ref") env.maps.set(env.refs.get(c.name)!, w);
  else env.cells.set(c.name, w);
  return w;
}

/** Applies op at the static type (shift counts are not converted; `>>>` gives u32). */
function apply(op: BinOp, a: bigint, b: bigint, T: IntType): bigint {
  if (op === ">>>") return BigInt.asUintN(32, wrap(a, T)) >> b;
  return binop(op, a, T, b, T).value;
}

/** Evaluates an expression strictly left to right; returns the value (wrapped to its static type). */
function evalExpr(e: Expr, env: Env, globals: Env): bigint {
  switch (e.k) {
    case "cell": return read(e.cell.where === "global" ? globals : env, e.cell);
    case "lit": return e.v;
    case "conv": return wrap(evalExpr(e.e, env, globals), e.to);
    case "un": {
      const T = staticType(e);
      const v = wrap(evalExpr(e.e, env, globals), T);
      return wrap(e.op === "-" ? -v : ~v, T);
    }
    case "bin": {
      const ty = typeOf(e);
      const a = evalExpr(e.l, env, globals);
      const b = evalExpr(e.r, env, globals);
      if ("lit" in ty) return ty.lit;
      const T = ty as { t: IntType };
      if (isShift(e.op)) {
        const lt = promote(staticOrLit(e.l));
        return wrap(apply(e.op, a, b, lt), T.t);
      }
      return apply(e.op, a, b, T.t);
    }
    case "cmp": {
      const l = typeOf(e.l), r = typeOf(e.r);
      const T = "lit" in l ? promote((r as { t: IntType }).t) : "lit" in r ? promote((l as { t: IntType }).t) : arithType((l as { t: IntType }).t, (r as { t: IntType }).t);
      const a = evalExpr(e.l, env, globals);
      const b = evalExpr(e.r, env, globals);
      return compare(e.op, a, T, b, T) ? 1n : 0n;
    }
    case "cond": {
      const T = staticType(e);
      const c = evalExpr(e.c, env, globals);
      return wrap(evalExpr(c !== 0n ? e.a : e.b, env, globals), T);
    }
    case "assign": {
      const tgt = e.cell.where === "global" ? globals : env;
      if (e.op === "=") return write(tgt, e.cell, evalExpr(e.e, env, globals));
      const old = read(tgt, e.cell); // compound assignment reads its target first
      const v = evalExpr(e.e, env, globals);
      const x = typeOf(e.e);
      const T = isShift(e.op) ? promote(e.cell.type) : "lit" in x ? promote(e.cell.type) : arithType(e.cell.type, (x as { t: IntType }).t);
      return write(tgt, e.cell, apply(e.op, old, v, T));
    }
    case "incdec": {
      const tgt = e.cell.where === "global" ? globals : env;
      const old = read(tgt, e.cell);
      const nv = write(tgt, e.cell, old + e.delta);
      return e.pre ? nv : old;
    }
    case "call": {
      const vals = e.args.map((a) => evalExpr(a, env, globals));
      const local: Env = { cells: new Map(), maps: env.maps, refs: env.refs };
      e.fn.params.forEach((p, i) => local.cells.set(p.name, wrap(vals[i]!, p.type)));
      for (const s of e.fn.body) execStmt(s, local, globals, []);
      return wrap(evalExpr(e.fn.result, local, globals), e.fn.ret);
    }
  }
}

function staticOrLit(e: Expr): IntType {
  const x = typeOf(e);
  if ("lit" in x) return freeLitType(x.lit, x.big);
  if ("bool" in x) throw new Error("bool");
  return x.t;
}

function execStmt(s: Stmt, env: Env, globals: Env, out: bigint[]): void {
  switch (s.k) {
    case "out": out[s.slot] = wrap(evalExpr(s.e, env, globals), U64); return;
    case "expr": evalExpr(s.e, env, globals); return;
    case "decl": write(env, s.cell, evalExpr(s.e, env, globals)); return;
    case "update": env.maps.set(`${s.map}:${s.idx}`, wrap(evalExpr(s.e, env, globals), s.type)); return;
    case "increment": {
      const k = `${s.map}:${s.idx}`;
      const by = evalExpr(s.e, env, globals);
      env.maps.set(k, wrap(env.maps.get(k)! + by, s.type));
      return;
    }
  }
}

/** Statically checks a statement (throws Reject). */
function checkStmt(s: Stmt): void {
  switch (s.k) {
    case "out": case "expr": typeOf(s.e); return;
    case "decl": {
      const x = typeOf(s.e);
      if ("lit" in x) mustFit(x.lit, s.cell.type, `initialiser of ${s.cell.type.name}`);
      return;
    }
    case "update": case "increment": {
      const x = typeOf(s.e);
      if ("lit" in x) mustFit(x.lit, s.type, `value of ${s.map}`);
      return;
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Printing

function litText(v: bigint, big: boolean, hex: boolean): string {
  const mag = v < 0n ? -v : v;
  const body = (hex ? `0x${mag.toString(16)}` : mag.toString()) + (big ? "n" : "");
  return v < 0n ? `(-${body})` : body;
}

function print(e: Expr): string {
  switch (e.k) {
    case "cell": return e.cell.name;
    case "lit": return litText(e.v, e.big, e.hex);
    case "conv": return `${e.to.name}(${print(e.e)})`;
    case "un": return `(${e.op}${print(e.e)})`;
    case "bin": case "cmp": {
      // `a < (b) > (c)` parses as a call with type arguments (an instantiation expression): after a
      // `>`-like operator, a parenthesised operand is printed as `0 + (...)` (same value and type)
      let r = print(e.r);
      if (r.startsWith("(") && e.op.startsWith(">")) r = `${typeOfLoose(e.r) === "big" ? "0n" : "0"} + ${r}`;
      return `(${print(e.l)} ${e.op} ${r})`;
    }
    case "cond": return `(${print(e.c)} ? ${print(e.a)} : ${print(e.b)})`;
    case "assign": return `(${e.cell.name} ${e.op === "=" ? "=" : `${e.op}=`} ${print(e.e)})`;
    case "incdec": {
      const o = e.delta === 1n ? "++" : "--";
      return e.pre ? `(${o}${e.cell.name})` : `(${e.cell.name}${o})`;
    }
    case "call": return `${e.fn.name}(${e.args.map(print).join(", ")})`;
  }
}

function printStmt(s: Stmt): string {
  switch (s.k) {
    case "out": return `r.v[${s.slot}] = u64(${print(s.e)});`;
    case "expr": return `${print(s.e)};`;
    case "decl": return `let ${s.cell.name}${s.annotate ? `: ${s.cell.type.name}` : ""} = ${print(s.e)};`;
    case "update": return `${s.map}.update(${s.idx}, ${print(s.e)});`;
    case "increment": return `${s.map}.increment(${s.idx}, ${print(s.e)});`;
  }
}

// ---------------------------------------------------------------------------------------------------
// Generation

/** Literal magnitudes next to every width (signed and unsigned edges, their neighbours). */
function randomLiteral(rng: Rng, kind: Kind, small: boolean): Expr {
  const big = kind === "big";
  let v: bigint;
  if (small || rng.chance(0.45)) v = BigInt(rng.int(20)) - (rng.chance(0.2) ? 8n : 0n);
  else {
    const edges = [127n, 128n, -128n, -129n, 255n, 256n, 32767n, 32768n, -32768n, -32769n, 65535n, 65536n,
      0x7fffffffn, 0x80000000n, -0x80000000n, -0x80000001n, 0xffffffffn, 0x100000000n, -1n, 182n, 300n, 1000n];
    const bigEdges = [0x7fffffffffffffffn, 0x8000000000000000n, -0x8000000000000000n, -0x8000000000000001n, 0xffffffffffffffffn, 0x10000000000000000n, 0x123456789abcdefn];
    v = rng.pick(big && rng.chance(0.4) ? bigEdges : edges);
    if (!big && rng.chance(0.05)) v = 2n ** 53n - 1n;
  }
  return { k: "lit", v, big, hex: rng.chance(0.3) && v > 0n };
}

interface GenCtx {
  rng: Rng;
  /** Cells read so far in the current statement (side effects prefer them: R1). */
  used?: Cell[];
  cells: Cell[]; // readable/writable cells
  fns: Fn[]; // callable user functions
  depth: number;
}

const cellsOf = (g: GenCtx, k: Kind): Cell[] => g.cells.filter((c) => kindOf(c.type) === k);

/** Features left out of generation (GenOptions.avoid), to narrow a failure down to a feature. */
let AVOID: ReadonlySet<Feature> = new Set();

function genExpr(g: GenCtx, kind: Kind, depth: number): Expr {
  const { rng } = g;
  const cs = cellsOf(g, kind);
  const leaf = (): Expr => {
    if (!cs.length || !rng.chance(0.7)) return randomLiteral(rng, kind, false);
    const cell = rng.pick(cs);
    (g.used ??= []).push(cell);
    return { k: "cell", cell };
  };
  // R4: a live map reference takes only another reference, so it is never the target of a write (that
  // is a compile error, checked in test/unit/compiler-typing-rules.test.ts).
  const writable = cs.filter((c) => c.where !== "ref");
  const target = (): Cell => {
    const seen = (g.used ?? []).filter((c) => writable.includes(c));
    return seen.length && rng.chance(0.7) ? rng.pick(seen) : rng.pick(writable);
  };
  if (depth <= 0) return leaf();
  const r = rng.next();
  if (r < 0.2) return leaf();
  if (r < 0.38) {
    const ops: BinOp[] = ["+", "-", "*", "/", "%", "&", "|", "^"];
    const l = genExpr(g, kind, depth - 1), r = genExpr(g, kind, depth - 1);
    let op = rng.pick(ops);
    // literal-only division: only of non-negative values by a non-zero one (the rounding is then unambiguous)
    if ((op === "/" || op === "%") && literalOnly(l) && literalOnly(r)) {
      const a = litValue(l), b = litValue(r);
      if (a < 0n || b <= 0n) op = "+";
    }
    return { k: "bin", op, l, r };
  }
  if (r < 0.46) {
    // shifts: literal count (maybe out of range), masked variable count, or a literal shifted by a variable
    const ops: BinOp[] = kind === "num" && !AVOID.has("ushr") ? ["<<", ">>", ">>>"] : ["<<", ">>"];
    const op = rng.pick(ops);
    const w = kind === "num" ? 32 : 64;
    const lit = (v: number): Expr => ({ k: "lit", v: BigInt(v), big: kind === "big", hex: false });
    const s = rng.next();
    if (s < 0.4) {
      const l = genExpr(g, kind, depth - 1);
      return { k: "bin", op, l, r: lit(rng.chance(0.85) || literalOnly(l) ? rng.int(w === 64 && literalOnly(l) ? 31 : w) : rng.pick([w, w + 1, -1, 40])) };
    }
    const count: Expr = { k: "bin", op: "&", l: genExpr(g, kind, depth - 1), r: lit(w - 1) };
    if (s < 0.75 || count.l.k === "lit") return { k: "bin", op, l: genExpr(g, kind, depth - 1), r: count.l.k === "lit" ? lit(rng.int(w)) : count };
    return { k: "bin", op, l: randomLiteral(rng, kind, rng.chance(0.5)), r: count };
  }
  if (r < 0.5) {
    // a literal-only subexpression, folded exactly
    const op = rng.pick<BinOp>(kind === "num" ? ["+", "-", "*", "&", "|", "^", ">>", "<<", ">>>"] : ["+", "-", "*", "&", "|", "^", ">>", "<<"]);
    const a = randomLiteral(rng, kind, rng.chance(0.5));
    const b: Expr = isShift(op) ? { k: "lit", v: BigInt(rng.int(31)), big: kind === "big", hex: false } : randomLiteral(rng, kind, true);
    return { k: "bin", op, l: a, r: b };
  }
  if (r < 0.57) {
    const to = rng.pick(typesOf(kind));
    const from: Kind = rng.chance(0.2) ? (kind === "num" ? "big" : "num") : kind;
    return { k: "conv", to, e: genExpr(g, from, depth - 1) };
  }
  if (r < 0.6) {
    const e = genExpr(g, kind, depth - 1);
    if (e.k === "lit" || literalOnly(e)) return e;
    return { k: "un", op: rng.pick(["-", "~"] as const), e };
  }
  if (r < 0.68 && !AVOID.has("cond")) {
    // ?: mixing literals and narrow conversions
    const c = rng.chance(0.7) || !cellsOf(g, "num").length ? genCmp(g, depth - 1) : ({ k: "cell", cell: rng.pick(cellsOf(g, "num")) } as Expr);
    const conv: Expr = { k: "conv", to: rng.pick(typesOf(kind)), e: genExpr(g, kind, depth - 1) };
    const other = rng.chance(0.6) ? randomLiteral(rng, kind, false) : genExpr(g, kind, depth - 1);
    const [a, b] = rng.chance(0.5) ? [other, conv] : [conv, other];
    if (a.k === "lit" && b.k === "lit") return a;
    if (literalOnly(a) && literalOnly(b)) return conv;
    return { k: "cond", c, a, b };
  }
  if (r < 0.86 && writable.length && !AVOID.has("sidefx")) {
    const cell = target();
    const s = rng.next();
    if (s < 0.4) return { k: "incdec", cell, pre: rng.chance(0.5), delta: rng.chance(0.5) ? 1n : -1n };
    if (s < 0.6) return { k: "assign", cell, op: "=", e: genExpr(g, kind, depth - 1) };
    const ops: BinOp[] = kind === "num" ? ["+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>", ">>>"] : ["+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>"];
    const op = rng.pick(ops);
    if (isShift(op)) {
      const w = promote(cell.type).bits;
      return { k: "assign", cell, op, e: { k: "lit", v: BigInt(rng.chance(0.9) ? rng.int(w) : w), big: kind === "big", hex: false } };
    }
    return { k: "assign", cell, op, e: genExpr(g, kind, depth - 1) };
  }
  const fns = g.fns.filter((f) => kindOf(f.ret) === kind);
  if (fns.length && rng.chance(0.8) && !AVOID.has("sidefx")) {
    const fn = rng.pick(fns);
    return { k: "call", fn, args: fn.params.map((p) => genExpr(g, kindOf(p.type), depth - 1)) };
  }
  return leaf();
}

function litValue(e: Expr): bigint {
  const x = typeOf(e);
  if (!("lit" in x)) throw new Error("litValue of a typed expression");
  return x.lit;
}

function literalOnly(e: Expr): boolean {
  return e.k === "lit" || (e.k === "bin" && literalOnly(e.l) && literalOnly(e.r));
}

/** Whether TypeScript gives the expression a literal type. */
function tsLiteral(e: Expr): boolean {
  if (e.k === "lit") return true;
  if (e.k === "assign" && e.op === "=") return tsLiteral(e.e);
  return false;
}

function genCmp(g: GenCtx, depth: number): Expr {
  const kind: Kind = g.rng.chance(0.75) ? "num" : "big";
  const op = g.rng.pick<CmpOp>(["<", "<=", ">", ">=", "===", "!=="]);
  let l = genExpr(g, kind, depth), r = genExpr(g, kind, depth);
  // TypeScript rejects comparing two literal types that cannot be equal (TS2367): `(x = 8) === 0`
  if (tsLiteral(l) && tsLiteral(r)) r = { k: "conv", to: kind === "num" ? I32 : I64, e: r };
  if (literalOnly(l) && literalOnly(r)) {
    const cs = cellsOf(g, kind);
    l = cs.length ? { k: "cell", cell: g.rng.pick(cs) } : { k: "conv", to: kind === "num" ? I32 : I64, e: l };
  }
  return { k: "cmp", op, l, r };
}

/** A top-level statement using the case's cells. */
function genStmt(g: GenCtx, slot: () => number): Stmt {
  const { rng } = g;
  const kind: Kind = rng.chance(0.7) ? "num" : "big";
  const r = rng.next();
  g.used = [];
  if (r < 0.55) return { k: "out", slot: slot(), e: rng.chance(0.12) ? genCmp(g, 2) : genExpr(g, kind, 3) };
  const cs = cellsOf(g, kind).filter((c) => c.where !== "ref"); // a live reference is never written (R4)
  if (r < 0.85 && cs.length) {
    const cell = rng.pick(cs);
    const s = rng.next();
    if (s < 0.3) return { k: "expr", e: { k: "incdec", cell, pre: rng.chance(0.5), delta: rng.chance(0.5) ? 1n : -1n } };
    const ops: BinOp[] = ["+", "-", "*", "|", "^", "&"];
    return { k: "expr", e: { k: "assign", cell, op: s < 0.6 ? "=" : rng.pick(ops), e: genExpr(g, kind, 3) } };
  }
  const fns = g.fns;
  if (fns.length && rng.chance(0.6)) {
    const fn = rng.pick(fns);
    return { k: "expr", e: { k: "call", fn, args: fn.params.map((p) => genExpr(g, kindOf(p.type), 2)) } };
  }
  return { k: "out", slot: slot(), e: genExpr(g, kind, 3) };
}

// ---------------------------------------------------------------------------------------------------
// Module parts

const S_FIELDS: [string, IntType][] = [
  ["a", intType("u8")], ["b", intType("i8")], ["c", intType("u16")], ["d", intType("i16")],
  ["e", intType("u32")], ["f", intType("i32")], ["g", intType("u64")], ["h", intType("i64")],
];
/** Array members of S: name, element type, length. */
const S_ARRAYS: [string, IntType, number][] = [["k", intType("i16"), 3], ["m", intType("u32"), 2]];
const S_LAYOUT = L.struct({ a: L.u8, b: L.i8, c: L.u16, d: L.i16, e: L.u32, f: L.i32, g: L.u64, h: L.i64, k: L.array(L.i16, 3), m: L.array(L.u32, 2) });

const scalarLayout = (t: IntType): AnyLayout => (L as unknown as Record<string, AnyLayout>)[t.name]!;
const jsVal = (t: IntType, v: bigint): number | bigint => (t.bits === 64 ? v : Number(v));

/** A user function: params and globals only; its body changes globals and maybe its parameters. */
function genFn(rng: Rng, name: string, globals: Cell[]): Fn {
  const params: Cell[] = [];
  const n = 1 + rng.int(3);
  for (let i = 0; i < n; i++) params.push({ name: `${name}_p${i}`, type: rng.pick(INT_TYPES), where: "param" });
  const ret = rng.pick(INT_TYPES);
  const g: GenCtx = { rng, cells: [...params, ...rng.chance(0.8) ? [rng.pick(globals), rng.pick(globals)] : []], fns: [], depth: 2 };
  const body: Stmt[] = [];
  const count = 1 + rng.int(2);
  for (let i = 0; i < count; i++) {
    const s = genStmt(g, () => 0);
    if (s.k === "out") body.push({ k: "expr", e: { k: "assign", cell: rng.pick(g.cells), op: "+", e: s.e } });
    else body.push(s);
  }
  // make every statement well-kinded (the `out` replacement above may mix kinds): retry with a kind match
  for (let i = 0; i < body.length; i++) {
    const s = body[i]!;
    if (s.k === "expr" && s.e.k === "assign" && (s.e.e.k === "cmp" || kindOf(s.e.cell.type) !== exprKind(s.e.e))) {
      body[i] = { k: "expr", e: { k: "incdec", cell: s.e.cell, pre: false, delta: 1n } };
    }
  }
  return { name, params, ret, body, result: genExpr(g, kindOf(ret), 2) };
}

function exprKind(e: Expr): Kind {
  const x = typeOfLoose(e);
  return x;
}
function typeOfLoose(e: Expr): Kind {
  switch (e.k) {
    case "cell": return kindOf(e.cell.type);
    case "lit": return e.big ? "big" : "num";
    case "conv": return kindOf(e.to);
    case "un": return typeOfLoose(e.e);
    case "bin": return typeOfLoose(e.l);
    case "cmp": return "num";
    case "cond": return typeOfLoose(e.a);
    case "assign": case "incdec": return kindOf(e.cell.type);
    case "call": return kindOf(e.fn.ret);
  }
}

function fnSource(f: Fn): string[] {
  return [
    `function ${f.name}(${f.params.map((p) => `${p.name}: ${p.type.name}`).join(", ")}): ${f.ret.name} {`,
    ...f.body.map((s) => `  ${printStmt(s)}`),
    `  return ${print(f.result)};`,
    `}`,
  ];
}

/** Checks a function's statements and result statically (throws Reject). */
function checkFn(f: Fn): void {
  for (const s of f.body) checkStmt(s);
  const x = typeOf(f.result);
  if ("lit" in x) mustFit(x.lit, f.ret, `return of ${f.name}`);
}

interface Inputs {
  next: number;
  take(): number;
}

/** The expression case: locals, globals, stack and map struct fields, maybe a live scalar map reference. */
function exprCase(rng: Rng, idx: number, globals: Cell[], fns: Fn[]): Omit<Case, "name" | "idx"> {
  const inputs: Inputs = { next: 0, take() { return this.next++; } };
  const lines: string[] = [];
  const init: { cell: Cell; input: number }[] = [];
  const cells: Cell[] = [];
  const nLocals = 2 + rng.int(3);
  for (let i = 0; i < nLocals; i++) {
    const t = rng.pick(INT_TYPES);
    const c: Cell = { name: `x${i}`, type: t, where: "local" };
    const j = inputs.take();
    lines.push(`let x${i}: ${t.name} = ${t.name}(i.v[${j}]);`);
    init.push({ cell: c, input: j });
    cells.push(c);
  }
  // every global is set (user functions read and change them); a few are operands of this case
  for (const gc of globals) {
    const j = inputs.take();
    lines.push(`${gc.name} = ${gc.type.name}(i.v[${j}]);`);
    init.push({ cell: gc, input: j });
  }
  for (const gc of rng.chance(0.7) ? pickSome(rng, globals, 2) : []) cells.push(gc);
  const structCells = (base: string, where: "stack" | "map"): Cell[] => {
    const out: Cell[] = [];
    for (const [f, t] of S_FIELDS) out.push({ name: `${base}.${f}`, type: t, where });
    for (const [f, t, n] of S_ARRAYS) for (let k = 0; k < n; k++) out.push({ name: `${base}.${f}[${k}]`, type: t, where });
    return out;
  };
  const useStack = rng.chance(0.4), useMap = rng.chance(0.4);
  if (useStack) lines.push(`const s = S.zero();`);
  if (useMap) lines.push(`const mv = sm.lookup(${idx});`, `if (mv === null) return XdpAction.ABORTED;`);
  const memCells: Cell[] = [];
  if (useStack) memCells.push(...pickSome(rng, structCells("s", "stack"), 1 + rng.int(3)));
  if (useMap) memCells.push(...pickSome(rng, structCells("mv", "map"), 1 + rng.int(3)));
  for (const c of memCells) {
    const j = inputs.take();
    lines.push(`${c.name} = ${c.type.name}(i.v[${j}]);`);
    init.push({ cell: c, input: j });
    cells.push(c);
  }
  // R4: a live scalar map reference and copies of it
  let ref: { cell: Cell; map: string; input: number } | undefined;
  let ref2: { cell: Cell; map: string; input: number } | undefined;
  if (rng.chance(0.4) && !AVOID.has("ref")) {
    const map = rng.pick(["r64", "r32", "ri64"]);
    const t = intType(map === "r64" ? "u64" : map === "r32" ? "u32" : "i64");
    const j = inputs.take();
    lines.push(`${map}.update(${idx}, ${t.name}(i.v[${j}]));`);
    lines.push(`let v = ${map}.lookup(${idx});`, `if (v === null) return XdpAction.ABORTED;`);
    ref = { cell: { name: "v", type: t, where: "ref" }, map, input: j };
    cells.push(ref.cell);
    if (map !== "r32" && rng.chance(0.5)) {
      // a second live reference (another map, same kind): `v === w` compares values, not addresses
      const wm = map === "r64" ? "ri64" : "r64";
      const wt = intType(wm === "r64" ? "u64" : "i64");
      const k = inputs.take();
      lines.push(`${wm}.update(${idx}, ${rng.chance(0.3) ? `${wt.name}(i.v[${j}])` : `${wt.name}(i.v[${k}])`});`);
      lines.push(`let w = ${wm}.lookup(${idx});`, `if (w === null) return XdpAction.ABORTED;`);
      ref2 = { cell: { name: "w", type: wt, where: "ref" }, map: wm, input: lines[lines.length - 3]!.includes(`i.v[${j}]`) ? j : k };
      cells.push(ref2.cell);
    }
  }
  let slots = 0;
  const slot = (): number => slots++;
  const g: GenCtx = { rng, cells, fns, depth: 3 };
  const stmts: Stmt[] = [];
  const n = 3 + rng.int(5);
  let copies = 0;
  for (let s = 0; s < n; s++) {
    if (ref && rng.chance(0.3)) {
      const r2 = rng.next();
      if (r2 < 0.5) {
        // a copy of the reference (or a memory cell): later changes must not flow either way
        const src = rng.chance(0.8) ? ref.cell : rng.pick(cells);
        const c: Cell = { name: `c${copies++}`, type: src.type, where: "local" };
        stmts.push({ k: "decl", cell: c, e: { k: "cell", cell: src }, annotate: false });
        cells.push(c);
      } else {
        const k = kindOf(ref.cell.type);
        stmts.push({ k: r2 < 0.8 ? "update" : "increment", map: ref.map, idx, type: ref.cell.type, e: genExpr(g, k, 1) });
      }
      continue;
    }
    if (rng.chance(0.1)) {
      // a typed declaration from a literal (range-checked) or an expression
      const t = rng.pick(INT_TYPES);
      const c: Cell = { name: `d${s}`, type: t, where: "local" };
      stmts.push({ k: "decl", cell: c, e: rng.chance(0.6) ? randomLiteral(rng, kindOf(t), false) : genExpr(g, kindOf(t), 2), annotate: true });
      cells.push(c);
      continue;
    }
    stmts.push(genStmt(g, slot));
  }
  // every cell's final value is an output
  const finals: Cell[] = [...new Set([...cells, ...globals])];
  for (const c of finals) stmts.push({ k: "out", slot: slot(), e: { k: "cell", cell: c } });
  if (slots > OUT_WORDS) throw new Error("too many outputs");
  let reject: string | undefined;
  try {
    for (const s of stmts) checkStmt(s);
  } catch (e) {
    if (!(e instanceof Reject)) throw e;
    reject = e.message;
  }
  lines.push(...stmts.map(printStmt));
  const what = [useStack && "stack struct", useMap && "map struct", ref && `map ref ${ref.map}`].filter(Boolean).join(", ") || "locals/globals";
  const model = (inp: bigint[]): Expected => {
    const env: Env = { cells: new Map(), maps: new Map(), refs: new Map() };
    const genv: Env = { cells: new Map(), maps: env.maps, refs: env.refs };
    for (const { cell, input } of init) write(cell.where === "global" ? genv : env, cell, inp[input]!);
    if (ref) {
      env.maps.set(`${ref.map}:${idx}`, wrap(inp[ref.input]!, ref.cell.type));
      env.refs.set("v", `${ref.map}:${idx}`);
    }
    if (ref2) {
      env.maps.set(`${ref2.map}:${idx}`, wrap(inp[ref2.input]!, ref2.cell.type));
      env.refs.set("w", `${ref2.map}:${idx}`);
    }
    const out: bigint[] = new Array(slots).fill(0n);
    for (const s of stmts) execStmt(s, env, genv, out);
    const maps: Expected["maps"] = [];
    for (const rf of [ref, ref2]) {
      if (!rf) continue;
      const v = env.maps.get(`${rf.map}:${idx}`)!;
      maps.push({ map: rf.map, key: idx, bytes: scalarLayout(rf.cell.type).encode(jsVal(rf.cell.type, v) as never) });
    }
    if (useMap) {
      // only the fields the case set are compared (mask); the rest of the value is left as it was
      for (const c of memCells.filter((m) => m.where === "map")) {
        const path = c.name.slice(3);
        const off = fieldOffset(path);
        maps.push({ map: "sm", key: idx, offset: off, bytes: scalarLayout(c.type).encode(jsVal(c.type, env.cells.get(c.name)!) as never) });
      }
    }
    return { out, maps };
  };
  return { lines, reject, model, what };
}

function fieldOffset(path: string): number {
  return L.offsetOf(S_LAYOUT as unknown as AnyLayout, path);
}

function pickSome<T>(rng: Rng, xs: readonly T[], n: number): T[] {
  const pool = [...xs];
  const out: T[] = [];
  while (out.length < n && pool.length) out.push(pool.splice(rng.int(pool.length), 1)[0]!);
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Struct cases: nested literals, copies at 4-byte offsets, large structs from nested literals

const INNER_TYPES = ["u8", "u16", "u32", "i8", "i16", "i32"].map((n) => intType(n as IntType["name"]));

function layoutOf(d: SLayoutDesc): AnyLayout {
  const fields: Record<string, AnyLayout> = {};
  for (const [n, t] of d.fields) fields[n] = "bits" in t ? scalarLayout(t) : layoutOf(t);
  return L.struct(fields as never) as unknown as AnyLayout;
}
function layoutSource(d: SLayoutDesc): string {
  return `const ${d.name} = struct({ ${d.fields.map(([n, t]) => `${n}: ${"bits" in t ? t.name : t.name}`).join(", ")} });`;
}

/** A random inner struct of 4-byte alignment, and an outer struct holding it at offset 4. */
function genRecLayouts(rng: Rng): { inner: SLayoutDesc; rec: SLayoutDesc } {
  const n = 2 + rng.int(3);
  const fields: [string, IntType][] = [];
  for (let i = 0; i < n; i++) fields.push([`f${i}`, rng.pick(INNER_TYPES)]);
  if (!fields.some(([, t]) => t.bits === 32)) fields[rng.int(n)]![1] = rng.pick([intType("u32"), intType("i32")]);
  const inner: SLayoutDesc = { name: "Inner", fields };
  const rec: SLayoutDesc = { name: "Rec", fields: [["tag", rng.pick([intType("u32"), intType("u16"), intType("u8")])], ["inner", inner], ["tail", rng.pick(INNER_TYPES)]] };
  return { inner, rec };
}

const In12: SLayoutDesc = { name: "In12", fields: [["a", intType("u32")], ["b", intType("u16")], ["c", intType("u8")], ["d", intType("i32")]] };
const Big: SLayoutDesc = {
  name: "Big",
  fields: [["tag", intType("u32")], ...["p", "q", "r", "s", "t", "u", "w", "x"].map((n) => [n, In12] as [string, SLayoutDesc]), ["end", intType("u32")]],
};

/** A value expression for a struct leaf: an in-range literal, an input conversion, or (rarely) an out-of-range literal. */
function leafValue(rng: Rng, t: IntType, inputs: Inputs, inp: { j: number; t: IntType }[], bad: { v: boolean }): { text: string; model: (i: bigint[]) => bigint; reject?: string } {
  const r = rng.next();
  if (r < 0.5 && inputs.next < INPUT_WORDS) {
    const j = inputs.take();
    inp.push({ j, t });
    return { text: `${t.name}(i.v[${j}])`, model: (i) => wrap(i[j]!, t) };
  }
  const [lo, hi] = range(t);
  if (r < 0.53 && bad.v) {
    const v = rng.chance(0.5) ? hi + 1n : lo - 1n;
    return { text: litText(v, false, false), model: () => v, reject: `literal ${v} does not fit field ${t.name}` };
  }
  const v = rng.pick([lo, hi, 0n, 1n, BigInt(rng.int(100)), hi - 1n]);
  return { text: litText(v, t.bits === 64, rng.chance(0.3) && v > 0n), model: () => v };
}

/** Builds a nested object literal for `d` and its model; fields may be omitted (zero). */
function objectLiteral(rng: Rng, d: SLayoutDesc, inputs: Inputs, inp: { j: number; t: IntType }[], bad: { v: boolean }, rejects: string[], omit: boolean): { text: string; model: (i: bigint[]) => SVal } {
  const parts: string[] = [];
  const models: [string, (i: bigint[]) => SVal | bigint][] = [];
  for (const [n, t] of d.fields) {
    if (omit && rng.chance(0.2)) { models.push([n, () => zeroOf(t)]); continue; }
    if ("bits" in t) {
      const v = leafValue(rng, t, inputs, inp, bad);
      if (v.reject) rejects.push(v.reject);
      parts.push(`${n}: ${v.text}`);
      models.push([n, v.model]);
    } else {
      const o = objectLiteral(rng, t, inputs, inp, bad, rejects, omit);
      parts.push(`${n}: ${o.text}`);
      models.push([n, o.model]);
    }
  }
  return { text: `{ ${parts.join(", ")} }`, model: (i) => Object.fromEntries(models.map(([n, m]) => [n, m(i)])) as SVal };
}

function zeroOf(t: IntType | SLayoutDesc): SVal | bigint {
  if ("bits" in t) return 0n;
  return Object.fromEntries(t.fields.map(([n, f]) => [n, zeroOf(f)])) as SVal;
}

function leaves(d: SLayoutDesc, prefix: string): [string, IntType][] {
  const out: [string, IntType][] = [];
  for (const [n, t] of d.fields) {
    if ("bits" in t) out.push([`${prefix}.${n}`, t]);
    else out.push(...leaves(t, `${prefix}.${n}`));
  }
  return out;
}

function toJs(d: SLayoutDesc, v: SVal): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [n, t] of d.fields) o[n] = "bits" in t ? jsVal(t, wrap(v[n] as bigint, t)) : toJs(t, v[n] as SVal);
  return o;
}

function getPath(v: SVal, path: string): SVal | bigint {
  let cur: SVal | bigint = v;
  for (const p of path.split(".").filter(Boolean)) cur = (cur as SVal)[p]!;
  return cur;
}
function setPath(v: SVal, path: string, x: SVal | bigint): void {
  const ps = path.split(".").filter(Boolean);
  let cur = v;
  for (const p of ps.slice(0, -1)) cur = cur[p] as SVal;
  cur[ps[ps.length - 1]!] = typeof x === "bigint" ? x : structuredClone(x);
}

/** Nested literals and copies of the inner struct (at offset 4) between stack structs and a map value. */
function structCase(rng: Rng, idx: number, rec: SLayoutDesc, allowBad: boolean): Omit<Case, "name" | "idx"> {
  const inputs: Inputs = { next: 0, take() { return this.next++; } };
  const inp: { j: number; t: IntType }[] = [];
  const bad = { v: allowBad };
  const rejects: string[] = [];
  const lines: string[] = [];
  const a = objectLiteral(rng, rec, inputs, inp, bad, rejects, true);
  const b = objectLiteral(rng, rec, inputs, inp, bad, rejects, false);
  const m = objectLiteral(rng, rec, inputs, inp, bad, rejects, false);
  lines.push(`const a = Rec.from(${a.text});`);
  lines.push(`const b: Rec = ${b.text};`);
  lines.push(`recm.update(${idx}, ${m.text});`);
  lines.push(`const mv = recm.lookup(${idx});`, `if (mv === null) return XdpAction.ABORTED;`);
  lines.push(`const c = Rec.zero();`);
  const vars = ["a", "b", "c", "mv"];
  const innerLeaves = leaves(rec.fields[1]![1] as SLayoutDesc, "");
  const copies: [string, string][] = [];
  const n = 3 + rng.int(4);
  for (let k = 0; k < n; k++) {
    const dst = rng.pick(vars);
    const src = rng.pick(vars.filter((x) => x !== dst));
    const r = rng.next();
    if (r < 0.6) copies.push([`${dst}.inner`, `${src}.inner`]);
    else if (r < 0.8) copies.push([`${dst}.tag`, `${src}.tag`]);
    else {
      const [p, t] = rng.pick(innerLeaves);
      const same = innerLeaves.filter(([, u]) => u === t);
      copies.push([`${dst}.inner${p}`, `${src}.inner${rng.pick(same)[0]}`]);
    }
  }
  for (const [d, s] of copies) lines.push(`${d} = ${s};`);
  const outs: [string, string, IntType][] = [];
  for (const v of ["a", "b", "c"]) for (const [p, t] of leaves(rec, "")) outs.push([v, p, t]);
  outs.forEach(([v, p], k) => lines.push(`r.v[${k}] = u64(${v}${p});`));
  const recLayout = layoutOf(rec);
  const model = (i: bigint[]): Expected => {
    const st: Record<string, SVal> = { a: a.model(i), b: b.model(i), mv: m.model(i), c: zeroOf(rec) as SVal };
    for (const [d, s] of copies) {
      const [dv, ...dp] = d.split(".");
      const [sv, ...sp] = s.split(".");
      setPath(st[dv!]!, dp.join("."), getPath(st[sv!]!, sp.join(".")));
    }
    const out = outs.map(([v, p, t]) => wrap(wrap(getPath(st[v]!, p) as bigint, t), U64));
    return { out, maps: [{ map: "recm", key: idx, bytes: recLayout.encode(toJs(rec, st.mv!) as never) }] };
  };
  return { lines, reject: rejects[0], model, what: `nested struct literals and copies (${rec.fields.map(([n, t]) => `${n}: ${t.name}`).join(", ")})` };
}

/** Several 104-byte structs built from nested literals in one program, stored into a map. */
function bigCase(rng: Rng, idx: number, count: number): Omit<Case, "name" | "idx"> {
  const inputs: Inputs = { next: 0, take() { return this.next++; } };
  const inp: { j: number; t: IntType }[] = [];
  const rejects: string[] = [];
  const lines: string[] = [];
  const objs: { model: (i: bigint[]) => SVal }[] = [];
  for (let k = 0; k < count; k++) {
    const from = rng.chance(0.5);
    const o = objectLiteral(rng, Big, inputs, inp, { v: false }, rejects, from && rng.chance(0.5)); // only from() may omit fields
    objs.push(o);
    lines.push(from ? `const b${k} = Big.from(${o.text});` : `const b${k}: Big = ${o.text};`);
  }
  for (let k = 0; k < count; k++) lines.push(`bigm.update(${idx * 4 + k}, b${k});`);
  lines.push(`r.v[0] = u64(b${count - 1}.x.d);`);
  const bl = layoutOf(Big);
  const model = (i: bigint[]): Expected => ({
    out: [wrap(wrap(objs[count - 1]!.model(i).x!["d" as never] as bigint, I32), U64)],
    maps: objs.map((o, k) => ({ map: "bigm", key: idx * 4 + k, bytes: bl.encode(toJs(Big, o.model(i)) as never) })),
  });
  return { lines, reject: undefined, model, what: `${count} Big (104-byte) structs from nested literals` };
}

// ---------------------------------------------------------------------------------------------------
// A whole module

/** Generated features that can be left out: side effects inside expressions, `>>>`, `?:`, map references, struct cases, rejected cases. */
export type Feature = "sidefx" | "ushr" | "cond" | "ref" | "struct" | "reject";

export interface GenOptions {
  /** Expression cases per module (default 10). */
  readonly cases?: number;
  /** Features to leave out (for narrowing a failure down; the tests generate everything). */
  readonly avoid?: readonly Feature[];
}

/** Generates the module for `seed` (deterministic). */
export function generateProgram(seed: number, opts: GenOptions = {}): GeneratedProgram {
  const rng = new Rng(seed);
  AVOID = new Set(opts.avoid ?? []);
  const globals: Cell[] = INT_TYPES.map((t) => ({ name: `g_${t.name}`, type: t, where: "global" as const }));
  const fns: Fn[] = [];
  const nf = rng.int(3);
  for (let k = 0; k < nf; k++) {
    for (let tries = 0; tries < 20; tries++) {
      const f = genFn(rng, `fn${k}`, globals);
      try {
        checkFn(f);
        fns.push(f);
        break;
      } catch (e) {
        if (!(e instanceof Reject)) throw e;
      }
    }
  }
  const { inner, rec } = genRecLayouts(rng);
  const cases: Case[] = [];
  const nCases = opts.cases ?? 10;
  let bad = 0;
  for (let k = 0; k < nCases; k++) {
    for (let tries = 0; ; tries++) {
      const c = exprCase(rng, cases.length, globals, fns);
      // keep about a quarter rejected: regenerate surplus rejected cases
      if (c.reject && (bad >= Math.ceil(nCases / 4) || AVOID.has("reject")) && tries < 30) continue;
      if (c.reject) bad++;
      cases.push({ ...c, name: `e${cases.length}`, idx: cases.length });
      break;
    }
  }
  const s1 = structCase(rng, cases.length, rec, rng.chance(0.2));
  const s2 = structCase(rng, cases.length + 1, rec, false);
  const b1 = bigCase(rng, cases.length + 2, 3 + rng.int(2));
  if (!AVOID.has("struct")) {
    cases.push({ ...s1, name: `s${cases.length}`, idx: cases.length });
    cases.push({ ...s2, name: `s${cases.length}`, idx: cases.length });
    cases.push({ ...b1, name: `b${cases.length}`, idx: cases.length });
  }
  const N = cases.length;
  const prelude = [
    `import { xdp, ArrayMap, XdpAction, struct, array, u8, u16, u32, u64, i8, i16, i32, i64, type Infer } from "tsbpf/kernel";`,
    `const In = struct({ v: array(u64, ${INPUT_WORDS}) });`,
    `const Out = struct({ v: array(u64, ${OUT_WORDS}) });`,
    `const S = struct({ a: u8, b: i8, c: u16, d: i16, e: u32, f: i32, g: u64, h: i64, k: array(i16, 3), m: array(u32, 2) });`,
    layoutSource(inner),
    layoutSource(rec),
    `type Rec = Infer<typeof Rec>;`,
    layoutSource(In12),
    layoutSource(Big),
    `type Big = Infer<typeof Big>;`,
    `const inp = new ArrayMap({ maxEntries: 1, value: In });`,
    `const out = new ArrayMap({ maxEntries: ${N}, value: Out });`,
    `const sm = new ArrayMap({ maxEntries: ${N}, value: S });`,
    `const r64 = new ArrayMap<u64>({ maxEntries: ${N} });`,
    `const r32 = new ArrayMap<u32>({ maxEntries: ${N} });`,
    `const ri64 = new ArrayMap<i64>({ maxEntries: ${N} });`,
    `const recm = new ArrayMap({ maxEntries: ${N}, value: Rec });`,
    `const bigm = new ArrayMap({ maxEntries: ${N * 4}, value: Big });`,
    ...globals.map((g) => `let ${g.name}: ${g.type.name} = ${g.type.bits === 64 ? "0n" : "0"};`),
    ...fns.flatMap(fnSource),
  ];
  const inputs: bigint[][] = [];
  for (let v = 0; v < 3; v++) inputs.push(Array.from({ length: INPUT_WORDS }, () => rng.u64()));
  const maps = [
    { name: "inp", valueSize: INPUT_WORDS * 8, maxEntries: 1 },
    { name: "out", valueSize: OUT_WORDS * 8, maxEntries: N },
    { name: "sm", valueSize: S_LAYOUT.size, maxEntries: N },
    { name: "r64", valueSize: 8, maxEntries: N },
    { name: "r32", valueSize: 4, maxEntries: N },
    { name: "ri64", valueSize: 8, maxEntries: N },
    { name: "recm", valueSize: layoutOf(rec).size, maxEntries: N },
    { name: "bigm", valueSize: layoutOf(Big).size, maxEntries: N * 4 },
  ];
  return { seed, prelude, cases, inputs, maps };
}

/** The module's source with the given cases; returns the text and each case's line range (1-based). */
export function moduleSource(p: GeneratedProgram, cases: readonly Case[]): { text: string; ranges: Map<string, [number, number]> } {
  const lines = [...p.prelude];
  const ranges = new Map<string, [number, number]>();
  for (const c of cases) {
    const start = lines.length + 1;
    lines.push(`export const ${c.name} = xdp((ctx) => {`);
    lines.push(`  const i = inp.lookup(0);`, `  if (i === null) return XdpAction.ABORTED;`);
    lines.push(`  const r = out.lookup(${c.idx});`, `  if (r === null) return XdpAction.ABORTED;`);
    for (const l of c.lines) lines.push(`  ${l}`);
    lines.push(`  return XdpAction.PASS;`, `});`);
    ranges.set(c.name, [start, lines.length]);
  }
  return { text: lines.join("\n") + "\n", ranges };
}

export { S_LAYOUT };

/** The model's pieces, for its own unit tests (test/unit/compiler-random-model.test.ts). */
export const model = { typeOf, evalExpr, checkStmt, execStmt, print, Reject };
export type { Cell, Expr, Stmt, Fn, Env };
