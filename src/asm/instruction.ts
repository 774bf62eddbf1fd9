// The eBPF instruction model: one mutable Instruction class with raw fields, decoded views and metadata.
// Builders live in alu.ts, jump.ts, load-store.ts and atomic.ts and are re-exported here and from index.ts.

import { AsmError } from "../errors.js";
import { formatInstruction } from "./disasm.js";
import {
  AluOp,
  Class,
  JumpOp,
  Mode,
  OP_CALL,
  OP_EXIT,
  OP_LD_IMM64,
  PseudoCall,
  PseudoLoad,
  Source,
  isKnownOpcode,
  sizeBytes,
  type AluOpValue,
  type ClassValue,
  type JumpOpValue,
  type ModeValue,
  type SizeValue,
  type SourceValue,
} from "./opcode.js";

/** Where an instruction came from, for diagnostics (a C or TypeScript source line). */
export interface SourceLocation {
  file: string;
  /** 1-based line. */
  line: number;
  /** 1-based column; 0 when unknown. */
  column: number;
  /** The text of the line, when known. */
  text?: string;
}

/**
 * One eBPF instruction. Fields are raw and mutable; nothing is validated until `encode`.
 *
 * `constant` holds the immediate:
 * - ordinary instructions: the 32-bit imm, sign-extended (always in [-2^31, 2^31) after decode);
 * - ld_imm64 (opcode 0x18, two slots): the full 64-bit value `imm | next_imm << 32`, stored SIGNED,
 *   i.e. in [-2^63, 2^63). Use `BigInt.asUintN(64, c)` for the unsigned view, or the `imm` and
 *   `nextImm` accessors for the two 32-bit halves.
 *
 * Metadata that is not encoded: `symbol` (a label or function name defined at this instruction),
 * `reference` (a symbol this jump, call or ld_imm64 refers to, resolved later), `source` (location).
 */
export class Instruction {
  /** The 8-bit opcode. */
  opcode: number;
  /** Destination register field (4 bits). */
  dst: number;
  /** Source register field (4 bits); a pseudo kind for calls and ld_imm64. */
  src: number;
  /** Signed 16-bit offset field. */
  offset: number;
  /** Immediate; see the class comment for ld_imm64. */
  constant: bigint;
  /** Label or function name defined at this instruction. */
  symbol?: string;
  /** Symbol this instruction refers to (jump target, callee, map or kfunc name), resolved later. */
  reference?: string;
  /** Source location, for diagnostics. */
  source?: SourceLocation;

  constructor(opcode: number, dst = 0, src = 0, offset = 0, constant: bigint | number = 0n) {
    this.opcode = opcode;
    this.dst = dst;
    this.src = src;
    this.offset = offset;
    if (typeof constant === "number" && !Number.isInteger(constant)) {
      throw new AsmError("ASM_INVALID_OPERAND", `create instruction: constant ${constant} is not an integer`);
    }
    this.constant = typeof constant === "bigint" ? constant : BigInt(constant);
  }

  /** A deep copy, metadata included. */
  clone(): Instruction {
    const c = new Instruction(this.opcode, this.dst, this.src, this.offset, this.constant);
    if (this.symbol !== undefined) c.symbol = this.symbol;
    if (this.reference !== undefined) c.reference = this.reference;
    if (this.source !== undefined) c.source = { ...this.source };
    return c;
  }

  /** Sets `symbol` and returns this instruction. */
  withSymbol(name: string | undefined): this {
    if (name === undefined) delete this.symbol;
    else this.symbol = name;
    return this;
  }

  /** Sets `reference` and returns this instruction. */
  withReference(name: string | undefined): this {
    if (name === undefined) delete this.reference;
    else this.reference = name;
    return this;
  }

  /** Sets `source` and returns this instruction. */
  withSource(loc: SourceLocation | undefined): this {
    if (loc === undefined) delete this.source;
    else this.source = loc;
    return this;
  }

  /** Whether both encode to the same bytes (metadata ignored). */
  sameEncoding(other: Instruction): boolean {
    if (this.opcode !== other.opcode || this.dst !== other.dst || this.src !== other.src || this.offset !== other.offset) {
      return false;
    }
    const bits = this.isLoadImm64 ? 64 : 32;
    return BigInt.asUintN(bits, this.constant) === BigInt.asUintN(bits, other.constant);
  }

  /** Number of 8-byte slots: 2 for ld_imm64, else 1. */
  get slots(): 1 | 2 {
    return this.opcode === OP_LD_IMM64 ? 2 : 1;
  }

  /** The low 32 bits of `constant` as a signed number (the encoded imm field). */
  get imm(): number {
    return Number(BigInt.asIntN(32, this.constant));
  }

  /** Replaces the low 32 bits of `constant`; for ld_imm64 the high half is kept. */
  set imm(value: number) {
    const lo = BigInt.asUintN(32, BigInt(checkInt(value, "set imm")));
    if (this.isLoadImm64) {
      const hi = BigInt.asUintN(32, this.constant >> 32n);
      this.constant = BigInt.asIntN(64, (hi << 32n) | lo);
    } else {
      this.constant = BigInt.asIntN(32, lo);
    }
  }

  /** ld_imm64 only: the high 32 bits (next_imm) as a signed number; 0 for other instructions. */
  get nextImm(): number {
    return this.isLoadImm64 ? Number(BigInt.asIntN(32, this.constant >> 32n)) : 0;
  }

  /** ld_imm64 only: replaces the high 32 bits of `constant`. */
  set nextImm(value: number) {
    if (!this.isLoadImm64) {
      throw new AsmError("ASM_INVALID_OPERAND", `set next_imm: opcode 0x${hex2(this.opcode)} is not ld_imm64`);
    }
    const lo = BigInt.asUintN(32, this.constant);
    const hi = BigInt.asUintN(32, BigInt(checkInt(value, "set next_imm")));
    this.constant = BigInt.asIntN(64, (hi << 32n) | lo);
  }

  /** Instruction class (low three opcode bits). */
  get class(): ClassValue {
    return (this.opcode & 0x07) as ClassValue;
  }

  /** Size bits (meaningful for LD/LDX/ST/STX). */
  get size(): SizeValue {
    return (this.opcode & 0x18) as SizeValue;
  }

  /** Mode bits (meaningful for LD/LDX/ST/STX). */
  get mode(): ModeValue {
    return (this.opcode & 0xe0) as ModeValue;
  }

  /** Bytes accessed by a load/store, or undefined for other classes. */
  get accessBytes(): 1 | 2 | 4 | 8 | undefined {
    return this.isLoadStore ? sizeBytes(this.size) : undefined;
  }

  /** Source-operand bit (Source.K or Source.X) for ALU and jump classes; Endian for END. */
  get sourceBit(): SourceValue {
    return (this.opcode & 0x08) as SourceValue;
  }

  /** ALU operation for ALU/ALU64 instructions, else undefined. */
  get aluOp(): AluOpValue | undefined {
    return this.isALU ? ((this.opcode & 0xf0) as AluOpValue) : undefined;
  }

  /** Jump operation for JMP/JMP32 instructions, else undefined. */
  get jumpOp(): JumpOpValue | undefined {
    const c = this.class;
    return c === Class.JMP || c === Class.JMP32 ? ((this.opcode & 0xf0) as JumpOpValue) : undefined;
  }

  /** Whether the opcode is in the kernel's instruction table (not a full validity check). */
  get isKnown(): boolean {
    return isKnownOpcode(this.opcode);
  }

  /** ALU or ALU64 class. */
  get isALU(): boolean {
    const c = this.class;
    return c === Class.ALU || c === Class.ALU64;
  }

  /** LD, LDX, ST or STX class. */
  get isLoadStore(): boolean {
    return this.class <= Class.STX;
  }

  /** ld_imm64 (opcode 0x18), the only two-slot instruction. */
  get isLoadImm64(): boolean {
    return this.opcode === OP_LD_IMM64;
  }

  /** ld_imm64 that loads a map pointer or a map value address (PSEUDO_MAP_FD/VALUE/IDX/IDX_VALUE). */
  get isLoadFromMap(): boolean {
    if (!this.isLoadImm64) return false;
    const s = this.src;
    return s === PseudoLoad.MAP_FD || s === PseudoLoad.MAP_VALUE || s === PseudoLoad.MAP_IDX || s === PseudoLoad.MAP_IDX_VALUE;
  }

  /** ld_imm64 loading the address of a subprogram (PSEUDO_FUNC; constant is pc-relative). */
  get isLoadFunc(): boolean {
    return this.isLoadImm64 && this.src === PseudoLoad.FUNC;
  }

  /** ld_imm64 loading a kernel variable by BTF id (PSEUDO_BTF_ID). */
  get isLoadBtfId(): boolean {
    return this.isLoadImm64 && this.src === PseudoLoad.BTF_ID;
  }

  /** LDX with MEM or MEMSX mode. */
  get isMemLoad(): boolean {
    return this.class === Class.LDX && (this.mode === Mode.MEM || this.mode === Mode.MEMSX);
  }

  /** ST or STX with MEM mode. */
  get isMemStore(): boolean {
    return (this.class === Class.ST || this.class === Class.STX) && this.mode === Mode.MEM;
  }

  /** STX with ATOMIC mode (including load-acquire / store-release). */
  get isAtomic(): boolean {
    return this.class === Class.STX && this.mode === Mode.ATOMIC;
  }

  /** Any call: helper, bpf-to-bpf or kfunc. */
  get isCall(): boolean {
    return this.opcode === OP_CALL;
  }

  /** Call of a helper by bpf_func_id (src 0). */
  get isBuiltinCall(): boolean {
    return this.opcode === OP_CALL && this.src === PseudoCall.HELPER;
  }

  /** bpf-to-bpf call (src PSEUDO_CALL); constant is the pc-relative target. */
  get isPseudoCall(): boolean {
    return this.opcode === OP_CALL && this.src === PseudoCall.CALL;
  }

  /** kfunc call (src PSEUDO_KFUNC_CALL); constant is the BTF id, offset the fd_array index. */
  get isKfuncCall(): boolean {
    return this.opcode === OP_CALL && this.src === PseudoCall.KFUNC;
  }

  /** exit. */
  get isExit(): boolean {
    return this.opcode === OP_EXIT;
  }

  /** gotol: JMP32 | JA, target in constant. */
  get isGotol(): boolean {
    return this.opcode === (Class.JMP32 | JumpOp.JA);
  }

  /** gotox: indirect jump through dst. */
  get isGotox(): boolean {
    return this.opcode === (Class.JMP | JumpOp.JA | Source.X);
  }

  /** may_goto: JMP | JCOND with src 0. */
  get isMayGoto(): boolean {
    return this.opcode === (Class.JMP | JumpOp.JCOND) && this.src === 0;
  }

  /** A conditional jump comparing dst with src or imm (JMP or JMP32). */
  get isConditionalJump(): boolean {
    const op = this.jumpOp;
    return op !== undefined && op !== JumpOp.JA && op !== JumpOp.CALL && op !== JumpOp.EXIT && op !== JumpOp.JCOND;
  }

  /**
   * A jump with a pc-relative target inside the program: conditional jumps, ja, gotol and may_goto.
   * Calls, exit and the indirect gotox are not jumps in this sense.
   */
  get isJump(): boolean {
    if (this.isConditionalJump) return true;
    return this.opcode === (Class.JMP | JumpOp.JA) || this.isGotol || this.isMayGoto;
  }

  /**
   * The pc-relative target of a jump, pseudo call or PSEUDO_FUNC load, in slots counted from the
   * next instruction; undefined for other instructions.
   */
  get branchOffset(): number | undefined {
    if (this.isGotol || this.isPseudoCall || this.isLoadFunc) return this.imm;
    if (this.isJump) return this.offset;
    return undefined;
  }

  /** Signed division or modulo (DIV/MOD with offset 1). */
  get isSignedDivMod(): boolean {
    const op = this.aluOp;
    return (op === AluOp.DIV || op === AluOp.MOD) && this.offset === 1;
  }

  /** Sign-extending move (MOV | X with offset 8, 16 or 32). */
  get isMovSx(): boolean {
    return this.aluOp === AluOp.MOV && this.sourceBit === Source.X && (this.offset === 8 || this.offset === 16 || this.offset === 32);
  }

  /** The kernel verifier's text for this instruction, e.g. `(b7) r0 = 0`. */
  toString(): string {
    return formatInstruction(this);
  }
}

function checkInt(value: number, what: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < -0x80000000 || value > 0xffffffff) {
    throw new AsmError("ASM_INVALID_OPERAND", `${what}: ${String(value)} is not a 32-bit integer`);
  }
  return value;
}

function hex2(n: number): string {
  return (n & 0xff).toString(16).padStart(2, "0");
}

// Builders. These modules import Instruction back; they only use it inside functions, so the cycle
// is safe. Keep it that way: no top-level `new Instruction(...)` in a builder module.
export * from "./alu.js";
export * from "./jump.js";
export * from "./load-store.js";
export * from "./atomic.js";
