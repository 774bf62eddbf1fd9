// Kernel map classes of `tsbpf/kernel` (`new HashMap<K, V>(...)`): one table entry per class, holding
// the BPF map type, how its key and value are typed, what its declaration fixes, and its methods'
// lowering. A unit test checks that every declared class has an entry and every entry a declaration.

import type ts from "typescript";
import { HELPER_IDS as H } from "../../sys/helper-ids.js";
import { DiagnosticCode as D } from "../diagnostics.js";
import type { CompiledMapType } from "../module.js";
import { I32, I64, showTy, U32, U64, VOID, type IntTy, type Ty } from "../types.js";
import { addressIfZero, arg, callHelper, ctxArg, intArg, mapFd, memArg, optionalWide, stackBuffer } from "./call-args.js";
import type { MapInfo } from "./context.js";
import { isLayout, tyOfLayout, type Lowerer } from "./function.js";
import { requireGroup } from "./helpers.js";
import { imm, reg, type Value } from "./values.js";

/** A map method's lowering. */
export type MapMethod = (L: Lowerer, call: ts.CallExpression, map: MapInfo) => Value;

/** Reads the map's options object at declaration; `num` reports a value that is not a non-negative integer. */
export interface MapOptionsReader {
  num(name: string): number | undefined;
  /** Reports a problem with the options. */
  fail(message: string): never;
}

/** What a declaration of the class fixes beyond key and value types. */
export interface MapDeclared {
  readonly maxEntries?: number;
  readonly keySize?: number;
  readonly valueSize?: number;
  /** BPF_F_* flags the type requires (or-ed into the declared flags). */
  readonly flags?: number;
}

/** One kernel map class. */
export interface MapKind {
  readonly type: CompiledMapType;
  /**
   * How key and value are typed: `keyed` (`<K, V>` or `{ key, value }`), `indexed` (u32 index, `<V>`),
   * `value` (`<V>` only: queue, stack), `key` (`<K>` only, the value size fixed by `declare`: sockhash),
   * `none` (sizes fixed by `declare`).
   */
  readonly typing: "keyed" | "indexed" | "value" | "key" | "none";
  /** Options the class reads at declaration (default: `maxEntries`, required). */
  declare?(o: MapOptionsReader): MapDeclared;
  readonly methods: Readonly<Record<string, MapMethod>>;
}

function resultOfValue(map: MapInfo): Ty {
  const v = map.value;
  if (!v) return U64;
  if (v.k === "int" || v.k === "bool") return { k: "ref", to: v };
  return v;
}

/** lookup/update/delete/increment of hash-like and array-like maps. */
function keyedMethods(array: boolean): Record<string, MapMethod> {
  return {
    lookup: (L, c, map) => {
      const k = memArg(L, arg(L, c, 0), map.key, "key");
      return callHelper(L, H.map_lookup_elem, [mapFd(L, map), reg(k.addr)], resultOfValue(map));
    },
    update: (L, c, map) => {
      const k = memArg(L, arg(L, c, 0), map.key, "key");
      const v = memArg(L, arg(L, c, 1), map.value, "value");
      return callHelper(L, H.map_update_elem, [mapFd(L, map), reg(k.addr), reg(v.addr), optionalWide(L, c, 2)], I64);
    },
    delete: (L, c, map) => {
      const k = memArg(L, arg(L, c, 0), map.key, "key");
      return callHelper(L, H.map_delete_elem, [mapFd(L, map), reg(k.addr)], I64);
    },
    increment: (L, c, map) => {
      const vt = map.value;
      if (!vt || vt.k !== "int") return L.report(c, D.TypeMismatch, `increment needs an integer value type, ${map.name} holds ${vt ? showTy(vt) : "nothing"}`);
      const k = memArg(L, arg(L, c, 0), map.key, "key");
      const by = c.arguments[1] ? L.operandOf(L.coerce(L.value(L.expr(c.arguments[1], vt), c.arguments[1]), vt, c.arguments[1]), c.arguments[1]) : imm(1);
      const p = callHelper(L, H.map_lookup_elem, [mapFd(L, map), reg(k.addr)], U64);
      // Every entry of an array exists: a failed lookup is an index out of range, which the creating
      // update (BPF_NOEXIST) would refuse as well, so arrays have no creating branch.
      const found = L.b.block(), missing = array ? undefined : L.b.block(), done = L.b.block();
      const pr = L.b.toReg(p.op);
      L.b.terminate({ op: "br", cond: "ne", bits: 64, a: pr, b: imm(0), then: found, else: missing ?? done });
      L.b.setBlock(found);
      if (vt.bits >= 32) {
        L.b.emit({ op: "atomic", rmw: "add", size: (vt.bits / 8) as 4 | 8, base: pr, offset: 0, value: L.b.toReg(by) });
      } else {
        const cur = L.read({ k: "mem", base: pr, offset: 0, ty: vt, what: "value" }, c);
        const next = L.arith("add", cur, { ty: vt, op: by }, c);
        L.write({ k: "mem", base: pr, offset: 0, ty: vt, what: "value" }, next, c);
      }
      L.b.jumpTo(done);
      if (missing !== undefined) {
        L.b.setBlock(missing);
        const sa = stackBuffer(L, 8, "init");
        L.b.emit({ op: "store", size: 8, base: sa, offset: 0, value: imm(0) });
        L.write({ k: "mem", base: sa, offset: 0, ty: vt, what: "value" }, { ty: vt, op: by }, c);
        L.b.emit({ op: "call", helper: H.map_update_elem, args: [mapFd(L, map), reg(k.addr), reg(sa), imm(1)] });
        L.b.jumpTo(done);
      }
      L.b.setBlock(done);
      return { ty: VOID, op: imm(0) };
    },
  };
}

/** pop/peek: the value copied to the stack, or null. */
const takeValue = (helper: number): MapMethod => (L, _c, map) => {
  const vt = map.value ?? U64;
  const size = vt.k === "mem" ? vt.layout.size : vt.k === "int" ? vt.bits / 8 : 1;
  const sa = stackBuffer(L, size, "popped");
  const rc = callHelper(L, helper, [mapFd(L, map), reg(sa)], I64);
  return { ty: vt.k === "int" || vt.k === "bool" ? { k: "ref", to: vt } : vt, op: addressIfZero(L, rc.op, sa) };
};

const QUEUE: Record<string, MapMethod> = {
  push: (L, c, map) => {
    const v = memArg(L, arg(L, c, 0), map.value, "value");
    return callHelper(L, H.map_push_elem, [mapFd(L, map), reg(v.addr), optionalWide(L, c, 1)], I64);
  },
  pop: takeValue(H.map_pop_elem),
  peek: takeValue(H.map_peek_elem),
};

const fds = (): MapDeclared => ({ keySize: 4, valueSize: 4 });

const hash = (type: CompiledMapType): MapKind => ({ type, typing: "keyed", methods: keyedMethods(false) });
const array = (type: CompiledMapType): MapKind => ({ type, typing: "indexed", methods: keyedMethods(true) });

/**
 * Kinds whose programs may delete from a SockMap/SockHash: the kernel (may_update_sockmap) allows it
 * where no socket lock can be held (packet and lookup programs; also sock_ops and map iterators).
 */
const SOCKET_MAP_DELETERS: readonly string[] = ["tc", "xdp", "socketFilter", "skReuseport", "flowDissector", "skLookup"];

/** Maps of sockets: the value is the socket (its fd going in from userspace, its cookie coming out: u64). */
const sockets = (type: CompiledMapType, typing: "none" | "key"): MapKind => ({
  type,
  typing,
  declare: (o) => ({ ...(typing === "none" ? { keySize: 4 } : {}), valueSize: 8, maxEntries: required(o) }),
  // Kernel programs reach the sockets through their kind's context methods (ctx.redirect, ctx.assign,
  // ctx.select); a reuseport array takes nothing else.
  methods: type === "reuseport_sockarray" ? {} : {
    delete: (L, c, map) => {
      if (!SOCKET_MAP_DELETERS.includes(L.prog.entry)) {
        L.report(c, D.HelperNotAllowed, `${map.className}.delete is not available in ${L.prog.entry} programs (allowed in: ${SOCKET_MAP_DELETERS.join(", ")})`);
      }
      const k = memArg(L, arg(L, c, 0), typing === "key" ? map.key : U32, "key");
      return callHelper(L, H.map_delete_elem, [mapFd(L, map), reg(k.addr)], I64);
    },
  },
});

/** Kernel map classes by `tsbpf/kernel` class name. */
export const MAP_KINDS: Readonly<Record<string, MapKind>> = {
  HashMap: hash("hash"),
  LruHashMap: hash("lru_hash"),
  PerCpuHashMap: hash("percpu_hash"),
  LruPerCpuHashMap: hash("lru_percpu_hash"),
  LpmTrieMap: { ...hash("lpm_trie"), declare: (o) => ({ maxEntries: required(o), flags: 1 /* BPF_F_NO_PREALLOC */ }) },
  ArrayMap: array("array"),
  PerCpuArrayMap: array("percpu_array"),
  QueueMap: { type: "queue", typing: "value", methods: QUEUE },
  StackMap: { type: "stack", typing: "value", methods: QUEUE },
  RingBuf: {
    type: "ringbuf",
    typing: "none",
    declare: (o) => {
      const size = o.num("byteSize");
      if (!size || size % 4096 !== 0 || (size & (size - 1)) !== 0) o.fail("RingBuf byteSize must be a power of two and a multiple of 4096");
      return { maxEntries: size };
    },
    methods: {
      reserve: (L, c, map) => {
        const l = L.m.consts.evaluate(arg(L, c, 0), "the record layout");
        if (!isLayout(l)) return L.report(arg(L, c, 0), D.TypeMismatch, "reserve needs a struct layout");
        const ty = tyOfLayout(l);
        return callHelper(L, H.ringbuf_reserve, [mapFd(L, map), imm(l.size), imm(0)], ty.k === "mem" ? ty : { k: "ref", to: ty as IntTy });
      },
      submit: (L, c) => release(L, c, "submit", H.ringbuf_submit),
      discard: (L, c) => release(L, c, "discard", H.ringbuf_discard),
      output: (L, c, map) => {
        const v = memArg(L, arg(L, c, 0), undefined, "record");
        return callHelper(L, H.ringbuf_output, [mapFd(L, map), reg(v.addr), imm(v.size), optionalWide(L, c, 1)], I64);
      },
    },
  },
  PerfEventArray: {
    type: "perf_event_array",
    typing: "none",
    declare: (o) => ({ ...fds(), ...opt(o.num("maxEntries")) }),
    methods: {
      output: (L, c, map) => {
        const ctx = ctxArg(L, c, 0, "output");
        const v = memArg(L, arg(L, c, 1), undefined, "record");
        return callHelper(L, H.perf_event_output, [ctx, mapFd(L, map), imm(BPF_F_CURRENT_CPU), reg(v.addr), imm(v.size)], I64);
      },
    },
  },
  ProgArray: {
    type: "prog_array",
    typing: "none",
    declare: (o) => ({ ...fds(), maxEntries: required(o) }),
    methods: {
      tailCall: (L, c, map) => {
        const ctx = ctxArg(L, c, 0, "tailCall");
        L.b.emit({ op: "call", helper: H.tail_call, args: [ctx, mapFd(L, map), intArg(L, arg(L, c, 1), U32)] });
        return { ty: VOID, op: imm(0) };
      },
    },
  },
  SockMap: sockets("sockmap", "none"),
  SockHash: sockets("sockhash", "key"),
  ReuseportSockArray: sockets("reuseport_sockarray", "none"),
  DevMap: redirectMap("devmap"),
  DevMapHash: redirectMap("devmap_hash"),
  CpuMap: redirectMap("cpumap"),
  XskMap: redirectMap("xskmap"),
  StackTraceMap: {
    type: "stack_trace",
    typing: "none",
    declare: (o) => ({ keySize: 4, valueSize: 8 * (o.num("depth") ?? 127), maxEntries: required(o) }),
    methods: {
      getStackId: (L, c, map) => {
        requireGroup(L, c, "getStackId", "stack");
        const ctx = ctxArg(L, c, 0, "getStackId");
        return callHelper(L, H.get_stackid, [ctx, mapFd(L, map), optionalWide(L, c, 1)], I64);
      },
    },
  },
};

const BPF_F_CURRENT_CPU = 0xffffffffn;

/**
 * A map XDP (and TC) programs redirect through with bpf_redirect_map: u32 keys, 4-byte values (ifindex,
 * cpumap queue size, AF_XDP socket fd) that userspace fills; DevMap/CpuMap values may be 8 bytes, the
 * second u32 the fd of an `xdpDevmap` program (or a cpumap XDP program) to run.
 */
function redirectMap(type: CompiledMapType): MapKind {
  return {
    type,
    typing: "none",
    declare: (o) => {
      // DevMap/CpuMap entries may also carry a program fd (struct bpf_devmap_val / bpf_cpumap_val).
      const valueSize = o.num("valueSize") ?? 4;
      if (valueSize !== 4 && (valueSize !== 8 || type === "xskmap")) o.fail(type === "xskmap" ? "XskMap values are 4 bytes (a socket fd)" : "valueSize is 4 (ifindex or queue size) or 8 (plus a program fd)");
      return { ...fds(), valueSize, maxEntries: required(o) };
    },
    methods: {
      redirect: (L, c, map) => {
        requireGroup(L, c, "redirect", "redirect");
        // An XDP/TC action: returned from the program as is.
        return callHelper(L, H.redirect_map, [mapFd(L, map), intArg(L, arg(L, c, 0), U32), optionalWide(L, c, 1)], I32);
      },
    },
  };
}

/** `maxEntries`, which the declaration must give. */
export function required(o: MapOptionsReader): number {
  return o.num("maxEntries") ?? o.fail("maxEntries is required");
}

function opt(maxEntries: number | undefined): MapDeclared {
  return maxEntries === undefined ? {} : { maxEntries };
}

/** ringbuf submit/discard of a reserved record. */
function release(L: Lowerer, c: ts.CallExpression, method: string, helper: number): Value {
  const rec = L.expr(arg(L, c, 0));
  if (rec.ty.k !== "mem" && rec.ty.k !== "ref") L.report(c, D.TypeMismatch, `${method} needs a record from reserve()`);
  L.b.emit({ op: "call", helper, args: [rec.op, optionalWide(L, c, 1)] });
  L.consume(arg(L, c, 0), c);
  return { ty: VOID, op: imm(0) };
}

/** Lowers `map.<method>(...)`. */
export function lowerMapMethod(L: Lowerer, c: ts.CallExpression, map: MapInfo, method: string): Value {
  const methods = MAP_KINDS[map.className]!.methods;
  const m = Object.hasOwn(methods, method) ? methods[method]! : undefined;
  if (!m) return L.report(c.expression, D.UnknownHelper, `${map.className} has no method "${method}"`);
  return m(L, c, map);
}
