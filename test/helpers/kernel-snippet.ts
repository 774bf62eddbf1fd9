// Snippet tests for the kernel language: a `*.bpf.ts` module written inline, compiled once per text,
// then either checked for exactly one diagnostic or run on both the IR evaluator and the kernel
// (BPF_PROG_TEST_RUN), which must agree with the expected return value and map contents.
//
//   kernel`export const p = xdp((ctx) => (ctx.len > 10 ? XdpAction.DROP : XdpAction.PASS));`
//     .xdp().expectReturn({ packet: new Uint8Array(64) }, XdpAction.DROP);
//   kernel`...`.expectDiagnostic("TSBPF1103", /is not a value of i32/, { line: 3 });
//
// See docs/testing-compiler.md ("Snippet tests").

import assert from "node:assert/strict";
import ts from "typescript";
import { disassemble } from "../../src/asm/disasm.js";
import { formatDiagnostic, type CompileResult, type Diagnostic } from "../../src/compiler/index.js";
import { createProgram, libraryPaths } from "../../src/compiler/host.js";
import { EvalMap, evalIr, type EvalHelper } from "../../src/compiler/ir-eval.js";
import { PROGRAM_KINDS, type ContextShape } from "../../src/compiler/kinds/index.js";
import { loadCollection, readCollectionSpec } from "../../src/index.js";
import type { CollectionSpec, MapSpec, ProgramSpec } from "../../src/object/spec.js";
import { compileVirtual, globalSections, virtualPath } from "./compile-ts.js";
import { privilegeProblem } from "./privileges.js";

/** Instruction set the snippet is compiled for. */
export type Cpu = "v3" | "v4";

// ---------------------------------------------------------------------------------------------------
// Source: the `tsbpf/kernel` import is added at the end of the text (imports are hoisted), so that
// diagnostics keep the snippet's own line and column numbers.

const KERNEL_MODULE = "tsbpf/kernel";
let kernelExports: ReadonlySet<string> | undefined;

/**
 * Every name `tsbpf/kernel` exports (values and types), read once per process through the compiler's
 * own front end: the library files it parses (vmlinux.ts is 1 MB) are reused by the compilations that follow.
 */
function kernelExportNames(): ReadonlySet<string> {
  if (kernelExports) return kernelExports;
  const entry = virtualPath("snippet-exports");
  const program = createProgram(entry, new Map([[entry, `export * from "${KERNEL_MODULE}";\n`]]));
  const checker = program.getTypeChecker();
  const symbol = checker.getSymbolAtLocation(program.getSourceFile(libraryPaths().kernel)!)!;
  kernelExports = new Set(checker.getExportsOfModule(symbol).map((s) => s.name));
  return kernelExports;
}

/** Names the snippet declares at its top level (those must not be imported). */
function declaredNames(sf: ts.SourceFile): Set<string> {
  const out = new Set<string>();
  for (const st of sf.statements) {
    if (ts.isVariableStatement(st)) {
      for (const d of st.declarationList.declarations) if (ts.isIdentifier(d.name)) out.add(d.name.text);
    } else if ((ts.isFunctionDeclaration(st) || ts.isClassDeclaration(st) || ts.isInterfaceDeclaration(st) ||
      ts.isTypeAliasDeclaration(st) || ts.isEnumDeclaration(st)) && st.name) {
      out.add(st.name.text);
    }
  }
  return out;
}

/** Whether `n` names a property (`{ key: u32 }`, `a.key`, `type T = { key: ... }`) rather than a binding. */
function isPropertyName(n: ts.Identifier): boolean {
  const p = n.parent;
  if (ts.isPropertyAccessExpression(p)) return p.name === n;
  if (ts.isQualifiedName(p)) return p.right === n;
  if (ts.isBindingElement(p)) return p.propertyName === n;
  return (ts.isPropertyAssignment(p) || ts.isPropertySignature(p) || ts.isPropertyDeclaration(p) || ts.isMethodDeclaration(p) || ts.isMethodSignature(p)) && p.name === n;
}

/** `text` plus an import of every `tsbpf/kernel` name it uses, unless it already imports the module. */
export function withKernelImport(text: string): string {
  if (text.includes(`"${KERNEL_MODULE}"`) || text.includes(`'${KERNEL_MODULE}'`)) return text;
  const sf = ts.createSourceFile("snippet.ts", text, ts.ScriptTarget.ES2022, true);
  const own = declaredNames(sf);
  const used = new Set<string>();
  const visit = (n: ts.Node): void => {
    if (ts.isIdentifier(n) && !isPropertyName(n) && !own.has(n.text) && kernelExportNames().has(n.text)) used.add(n.text);
    n.forEachChild(visit);
  };
  visit(sf);
  if (!used.size) return text;
  return `${text}${text.endsWith("\n") ? "" : "\n"}import { ${[...used].sort().join(", ")} } from "${KERNEL_MODULE}";\n`;
}

/** The programs' instructions, each under a `--- name (section) ---` line, for failure messages. */
function assemblyListing(programs: Iterable<ProgramSpec>): string {
  return [...programs].map((p) => `\n--- ${p.name} (${p.sectionName}) ---\n${disassemble(p.instructions).join("\n")}`).join("");
}

/** The text with 1-based line numbers, for failure messages. */
function numbered(text: string): string {
  const lines = text.split("\n");
  const width = String(lines.length).length;
  return lines.map((l, i) => `${String(i + 1).padStart(width)} | ${l}`).join("\n");
}

// ---------------------------------------------------------------------------------------------------
// Compilation, cached per source text and options within the process.

const compiled = new Map<string, CompileResult>();

function compileCached(source: string, cpu: Cpu): CompileResult {
  const key = `${cpu}\0${source}`;
  let r = compiled.get(key);
  if (!r) {
    r = compileVirtual(source, { cpu }, "snippet");
    compiled.set(key, r);
  }
  return r;
}

// ---------------------------------------------------------------------------------------------------
// Program kinds the builder selects, and how each one's context is built for a test run.

/** How a kind's context is given to a test run: packet kinds take bytes, raw_tp takes u64 arguments. */
type RunKind = "xdp" | "skb" | "skb-l3" | "args" | "none";

interface KindInfo {
  /** `tsbpf/kernel` entry function, for messages. */
  readonly entry: string;
  /** Loader program types (ProgramSpec.type) of this kind. */
  readonly types: readonly string[];
  readonly run: RunKind;
}

const KINDS = {
  xdp: { entry: "xdp", types: ["XDP"], run: "xdp" },
  tc: { entry: "tc", types: ["SCHED_CLS", "SCHED_ACT"], run: "skb" },
  // The kernel's test run pulls the Ethernet header before these run (skb->data at the network header).
  socketFilter: { entry: "socketFilter", types: ["SOCKET_FILTER"], run: "skb-l3" },
  cgroupSkb: { entry: "cgroupSkb", types: ["CGROUP_SKB"], run: "skb-l3" },
  rawTracepoint: { entry: "rawTracepoint", types: ["RAW_TRACEPOINT"], run: "args" },
  tracepoint: { entry: "tracepoint", types: ["TRACEPOINT"], run: "none" },
  kprobe: { entry: "kprobe/kretprobe/uprobe/uretprobe", types: ["KPROBE"], run: "none" },
  tracing: { entry: "btfTracepoint/fentry/fexit", types: ["TRACING"], run: "none" },
  lsm: { entry: "lsm", types: ["LSM"], run: "none" },
  perfEvent: { entry: "perfEvent", types: ["PERF_EVENT"], run: "none" },
} as const satisfies Record<string, KindInfo>;

/** Input of one test run. */
export interface RunInput {
  /** Packet bytes (XDP, TC: the whole frame; socket filter, cgroup_skb: an Ethernet frame whose header the kernel strips). */
  readonly packet?: Uint8Array;
  /** `__sk_buff` fields the kernel accepts from a test run's context (skb kinds). */
  readonly skb?: { readonly mark?: number; readonly priority?: number };
  /** Arguments of a raw tracepoint program (`ctx.args[i]`), as u64s. */
  readonly args?: readonly bigint[];
}

const ETH_HLEN = 14;

/** A fixed-struct context's layout as the compiler's kind registry has it. */
function fieldsOf(entry: string): Extract<ContextShape, { k: "fields" }> {
  const c = PROGRAM_KINDS.get(entry)?.context;
  if (c?.k !== "fields" || !c.packet) throw new Error(`kind ${entry} has no packet context`);
  return c;
}
const XDP = fieldsOf("xdp");
const SKB = fieldsOf("tc");
/** struct xdp_md's data_meta (not a field programs read). */
const XDP_DATA_META = 8;
/** Offset of a struct __sk_buff field, packet pointers included. */
const skbOffset = (field: string): number =>
  field === "data" ? SKB.packet!.data : field === "dataEnd" ? SKB.packet!.dataEnd : SKB.fields[field]!.offset;

/** struct xdp_md as the kernel's XDP test run fills it (queue 0 of the loopback device, ifindex 1). */
function xdpContext(data: bigint, len: number): Uint8Array {
  const ctx = new Uint8Array(24);
  const dv = new DataView(ctx.buffer);
  dv.setUint32(XDP.packet!.data, Number(data), true);
  dv.setUint32(XDP.packet!.dataEnd, Number(data) + len, true);
  dv.setUint32(XDP_DATA_META, Number(data), true);
  dv.setUint32(XDP.fields.ingressIfindex!.offset, 1, true);
  return ctx;
}

/** skb->pkt_type and skb->protocol (network order, as the u32 field reads) as eth_type_trans sets them on lo. */
function ethTypeTrans(frame: Uint8Array): { pktType: number; protocol: number } {
  if (frame.length < ETH_HLEN) return { pktType: 0, protocol: 0 };
  const dst = frame.subarray(0, 6);
  const pktType = dst[0]! & 1 ? (dst.every((b) => b === 0xff) ? 1 : 2) : dst.every((b) => b === 0) ? 0 : 3;
  const type = (frame[12]! << 8) | frame[13]!;
  const host = type >= 0x600 ? type : frame[14] === 0xff && frame[15] === 0xff ? 0x0001 : 0x0004;
  return { pktType, protocol: ((host & 0xff) << 8) | (host >> 8) };
}

/** struct __sk_buff as the kernel's skb test run fills it (the fields the IR model knows; others read 0). */
function skbContext(data: bigint, len: number, frame: Uint8Array, input: RunInput): Uint8Array {
  const ctx = new Uint8Array(192);
  const dv = new DataView(ctx.buffer);
  const set = (field: string, v: number): void => dv.setUint32(skbOffset(field), v >>> 0, true);
  const { pktType, protocol } = ethTypeTrans(frame);
  set("len", len);
  set("pktType", pktType);
  set("protocol", protocol);
  set("ifindex", 1);
  set("mark", input.skb?.mark ?? 0);
  set("priority", input.skb?.priority ?? 0);
  set("data", Number(data));
  set("dataEnd", Number(data) + len);
  return ctx;
}

/** The `__sk_buff` given to the kernel: zero except the fields the caller set (the kernel refuses others). */
function skbInput(input: RunInput): Uint8Array | undefined {
  if (!input.skb) return undefined;
  const ctx = new Uint8Array(192);
  const dv = new DataView(ctx.buffer);
  dv.setUint32(skbOffset("mark"), (input.skb.mark ?? 0) >>> 0, true);
  dv.setUint32(skbOffset("priority"), (input.skb.priority ?? 0) >>> 0, true);
  return ctx;
}

function u64s(words: readonly bigint[]): Uint8Array {
  const b = new Uint8Array(words.length * 8);
  const dv = new DataView(b.buffer);
  words.forEach((w, i) => dv.setBigUint64(i * 8, BigInt.asUintN(64, w), true));
  return b;
}

// The evaluator maps regions one after another from 0x10000, each followed by a guard gap (EvalMemory.map):
// first one 8-byte handle per map, then the globals in order. The packet and context go first among
// the globals, so their addresses are known before the run; the run checks them afterwards.
const EVAL_BASE = 0x10000n;
const span = (len: number): bigint => (BigInt(len) + 0x1fffn) & ~0xfffn;

/** Checks, on an empty run with the same maps and globals, that the packet and context are where they were predicted. */
function checkLayout(maps: Record<string, EvalMap>, globals: Record<string, Uint8Array>, at: { packet: bigint; ctx: bigint }): void {
  const empty = { name: "layout", params: [], blocks: [{ id: 0, instructions: [], terminator: { op: "ret" as const, value: { imm: 0n } } }], slots: [], vregCount: 0 };
  const { memory } = evalIr(empty, { args: [], maps, globals });
  for (const [what, addr] of [["<packet>", at.packet], ["<ctx>", at.ctx]] as const) {
    let same = false;
    try {
      same = hex(memory.read(addr, globals[what]!.length)) === hex(globals[what]!);
    } catch {
      // not mapped there
    }
    if (!same) throw new Error(`kernel snippet: the IR evaluator did not map ${what} at 0x${addr.toString(16)}; update EVAL_BASE/span to EvalMemory.map's layout`);
  }
}

/**
 * The open-coded number iterator (bpf_iter_num_new/next/destroy) for the evaluator: the state lives
 * here, keyed by the iterator's address; next() writes the current number into the iterator's own
 * 8 bytes and returns that address (programs only read the int it points at), or 0 when done.
 */
function iterKfuncs(): Record<string, EvalHelper> {
  const MAX = 1 << 23;
  const state = new Map<bigint, { cur: number; end: number }>();
  const i32 = (v: bigint): number => Number(BigInt.asIntN(32, v));
  return {
    bpf_iter_num_new: ([it, start, end]) => {
      const s = i32(start!), e = i32(end!);
      const bad = s > e || e - s > MAX;
      state.set(it!, bad ? { cur: 0, end: 0 } : { cur: s, end: e });
      return bad ? BigInt.asUintN(64, s > e ? -22n : -7n) : 0n;
    },
    bpf_iter_num_next: ([it], c) => {
      const st = state.get(it!);
      if (!st || st.cur >= st.end) return 0n;
      c.memory.store(it!, 4, BigInt.asUintN(32, BigInt(st.cur++)));
      return it!;
    },
    bpf_iter_num_destroy: ([it]) => {
      state.delete(it!);
      return 0n;
    },
  };
}

/** bpf_skb_load_bytes(skb, offset, to, len) over the packet, for socket filters in the evaluator. */
function skbLoadBytes(packet: Uint8Array): EvalHelper {
  return ([, offset, to, len], c) => {
    const off = Number(BigInt.asUintN(32, offset!));
    const n = Number(BigInt.asUintN(32, len!));
    if (off + n > packet.length) return BigInt.asUintN(64, -14n); // -EFAULT
    c.memory.write(to!, packet.subarray(off, off + n));
    return 0n;
  };
}

// ---------------------------------------------------------------------------------------------------
// Map expectations.

/** A map key: an integer (little-endian at the key size) or raw bytes. */
export type MapKey = number | bigint | Uint8Array;
/**
 * An expected map value: an integer (little-endian at the value size), raw bytes, an array of u64
 * words (compared with the value's first words), or null for "no entry".
 */
export type MapValue = number | bigint | Uint8Array | readonly bigint[] | null;

interface MapExpectation {
  readonly map: string;
  readonly key: MapKey;
  readonly value: MapValue;
}

function intBytes(v: number | bigint, size: number, what: string): Uint8Array {
  if (![1, 2, 4, 8].includes(size)) throw new Error(`${what}: an integer needs a 1, 2, 4 or 8-byte field, this one has ${size} bytes; give bytes`);
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, BigInt(v)), true);
  return b.subarray(0, size);
}

function keyBytes(spec: MapSpec, key: MapKey): Uint8Array {
  const b = key instanceof Uint8Array ? key : intBytes(key, spec.keySize, `key of map "${spec.name}"`);
  if (b.length !== spec.keySize) throw new Error(`key of map "${spec.name}": ${b.length} bytes given, the key has ${spec.keySize}`);
  return b;
}

const hex = (b: Uint8Array | undefined): string => (b ? Buffer.from(b).toString("hex") : "no entry");

/** Compares one value read from a map with the expectation; returns the difference or undefined. */
function mapDifference(spec: MapSpec, e: MapExpectation, got: Uint8Array | undefined): string | undefined {
  const where = `map ${e.map}[${typeof e.key === "object" ? hex(e.key) : e.key}]`;
  if (e.value === null) return got ? `${where} = ${hex(got)}, expected no entry` : undefined;
  if (!got) return `${where}: no entry, expected ${describeValue(e.value)}`;
  if (Array.isArray(e.value)) {
    const words = e.value as readonly bigint[];
    if (got.length < words.length * 8) return `${where}: ${got.length} bytes, expected at least ${words.length} u64 words`;
    const dv = new DataView(got.buffer, got.byteOffset, got.byteLength);
    const have = words.map((_, i) => dv.getBigUint64(i * 8, true));
    const bad = words.flatMap((w, i) => (BigInt.asUintN(64, w) === have[i] ? [] : [`[${i}] = ${have[i]}, expected ${BigInt.asUintN(64, w)}`]));
    return bad.length ? `${where} words: ${bad.join("; ")}` : undefined;
  }
  const want = e.value instanceof Uint8Array ? e.value : intBytes(e.value as number | bigint, spec.valueSize, `value of map "${e.map}"`);
  return hex(got) === hex(want) ? undefined : `${where} = ${hex(got)}, expected ${hex(want)}`;
}

function describeValue(v: Exclude<MapValue, null>): string {
  if (v instanceof Uint8Array) return hex(v);
  if (Array.isArray(v)) return `[${(v as readonly bigint[]).join(", ")}]`;
  return String(v);
}

// ---------------------------------------------------------------------------------------------------
// The builder.

/** A kernel-language snippet; build one with the {@link kernel} tag. */
export class KernelSnippet {
  /** The snippet as written. */
  readonly text: string;
  /** The module compiled: the text plus the `tsbpf/kernel` import when it had none. */
  readonly source: string;
  readonly #cpu: Cpu;

  constructor(text: string, cpu: Cpu = "v3") {
    this.text = text;
    this.source = withKernelImport(text);
    this.#cpu = cpu;
  }

  /** The same snippet compiled for another instruction set. */
  cpu(cpu: Cpu): KernelSnippet {
    return new KernelSnippet(this.text, cpu);
  }

  /** The compile result (cached per source text and cpu within the process). */
  compile(): CompileResult {
    return compileCached(this.source, this.#cpu);
  }

  /** The snippet with line numbers and, if given, the diagnostics: the tail of every failure message. */
  describe(extra = ""): string {
    return `\n--- snippet (-mcpu=${this.#cpu}) ---\n${numbered(this.source)}${extra}`;
  }

  /**
   * Asserts that compiling reports exactly one diagnostic, with this code, a message matching
   * `message` (a RegExp, or a substring) and, when given, this line and column of the snippet.
   */
  expectDiagnostic(code: string, message: RegExp | string, at: { line?: number; column?: number } = {}): Diagnostic {
    const { diagnostics, object } = this.compile();
    const listing = (): string => this.describe(`\n--- diagnostics ---\n${diagnostics.map(formatDiagnostic).join("\n") || "(none)"}`);
    if (object) assert.fail(`expected ${code}, but the snippet compiled${this.describe(assemblyListing(readCollectionSpec(object).programs.values()))}`);
    assert.equal(diagnostics.length, 1, `expected exactly one diagnostic (${code}), got ${diagnostics.length}${listing()}`);
    const d = diagnostics[0]!;
    assert.equal(d.code, code, `diagnostic code${listing()}`);
    if (typeof message === "string") assert.ok(d.message.includes(message), `message ${JSON.stringify(d.message)} lacks ${JSON.stringify(message)}${listing()}`);
    else assert.match(d.message, message, `diagnostic message${listing()}`);
    if (at.line !== undefined) assert.equal(d.line, at.line, `diagnostic line${listing()}`);
    if (at.column !== undefined) assert.equal(d.column, at.column, `diagnostic column${listing()}`);
    return d;
  }

  /** Asserts that the snippet compiles without any diagnostic; returns the result. */
  expectCompiles(): CompileResult {
    const r = this.compile();
    assert.ok(r.object && r.diagnostics.length === 0, `expected no diagnostics${this.describe(`\n--- diagnostics ---\n${r.diagnostics.map(formatDiagnostic).join("\n")}`)}`);
    return r;
  }

  /** The XDP program (by name when the snippet has several). */
  xdp(name?: string): SnippetProgram { return new SnippetProgram(this, KINDS.xdp, name); }
  /** The TC (sched_cls) program. */
  tc(name?: string): SnippetProgram { return new SnippetProgram(this, KINDS.tc, name); }
  /** The socket filter program. */
  socketFilter(name?: string): SnippetProgram { return new SnippetProgram(this, KINDS.socketFilter, name); }
  /** The cgroup_skb program. */
  cgroupSkb(name?: string): SnippetProgram { return new SnippetProgram(this, KINDS.cgroupSkb, name); }
  /** The raw tracepoint program (test-run with `args`). */
  rawTracepoint(name?: string): SnippetProgram { return new SnippetProgram(this, KINDS.rawTracepoint, name); }
  /** The tracepoint program (not test-runnable: only `expectLoads`). */
  tracepoint(name?: string): SnippetProgram { return new SnippetProgram(this, KINDS.tracepoint, name); }
  /** The kprobe/uprobe program (not test-runnable: only `expectLoads`). */
  kprobe(name?: string): SnippetProgram { return new SnippetProgram(this, KINDS.kprobe, name); }
  /** The tp_btf/fentry/fexit program (not test-runnable: only `expectLoads`). */
  tracing(name?: string): SnippetProgram { return new SnippetProgram(this, KINDS.tracing, name); }
  /** The LSM program (not test-runnable: only `expectLoads`). */
  lsm(name?: string): SnippetProgram { return new SnippetProgram(this, KINDS.lsm, name); }
  /** The perf_event program (not test-runnable: only `expectLoads`). */
  perfEvent(name?: string): SnippetProgram { return new SnippetProgram(this, KINDS.perfEvent, name); }
}

/** Tag for a kernel-language snippet: `kernel\`export const p = xdp(...);\``; interpolations are inserted as text. */
export function kernel(strings: TemplateStringsArray, ...values: unknown[]): KernelSnippet {
  return new KernelSnippet(String.raw({ raw: strings }, ...values));
}

/** Fails when the kernel half cannot run here (the test should have been declared `privileged()`). */
function requireKernel(): void {
  const problem = privilegeProblem();
  if (problem && process.env.CI !== "true") {
    throw new Error(`kernel snippet run: ${problem}; declare the test with privileged() from test/helpers/privileges.ts`);
  }
}

/** One program of a compiled snippet, chosen by kind (and name). */
export class SnippetProgram {
  readonly #snippet: KernelSnippet;
  readonly #kind: KindInfo;
  readonly #name: string | undefined;

  constructor(snippet: KernelSnippet, kind: KindInfo, name?: string) {
    this.#snippet = snippet;
    this.#kind = kind;
    this.#name = name;
  }

  /** The compiled snippet: its result, its loader spec and this program's spec. */
  resolve(): { result: CompileResult; spec: CollectionSpec; program: ProgramSpec } {
    const result = this.#snippet.expectCompiles();
    const spec = readCollectionSpec(result.object!);
    const candidates = [...spec.programs.values()].filter((p) => (this.#kind.types as readonly string[]).includes(p.type));
    const chosen = this.#name === undefined ? candidates : candidates.filter((p) => p.name === this.#name);
    const what = `${this.#kind.entry} program${this.#name ? ` "${this.#name}"` : ""}`;
    if (chosen.length !== 1) {
      const have = [...spec.programs.values()].map((p) => `${p.name} (${p.type})`).join(", ") || "none";
      throw new Error(`${chosen.length ? "more than one" : "no"} ${what} in the snippet (programs: ${have}); ${chosen.length ? "name one" : "check the kind"}${this.#snippet.describe()}`);
    }
    return { result, spec, program: chosen[0]! };
  }

  /** The program's instructions as text (`bpftool prog dump xlated` style). */
  assembly(): string {
    return disassemble(this.resolve().program.instructions).join("\n");
  }

  /** Asserts that the kernel's verifier accepts the whole snippet (every program and map is loaded). */
  expectLoads(): void {
    const { spec } = this.resolve();
    requireKernel();
    try {
      loadCollection(spec).close();
    } catch (e) {
      assert.fail(`the kernel refused the snippet: ${(e as Error).message}${this.#snippet.describe()}`);
    }
  }

  /**
   * Runs the program on `input` on the IR evaluator and on the kernel (BPF_PROG_TEST_RUN), each with
   * fresh maps; both must return `value`. Chain `.expectMap(...)` for map contents read after each
   * run, and await the result (it runs after the chain is built).
   */
  expectReturn(input: RunInput, value: number | bigint): ReturnExpectation {
    if (this.#kind.run === "none") {
      throw new Error(`${this.#kind.entry} programs cannot be test-run (BPF_PROG_TEST_RUN does not support them); use expectLoads()`);
    }
    return new ReturnExpectation(this, this.#snippet, this.#kind.run, input, BigInt(value));
  }
}

/** A pending run: add map expectations, then await it. */
export class ReturnExpectation implements PromiseLike<void> {
  readonly #maps: MapExpectation[] = [];
  readonly #done: Promise<void>;
  #started = false;

  constructor(
    private readonly program: SnippetProgram,
    private readonly snippet: KernelSnippet,
    private readonly run: Exclude<RunKind, "none">,
    private readonly input: RunInput,
    private readonly value: bigint,
  ) {
    // Started on the next microtask, after the chain of expectMap calls; a run nobody awaits still
    // fails the test through an unhandled rejection.
    this.#done = Promise.resolve().then(() => {
      this.#started = true;
      this.#check();
    });
  }

  /** Also expects map `map` to hold `value` at `key` after the run (on the evaluator and in the kernel). */
  expectMap(map: string, key: MapKey, value: MapValue): this {
    if (this.#started) throw new Error("expectMap: chain it directly on expectReturn(...), before awaiting");
    this.#maps.push({ map, key, value });
    return this;
  }

  then<A = void, B = never>(onok?: ((v: void) => A | PromiseLike<A>) | null, onerr?: ((e: unknown) => B | PromiseLike<B>) | null): Promise<A | B> {
    return this.#done.then(onok, onerr);
  }

  #check(): void {
    const { result, spec, program } = this.program.resolve();
    const mapSpecs = new Map([...spec.maps.values()].map((m) => [m.name, m]));
    for (const e of this.#maps) {
      if (!mapSpecs.has(e.map)) throw new Error(`expectMap: the snippet has no map "${e.map}" (maps: ${[...mapSpecs.keys()].join(", ")})${this.snippet.describe()}`);
    }
    const problems = [...this.#evaluate(result, mapSpecs, program.name), ...this.#kernel(spec, mapSpecs, program.name)];
    if (problems.length) {
      assert.fail(`${problems.join("\n")}${this.snippet.describe(assemblyListing([program]))}`);
    }
  }

  /** The input bytes the program sees and the frame (for skb kinds whose Ethernet header the kernel strips). */
  #packet(): { frame: Uint8Array; seen: Uint8Array } {
    const frame = this.input.packet ?? new Uint8Array(0);
    if (this.run !== "skb-l3") return { frame, seen: frame };
    if (frame.length < ETH_HLEN) throw new Error(`expectReturn: a ${ETH_HLEN}-byte Ethernet header is required (the kernel strips it for this kind)`);
    return { frame, seen: frame.subarray(ETH_HLEN) };
  }

  #expectMaps(where: string, specs: Map<string, MapSpec>, read: (map: string, key: Uint8Array) => Uint8Array | undefined): string[] {
    return this.#maps.flatMap((e) => {
      const s = specs.get(e.map)!;
      const d = mapDifference(s, e, read(e.map, keyBytes(s, e.key)));
      return d ? [`[${where}] ${d}`] : [];
    });
  }

  /** The IR evaluator half. */
  #evaluate(result: CompileResult, specs: Map<string, MapSpec>, name: string): string[] {
    const fn = result.ir.find((f) => f.name === name);
    if (!fn) return [`[IR] no IR for program "${name}"`];
    const maps: Record<string, EvalMap> = {};
    for (const m of specs.values()) {
      if (m.name.startsWith(".")) continue; // global data: given as sections
      const type = m.type === "ARRAY" ? "array" : m.type === "HASH" || m.type === "LRU_HASH" ? "hash" : undefined;
      if (type) maps[m.name] = new EvalMap({ type, keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries });
    }
    const { seen, frame } = this.#packet();
    const packet = seen.slice();
    const packetAddr = EVAL_BASE + span(8) * BigInt(Object.keys(maps).length);
    const ctxAddr = packetAddr + span(packet.length);
    const ctx =
      this.run === "xdp" ? xdpContext(packetAddr, packet.length)
      : this.run === "args" ? u64s(this.input.args ?? [])
      : skbContext(packetAddr, packet.length, frame, this.input);
    const globals = { "<packet>": packet, "<ctx>": ctx, ...globalSections(result.module!) };
    const helpers: Record<number, EvalHelper> = { 26: skbLoadBytes(packet) };
    checkLayout(maps, globals, { packet: packetAddr, ctx: ctxAddr });
    let value: bigint;
    try {
      value = evalIr(fn, { args: [ctxAddr], maps, globals, helpers, functions: result.ir, kfuncs: iterKfuncs(), maxSteps: 50_000_000 }).value;
    } catch (e) {
      return [`[IR] ${(e as Error).message}`];
    }
    const out: string[] = [];
    if (BigInt.asUintN(32, value) !== BigInt.asUintN(32, this.value)) out.push(`[IR] returned ${BigInt.asUintN(32, value)}, expected ${this.value}`);
    return [...out, ...this.#expectMaps("IR", specs, (map, key) => maps[map]?.lookup(key) ?? globals[map as keyof typeof globals])];
  }

  /** The kernel half. */
  #kernel(spec: CollectionSpec, specs: Map<string, MapSpec>, name: string): string[] {
    requireKernel();
    let coll;
    try {
      coll = loadCollection(spec);
    } catch (e) {
      return [`[kernel] load: ${(e as Error).message}`];
    }
    try {
      const { frame } = this.#packet();
      const ctx = this.run === "args" ? u64s(this.input.args ?? []) : this.run === "xdp" ? undefined : skbInput(this.input);
      let retval: number;
      try {
        // A raw tracepoint's run takes its arguments as the context and refuses an output buffer for it.
        ({ retval } = coll.program(name).testRun(this.run === "args" ? { ctx: ctx!, ctxOutSize: 0 } : { data: frame, ...(ctx ? { ctx } : {}) }));
      } catch (e) {
        const short = this.run !== "args" && frame.length < ETH_HLEN;
        return [`[kernel] ${(e as Error).message}${short ? ` (a packet of ${frame.length} bytes: test runs of packet programs need at least ${ETH_HLEN})` : ""}`];
      }
      const out: string[] = [];
      if (BigInt(retval >>> 0) !== BigInt.asUintN(32, this.value)) out.push(`[kernel] returned ${retval >>> 0}, expected ${this.value}`);
      return [...out, ...this.#expectMaps("kernel", specs, (map, key) => coll.map(map).getRaw(key))];
    } finally {
      coll.close();
    }
  }
}
