// eBPF opcode building blocks: class, size, mode, ALU/jump/atomic operations, source bits and pseudo values.
// Values mirror include/uapi/linux/bpf.h and bpf_common.h; grouped `as const` objects plus flat BPF_* names.

/** Instruction class: the low three bits of the opcode. */
export const Class = {
  LD: 0x00,
  LDX: 0x01,
  ST: 0x02,
  STX: 0x03,
  ALU: 0x04,
  JMP: 0x05,
  JMP32: 0x06,
  ALU64: 0x07,
} as const;
export type ClassValue = (typeof Class)[keyof typeof Class];

/** Access size of load/store instructions (bits 3-4). */
export const Size = {
  /** 4 bytes */
  W: 0x00,
  /** 2 bytes */
  H: 0x08,
  /** 1 byte */
  B: 0x10,
  /** 8 bytes */
  DW: 0x18,
} as const;
export type SizeValue = (typeof Size)[keyof typeof Size];

/** Addressing mode of load/store instructions (bits 5-7). */
export const Mode = {
  /** 64-bit immediate (ld_imm64, two slots) */
  IMM: 0x00,
  /** legacy packet access, absolute offset */
  ABS: 0x20,
  /** legacy packet access, register + offset */
  IND: 0x40,
  /** regular memory access */
  MEM: 0x60,
  /** sign-extending memory load */
  MEMSX: 0x80,
  /** atomic memory operation; the operation is in imm */
  ATOMIC: 0xc0,
} as const;
export type ModeValue = (typeof Mode)[keyof typeof Mode];

/** ALU / ALU64 operation (bits 4-7). */
export const AluOp = {
  ADD: 0x00,
  SUB: 0x10,
  MUL: 0x20,
  /** unsigned division; signed division when offset is 1 */
  DIV: 0x30,
  OR: 0x40,
  AND: 0x50,
  LSH: 0x60,
  RSH: 0x70,
  NEG: 0x80,
  /** unsigned modulo; signed modulo when offset is 1 */
  MOD: 0x90,
  XOR: 0xa0,
  /** move; sign-extending move when offset is 8, 16 or 32 */
  MOV: 0xb0,
  ARSH: 0xc0,
  /** byte swap (to_le/to_be for ALU, unconditional bswap for ALU64) */
  END: 0xd0,
} as const;
export type AluOpValue = (typeof AluOp)[keyof typeof AluOp];

/** JMP / JMP32 operation (bits 4-7). */
export const JumpOp = {
  /** unconditional jump (JMP: offset; JMP32: imm = gotol) */
  JA: 0x00,
  JEQ: 0x10,
  JGT: 0x20,
  JGE: 0x30,
  JSET: 0x40,
  JNE: 0x50,
  JSGT: 0x60,
  JSGE: 0x70,
  CALL: 0x80,
  EXIT: 0x90,
  JLT: 0xa0,
  JLE: 0xb0,
  JSLT: 0xc0,
  JSLE: 0xd0,
  /** conditional pseudo jump; src selects the kind (may_goto = 0) */
  JCOND: 0xe0,
} as const;
export type JumpOpValue = (typeof JumpOp)[keyof typeof JumpOp];

/** Conditional jumps: the JumpOp values that compare dst with src/imm. */
export type ConditionalJumpOp = Exclude<JumpOpValue, 0x00 | 0x80 | 0x90 | 0xe0>;

/** Operand source bit (bit 3) for ALU and jump classes. */
export const Source = {
  /** use the 32-bit immediate */
  K: 0x00,
  /** use the source register */
  X: 0x08,
} as const;
export type SourceValue = (typeof Source)[keyof typeof Source];

/** Byte order selector of ALU | END (reuses the source bit). */
export const Endian = {
  TO_LE: 0x00,
  TO_BE: 0x08,
} as const;

/** Atomic operation, stored in imm of STX | ATOMIC instructions. */
export const AtomicOp = {
  ADD: 0x00,
  OR: 0x40,
  AND: 0x50,
  XOR: 0xa0,
  /** modifier: also load the old value into src */
  FETCH: 0x01,
  FETCH_ADD: 0x01,
  FETCH_OR: 0x41,
  FETCH_AND: 0x51,
  FETCH_XOR: 0xa1,
  /** src = xchg(*(dst + off), src) */
  XCHG: 0xe1,
  /** r0 = cmpxchg(*(dst + off), r0, src) */
  CMPXCHG: 0xf1,
  /** dst = load_acquire(*(src + off)) */
  LOAD_ACQ: 0x100,
  /** store_release(*(dst + off), src) */
  STORE_REL: 0x110,
} as const;
export type AtomicOpValue = (typeof AtomicOp)[keyof typeof AtomicOp];

/** Values of src_reg in ld_imm64 (BPF_LD | BPF_IMM | BPF_DW). */
export const PseudoLoad = {
  /** plain 64-bit constant */
  NONE: 0,
  MAP_FD: 1,
  MAP_VALUE: 2,
  BTF_ID: 3,
  FUNC: 4,
  MAP_IDX: 5,
  MAP_IDX_VALUE: 6,
} as const;

/** Values of src_reg in BPF_JMP | BPF_CALL. */
export const PseudoCall = {
  /** call a helper by its bpf_func_id */
  HELPER: 0,
  /** bpf-to-bpf call, imm is pc-relative */
  CALL: 1,
  /** kernel function call, imm is a BTF id, offset an fd_array index */
  KFUNC: 2,
} as const;

export const PSEUDO_MAP_FD = 1;
export const PSEUDO_MAP_VALUE = 2;
export const PSEUDO_BTF_ID = 3;
export const PSEUDO_FUNC = 4;
export const PSEUDO_MAP_IDX = 5;
export const PSEUDO_MAP_IDX_VALUE = 6;
export const PSEUDO_CALL = 1;
export const PSEUDO_KFUNC_CALL = 2;

/** src_reg of BPF_JMP | BPF_JCOND for may_goto. */
export const MAY_GOTO = 0;
/** offset of BPF_ALU | BPF_DIV / BPF_MOD selecting the signed variant. */
export const SIGNED_DIVMOD_OFFSET = 1;
/** offset of BPF_ALU64 | BPF_MOV | BPF_X selecting addr_space_cast. */
export const ADDR_SPACE_CAST_OFFSET = 1;

// Flat kernel-style names, for code ported from C.
export const BPF_LD = Class.LD;
export const BPF_LDX = Class.LDX;
export const BPF_ST = Class.ST;
export const BPF_STX = Class.STX;
export const BPF_ALU = Class.ALU;
export const BPF_JMP = Class.JMP;
export const BPF_JMP32 = Class.JMP32;
export const BPF_ALU64 = Class.ALU64;
export const BPF_W = Size.W;
export const BPF_H = Size.H;
export const BPF_B = Size.B;
export const BPF_DW = Size.DW;
export const BPF_IMM = Mode.IMM;
export const BPF_ABS = Mode.ABS;
export const BPF_IND = Mode.IND;
export const BPF_MEM = Mode.MEM;
export const BPF_MEMSX = Mode.MEMSX;
export const BPF_ATOMIC = Mode.ATOMIC;
export const BPF_K = Source.K;
export const BPF_X = Source.X;
export const BPF_TO_LE = Endian.TO_LE;
export const BPF_TO_BE = Endian.TO_BE;
export const BPF_FETCH = AtomicOp.FETCH;
export const BPF_XCHG = AtomicOp.XCHG;
export const BPF_CMPXCHG = AtomicOp.CMPXCHG;
export const BPF_LOAD_ACQ = AtomicOp.LOAD_ACQ;
export const BPF_STORE_REL = AtomicOp.STORE_REL;
export const BPF_PSEUDO_MAP_FD = PSEUDO_MAP_FD;
export const BPF_PSEUDO_MAP_VALUE = PSEUDO_MAP_VALUE;
export const BPF_PSEUDO_BTF_ID = PSEUDO_BTF_ID;
export const BPF_PSEUDO_FUNC = PSEUDO_FUNC;
export const BPF_PSEUDO_MAP_IDX = PSEUDO_MAP_IDX;
export const BPF_PSEUDO_MAP_IDX_VALUE = PSEUDO_MAP_IDX_VALUE;
export const BPF_PSEUDO_CALL = PSEUDO_CALL;
export const BPF_PSEUDO_KFUNC_CALL = PSEUDO_KFUNC_CALL;

/** The opcode of ld_imm64, the only two-slot instruction. */
export const OP_LD_IMM64 = Class.LD | Mode.IMM | Size.DW; // 0x18
/** The opcode of a helper / bpf-to-bpf / kfunc call. */
export const OP_CALL = Class.JMP | JumpOp.CALL; // 0x85
/** The opcode of exit. */
export const OP_EXIT = Class.JMP | JumpOp.EXIT; // 0x95

/** Class bits of an opcode. */
export function opClass(opcode: number): ClassValue {
  return (opcode & 0x07) as ClassValue;
}

/** Number of bytes a load/store of this size accesses. */
export function sizeBytes(size: SizeValue): 1 | 2 | 4 | 8 {
  switch (size) {
    case Size.B:
      return 1;
    case Size.H:
      return 2;
    case Size.W:
      return 4;
    default:
      return 8;
  }
}

/** The Size value for an access width in bytes, or undefined if there is none. */
export function sizeForBytes(bytes: number): SizeValue | undefined {
  switch (bytes) {
    case 1:
      return Size.B;
    case 2:
      return Size.H;
    case 4:
      return Size.W;
    case 8:
      return Size.DW;
    default:
      return undefined;
  }
}

const KNOWN = buildKnownOpcodes();

function buildKnownOpcodes(): Uint8Array {
  const t = new Uint8Array(256);
  const aluOps = [AluOp.ADD, AluOp.SUB, AluOp.MUL, AluOp.DIV, AluOp.OR, AluOp.AND, AluOp.LSH, AluOp.RSH, AluOp.MOD, AluOp.XOR, AluOp.MOV, AluOp.ARSH];
  for (const cls of [Class.ALU, Class.ALU64]) {
    for (const op of aluOps) {
      t[cls | op | Source.K] = 1;
      t[cls | op | Source.X] = 1;
    }
    t[cls | AluOp.NEG] = 1;
    t[cls | AluOp.END | Endian.TO_LE] = 1;
  }
  t[Class.ALU | AluOp.END | Endian.TO_BE] = 1;
  const condOps = [JumpOp.JEQ, JumpOp.JGT, JumpOp.JGE, JumpOp.JSET, JumpOp.JNE, JumpOp.JSGT, JumpOp.JSGE, JumpOp.JLT, JumpOp.JLE, JumpOp.JSLT, JumpOp.JSLE];
  for (const cls of [Class.JMP, Class.JMP32]) {
    for (const op of condOps) {
      t[cls | op | Source.K] = 1;
      t[cls | op | Source.X] = 1;
    }
    t[cls | JumpOp.JA] = 1;
  }
  t[Class.JMP | JumpOp.JA | Source.X] = 1; // gotox
  t[OP_CALL] = 1;
  t[OP_EXIT] = 1;
  t[Class.JMP | JumpOp.JCOND] = 1;
  for (const size of [Size.B, Size.H, Size.W, Size.DW]) {
    t[Class.STX | Mode.ATOMIC | size] = 1;
    t[Class.STX | Mode.MEM | size] = 1;
    t[Class.ST | Mode.MEM | size] = 1;
    t[Class.LDX | Mode.MEM | size] = 1;
    if (size !== Size.DW) {
      t[Class.LDX | Mode.MEMSX | size] = 1;
      t[Class.LD | Mode.ABS | size] = 1;
      t[Class.LD | Mode.IND | size] = 1;
    }
  }
  t[OP_LD_IMM64] = 1;
  return t;
}

/**
 * Whether the kernel's public instruction table contains this opcode (the check behind the verifier's
 * "unknown opcode" error). Field-level validity (registers, imm of atomics, ...) is not checked here.
 */
export function isKnownOpcode(opcode: number): boolean {
  return KNOWN[opcode & 0xff] === 1;
}
