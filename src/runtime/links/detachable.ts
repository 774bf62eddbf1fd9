// A Link-like handle for attachments made without a BPF link (netlink XDP/TC, socket options,
// BPF_PROG_ATTACH on cgroups, sockmaps and netns): close() or `using` runs the matching detach.

import { TsbpfError } from "../../errors.js";
import type { Fd } from "../../sys/fd.js";
import type { LinkInfo } from "../../sys/info.js";
import { Link } from "./link.js";

/** How an attachment is undone, updated and described. */
export interface AttachmentOps {
  /** Undo the attachment. Called at most once. */
  detach(): void;
  /** Replace the attached program in place (when the hook allows it). */
  update?(newProgFd: Fd): void;
  /** Kernel-visible facts about the attachment (what `info()` returns). */
  info?(): LinkInfo;
}

/**
 * An attachment that is not a BPF link. It holds a duplicate of the program fd (so the program stays
 * loaded while attached through this handle) and detaches on close; it cannot be pinned, so it never
 * outlives the process that made it unless the hook itself keeps it (netlink XDP/TC, cgroup attach:
 * closing this handle is what detaches them).
 */
export class AttachmentLink extends Link {
  readonly #ops: AttachmentOps;
  #detached = false;

  constructor(progFd: Fd, description: string, ops: AttachmentOps) {
    super(progFd.dup(`program held by ${description}`), description, { isBpfLink: false });
    this.#ops = ops;
  }

  /** True once the program has been detached (by detach() or close()). */
  get detached(): boolean {
    return this.#detached;
  }

  override info(): LinkInfo {
    if (!this.#ops.info) return super.info();
    return this.#ops.info();
  }

  override update(newProgFd: Fd): void {
    if (!this.#ops.update) {
      throw new TsbpfError("NOT_A_LINK", `update ${this.description}: this attachment cannot replace its program in place; detach and attach again`);
    }
    if (this.#detached) throw new TsbpfError("DETACHED", `update ${this.description}: already detached`);
    this.#ops.update(newProgFd);
  }

  override detach(): void {
    if (this.#detached) return;
    this.#detached = true;
    this.#ops.detach();
  }

  /** Detach (if still attached) and release the program reference. */
  override close(): void {
    if (this.closed) return;
    try {
      this.detach();
    } finally {
      super.close();
    }
  }
}
