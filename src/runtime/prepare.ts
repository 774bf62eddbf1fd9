// Turns a ProgramSpec into the exact instructions and BTF records the kernel gets: map fds and global
// data addresses filled in, externs resolved, CO-RE relocations applied, func/line info rebased.

import type { Instruction } from "../asm/instruction.js";
import { PSEUDO_BTF_ID, PSEUDO_KFUNC_CALL, PSEUDO_MAP_FD, PSEUDO_MAP_VALUE } from "../asm/opcode.js";
import type { Btf } from "../btf/btf.js";
import { encodeFuncInfo, encodeLineInfo } from "../btf/ext.js";
import type { BtfFuncInfo, BtfLineInfo } from "../btf/types.js";
import { applyCoreRelocation, calculateCoreRelocation, type CoreCandidate, type CoreTargets } from "../core/index.js";
import { CoreError, ObjectError } from "../errors.js";
import type { ProgramSpec } from "../object/spec.js";
import type { KsymResolver } from "./ksyms.js";


/** Everything `prepareProgram` needs from the live collection. */
export interface PrepareContext {
  /** fd of a created map by spec name. */
  mapFd(name: string): number;
  /** The object's BTF (local types for CO-RE), if any. */
  readonly btf: Btf | undefined;
  /** Target BTF(s) for CO-RE: the running kernel's (and modules'). Resolved lazily. */
  coreTargets(): CoreTargets;
  /** Kernel symbol resolution for __ksym externs. */
  readonly ksyms: KsymResolver;
  /** Candidate cache shared by all programs of one object. */
  readonly candidateCache: Map<number, CoreCandidate[]>;
}

/** Prepared program, ready for BPF_PROG_LOAD. */
export interface PreparedProgram {
  readonly instructions: Instruction[];
  /** bpf_func_info records (insn_off in instructions), encoded, or undefined without BTF. */
  readonly funcInfo: Uint8Array | undefined;
  readonly funcInfoCount: number;
  readonly lineInfo: Uint8Array | undefined;
  readonly lineInfoCount: number;
  /** Line info per slot index, to map verifier errors back to source. */
  readonly lines: ReadonlyMap<number, BtfLineInfo>;
  /** fds of module BTFs referenced by kfunc calls (fd_array), index 0 unused. */
  readonly fdArray: readonly number[];
}

/** Prepare `spec` for loading. Instructions are cloned; the spec is not modified. */
export function prepareProgram(spec: ProgramSpec, ctx: PrepareContext): PreparedProgram {
  const insns = spec.instructions.map((i) => i.clone());
  const out: Instruction[] = [];
  const funcInfos: BtfFuncInfo[] = [];
  const lineInfos: BtfLineInfo[] = [];
  const lines = new Map<number, BtfLineInfo>();
  const fdArray: number[] = [];
  let slot = 0;
  for (let i = 0; i < insns.length; i++) {
    let ins = insns[i]!;
    let replaced: Instruction[] | undefined;
    const meta = spec.metas[i]!;
    const where = () => `program "${spec.name}" instruction ${slot}`;

    if (meta.coreRelo) {
      if (!ctx.btf) throw new CoreError("CORE_NO_BTF", `${where()}: CO-RE relocation without object BTF`);
      const result = calculateCoreRelocation(meta.coreRelo, ctx.btf, ctx.coreTargets(), {
        context: { section: spec.sectionName, index: i },
        candidateCache: ctx.candidateCache,
      });
      const patched = applyCoreRelocation(ins, result, ctx.btf);
      if (patched.length !== 1 || patched[0] !== ins) replaced = patched;
      ins = patched[0]!;
    }

    const ref = meta.reference;
    if (ref && !replaced) {
      switch (ref.kind) {
        case "map":
          ins.src = PSEUDO_MAP_FD;
          ins.constant = BigInt(ctx.mapFd(ref.map));
          break;
        case "mapValue":
          ins.src = PSEUDO_MAP_VALUE;
          // imm (low 32 bits) = map fd, next imm (high 32 bits) = offset in the value.
          ins.constant = (BigInt(ref.offset) << 32n) | BigInt(ctx.mapFd(ref.map));
          break;
        case "ksymVar": {
          const r = ctx.ksyms.variable(ref.name);
          if (r.kind === "btf") {
            ins.src = PSEUDO_BTF_ID;
            ins.constant = (BigInt(r.moduleBtfFd ?? 0) << 32n) | BigInt(r.btfId);
          } else {
            ins.src = 0;
            ins.constant = BigInt.asIntN(64, r.address);
          }
          break;
        }
        case "kfunc": {
          const r = ctx.ksyms.func(ref.name);
          if (r === undefined) {
            // A weak kfunc the kernel lacks: leave a call the verifier rejects only if reached.
            ins.src = PSEUDO_KFUNC_CALL;
            ins.constant = 0n;
            ins.offset = 0;
            break;
          }
          ins.src = PSEUDO_KFUNC_CALL;
          ins.constant = BigInt(r.btfId);
          if (r.moduleBtfFd !== undefined) {
            let idx = fdArray.indexOf(r.moduleBtfFd);
            if (idx === -1) {
              if (fdArray.length === 0) fdArray.push(0);
              idx = fdArray.push(r.moduleBtfFd) - 1;
            }
            ins.offset = idx;
          } else {
            ins.offset = 0;
          }
          break;
        }
      }
    } else if (ins.isLoadFromMap && !replaced) {
      throw new ObjectError("OBJ_BAD_RELOCATION", `${where()}: loads a map without a relocation naming it`);
    }

    if (meta.funcTypeId !== undefined) funcInfos.push({ insnOff: slot, typeId: meta.funcTypeId });
    if (meta.lineInfo) {
      const li = { ...meta.lineInfo, insnOff: slot };
      lineInfos.push(li);
      lines.set(slot, li);
    }
    for (const r of replaced ?? [ins]) {
      out.push(r);
      slot += r.slots;
    }
  }
  const haveBtf = ctx.btf !== undefined && funcInfos.length > 0;
  return {
    instructions: out,
    funcInfo: haveBtf ? encodeFuncInfo(funcInfos) : undefined,
    funcInfoCount: haveBtf ? funcInfos.length : 0,
    lineInfo: haveBtf && lineInfos.length ? encodeLineInfo(lineInfos) : undefined,
    lineInfoCount: haveBtf ? lineInfos.length : 0,
    lines,
    fdArray,
  };
}
