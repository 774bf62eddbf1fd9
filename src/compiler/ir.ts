// The compiler's intermediate representation: functions of basic blocks over virtual registers,
// close to eBPF (64-bit registers, explicit ALU widths) so that code generation is register allocation.

import type { SourceLocation } from "../asm/instruction.js";
import type { CoreAccess } from "./module.js";

/**
 * A virtual register: an unbounded supply of 64-bit registers. Ids are small non-negative integers,
 * unique within one {@link IrFunction}. Codegen maps them onto r0–r9 (r10 is the read-only frame pointer)
 * and spills to the stack when needed.
 */
export type VReg = number;

/** An operand: a virtual register or a 64-bit constant (signed view; any value in [-2^63, 2^64)). */
export type Operand = { readonly reg: VReg } | { readonly imm: bigint };

/** ALU operation width. 32-bit operations zero-extend their result into the upper half, as eBPF does. */
export type AluBits = 32 | 64;

/** Binary ALU operations. `div`/`mod` are unsigned, `sdiv`/`smod` signed (cpu v4); `arsh` is arithmetic. */
export type AluOp = "add" | "sub" | "mul" | "div" | "sdiv" | "mod" | "smod" | "or" | "and" | "xor" | "lsh" | "rsh" | "arsh";

/** Branch conditions; `set` is `(a & b) != 0`. Unsigned: gt ge lt le; signed: sgt sge slt sle. */
export type Cond = "eq" | "ne" | "gt" | "ge" | "lt" | "le" | "sgt" | "sge" | "slt" | "sle" | "set";

/** Memory access sizes in bytes. */
export type AccessSize = 1 | 2 | 4 | 8;

/** Identifies a basic block within its function. */
export type BlockId = number;

/** A stack slot allocated by the front end (structs, arrays, anything whose address is taken). */
export interface StackSlot {
  readonly id: number;
  /** Bytes; the sum of all slots plus spills must stay within 512 per function. */
  readonly size: number;
  /** Alignment in bytes (1, 2, 4 or 8). */
  readonly align: number;
  /** A name for disassembly comments, e.g. the variable's. */
  readonly name?: string;
  /** Where the front end allocated it (for stack-size diagnostics). */
  readonly loc?: SourceLocation;
}

/** Fields common to every instruction. */
interface Base {
  /** The TypeScript source position this instruction implements (for .BTF.ext line info). */
  loc?: SourceLocation;
}

/**
 * Non-terminating instructions. Every `dst` is written with a full 64-bit value.
 * - `mov`: dst = src (64-bit copy; an immediate that does not fit 32-bit signed needs ld_imm64).
 * - `alu`: dst = a op b at `bits` width (a 32-bit result is zero-extended). Shifts take the amount modulo the width.
 * - `neg`: dst = -src at `bits` width.
 * - `ext`: dst = the low `from` bits of src, zero- or sign-extended to 64 bits (movsx on cpu v4, or shifts/and).
 * - `load`: dst = *(size *)(base + offset), zero-extended; `signed` sign-extends (ldsx, cpu v4).
 *   `nonNull` promises the value is never 0 (a pointer the kernel always sets, such as a packet
 *   program's `ctx->data`): the optimizer then drops null tests of it and of small offsets from it.
 *   `core` attaches a CO-RE relocation to this instruction (the offset is then the local-BTF offset).
 *   Codegen must keep `offset` in the instruction (never fold it into the base): context and packet
 *   accesses are only accepted by the verifier as `base + constant offset`.
 * - `store`: *(size *)(base + offset) = value (register or immediate; immediate must fit 32-bit signed).
 * - `stackAddr`: dst = address of `offset` bytes into stack slot `slot` (r10 - k).
 * - `mapFd`: dst = the map named `map` (ld_imm64 pseudo map fd, relocated by the loader).
 * - `mapValue`: dst = address of `offset` bytes into the value of map `map` — global data
 *   (`.data`, `.rodata`, `.bss`): ld_imm64 pseudo map value.
 * - `funcAddr`: dst = address of function `fn` (ld_imm64 pseudo func), for callbacks such as bpf_loop.
 * - `call`: helper call by number; args go to r1..r5, result (if `dst`) from r0. Clobbers r0–r5.
 * - `callFn`: bpf-to-bpf call of a function of the same module. Same convention.
 * - `callKfunc`: kernel function call by BTF name (extern). Same convention.
 * - `coreValue`: dst = a constant the loader fills in from a CO-RE relocation (field exists/size, type
 *   exists/size/id, enum value): `mov dst, imm` with the relocation attached (ld_imm64 for 64-bit enum values);
 *   `value` is the local (compile-time) value, which loaders check before patching.
 * - `bswap`: dst = src with the low `bits` bits byte-swapped (upper bits zero), i.e. `be16/be32/be64`
 *   on little-endian: network ↔ host byte order.
 * - `atomic`: atomic read-modify-write of *(size*)(base+offset) with value (`fetch` returns the old value in dst).
 */
export type IrInstruction = Base &
  (
    | { readonly op: "mov"; readonly dst: VReg; readonly src: Operand }
    | { readonly op: "alu"; readonly alu: AluOp; readonly bits: AluBits; readonly dst: VReg; readonly a: Operand; readonly b: Operand }
    | { readonly op: "neg"; readonly bits: AluBits; readonly dst: VReg; readonly src: VReg }
    | { readonly op: "ext"; readonly dst: VReg; readonly src: VReg; readonly from: 8 | 16 | 32; readonly signed: boolean }
    | { readonly op: "load"; readonly size: AccessSize; readonly dst: VReg; readonly base: VReg; readonly offset: number; readonly signed?: boolean; readonly core?: CoreAccess; readonly nonNull?: boolean }
    | { readonly op: "store"; readonly size: AccessSize; readonly base: VReg; readonly offset: number; readonly value: Operand; readonly core?: CoreAccess }
    | { readonly op: "stackAddr"; readonly dst: VReg; readonly slot: number; readonly offset: number }
    | { readonly op: "mapFd"; readonly dst: VReg; readonly map: string }
    | { readonly op: "mapValue"; readonly dst: VReg; readonly map: string; readonly offset: number }
    | { readonly op: "funcAddr"; readonly dst: VReg; readonly fn: string }
    | { readonly op: "call"; readonly helper: number; readonly args: readonly Operand[]; readonly dst?: VReg }
    | { readonly op: "callFn"; readonly fn: string; readonly args: readonly Operand[]; readonly dst?: VReg }
    | { readonly op: "callKfunc"; readonly kfunc: string; readonly args: readonly Operand[]; readonly dst?: VReg }
    | { readonly op: "coreValue"; readonly dst: VReg; readonly core: CoreAccess; readonly value?: bigint }
    | { readonly op: "bswap"; readonly dst: VReg; readonly src: VReg; readonly bits: 16 | 32 | 64 }
    | { readonly op: "atomic"; readonly rmw: "add" | "or" | "and" | "xor" | "xchg"; readonly size: 4 | 8; readonly base: VReg; readonly offset: number; readonly value: VReg; readonly fetch?: VReg }
  );

/**
 * Block terminators.
 * - `br`: if (a cond b) at `bits` width goto `then` else goto `else`. 32-bit compares use jmp32.
 * - `jmp`: goto target.
 * - `ret`: return value (r0) from the function; a program's return value is its verdict.
 */
export type IrTerminator = Base &
  (
    | { readonly op: "br"; readonly cond: Cond; readonly bits: AluBits; readonly a: VReg; readonly b: Operand; readonly then: BlockId; readonly else: BlockId }
    | { readonly op: "jmp"; readonly target: BlockId }
    | { readonly op: "ret"; readonly value: Operand }
  );

/** A basic block: straight-line instructions, then one terminator. */
export interface IrBlock {
  readonly id: BlockId;
  readonly instructions: IrInstruction[];
  terminator: IrTerminator;
}

/**
 * One function: a program entry point or a subprogram. Parameters arrive in r1..r5 (`params[i]` is
 * the vreg holding argument i on entry). `blocks[0]` is the entry block; blocks may appear in any
 * order (codegen lays them out, preferring fall-through to `else`/`jmp` targets that follow).
 */
export interface IrFunction {
  readonly name: string;
  readonly params: readonly VReg[];
  readonly blocks: IrBlock[];
  readonly slots: StackSlot[];
  /** Number of vregs used (ids are 0..vregCount-1). */
  readonly vregCount: number;
  /** Where the function is declared, for diagnostics (stack too large, too many arguments...). */
  readonly loc?: SourceLocation;
}
