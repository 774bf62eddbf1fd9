// Kernel function prototypes for typed program arguments: BTF tracepoints (`btf_trace_<event>`), LSM hooks
// (`bpf_lsm_<hook>`) and named kernel functions (fentry/fexit targets), each as its parameters and return type.

import type { Btf } from "../btf/btf.js";
import { BtfError } from "../errors.js";
import { commonPrefix, signature } from "./tracepoints.js";

/** One parameter of a kernel function: its name (`arg<N>` when BTF has none) and BTF type id. */
export interface FunctionParam { readonly name: string; readonly type: number }

/** A kernel function's prototype, as a tracing program sees it: parameters then the return type. */
export interface FunctionProto {
  /** The name programs use: the event (`sched_switch`), the hook (`file_open`) or the function. */
  readonly name: string;
  readonly params: readonly FunctionParam[];
  /** BTF type id of the return type (0 for void). */
  readonly ret: number;
}

/** Prototypes found by {@link functionProtos}, each list sorted by name. */
export interface FunctionProtos {
  /** `tp_btf`/`raw_tp` events: the tracepoint's arguments (the leading `void *__data` dropped). */
  readonly btfTracepoints: readonly FunctionProto[];
  /** LSM hooks, from the `bpf_lsm_<hook>` functions. */
  readonly lsmHooks: readonly FunctionProto[];
  /** Named kernel functions (fentry/fexit targets). */
  readonly functions: readonly FunctionProto[];
}

/** Options of {@link functionProtos}. */
export interface FunctionProtoOptions {
  /** Collect every BTF tracepoint and LSM hook. */
  readonly hooks?: boolean;
  /** Kernel functions to collect by name. */
  readonly functions?: readonly string[];
  /** Tracepoint event → its trace event class, when known (names the arguments of shared classes). */
  readonly classes?: ReadonlyMap<string, string>;
}

const TRACE_PREFIX = "btf_trace_";
/** The probe function of a tracepoint (class): the same arguments as the event, with names. */
const PROBE_PREFIX = "__bpf_trace_";
const LSM_PREFIX = "bpf_lsm_";
const MAX_CHAIN = 32;
const cmp = (a: FunctionProto, b: FunctionProto): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** The func_proto a type names through typedefs, qualifiers and one pointer, or undefined. */
function protoOf(btf: Btf, id: number): number | undefined {
  let pointers = 0;
  for (let i = 0; i < MAX_CHAIN; i++) {
    const t = btf.type(id);
    switch (t.kind) {
      case "typedef": case "const": case "volatile": case "restrict": case "type_tag": id = t.type; continue;
      case "ptr": if (++pointers > 1) return undefined; id = t.type; continue;
      case "func": id = t.type; continue;
      case "func_proto": return id;
      default: return undefined;
    }
  }
  return undefined;
}

/**
 * Parameter names of tracepoint events: `btf_trace_<event>` prototypes are unnamed, the probe functions
 * (`__bpf_trace_<class>`) name them. The event's own probe wins, then its known class's, then the probe
 * with the same argument types sharing the longest name prefix.
 */
class ProbeNames {
  readonly #btf: Btf;
  readonly #byName = new Map<string, number>();
  readonly #bySignature = new Map<string, string[]>();
  constructor(btf: Btf) {
    this.#btf = btf;
    for (const id of btf.ids()) {
      if (btf.kindOf(id) !== "func") continue;
      const name = btf.nameOf(id);
      if (!name.startsWith(PROBE_PREFIX)) continue;
      const p = protoOf(btf, id);
      const sig = p === undefined ? undefined : signature(btf, p);
      if (p === undefined || sig === undefined || this.#byName.has(name)) continue;
      const cls = name.slice(PROBE_PREFIX.length);
      this.#byName.set(cls, p);
      const list = this.#bySignature.get(sig);
      if (list) list.push(cls);
      else this.#bySignature.set(sig, [cls]);
    }
  }
  /** Names for the parameters of `event` whose (unnamed) prototype is `protoId`. */
  names(event: string, protoId: number, cls: string | undefined): readonly string[] | undefined {
    const sig = signature(this.#btf, protoId);
    if (sig === undefined) return undefined;
    const matches = (c: string | undefined): c is string => c !== undefined && this.#byName.has(c) && signature(this.#btf, this.#byName.get(c)!) === sig;
    let pick: string | undefined = matches(event) ? event : matches(cls) ? cls : undefined;
    if (pick === undefined) {
      const same = (this.#bySignature.get(sig) ?? []).slice().sort((a, b) => commonPrefix(b, event) - commonPrefix(a, event) || (a < b ? -1 : a > b ? 1 : 0));
      pick = same[0];
    }
    if (pick === undefined) return undefined;
    const t = this.#btf.type(this.#byName.get(pick)!);
    return t.kind === "func_proto" ? t.params.slice(1).map((p) => p.name) : undefined;
  }
}

function proto(btf: Btf, name: string, protoId: number, skip: number, names?: readonly string[]): FunctionProto | undefined {
  const t = btf.type(protoId);
  if (t.kind !== "func_proto") return undefined;
  // A variadic function ends with a parameter of type 0; tracing programs cannot see those arguments.
  const params = t.params.slice(skip).filter((p) => p.type !== 0);
  const seen = new Set<string>();
  return {
    name,
    params: params.map((p, i) => {
      const given = p.name !== "" ? p.name : names?.[i] ?? "";
      let n = given !== "" && !seen.has(given) ? given : `arg${i}`;
      while (seen.has(n)) n += "_";
      seen.add(n);
      return { name: n, type: p.type };
    }),
    ret: t.returnType,
  };
}

/**
 * Collect the prototypes of BTF tracepoints, LSM hooks and the named kernel functions.
 * @throws BtfError `BTF_GEN_UNKNOWN_TYPE` naming every requested function the BTF lacks.
 */
export function functionProtos(btf: Btf, opts: FunctionProtoOptions): FunctionProtos {
  const btfTracepoints: FunctionProto[] = [];
  const lsmHooks: FunctionProto[] = [];
  if (opts.hooks) {
    const seenTp = new Set<string>();
    const seenLsm = new Set<string>();
    const probes = new ProbeNames(btf);
    for (const id of btf.ids()) {
      const kind = btf.kindOf(id);
      const name = btf.nameOf(id);
      if (kind === "typedef" && name.startsWith(TRACE_PREFIX)) {
        const event = name.slice(TRACE_PREFIX.length);
        const p = protoOf(btf, id);
        if (p === undefined || seenTp.has(event)) continue;
        const found = proto(btf, event, p, 1, probes.names(event, p, opts.classes?.get(event)));
        if (found) { seenTp.add(event); btfTracepoints.push(found); }
      } else if (kind === "func" && name.startsWith(LSM_PREFIX)) {
        const hook = name.slice(LSM_PREFIX.length);
        const p = protoOf(btf, id);
        if (p === undefined || seenLsm.has(hook)) continue;
        const found = proto(btf, hook, p, 0);
        if (found) { seenLsm.add(hook); lsmHooks.push(found); }
      }
    }
  }
  const functions: FunctionProto[] = [];
  const missing: string[] = [];
  for (const name of [...new Set(opts.functions ?? [])]) {
    const ids = btf.find(name, "func");
    const p = ids.length > 0 ? protoOf(btf, ids[0]!) : undefined;
    const found = p === undefined ? undefined : proto(btf, name, p, 0);
    if (found) functions.push(found);
    else missing.push(name);
  }
  if (missing.length > 0) {
    throw new BtfError("BTF_GEN_UNKNOWN_TYPE", `gen: no kernel function named ${missing.map((n) => JSON.stringify(n)).join(", ")} in the BTF`);
  }
  return { btfTracepoints: btfTracepoints.sort(cmp), lsmHooks: lsmHooks.sort(cmp), functions: functions.sort(cmp) };
}

/** Every parameter and return type id of the prototypes (to select the types they name). */
export function protoTypes(protos: FunctionProtos): number[] {
  const out: number[] = [];
  for (const list of [protos.btfTracepoints, protos.lsmHooks, protos.functions]) {
    for (const p of list) {
      for (const param of p.params) out.push(param.type);
      if (p.ret !== 0) out.push(p.ret);
    }
  }
  return out;
}
