// Final emission: register-assigned machine blocks in layout order become eBPF Instructions, with
// branches lowered against the fall-through block, jump offsets resolved and CO-RE indices recorded.

import { Instruction, type SourceLocation } from "../../asm/instruction.js";
import { alu64Imm, ja, mov64Reg, exit } from "../../asm/index.js";
import { AluOp, Class, JumpOp, Source, type ConditionalJumpOp } from "../../asm/opcode.js";
import type { BlockId, Cond } from "../ir.js";
import type { CoreAccess } from "../module.js";
import { CodegenError } from "./error.js";
import type { FrameLayout } from "./frame.js";
import { orderBlocks, threadJumps } from "./layout.js";
import type { MFunction, MTerm } from "./mir.js";
import { peephole } from "./peephole.js";
import { appendAll } from "../opt/recurse.js";

const JUMP: Record<Cond, ConditionalJumpOp> = {
  eq: JumpOp.JEQ, ne: JumpOp.JNE, gt: JumpOp.JGT, ge: JumpOp.JGE, lt: JumpOp.JLT, le: JumpOp.JLE,
  sgt: JumpOp.JSGT, sge: JumpOp.JSGE, slt: JumpOp.JSLT, sle: JumpOp.JSLE, set: JumpOp.JSET,
};
/** The negated condition (`set` has none). */
const INVERSE: Partial<Record<Cond, Cond>> = {
  eq: "ne", ne: "eq", gt: "le", le: "gt", ge: "lt", lt: "ge", sgt: "sle", sle: "sgt", sge: "slt", slt: "sge",
};

interface Out {
  insn: Instruction;
  core?: CoreAccess;
  /** Jump to the start of this block (offset resolved at the end). */
  target?: BlockId;
}

/** Emitted code of one function. */
export interface Emitted {
  instructions: Instruction[];
  coreRelocations: { index: number; access: CoreAccess }[];
  /** Instructions removed by the peephole pass. */
  peepholeRemoved: number;
}

/** Emits `fn` with registers `colors` (node -> r0..r10) and frame layout `frame`. */
export function emit(fn: MFunction, colors: Int8Array, frame: FrameLayout): Emitted {
  const reg = (n: number | undefined): number => {
    if (n === undefined) return 0;
    const c = colors[n];
    if (c < 0) throw new CodegenError("REGALLOC_FAILED", fn.name, `node ${n} has no register`, fn.loc);
    return c;
  };
  const withLoc = (i: Instruction, loc: SourceLocation | undefined): Instruction => (loc ? i.withSource(loc) : i);
  let peepholeRemoved = 0;

  // Straight-line bodies with registers filled in.
  const bodies = new Map<BlockId, Out[]>();
  for (const b of fn.blocks) {
    const body: Out[] = [];
    for (const m of b.insns) {
      if (m.frameAddr) {
        const d = reg(m.dst) as 0;
        const off = frame.offsetOf(m.frameAddr);
        body.push({ insn: withLoc(mov64Reg(d, 10), m.loc) });
        if (off !== 0) body.push({ insn: withLoc(alu64Imm(AluOp.ADD, d, off), m.loc) });
        continue;
      }
      const insn = m.insn.clone();
      if (m.dst !== undefined) insn.dst = reg(m.dst);
      if (m.src !== undefined) insn.src = reg(m.src);
      if (m.frame) {
        const off = insn.offset + frame.offsetOf(m.frame);
        if (off < -32768 || off > 32767) throw new CodegenError("INVALID_IR", fn.name, `stack offset ${off} does not fit in 16 bits`, m.loc);
        insn.offset = off;
      }
      withLoc(insn, m.loc);
      body.push(m.core ? { insn, core: m.core } : { insn });
    }
    peepholeRemoved += peephole(body);
    bodies.set(b.id, body);
  }

  const thread = threadJumps(fn, (id) => bodies.get(id)!.length === 0);
  // Tail merging: blocks that end in exit with identical code are emitted once.
  const canon = new Map<BlockId, BlockId>();
  const byKey = new Map<string, BlockId>();
  for (const b of fn.blocks) {
    if (b.term.kind !== "exit") continue;
    const body = bodies.get(b.id)!;
    if (body.some((o) => o.core)) continue;
    const key = body.map(({ insn: i }) => `${i.opcode},${i.dst},${i.src},${i.offset},${i.constant},${i.reference ?? ""}`).join(";");
    const first = byKey.get(key);
    if (first === undefined) byKey.set(key, b.id);
    else canon.set(b.id, first);
  }
  const resolve = (id: BlockId): BlockId => {
    const t = thread(id);
    return canon.get(t) ?? t;
  };
  const order = orderBlocks(fn, resolve);
  const out: Out[] = [];
  const start = new Map<BlockId, number>();
  const jump = (cond: Cond, t: Extract<MTerm, { kind: "br" }>, target: BlockId): Out => {
    const cls = t.bits === 32 ? Class.JMP32 : Class.JMP;
    const imm = typeof t.b === "bigint";
    const insn = new Instruction(cls | JUMP[cond] | (imm ? Source.K : Source.X), reg(t.a), imm ? 0 : reg(t.b as number), 0, imm ? (t.b as bigint) : 0n);
    return { insn: withLoc(insn, t.loc), target };
  };
  const goto = (target: BlockId, loc?: SourceLocation): Out => ({ insn: withLoc(ja(0), loc), target });

  order.forEach((id, k) => {
    start.set(id, out.length);
    const b = fn.byId.get(id)!;
    appendAll(out, bodies.get(id)!);
    const next = order[k + 1];
    const t = b.term;
    if (t.kind === "exit") {
      out.push({ insn: withLoc(exit(), t.loc) });
    } else if (t.kind === "jmp") {
      const tg = resolve(t.target);
      if (tg !== next) out.push(goto(tg, t.loc));
    } else {
      const th = resolve(t.then);
      const el = resolve(t.else);
      const inv = INVERSE[t.cond];
      if (th === el) {
        if (th !== next) out.push(goto(th, t.loc));
      } else if (el === next) {
        out.push(jump(t.cond, t, th));
      } else if (th === next && inv) {
        out.push(jump(inv, t, el));
      } else {
        out.push(jump(t.cond, t, th));
        out.push(goto(el, t.loc));
      }
    }
  });

  // Resolve jump offsets in slots (ld_imm64 takes two).
  const slotAt: number[] = [];
  let s = 0;
  for (const o of out) {
    slotAt.push(s);
    s += o.insn.slots;
  }
  slotAt.push(s);
  const coreRelocations: { index: number; access: CoreAccess }[] = [];
  out.forEach((o, i) => {
    if (o.core) coreRelocations.push({ index: i, access: o.core });
    if (o.target === undefined) return;
    const delta = slotAt[start.get(o.target)!] - (slotAt[i] + 1);
    if (delta < -32768 || delta > 32767) {
      throw new CodegenError("JUMP_TOO_FAR", fn.name, `a jump spans ${delta} instructions, beyond eBPF's 16-bit offset`, o.insn.source);
    }
    o.insn.offset = delta;
  });
  return { instructions: out.map((o) => o.insn), coreRelocations, peepholeRemoved };
}
