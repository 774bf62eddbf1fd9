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

/** `detach` run at most once (marked done before it runs, so a failing detach is not retried). */
export function once(detach: () => void): { (): void; done: boolean } {
  const run = Object.assign(() => {
    if (run.done) return;
    run.done = true;
    detach();
  }, { done: false });
  return run;
}

/** The once-only detach of `ops`, made outside the constructor so that it cannot capture the link. */
function detacher(ops: AttachmentOps): { (): void; done: boolean } {
  return once(() => ops.detach());
}

/**
 * An attachment that is not a BPF link. It holds a duplicate of the program fd (so the program stays
 * loaded while attached through this handle) and detaches on close; it cannot be pinned, so it never
 * outlives the process that made it unless the hook itself keeps it (netlink XDP/TC, cgroup attach:
 * closing this handle is what detaches them). Garbage-collected without close(), it is detached then
 * (the detach is synchronous) with a `TSBPF_UNCLOSED` warning.
 */
export class AttachmentLink extends Link {
  readonly #ops: AttachmentOps;
  readonly #detach: { (): void; done: boolean };

  constructor(progFd: Fd, description: string, ops: AttachmentOps) {
    const detach = detacher(ops);
    super(progFd.dup(`program held by ${description}`), description, { isBpfLink: false, teardown: detach });
    this.#ops = ops;
    this.#detach = detach;
  }

  /** True once the program has been detached (by detach() or close()). */
  get detached(): boolean {
    return this.#detach.done;
  }

  override info(): LinkInfo {
    if (!this.#ops.info) return super.info();
    return this.#ops.info();
  }

  override update(newProgFd: Fd): void {
    if (!this.#ops.update) {
      throw new TsbpfError("NOT_A_LINK", `update ${this.description}: this attachment cannot replace its program in place; detach and attach again`);
    }
    if (this.#detach.done) throw new TsbpfError("DETACHED", `update ${this.description}: already detached`);
    this.#ops.update(newProgFd);
  }

  override detach(): void {
    this.#detach();
  }
}
