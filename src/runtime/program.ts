// A live BPF program: BPF_PROG_LOAD with a verifier log on failure (retried with a growing buffer),
// attach to the hook its section names, test runs, pinning.

import { encode } from "../asm/encode.js";
import { missingAttachType, missingProgramType } from "../features.js";
import type { Btf } from "../btf/btf.js";
import { kernelBtf } from "../btf/kernel.js";
import { KernelRefusedError, MissingFeatureError, SyscallError, TsbpfError, VerifierError } from "../errors.js";
import { describeGroup, programLoadNeed } from "../sys/capabilities.js";
import { missingCapabilityError, sys } from "../sys/seam.js";
import type { ProgramSpec } from "../object/spec.js";
import { progLoad, progTestRun } from "../sys/bpf.js";
import { openPin, pinAt, type OpenPinnedOptions, type PinOptions } from "./pin.js";
import { ATTACH_TYPE, PROG_FLAGS, PROG_TYPE } from "../sys/constants.js";
import type { Fd } from "../sys/fd.js";
import { closedExplicitly, releaseOnCollect } from "../sys/finalize.js";
import { kernelVersion } from "../sys/system.js";
import { withOp } from "./map.js";
import { attachProgram, type AttachOptions } from "./links/attach.js";
import type { Link } from "./links/link.js";
import { prepareProgram, type PrepareContext } from "./prepare.js";
import { tokenRefusal, type BpfToken } from "./token.js";
import { failingInstruction, formatSourceLine, hasVerifierVerdict, sourceLineFor, verifierReason } from "./verifier.js";

/** What loadProgram needs besides the spec. */
export interface LoadProgramContext extends PrepareContext {
  readonly btfFd: Fd | undefined;
  readonly logLevel: number;
  /** freplace (EXT) programs: the program and function (BTF id) the extension replaces. */
  readonly extTarget?: { readonly progFd: Fd; readonly btfId: number };
  /** struct_ops programs: the kernel struct (BTF id, module BTF fd) and the member index they implement. */
  readonly structOps?: { readonly btfId: number; readonly memberIndex: number; readonly btfObjFd?: Fd };
  /** BPF token the program is loaded with (BPF_F_TOKEN_FD); see src/runtime/token.ts. */
  readonly token?: BpfToken;
}

const MIN_LOG = 64 * 1024;
const MAX_LOG = 1 << 30;

/** attach_btf_id for programs that attach by kernel BTF (tp_btf, fentry/fexit, lsm, iter). */
function attachBtfId(spec: ProgramSpec, btf: Btf): number {
  const t = spec.attachTarget;
  let name: string;
  let kind: "typedef" | "func" = "func";
  if (spec.expectedAttachType === "TRACE_RAW_TP") { name = `btf_trace_${t}`; kind = "typedef"; }
  else if (spec.type === "LSM") name = `bpf_lsm_${t}`;
  else if (spec.expectedAttachType === "TRACE_ITER") name = `bpf_iter_${t}`;
  else name = t;
  if (!t) throw new TsbpfError("NO_ATTACH_TARGET", `program "${spec.name}": section "${spec.sectionName}" names no attach target`);
  const id = btf.find(name, kind)[0];
  if (id === undefined) {
    throw new MissingFeatureError("ATTACH_TARGET_NOT_FOUND", `program "${spec.name}": the kernel's BTF has no ${kind} "${name}" for section "${spec.sectionName}"`);
  }
  return id;
}

/** Load one program; throws VerifierError with the log and the failing source line on rejection. */
export function loadProgram(spec: ProgramSpec, ctx: LoadProgramContext): Program {
  if (spec.type === "EXT" && !ctx.extTarget) {
    throw new TsbpfError("FREPLACE_NEEDS_TARGET", `load program "${spec.name}": a freplace program needs the program it extends (loadCollection option { freplace: { ${spec.name}: { target } } })`);
  }
  if (spec.type === "STRUCT_OPS" && !ctx.structOps) {
    throw new TsbpfError("STRUCT_OPS_UNREFERENCED", `load program "${spec.name}": a struct_ops program is loaded for the struct_ops map member that points at it, and no SEC(".struct_ops") variable of the object does (leave it out with the programs option, or use it in a struct_ops variable)`);
  }
  const prepared = prepareProgram(spec, ctx);
  const insns = encode(prepared.instructions);
  const base = {
    progType: PROG_TYPE[spec.type],
    insns,
    license: spec.license || "GPL",
    progName: spec.name.slice(0, 15).replace(/[^A-Za-z0-9_.]/g, "_"),
    kernVersion: spec.kernelVersion || kernelVersion().code,
    progFlags: (spec.sleepable ? PROG_FLAGS.SLEEPABLE : 0) | (spec.xdpFrags ? PROG_FLAGS.XDP_HAS_FRAGS : 0) | (ctx.token ? PROG_FLAGS.TOKEN_FD : 0),
    ...(ctx.token ? { progTokenFd: ctx.token.fd.value } : {}),
    ...(spec.expectedAttachType ? { expectedAttachType: ATTACH_TYPE[spec.expectedAttachType] } : {}),
    ...(spec.needsBtfTarget && spec.type !== "EXT" ? { attachBtfId: attachBtfId(spec, kernelBtf()) } : {}),
    ...(spec.type === "EXT" && ctx.extTarget ? { attachProgFd: ctx.extTarget.progFd.value, attachBtfId: ctx.extTarget.btfId } : {}),
    ...(ctx.structOps ? { attachBtfId: ctx.structOps.btfId, expectedAttachType: ctx.structOps.memberIndex, ...(ctx.structOps.btfObjFd ? { attachBtfObjFd: ctx.structOps.btfObjFd.value } : {}) } : {}),
    ...(ctx.btfFd && prepared.funcInfo ? {
      progBtfFd: ctx.btfFd.value,
      funcInfo: prepared.funcInfo, funcInfoRecSize: 8,
      ...(prepared.lineInfo ? { lineInfo: prepared.lineInfo, lineInfoRecSize: 16 } : {}),
    } : {}),
    ...(prepared.fdArray.length ? { fdArray: Int32Array.from(prepared.fdArray) } : {}),
  };
  const context = `load program "${spec.name}"`;
  let first: SyscallError;
  try {
    return new Program(progLoad({ ...base, context }), spec);
  } catch (e) {
    if (!(e instanceof SyscallError)) throw e;
    first = e;
  }
  // EPERM before the verifier ran: the program type needs a capability this process lacks.
  if (first.code === "EPERM") {
    const need = programLoadNeed(spec.type);
    if (ctx.token) {
      // The kernel checked the token's delegation, then the capabilities in the token's namespace.
      const attach = (Object.keys(ATTACH_TYPE) as (keyof typeof ATTACH_TYPE)[]).find((k) => ATTACH_TYPE[k] === (base.expectedAttachType ?? 0));
      throw tokenRefusal(ctx.token, { cmd: "PROG_LOAD", prog: spec.type, ...(attach ? { attach } : {}), context, needs: need.map(describeGroup).join(" and ") }, first);
    }
    const what = `${need.map(describeGroup).join(" and ")} to load ${spec.type} programs`;
    const denied = missingCapabilityError(`${context}: BPF_PROG_LOAD`, first.code, sys().strerror(first.errno), what, need, first);
    if (denied) throw denied;
  }
  // Rejected: load again with a log to say why, growing the buffer until the whole log fits.
  let size = MIN_LOG;
  for (;;) {
    const log = new Uint8Array(size);
    try {
      const fd = progLoad({ ...base, logLevel: ctx.logLevel, logBuf: log, context });
      return new Program(fd, spec); // loaded with a log (e.g. a transient failure); fine
    } catch (e) {
      if (!(e instanceof SyscallError)) throw e;
      if (e.code === "ENOSPC" && size < MAX_LOG) { size *= 4; continue; }
      const end = log.indexOf(0);
      const text = new TextDecoder().decode(end === -1 ? log : log.subarray(0, end));
      // An interrupted load (EAGAIN) is not a verdict of the verifier; no log means nothing was verified.
      if (e.code === "EAGAIN") throw e;
      // (Some kernels refuse first and still print the statistics line: "processed 0 insns ...".)
      if (!hasVerifierVerdict(text)) throw refusedBeforeVerification(context, spec, e, ctx.token);
      const insn = failingInstruction(text);
      const line = insn !== undefined ? sourceLineFor(prepared.lines, insn) : undefined;
      const at = line ? ` at ${formatSourceLine(line)}` : insn !== undefined ? ` at instruction ${insn}` : "";
      throw new VerifierError(`${context}: verifier rejected it${at}: ${verifierReason(text)}`, text, e.errno, insn);
    }
  }
}

/** Why the kernel may refuse a program of `spec`'s kind without verifying it, by errno. */
function refusedBeforeVerification(context: string, spec: ProgramSpec, e: SyscallError, token: BpfToken | undefined): KernelRefusedError | MissingFeatureError {
  const kind = `${spec.type.toLowerCase()} program${spec.sectionName ? ` (SEC("${spec.sectionName}"))` : ""}`;
  let why: string;
  switch (e.code) {
    case "EPERM":
    case "EACCES":
      why = /^(fentry|fexit|fmod_ret|lsm)/.test(spec.sectionName)
        ? "fentry/fexit/LSM programs attach through BPF trampolines, which need ftrace (CONFIG_FUNCTION_TRACER, and ftrace not locked down); also check CAP_BPF + CAP_PERFMON (or CAP_SYS_ADMIN) and LSM policy"
        : "the process may lack a capability (CAP_BPF, plus CAP_PERFMON for tracing or CAP_NET_ADMIN for networking programs, or CAP_SYS_ADMIN), or kernel lockdown or an LSM policy forbids this kind of program here";
      break;
    case "EINVAL": {
      // Ask the feature probes whether the kernel has this program type and attach type at all.
      const missing = missingProgramType(spec.type, context, e, token) ?? (spec.expectedAttachType ? missingAttachType(spec.type, spec.expectedAttachType, context, e, token) : undefined);
      if (missing) return missing;
      why = "this kernel may not know this program type, attach type or a flag it was loaded with (an older kernel, or a feature compiled out)";
      break;
    }
    case "EOPNOTSUPP":
    case "ENOTSUPP":
      why = "this kernel build does not support this kind of program";
      break;
    default:
      why = "no verifier log was produced, so the verifier never ran";
  }
  return new KernelRefusedError(`${context}: the kernel refused this ${kind} before verification (${e.code}, no verifier log): ${why}`, e);
}

/** Input and output of {@link Program.testRun} (BPF_PROG_TEST_RUN). */
export interface TestRunOptions {
  /** Packet data for XDP/TC/socket programs. */
  readonly data?: Uint8Array;
  /** Size of the output buffer for the (possibly modified) packet; defaults to data length + 256. */
  readonly dataOutSize?: number;
  /** Context (e.g. struct __sk_buff, or raw_tp args) passed to the program. */
  readonly ctx?: Uint8Array;
  readonly ctxOutSize?: number;
  readonly repeat?: number;
  readonly flags?: number;
  readonly cpu?: number;
}

export interface TestRunResult {
  readonly retval: number;
  /** Average run time per repetition, in nanoseconds. */
  readonly duration: number;
  readonly data: Uint8Array | undefined;
  readonly ctx: Uint8Array | undefined;
}

/**
 * A loaded program. `attach()` attaches it where its section says (tracepoint, raw_tp, tp_btf, XDP...);
 * disposing it closes the fd and every link it made that is not pinned. A program garbage-collected
 * without close() has its fd closed then, with a `TSBPF_UNCLOSED` warning.
 */
export class Program implements Disposable {
  readonly fd: Fd;
  readonly spec: ProgramSpec;
  readonly #links = new Set<Link>();

  constructor(fd: Fd, spec: ProgramSpec) {
    this.fd = fd;
    this.spec = spec;
    releaseOnCollect(this, { what: `program "${spec.name}"`, fds: [fd] });
  }

  get name(): string { return this.spec.name; }
  get type(): ProgramSpec["type"] { return this.spec.type; }

  /**
   * Attach to the hook named by the section (`tracepoint/sched/sched_process_exec`, `raw_tp/sys_enter`,
   * `tp_btf/sched_switch`, `xdp` with `{ interface: "eth0" }`...). The link closes with the program.
   */
  attach(opts: AttachOptions = {}): Link {
    const link = attachProgram(this, opts);
    this.#links.add(link);
    link.onClose(() => this.#links.delete(link));
    return link;
  }

  /** Run the program once (or `repeat` times) on the given input with BPF_PROG_TEST_RUN. */
  testRun(opts: TestRunOptions = {}): TestRunResult {
    const dataOut = opts.data ? new Uint8Array(opts.dataOutSize ?? opts.data.byteLength + 256) : undefined;
    const ctxOut = opts.ctx && opts.ctxOutSize !== 0 ? new Uint8Array(opts.ctxOutSize ?? opts.ctx.byteLength) : undefined;
    const r = withOp(`test run of program "${this.name}"`, () => progTestRun(this.fd, {
      dataIn: opts.data ?? null,
      dataOut: dataOut ?? null,
      ctxIn: opts.ctx ?? null,
      ctxOut: ctxOut ?? null,
      // 0 means "once" to the kernel; raw tracepoint test runs refuse any other value (EINVAL).
      repeat: opts.repeat ?? 0,
      flags: opts.flags ?? 0,
      cpu: opts.cpu ?? 0,
    }));
    return { retval: r.retval, duration: r.duration, data: r.dataOut, ctx: r.ctxOut };
  }

  /**
   * Pin the program on bpffs (checked first: PinError NOT_BPFFS / PIN_NAME / PIN_EXISTS; missing parent
   * directories are created and removed again on failure).
   */
  pin(path: string, opts: PinOptions = {}): void {
    withOp(`pin program "${this.name}" at ${path}`, () => pinAt(this.fd, path, `program "${this.name}"`, opts));
  }

  /** Open a program pinned on bpffs (only its fd; no spec-driven attach); `readOnly` for a pin whose mode grants only reading. */
  static pinnedFd(path: string, opts: OpenPinnedOptions = {}): Fd {
    return withOp(`open pinned program at ${path}`, () => openPin(path, opts, `open pinned program at ${path}`));
  }

  close(): void {
    closedExplicitly(this);
    for (const l of [...this.#links]) l.close();
    this.fd.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
