// The common link type: an fd that keeps a program attached, with id/info/pin/update/detach.
// Closing an unpinned link detaches the program; a pinned link outlives the process.

import { TsbpfError } from "../../errors.js";
import { linkDetach, linkInfo, linkUpdate } from "../../sys/bpf.js";
import { closedExplicitly, releaseOnCollect } from "../../sys/finalize.js";
import { pinAt, type PinOptions } from "../pin.js";
import { withOp } from "../map.js";
import type { Fd } from "../../sys/fd.js";
import type { LinkInfo } from "../../sys/info.js";

/** Options of the {@link Link} constructor. */
export interface LinkOptions {
  /** Whether `fd` is a real BPF link (default true). */
  readonly isBpfLink?: boolean;
  /** More fds the link owns (closed with it). */
  readonly extra?: Fd[];
  /**
   * Undoes what closing the fds does not (a netlink detach, removing a tracefs probe event). Runs once,
   * after the fds are closed, on close() — and also when the link is garbage-collected unclosed, so it
   * must not reference the link (or the link is never collected).
   */
  readonly teardown?: () => void;
}

/**
 * An attachment of a program to a hook. `close()` (or `using`) detaches it unless it was pinned.
 * A link that is garbage-collected without close() is detached then, as close() would, with a
 * `TSBPF_UNCLOSED` warning naming it (see docs/loader.md, "Lifecycle").
 *
 * @example
 * using link = prog.attach();   // detached at the end of the scope
 */
export class Link implements Disposable {
  /** fd of the BPF link (or of the perf event for perf-event based attachments without BPF links). */
  readonly fd: Fd;
  /** What the link attaches, for messages: `tracepoint sched/sched_process_exec`. */
  readonly description: string;
  /** Whether `fd` is a real BPF link (with id, info, pin, update) or another fd holding the attachment. */
  readonly isBpfLink: boolean;
  readonly #extra: Fd[];
  readonly #teardown: (() => void) | undefined;
  readonly #onClose: (() => void)[] = [];
  #pinnedAt: string | undefined;

  constructor(fd: Fd, description: string, opts: LinkOptions = {}) {
    this.fd = fd;
    this.description = description;
    this.isBpfLink = opts.isBpfLink ?? true;
    this.#extra = opts.extra ?? [];
    this.#teardown = opts.teardown;
    releaseOnCollect(this, { what: `link ${description}`, fds: [fd, ...this.#extra], ...(opts.teardown ? { release: opts.teardown } : {}) });
  }

  #requireLink(op: string): void {
    if (!this.isBpfLink) throw new TsbpfError("NOT_A_LINK", `${op} ${this.description}: the kernel attached it without a BPF link, so it cannot be ${op === "pin" ? "pinned" : op + "d"}`);
  }

  /** Kernel info of the link (id, program id, type-specific fields). */
  info(): LinkInfo {
    this.#requireLink("info");
    return withOp(`info of link ${this.description}`, () => linkInfo(this.fd));
  }

  /** The link's kernel id. */
  get id(): number {
    return this.info().id;
  }

  /** Pin the link on bpffs: the attachment then survives this process. */
  pin(path: string, opts: PinOptions = {}): void {
    this.#requireLink("pin");
    withOp(`pin link ${this.description} at ${path}`, () => pinAt(this.fd, path, `link ${this.description}`, opts));
    this.#pinnedAt = path;
  }

  get pinnedAt(): string | undefined {
    return this.#pinnedAt;
  }

  /** Atomically replace the attached program. */
  update(newProgFd: Fd): void {
    this.#requireLink("update");
    withOp(`update link ${this.description}`, () => linkUpdate(this.fd, newProgFd));
  }

  /** Detach the program now, even if the link is pinned (the fd stays open until close). */
  detach(): void {
    this.#requireLink("detach");
    withOp(`detach link ${this.description}`, () => linkDetach(this.fd));
  }

  /** Register a callback run once when the link is closed (by close(), not when it is garbage-collected unclosed). */
  onClose(fn: () => void): void {
    this.#onClose.push(fn);
  }

  get closed(): boolean {
    return this.fd.closed;
  }

  /** Close the link's fds; an unpinned link is detached by this. */
  close(): void {
    if (this.fd.closed) return;
    closedExplicitly(this);
    this.fd.close();
    for (const fd of this.#extra) fd.close();
    try {
      this.#teardown?.();
    } finally {
      for (const fn of this.#onClose.splice(0)) fn();
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
