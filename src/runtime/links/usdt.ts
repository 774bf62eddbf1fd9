// USDT probe attachment compatible with libbpf's usdt.bpf.h: finds the probe sites in .note.stapsdt,
// writes each site's argument spec into the program's __bpf_usdt_specs map, and attaches a uprobe per
// site (semaphore as the ref counter, the spec id as the cookie) so bpf_usdt_arg()/bpf_usdt_cookie() work.

import { TsbpfError } from "../../errors.js";
import { readUsdtNotes, type UsdtArg, type UsdtNote } from "../../elf/notes.js";
import { getFdById, mapDelete, mapInfo, mapUpdate, progInfo } from "../../sys/bpf.js";
import type { Fd } from "../../sys/fd.js";
import type { Program } from "../program.js";
import { resolveBinaryPath } from "./binary-path.js";
import type { ProbeMode } from "./kprobe.js";
import { Link } from "./link.js";
import { attachUprobe, loadElfImage } from "./uprobe.js";

/** Options of {@link attachUsdt}; binary, provider and name default to the section's `usdt/<binary>:<provider>:<name>`. */
export interface UsdtOptions {
  readonly binary?: string;
  readonly provider?: string;
  readonly name?: string;
  /** Only this process. */
  readonly pid?: number;
  /** Value bpf_usdt_cookie() returns in the program. */
  readonly cookie?: bigint;
  readonly mode?: ProbeMode;
}

/** Size of libbpf's struct __bpf_usdt_spec (12 arg specs of 16 bytes, a u64 cookie, a short count). */
export const USDT_SPEC_SIZE = 208;
/** BPF_USDT_MAX_ARG_CNT of usdt.bpf.h. */
export const USDT_MAX_ARGS = 12;
const ARG_TYPE = { const: 0, reg: 1, deref: 2, sib: 3 } as const;

/** Offsets of registers in the kernel's struct pt_regs for this architecture. */
function ptRegsOffset(reg: string): number {
  if (process.arch === "x64") {
    const order = ["r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax", "rcx", "rdx", "rsi", "rdi", "orig_ax", "rip", "cs", "eflags", "rsp"];
    const i = order.indexOf(reg);
    if (i >= 0) return i * 8;
  } else if (process.arch === "arm64") {
    if (reg === "sp") return 31 * 8;
    const m = /^x(\d+)$/.exec(reg);
    if (m) return Number(m[1]) * 8;
  }
  throw new TsbpfError("USDT_BAD_ARG", `USDT argument register "${reg}" has no pt_regs slot on ${process.arch}`);
}

/**
 * Encode a probe site's arguments as libbpf's `struct __bpf_usdt_spec` (the value of __bpf_usdt_specs).
 *
 * @example
 * mapUpdate(specsFd, u32(id), usdtSpecBytes(note.args, 0n));
 */
export function usdtSpecBytes(args: readonly UsdtArg[], cookie = 0n): Uint8Array {
  if (args.length > USDT_MAX_ARGS) throw new TsbpfError("USDT_BAD_ARG", `USDT spec: ${args.length} arguments, usdt.bpf.h supports ${USDT_MAX_ARGS}`);
  const b = new Uint8Array(USDT_SPEC_SIZE);
  const v = new DataView(b.buffer);
  args.forEach((a, i) => {
    const o = i * 16;
    v.setBigUint64(o, BigInt.asUintN(64, a.value), true);
    let typeWord: number = ARG_TYPE[a.kind];
    if (a.kind === "sib") {
      typeWord |= (ptRegsOffset(a.indexReg!) & 0xfff) << 8;
      typeWord |= (Math.log2(a.scale ?? 1) & 0xf) << 20;
    }
    v.setUint32(o + 8, typeWord >>> 0, true);
    v.setInt16(o + 12, a.kind === "const" ? 0 : ptRegsOffset(a.reg!), true);
    v.setUint8(o + 14, a.signed ? 1 : 0);
    v.setInt8(o + 15, 64 - a.size * 8);
  });
  v.setBigUint64(192, BigInt.asUintN(64, cookie), true);
  v.setInt16(200, args.length, true);
  return b;
}

/** Parse `binary:provider:name` (the binary may itself contain `:`; the last two fields are the probe). */
export function parseUsdtTarget(target: string): { binary: string; provider: string; name: string } {
  const last = target.lastIndexOf(":");
  const mid = last > 0 ? target.lastIndexOf(":", last - 1) : -1;
  if (mid <= 0 || last === target.length - 1 || mid + 1 === last) {
    throw new TsbpfError("ATTACH_BAD_TARGET", `USDT target "${target}" is not "binary:provider:name"`);
  }
  return { binary: target.slice(0, mid), provider: target.slice(mid + 1, last), name: target.slice(last + 1) };
}

/** Spec ids in use per __bpf_usdt_specs map (by kernel map id). */
const usedSpecIds = new Map<number, Set<number>>();

/** The program's __bpf_usdt_specs map (name truncated to 15 chars by the kernel), if it uses one. */
function specsMapOf(prog: Program): { fd: Fd; id: number; maxEntries: number } | undefined {
  for (const id of progInfo(prog.fd, { mapIds: true }).mapIds ?? []) {
    let fd: Fd;
    try {
      fd = getFdById("map", id);
    } catch {
      continue;
    }
    const info = mapInfo(fd);
    if (info.name === "__bpf_usdt_spec" || info.name === "__bpf_usdt_specs") {
      if (info.valueSize !== USDT_SPEC_SIZE) {
        fd.close();
        throw new TsbpfError("USDT_SPEC_MISMATCH", `attach program "${prog.name}": its __bpf_usdt_specs map holds ${info.valueSize}-byte values, this loader writes libbpf's ${USDT_SPEC_SIZE}-byte struct __bpf_usdt_spec`);
      }
      return { fd, id, maxEntries: info.maxEntries };
    }
    fd.close();
  }
  return undefined;
}

const u32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);

/** A USDT attachment: one uprobe link per probe site; `info()`/`pin()` act on the first site's link. */
export class UsdtLink extends Link {
  readonly sites: readonly UsdtNote[];
  readonly #children: Link[];
  /** @param teardown releases the probes' spec slots (see {@link LinkOptions.teardown}). */
  constructor(first: Fd, description: string, children: Link[], sites: UsdtNote[], teardown?: () => void) {
    super(first, description, { isBpfLink: children[0].isBpfLink, ...(teardown ? { teardown } : {}) });
    this.#children = children;
    this.sites = sites;
  }
  override close(): void {
    if (this.closed) return;
    super.close();
    for (const c of this.#children) c.close();
  }
}

/**
 * Attach a `usdt` program (written with libbpf's usdt.bpf.h) to every site of USDT probe
 * `provider:name` in a binary or library.
 *
 * @example
 * // SEC("usdt/./server:myapp:request") int on_req(struct pt_regs *ctx) { long a; bpf_usdt_arg(ctx, 0, &a); ... }
 * using link = coll.program("on_req").attach({ pid: server.pid });
 */
export function attachUsdt(prog: Program, opts: UsdtOptions = {}): Link {
  let { binary, provider, name } = opts;
  if (binary === undefined || provider === undefined || name === undefined) {
    if (!prog.spec.attachTarget) throw new TsbpfError("ATTACH_NEEDS_TARGET", `attach program "${prog.name}": USDT needs binary, provider and name (SEC("usdt/<binary>:<provider>:<name>") or options)`);
    const t = parseUsdtTarget(prog.spec.attachTarget);
    binary ??= t.binary;
    provider ??= t.provider;
    name ??= t.name;
  }
  const what = `attach program "${prog.name}" to USDT ${provider}:${name} in ${binary}`;
  if (prog.spec.type !== "KPROBE") throw new TsbpfError("WRONG_PROGRAM_TYPE", `${what}: it is a ${prog.spec.type} program (section "${prog.spec.sectionName}")`);
  const path = resolveBinaryPath(binary, opts.pid);
  const sites = readUsdtNotes(loadElfImage(path)).filter((n) => n.provider === provider && n.name === name);
  if (sites.length === 0) throw new TsbpfError("USDT_NOT_FOUND", `${what}: the binary has no such probe (see .note.stapsdt)`);
  const specs = specsMapOf(prog);
  const children: Link[] = [];
  const ids: number[] = [];
  const release = () => {
    if (!specs) return;
    const used = usedSpecIds.get(specs.id);
    for (const id of ids.splice(0)) {
      used?.delete(id);
      try {
        mapDelete(specs.fd, u32(id));
      } catch {
        // Array maps cannot delete; the slot is simply reused.
      }
    }
    specs.fd.close();
  };
  try {
    for (const site of sites) {
      let cookie = opts.cookie;
      if (specs) {
        let used = usedSpecIds.get(specs.id);
        if (!used) usedSpecIds.set(specs.id, (used = new Set()));
        let id = 0;
        while (used.has(id)) id++;
        if (id >= specs.maxEntries) throw new TsbpfError("USDT_TOO_MANY", `${what}: all ${specs.maxEntries} slots of __bpf_usdt_specs are in use (raise BPF_USDT_MAX_SPEC_CNT)`);
        used.add(id);
        ids.push(id);
        mapUpdate(specs.fd, u32(id), usdtSpecBytes(site.args, opts.cookie ?? 0n));
        cookie = BigInt(id);
      }
      children.push(attachUprobe(prog, {
        binary: path, offset: site.fileOffset, retprobe: false,
        ...(site.semaphoreOffset ? { refCtrOffset: site.semaphoreOffset } : {}),
        ...(opts.pid !== undefined ? { pid: opts.pid } : {}),
        ...(cookie !== undefined ? { cookie } : {}),
        ...(opts.mode ? { mode: opts.mode } : {}),
      }));
    }
  } catch (e) {
    for (const c of children) c.close();
    release();
    throw e;
  }
  return new UsdtLink(children[0].fd.dup(), `usdt ${provider}:${name} in ${binary}${sites.length > 1 ? ` (${sites.length} sites)` : ""}`, children, sites, release);
}
