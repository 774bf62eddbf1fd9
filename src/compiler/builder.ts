// Builds one IrFunction: virtual registers, blocks, stack slots and the current source location.
// Code emitted after a terminator goes to a fresh unreachable block, removed by `finish`.

import type { SourceLocation } from "../asm/instruction.js";
import type { BlockId, IrBlock, IrFunction, IrInstruction, IrTerminator, Operand, StackSlot, VReg } from "./ir.js";

/** Mutable block under construction. */
interface OpenBlock {
  readonly id: BlockId;
  readonly instructions: IrInstruction[];
  terminator: IrTerminator | undefined;
}

/** Incrementally builds an {@link IrFunction}. */
export class FunctionBuilder {
  readonly name: string;
  readonly params: VReg[] = [];
  readonly #blocks: OpenBlock[] = [];
  readonly #slots: StackSlot[] = [];
  #vregs = 0;
  #current: OpenBlock;
  /** Location attached to every instruction emitted from now on. */
  loc: SourceLocation | undefined;
  readonly declLoc: SourceLocation | undefined;

  constructor(name: string, paramCount: number, loc?: SourceLocation) {
    this.name = name;
    this.declLoc = loc;
    for (let i = 0; i < paramCount; i++) this.params.push(this.reg());
    this.#current = this.#open();
  }

  /** A fresh virtual register. */
  reg(): VReg {
    return this.#vregs++;
  }

  /** A new stack slot of `size` bytes. */
  slot(size: number, align: number, name?: string): number {
    const id = this.#slots.length;
    this.#slots.push({ id, size: Math.max(1, size), align: Math.min(8, Math.max(1, align)), ...(name ? { name } : {}), ...(this.loc ? { loc: this.loc } : {}) });
    return id;
  }

  /** Total bytes of stack slots so far. */
  get stackBytes(): number {
    return this.#slots.reduce((n, s) => n + ((s.size + 7) & ~7), 0);
  }

  #open(): OpenBlock {
    const b: OpenBlock = { id: this.#blocks.length, instructions: [], terminator: undefined };
    this.#blocks.push(b);
    return b;
  }

  /** A new, empty block (not yet current). */
  block(): BlockId {
    return this.#open().id;
  }

  /** The block instructions are appended to. */
  get current(): BlockId {
    return this.#current.id;
  }

  /** Whether the current block already ended (code here is unreachable). */
  get terminated(): boolean {
    return this.#current.terminator !== undefined;
  }

  /** Continue emitting into block `id`. */
  setBlock(id: BlockId): void {
    this.#current = this.#blocks[id]!;
  }

  /** Appends an instruction to the current block. */
  emit(inst: IrInstruction): void {
    if (this.#current.terminator) this.#current = this.#open();
    this.#current.instructions.push(this.loc ? { ...inst, loc: this.loc } : inst);
  }

  /** Ends the current block. */
  terminate(t: IrTerminator): void {
    if (this.#current.terminator) this.#current = this.#open();
    this.#current.terminator = this.loc ? { ...t, loc: this.loc } : t;
  }

  /** `jmp target` unless the block already ended. */
  jumpTo(target: BlockId): void {
    if (!this.terminated) this.terminate({ op: "jmp", target });
  }

  /** dst = value. */
  mov(dst: VReg, src: Operand): void {
    this.emit({ op: "mov", dst, src });
  }

  /** Materializes an operand in a register. */
  toReg(op: Operand): VReg {
    if ("reg" in op) return op.reg;
    const r = this.reg();
    this.mov(r, op);
    return r;
  }

  /** The finished function: unreachable blocks dropped, blocks renumbered densely. */
  finish(): IrFunction {
    const reachable = new Set<BlockId>();
    const work: BlockId[] = [0];
    while (work.length) {
      const id = work.pop()!;
      if (reachable.has(id)) continue;
      reachable.add(id);
      const t = this.#blocks[id]!.terminator;
      if (!t) continue;
      if (t.op === "jmp") work.push(t.target);
      else if (t.op === "br") work.push(t.then, t.else);
    }
    const order = this.#blocks.filter((b) => reachable.has(b.id));
    const renumber = new Map(order.map((b, i) => [b.id, i]));
    const blocks: IrBlock[] = order.map((b) => {
      let t: IrTerminator = b.terminator ?? { op: "ret", value: { imm: 0n } };
      if (t.op === "jmp") t = { ...t, target: renumber.get(t.target)! };
      else if (t.op === "br") t = { ...t, then: renumber.get(t.then)!, else: renumber.get(t.else)! };
      return { id: renumber.get(b.id)!, instructions: b.instructions, terminator: t };
    });
    return { name: this.name, params: this.params, blocks, slots: this.#slots, vregCount: this.#vregs, ...(this.declLoc ? { loc: this.declLoc } : {}) };
  }
}
