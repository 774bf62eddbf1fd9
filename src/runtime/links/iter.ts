// BPF iterators: an iter link (task, bpf_map, bpf_map_elem with a map, cgroup, tcp, ...) and readers
// of its output (BPF_ITER_CREATE fds) as an async iterable of chunks, a whole buffer or text.

import { read as fsRead, readSync } from "node:fs";
import { SyscallError, TsbpfError } from "../../errors.js";
import { iterCreate, linkCreate } from "../../sys/bpf.js";
import { ATTACH_TYPE } from "../../sys/constants.js";
import type { Fd, FdLike } from "../../sys/fd.js";
import { closedExplicitly, releaseOnCollect } from "../../sys/finalize.js";
import { withOp } from "../map.js";
import type { BpfMap } from "../map.js";
import type { Program } from "../program.js";
import { Link } from "./link.js";
import { mapFd, resolveCgroup } from "./targets.js";

/** Walk order of a cgroup iterator (enum bpf_cgroup_iter_order). */
export type CgroupIterOrder = "self" | "descendants_pre" | "descendants_post" | "ancestors_up";
const CGROUP_ORDER: Record<CgroupIterOrder, number> = { self: 1, descendants_pre: 2, descendants_post: 3, ancestors_up: 4 };

/** Parameters of an iterator (struct bpf_iter_link_info); at most one of them. */
export interface IterAttachOptions {
  /** bpf_map_elem, bpf_sk_storage_map, ...: the map to walk. */
  readonly map?: BpfMap | FdLike;
  /** task, task_file, task_vma: only this thread / process (tid or pid). */
  readonly tid?: number;
  readonly pid?: number;
  /** cgroup: where to start and how to walk. */
  readonly cgroup?: string | FdLike;
  readonly cgroupOrder?: CgroupIterOrder;
}

function iterInfo(prog: Program, o: IterAttachOptions): Uint8Array | undefined {
  const given = [o.map !== undefined, o.tid !== undefined || o.pid !== undefined, o.cgroup !== undefined].filter(Boolean).length;
  if (given > 1) throw new TsbpfError("INVALID_ARGUMENT", `attach iterator "${prog.name}": give one of map, tid/pid, cgroup`);
  if (given === 0) return undefined;
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  if (o.map !== undefined) v.setUint32(0, mapFd(o.map), true);
  else if (o.tid !== undefined || o.pid !== undefined) {
    if (o.tid !== undefined && o.pid !== undefined) throw new TsbpfError("INVALID_ARGUMENT", `attach iterator "${prog.name}": give tid or pid, not both`);
    v.setUint32(0, o.tid ?? 0, true);
    v.setUint32(4, o.pid ?? 0, true);
  } else return undefined; // cgroup: filled by the caller, which owns the cgroup fd
  return b;
}

/**
 * A reader of one pass over an iterator. Closed at the end of a read; one dropped before that has its
 * fd closed when garbage-collected, with a `TSBPF_UNCLOSED` warning.
 */
export class IterReader implements AsyncIterable<Uint8Array>, Disposable {
  readonly #fd: Fd;
  readonly #chunk: number;

  /** @param what names the reader in warnings (`iterator <link description>`). */
  constructor(fd: Fd, chunkSize = 64 * 1024, what = "iterator") {
    this.#fd = fd;
    this.#chunk = chunkSize;
    releaseOnCollect(this, { what, fds: [fd] });
  }

  /** Chunks of output as the kernel produces them (each read(2) of the iterator fd), until the end. */
  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    try {
      for (;;) {
        if (this.#fd.closed) return;
        const buf = new Uint8Array(this.#chunk);
        const n = await new Promise<number>((resolve, reject) => {
          fsRead(this.#fd.value, buf, 0, buf.length, null, (err, bytes) => (err ? reject(readError(err)) : resolve(bytes)));
        });
        if (n === 0) return;
        yield buf.subarray(0, n);
      }
    } finally {
      this.close();
    }
  }

  /** All the output, read asynchronously. */
  async readAll(): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    for await (const c of this) parts.push(c);
    return concat(parts);
  }

  /** All the output as UTF-8 text. */
  async text(): Promise<string> {
    return new TextDecoder().decode(await this.readAll());
  }

  /** All the output, read synchronously (blocks while the kernel walks). */
  readAllSync(): Uint8Array {
    const parts: Uint8Array[] = [];
    try {
      for (;;) {
        const buf = new Uint8Array(this.#chunk);
        let n: number;
        try {
          n = readSync(this.#fd.value, buf, 0, buf.length, null);
        } catch (e) {
          throw readError(e as NodeJS.ErrnoException);
        }
        if (n === 0) break;
        parts.push(buf.subarray(0, n));
      }
    } finally {
      this.close();
    }
    return concat(parts);
  }

  close(): void {
    closedExplicitly(this);
    this.#fd.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

function readError(e: NodeJS.ErrnoException): unknown {
  return new SyscallError("read", Math.abs(e.errno ?? 5), e.code ?? "EIO", e.message, "read iterator output");
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** An iterator link: every `open()` starts a fresh pass over the kernel objects. */
export class IterLink extends Link {
  /** Start a pass: a reader of the iterator's output. */
  open(chunkSize?: number): IterReader {
    const fd = withOp(`open iterator ${this.description}`, () => iterCreate(this.fd));
    return new IterReader(fd, chunkSize, `iterator ${this.description}`);
  }

  /** One pass, read whole. */
  readAll(): Promise<Uint8Array> {
    return this.open().readAll();
  }

  /** One pass, as text. */
  text(): Promise<string> {
    return this.open().text();
  }
}

/**
 * Attach an iterator program (`SEC("iter/task")`, `iter/bpf_map_elem` with `{ map }`, ...).
 *
 * @example
 * using it = attachIter(coll.program("dump_tasks"));
 * for await (const chunk of it.open()) process.stdout.write(chunk);
 * const text = await it.text();
 */
export function attachIter(prog: Program, opts: IterAttachOptions = {}): IterLink {
  if (prog.spec.type !== "TRACING" || prog.spec.expectedAttachType !== "TRACE_ITER") {
    throw new TsbpfError("WRONG_PROGRAM_TYPE", `attach program "${prog.name}" as an iterator: section "${prog.spec.sectionName}" is not an iter/ section`);
  }
  const description = `iterator ${prog.spec.attachTarget}`;
  const context = `attach program "${prog.name}" as ${description}`;
  let info = iterInfo(prog, opts);
  let cg: ReturnType<typeof resolveCgroup> | undefined;
  try {
    if (opts.cgroup !== undefined) {
      cg = resolveCgroup(opts.cgroup);
      info = new Uint8Array(16);
      const v = new DataView(info.buffer);
      v.setUint32(0, CGROUP_ORDER[opts.cgroupOrder ?? "self"], true);
      v.setUint32(4, cg.fd, true);
    }
    const fd = linkCreate({
      context, progFd: prog.fd.value, attachType: ATTACH_TYPE.TRACE_ITER,
      ...(info ? { extra: { kind: "iter", iterInfo: info } } : {}),
    });
    return new IterLink(fd, description);
  } finally {
    cg?.release();
  }
}
