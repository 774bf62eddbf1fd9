// Disassembler printing instructions in the kernel verifier's syntax (kernel/bpf/disasm.c),
// e.g. `0: (b7) r0 = 0`, `5: (85) call bpf_map_lookup_elem#1`, `6: (15) if r0 == 0x0 goto pc+9`.

import { helperName as tableHelperName } from "./helpers.js";
import type { Instruction } from "./instruction.js";
import { AluOp, AtomicOp, Class, JumpOp, Mode, PseudoCall, PseudoLoad, Size, Source, isKnownOpcode } from "./opcode.js";

/** Options of `disassemble` and `formatInstruction`. */
export interface DisassembleOptions {
  /** Name of helper `id`; consulted before the built-in table (src/asm/helpers.ts). */
  helperName?(id: number): string | undefined;
  /**
   * Name of the kfunc a PSEUDO_KFUNC_CALL calls (the verifier prints the BTF name). Defaults to the
   * instruction's `reference`, else the kernel's fallback text `kernel-function`.
   */
  kfuncName?(insn: Instruction): string | undefined;
  /**
   * Text of an ld_imm64 value (the kernel's cb_imm). Default: `0x` + the 64-bit value in hex, as the
   * verifier prints it. `symbolicImm` is a ready-made alternative (`map[name]`, `map[fd:3][0]+8`, ...).
   */
  immName?(insn: Instruction, value: bigint): string | undefined;
  /** Print a `name:` line before each instruction that defines a `symbol`. Default false. */
  labels?: boolean;
  /** Slot index of the first instruction. Default 0. */
  startSlot?: number;
}

const ALU_OP: Record<number, string> = {
  [AluOp.ADD]: "+=", [AluOp.SUB]: "-=", [AluOp.MUL]: "*=", [AluOp.DIV]: "/=", [AluOp.OR]: "|=", [AluOp.AND]: "&=",
  [AluOp.LSH]: "<<=", [AluOp.RSH]: ">>=", [AluOp.NEG]: "neg", [AluOp.MOD]: "%=", [AluOp.XOR]: "^=", [AluOp.MOV]: "=",
  [AluOp.ARSH]: "s>>=", [AluOp.END]: "endian",
};
const ATOMIC_NAME: Record<number, string> = { [AluOp.ADD]: "add", [AluOp.AND]: "and", [AluOp.OR]: "or", [AluOp.XOR]: "xor" };
const JMP_OP: Record<number, string> = {
  [JumpOp.JA]: "jmp", [JumpOp.JEQ]: "==", [JumpOp.JGT]: ">", [JumpOp.JLT]: "<", [JumpOp.JGE]: ">=", [JumpOp.JLE]: "<=",
  [JumpOp.JSET]: "&", [JumpOp.JNE]: "!=", [JumpOp.JSGT]: "s>", [JumpOp.JSLT]: "s<", [JumpOp.JSGE]: "s>=", [JumpOp.JSLE]: "s<=",
  [JumpOp.CALL]: "call", [JumpOp.EXIT]: "exit",
};
const LDST: Record<number, string> = { [Size.W]: "u32", [Size.H]: "u16", [Size.B]: "u8", [Size.DW]: "u64" };
const LDSX: Record<number, string> = { [Size.W]: "s32", [Size.H]: "s16", [Size.B]: "s8" };

/** `%+d` of C's printf. */
function signed(n: number): string {
  return n >= 0 ? `+${n}` : `${n}`;
}

function hex2(n: number): string {
  return (n & 0xff).toString(16).padStart(2, "0");
}

/**
 * One instruction in the verifier's syntax without the index, e.g. `(61) r2 = *(u32 *)(r0 +0)`.
 * Opcodes outside the kernel's instruction table, and forms the kernel prints as `BUG_...`, print as
 * `(xx) unknown`.
 */
export function formatInstruction(insn: Instruction, opts: DisassembleOptions = {}): string {
  const code = insn.opcode & 0xff;
  const head = `(${hex2(code)}) `;
  const body = isKnownOpcode(code) ? formatBody(insn, opts) : undefined;
  return head + (body ?? "unknown");
}

function formatBody(insn: Instruction, opts: DisassembleOptions): string | undefined {
  const code = insn.opcode & 0xff;
  const cls = code & 0x07;
  const dst = insn.dst;
  const src = insn.src;
  const off = insn.offset;
  const imm = insn.imm;

  if (cls === Class.ALU || cls === Class.ALU64) {
    const r = cls === Class.ALU ? "w" : "r";
    const op = code & 0xf0;
    if (op === AluOp.END) {
      if (cls === Class.ALU64) return `r${dst} = bswap${imm} r${dst}`;
      return `r${dst} = ${(code & Source.X) === Source.X ? "be" : "le"}${imm} r${dst}`;
    }
    if (op === AluOp.NEG) return `${r}${dst} = -${r}${dst}`;
    if (code === (Class.ALU64 | AluOp.MOV | Source.X) && off === 1) {
      const u = imm >>> 0;
      return `r${dst} = addr_space_cast(r${src}, ${u >>> 16}, ${u & 0xffff})`;
    }
    if (code === (Class.ALU64 | AluOp.MOV | Source.X) && off === -1) return `r${dst} = &(void __percpu *)(r${src})`;
    const sdivmod = (op === AluOp.DIV || op === AluOp.MOD) && off === 1;
    const opText = sdivmod ? (op === AluOp.DIV ? "s/=" : "s%=") : ALU_OP[op];
    if ((code & Source.X) === Source.X) {
      const sx = op === AluOp.MOV && (off === 8 || off === 16 || off === 32) ? `(s${off})` : "";
      return `${r}${dst} ${opText} ${sx}${r}${src}`;
    }
    return `${r}${dst} ${opText} ${imm}`;
  }

  const mode = code & 0xe0;
  const size = code & 0x18;
  if (cls === Class.STX) {
    const ty = LDST[size];
    if (mode === Mode.MEM) return `*(${ty} *)(r${dst} ${signed(off)}) = r${src}`;
    if (mode !== Mode.ATOMIC) return undefined;
    const bits = size === Size.DW ? "64" : "";
    switch (imm) {
      case AtomicOp.ADD:
      case AtomicOp.AND:
      case AtomicOp.OR:
      case AtomicOp.XOR:
        return `lock *(${ty} *)(r${dst} ${signed(off)}) ${ALU_OP[imm]} r${src}`;
      case AtomicOp.FETCH_ADD:
      case AtomicOp.FETCH_AND:
      case AtomicOp.FETCH_OR:
      case AtomicOp.FETCH_XOR:
        return `r${src} = atomic${bits}_fetch_${ATOMIC_NAME[imm & 0xf0]}((${ty} *)(r${dst} ${signed(off)}), r${src})`;
      case AtomicOp.CMPXCHG:
        return `r0 = atomic${bits}_cmpxchg((${ty} *)(r${dst} ${signed(off)}), r0, r${src})`;
      case AtomicOp.XCHG:
        return `r${src} = atomic${bits}_xchg((${ty} *)(r${dst} ${signed(off)}), r${src})`;
      case AtomicOp.LOAD_ACQ:
        return `r${dst} = load_acquire((${ty} *)(r${src} ${signed(off)}))`;
      case AtomicOp.STORE_REL:
        return `store_release((${ty} *)(r${dst} ${signed(off)}), r${src})`;
      default:
        return undefined;
    }
  }
  if (cls === Class.ST) {
    return mode === Mode.MEM ? `*(${LDST[size]} *)(r${dst} ${signed(off)}) = ${imm}` : undefined;
  }
  if (cls === Class.LDX) {
    const ty = mode === Mode.MEM ? LDST[size] : mode === Mode.MEMSX ? LDSX[size] : undefined;
    return ty === undefined ? undefined : `r${dst} = *(${ty} *)(r${src} ${signed(off)})`;
  }
  if (cls === Class.LD) {
    if (mode === Mode.ABS) return `r0 = *(${LDST[size]} *)skb[${imm}]`;
    if (mode === Mode.IND) return `r0 = *(${LDST[size]} *)skb[r${src} + ${imm}]`;
    if (mode === Mode.IMM && size === Size.DW) {
      const value = BigInt.asUintN(64, insn.constant);
      return `r${dst} = ${opts.immName?.(insn, value) ?? `0x${value.toString(16)}`}`;
    }
    return undefined;
  }

  // JMP / JMP32
  const op = code & 0xf0;
  if (op === JumpOp.CALL) {
    if (src === PseudoCall.CALL) return `call pc${signed(imm)}`;
    return `call ${callName(insn, opts)}#${imm}`;
  }
  if (code === (Class.JMP | JumpOp.JA)) return `goto pc${signed(off)}`;
  if (code === (Class.JMP | JumpOp.JA | Source.X)) return `gotox r${dst}`;
  if (code === (Class.JMP | JumpOp.JCOND)) return src === 0 ? `may_goto pc${signed(off)}` : undefined;
  if (code === (Class.JMP32 | JumpOp.JA)) return `gotol pc${signed(imm)}`;
  if (code === (Class.JMP | JumpOp.EXIT)) return "exit";
  const r = cls === Class.JMP32 ? "w" : "r";
  if ((code & Source.X) === Source.X) return `if ${r}${dst} ${JMP_OP[op]} ${r}${src} goto pc${signed(off)}`;
  return `if ${r}${dst} ${JMP_OP[op]} 0x${(imm >>> 0).toString(16)} goto pc${signed(off)}`;
}

function callName(insn: Instruction, opts: DisassembleOptions): string {
  const id = insn.imm;
  if (insn.src === PseudoCall.HELPER) {
    const name = opts.helperName?.(id) ?? tableHelperName(id);
    if (name !== undefined) return name;
  }
  if (insn.src === PseudoCall.KFUNC) return opts.kfuncName?.(insn) ?? insn.reference ?? "kernel-function";
  return "unknown";
}

/**
 * Disassembles instructions into verifier-style lines `<slot>: (<opcode>) <text>`; the index is the
 * slot index (ld_imm64 takes two), as in the verifier log.
 */
export function disassemble(insns: readonly Instruction[], opts: DisassembleOptions = {}): string[] {
  const lines: string[] = [];
  let slot = opts.startSlot ?? 0;
  for (const insn of insns) {
    if (opts.labels && insn.symbol !== undefined) lines.push(`${insn.symbol}:`);
    lines.push(`${slot}: ${formatInstruction(insn, opts)}`);
    slot += insn.slots;
  }
  return lines;
}

/**
 * An `immName` for `disassemble` that shows what an ld_imm64 refers to instead of a raw number:
 * `map[events]` / `map[fd:3]`, `map[config][0]+8` / `map[fd:3][0]+8`, `map[idx:1]`, `map[idx:1][0]+8`,
 * `btf_id[1234]` (or the referenced name), `func[handler]` / `func[pc+5]`. Plain constants print as hex.
 */
export function symbolicImm(insn: Instruction, value: bigint): string | undefined {
  const lo = insn.imm;
  const hi = insn.nextImm;
  const ref = insn.reference;
  switch (insn.src) {
    case PseudoLoad.MAP_FD:
      return `map[${ref ?? `fd:${lo}`}]`;
    case PseudoLoad.MAP_VALUE:
      return `map[${ref ?? `fd:${lo}`}][0]+${hi >>> 0}`;
    case PseudoLoad.MAP_IDX:
      return `map[idx:${lo}]`;
    case PseudoLoad.MAP_IDX_VALUE:
      return `map[idx:${lo}][0]+${hi >>> 0}`;
    case PseudoLoad.BTF_ID:
      return ref ?? `btf_id[${lo}]`;
    case PseudoLoad.FUNC:
      return `func[${ref ?? `pc${signed(lo)}`}]`;
    default:
      return `0x${value.toString(16)}`;
  }
}
