// Loads a CollectionSpec into the kernel: BTF, maps (pinned reuse, global data, frozen .rodata),
// programs (with verifier logs on failure) and declared prog-array / map-in-map contents.

import { sanitizeBtf, type BtfFeature } from "../btf/sanitize.js";
import { btfFeatureSupported, probingWith } from "../features.js";
import { join } from "node:path";
import type { Btf } from "../btf/btf.js";
import { kernelBtf } from "../btf/kernel.js";
import type { CoreCandidate, CoreTargets } from "../core/index.js";
import { TsbpfError } from "../errors.js";
import type { CollectionSpec, MapSpec } from "../object/spec.js";
import { btfLoad } from "../sys/bpf.js";
import type { Fd } from "../sys/fd.js";
import { closedExplicitly, releaseOnCollect } from "../sys/finalize.js";
import { ensureMemlock } from "../sys/system.js";
import { kconfigData } from "./kconfig.js";
import { ksymResolver } from "./ksyms.js";
import { BpfMap, createMap } from "./map.js";
import { openVariable, withGlobals, type GlobalValue, type GlobalVariable } from "./maps/globals.js";
import type { Layout } from "../types/index.js";
import { Program, loadProgram } from "./program.js";
import { resolveToken, tokenRefusal, type BpfToken, type TokenSource } from "./token.js";
import { pinCollection, type PinCollectionOptions, type PinnedObject } from "./pin.js";
import { freplaceTarget } from "./links/freplace.js";
import { PerfBufReader, type PerfBufReaderOptions } from "./perfbuf.js";
import { RingBufReader, type RingBufReaderOptions } from "./ringbuf.js";
import { createStructOpsMap, structOpsProgramTargets, StructOpsMap } from "./maps/struct-ops.js";
import { startLogReader, withMinLevel, type LogOptions, type LogReader } from "./log.js";

/** Options for {@link loadCollection}. */
export interface CollectionOptions extends LogOptions {
  /** Directory (on bpffs) where maps declared with `pinning: LIBBPF_PIN_BY_NAME` are pinned and reused. */
  readonly pinPath?: string;
  /** Use these already-created maps instead of creating maps of the same name (sharing between objects). */
  readonly replaceMaps?: Readonly<Record<string, BpfMap>>;
  /**
   * Which BTF features the target kernel's BTF loader accepts (default: probed once per process);
   * types using the others are rewritten before loading (see src/btf/sanitize.ts).
   */
  readonly btfFeatures?: (feature: BtfFeature) => boolean;
  /** Target BTF for CO-RE relocations instead of the running kernel's (tests, cross-kernel checks). */
  readonly coreTargets?: CoreTargets;
  /** Verifier log level used when a program is rejected (1 = default, 2 = every instruction). */
  readonly logLevel?: number;
  /** Load only these programs (default: all). */
  readonly programs?: readonly string[];
  /** freplace (EXT) programs by name: the loaded program whose function each replaces (default function: the section's `freplace/<function>`). */
  readonly freplace?: Readonly<Record<string, { readonly target: Program | Fd; readonly function?: string }>>;
  /**
   * BPF token (Linux 6.9+) for loading inside a user namespace without capabilities: the mount point
   * of a bpffs delegated to this namespace, an fd of it, a token fd or a {@link BpfToken}; `false` for
   * none. Unset: TSBPF_BPF_TOKEN_PATH, else LIBBPF_BPF_TOKEN_PATH ("" = none), else /sys/fs/bpf when the
   * process is in a child user namespace and that bpffs is delegated (see docs/token.md). The token
   * is passed to the BTF load, every map creation (struct_ops maps included), every program load and
   * the feature probes the load consults, and closed after loading.
   */
  readonly token?: TokenSource | false;
  /**
   * Initial values of global variables by name, written before the maps are created: `config()`
   * declarations of TypeScript programs and C `const volatile` variables (.rodata, which the verifier
   * then sees as constants, pruning branches they disable), and .data/.bss starting values. Each value
   * is encoded by the variable's BTF type ({@link GlobalValue}: integers range-checked, bools, enum
   * values or names, char arrays from strings, anything else from a Uint8Array of its exact size);
   * problems throw a GlobalError (`GLOBAL_UNKNOWN`, `GLOBAL_RANGE`, `GLOBAL_SIZE`, `GLOBAL_TYPE`,
   * `GLOBAL_NOT_VARIABLE`). The spec passed in is not changed; `Collection.spec` holds the values used.
   *
   * @example
   * await load("filter.bpf.ts", { globals: { targetPid: 42 } });
   */
  readonly globals?: Readonly<Record<string, GlobalValue>>;
}

/**
 * The live kernel objects of one eBPF object file: its maps and programs. Disposing it closes every
 * fd (and so detaches links that are not pinned). One garbage-collected without close() releases the
 * same (each program, map, link and reader as it is collected) with a `TSBPF_UNCLOSED` warning.
 *
 * @example
 * using coll = loadCollection(readCollectionSpec(bytes));
 * const prog = coll.program("handle_exec");
 */
export class Collection implements Disposable {
  readonly spec: CollectionSpec;
  readonly maps: ReadonlyMap<string, BpfMap>;
  readonly programs: ReadonlyMap<string, Program>;
  readonly #owned: Fd[];
  /** The reader of the object's log records (log.info`...` in kernel programs), when it logs; see docs/logging.md. */
  log: LogReader | undefined;
  /** Event readers made by ringbuf()/perfbuf(), closed with the collection. */
  readonly #readers = new Set<{ close(): void; readonly closed: boolean }>();
  #closed = false;

  constructor(spec: CollectionSpec, maps: Map<string, BpfMap>, programs: Map<string, Program>, owned: Fd[]) {
    this.spec = spec;
    this.maps = maps;
    this.programs = programs;
    this.#owned = owned;
    // Only its own fds (BTF): programs and maps taken out of a forgotten collection stay usable.
    releaseOnCollect(this, { what: `collection "${spec.name}"`, fds: owned });
  }

  /** The program with this (function) name; throws a clear error listing the names that exist. */
  program(name: string): Program {
    const p = this.programs.get(name);
    if (!p) throw new TsbpfError("NOT_FOUND", `program "${name}" not found (programs: ${[...this.programs.keys()].join(", ") || "none"})`);
    return p;
  }

  /** The map with this name (`.rodata`, `.bss`... for global data); throws when it does not exist. */
  map(name: string): BpfMap {
    const m = this.maps.get(name);
    if (!m) throw new TsbpfError("NOT_FOUND", `map "${name}" not found (maps: ${[...this.maps.keys()].join(", ") || "none"})`);
    return m;
  }

  /**
   * A struct_ops map (a `SEC(".struct_ops")` / `SEC(".struct_ops.link")` variable) by name; `attach()`
   * registers it with the kernel.
   *
   * @example
   * using reg = coll.structOps("tsbpf_cc").attach();
   */
  structOps(name: string): StructOpsMap {
    const m = this.map(name);
    if (!(m instanceof StructOpsMap)) throw new TsbpfError("NOT_FOUND", `map "${name}" is a ${m.type} map, not a struct_ops variable (struct_ops maps: ${[...this.maps.values()].filter((x) => x instanceof StructOpsMap).map((x) => x.name).join(", ") || "none"})`);
    return m;
  }

  /**
   * A global variable by name (.data/.bss read and written live through the mmap'd data map, .rodata
   * read-only). Without a layout the variable's BTF type decides (integers; others as bytes).
   *
   * @example
   * coll.variable("bss_counter").get();      // number
   * coll.variable("data_counter").set(0);
   */
  variable<T = any, I = T>(name: string, layout?: Layout<T, I, unknown>): GlobalVariable<T, I> {
    return openVariable(this.spec, (m) => this.map(m), name, layout);
  }

  get closed(): boolean {
    return this.#closed;
  }

  #track<R extends { close(): void; readonly closed: boolean }>(reader: R): R {
    if (this.#closed) {
      reader.close();
      throw new TsbpfError("CLOSED", "event reader: the collection is closed");
    }
    for (const r of this.#readers) if (r.closed) this.#readers.delete(r);
    this.#readers.add(reader);
    return reader;
  }

  /**
   * A reader of ring buffer map `name`, decoding records with `layout` (else copies of the bytes);
   * async-iterable, closed with the collection (which ends its iteration).
   *
   * @example
   * for await (const ev of coll.ringbuf("events", ExecEvent)) console.log(ev.pid);
   */
  ringbuf<T = Uint8Array>(name: string, layout?: Layout<T, never, unknown>, options: Omit<RingBufReaderOptions<T>, "layout"> = {}): RingBufReader<T> {
    return this.#track(new RingBufReader<T>(this.map(name), layout ? { ...options, layout } : options));
  }

  /**
   * A reader of perf event array map `name` (one ring per CPU), decoding samples with `layout`;
   * async-iterable over samples and lost-sample reports, closed with the collection.
   *
   * @example
   * for await (const ev of coll.perfbuf("events", Event)) if (ev.type === "sample") console.log(ev.data);
   */
  perfbuf<T = Uint8Array>(name: string, layout?: Layout<T, never, unknown>, options: Omit<PerfBufReaderOptions<T>, "layout"> = {}): PerfBufReader<T> {
    return this.#track(new PerfBufReader<T>(this.map(name), layout ? { ...options, layout } : options));
  }

  /**
   * Pin every program at `<dir>/<program>` and every map at `<dir>/maps/<map>` (full names, '.' as
   * '_', as bpftool pins them). A directory already holding any of these pins is refused with PinError
   * PIN_EXISTS listing them; `{ replace: true }` pins into a new sibling directory and swaps it with
   * `dir` atomically (renameat2 RENAME_EXCHANGE), removing the earlier pins. Not on bpffs: PinError
   * NOT_BPFFS. On failure nothing is left pinned or created.
   *
   * @example
   * coll.pin("/sys/fs/bpf/myapp", { replace: true });
   */
  pin(dir: string, opts: PinCollectionOptions = {}): PinnedObject[] {
    return pinCollection(this, dir, opts);
  }

  /**
   * Close every program, map and BTF fd. Attached links created by `Program.attach()` close too. A
   * reader that fails to close (e.g. RINGBUF_CONCURRENT_CONSUMER detected at its last commit) does not
   * keep the rest open: its error is thrown once everything is closed.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closedExplicitly(this);
    let first: unknown;
    try {
      this.log?.close(); // drains first: records written before close still reach the logger
    } catch (e) {
      first = e;
    }
    for (const r of this.#readers) {
      try {
        r.close();
      } catch (e) {
        first ??= e;
      }
    }
    this.#readers.clear();
    for (const p of this.programs.values()) p.close();
    for (const m of this.maps.values()) m.close();
    for (const fd of this.#owned) fd.close();
    if (first !== undefined) throw first;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}

/** Create the inner-map template, then the map itself. */
function createMapFromSpec(spec: MapSpec, btfFd: Fd | undefined, opts: CollectionOptions, coll: CollectionSpec, token: BpfToken | undefined): BpfMap {
  if (spec.origin === "kconfig") {
    spec = { ...spec, data: kconfigData(coll.kconfig, spec.valueSize) };
  }
  const pinPath = spec.pinning === "by_name" && opts.pinPath ? join(opts.pinPath, spec.name) : undefined;
  return createMap(spec, { btfFd, pinPath, ...(token ? { token } : {}) });
}

/**
 * Load every map and program of `spec` into the kernel.
 * On failure everything created so far is closed again, and the error says what failed and why
 * (a VerifierError carries the whole log and the failing source line).
 */
export function loadCollection(spec: CollectionSpec, opts: CollectionOptions = {}): Collection {
  if (opts.globals) spec = withGlobals(spec, opts.globals);
  ensureMemlock();
  const token = resolveToken(opts.token);
  try {
    // The feature probes the load consults (BTF sanitising, error explanations) use the same token.
    return probingWith(token, () => loadWithToken(spec, opts, token));
  } finally {
    token?.close(); // objects keep what the token granted; it is needed only to create them
  }
}

function loadWithToken(spec: CollectionSpec, opts: CollectionOptions, token: BpfToken | undefined): Collection {
  const owned: Fd[] = [];
  const maps = new Map<string, BpfMap>();
  const programs = new Map<string, Program>();
  const cleanup = () => {
    for (const p of programs.values()) p.close();
    for (const m of maps.values()) m.close();
    for (const fd of owned) fd.close();
  };
  try {
    let btfFd: Fd | undefined;
    if (spec.btf) {
      // Kinds this kernel's BTF loader lacks (FLOAT, DECL_TAG, TYPE_TAG, ENUM64...) are rewritten in place.
      const sanitized = sanitizeBtf(spec.btf, opts.btfFeatures ?? btfFeatureSupported).bytes;
      const context = `load BTF of object "${spec.name}"`;
      try {
        btfFd = btfLoad(sanitized ?? spec.btf.bytes, { context, ...(token ? { tokenFd: token.fd.value } : {}) });
      } catch (e) {
        if (token && e instanceof TsbpfError && (e.code === "EPERM" || e.code === "EACCES")) throw tokenRefusal(token, { cmd: "BTF_LOAD", context, needs: "CAP_BPF" }, e);
        throw e;
      }
      owned.push(btfFd);
    }
    for (const m of spec.maps.values()) {
      const replacement = opts.replaceMaps?.[m.name];
      // A shared map gets its own fd here, so closing this collection leaves the lender's map open.
      maps.set(m.name, replacement ? new BpfMap(replacement.fd.dup(), replacement.spec, replacement.pinnedAt) : m.structOps ? createStructOpsMap(m, btfFd, token) : createMapFromSpec(withMinLevel(spec, m, opts.minLevel), btfFd, opts, spec, token));
    }
    let targets: CoreTargets | undefined = opts.coreTargets;
    let kbtf: Btf | undefined;
    const kernel = () => (kbtf ??= kernelBtf());
    const candidateCache = new Map<number, CoreCandidate[]>();
    const ksyms = ksymResolver(spec.ksyms, kernel);
    const wanted = opts.programs ? new Set(opts.programs) : undefined;
    const structOps = structOpsProgramTargets(maps.values());
    for (const p of spec.programs.values()) {
      if (wanted && !wanted.has(p.name)) continue;
      programs.set(p.name, loadProgram(p, {
        btf: spec.btf,
        btfFd,
        mapFd: (name) => {
          const m = maps.get(name);
          if (!m) throw new TsbpfError("NOT_FOUND", `program "${p.name}" refers to map "${name}", which was not created`);
          return m.fd.value;
        },
        coreTargets: () => (targets ??= kernel()),
        ksyms,
        candidateCache,
        logLevel: opts.logLevel ?? 1,
        ...(token ? { token } : {}),
        ...(structOps.has(p.name) ? { structOps: structOps.get(p.name)! } : {}),
        ...(p.type === "EXT" && opts.freplace?.[p.name] ? { extTarget: freplaceTarget(opts.freplace[p.name].target, opts.freplace[p.name].function ?? p.attachTarget) } : {}),
      }));
    }
    for (const m of maps.values()) if (m instanceof StructOpsMap) m.fillPrograms((name) => programs.get(name)?.fd);
    // Declared contents: prog arrays and maps of maps.
    for (const m of spec.maps.values()) {
      if (m.contents.length === 0) continue;
      const live = maps.get(m.name)!;
      for (const c of m.contents) {
        const fd = c.kind === "program" ? programs.get(c.name)?.fd : maps.get(c.name)?.fd;
        if (!fd) {
          if (wanted && c.kind === "program") continue;
          throw new TsbpfError("NOT_FOUND", `map "${m.name}" slot ${c.index}: ${c.kind} "${c.name}" was not loaded`);
        }
        live.setRaw(u32(c.index), u32(fd.value));
      }
    }
    const coll = new Collection(spec, maps, programs, owned);
    coll.log = startLogReader(spec, maps, opts);
    return coll;
  } catch (e) {
    cleanup();
    throw e;
  }
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}
