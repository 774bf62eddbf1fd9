// The registration of a struct_ops map: a BPF link (attach type BPF_STRUCT_OPS, `.struct_ops.link`
// maps) that can swap in another map, or — for plain `.struct_ops` maps — element 0, deleted to unregister.

import { SyscallError, TsbpfError } from "../../errors.js";
import { linkCreate, linkUpdate, mapDelete } from "../../sys/bpf.js";
import { ATTACH_TYPE } from "../../sys/constants.js";
import type { Fd } from "../../sys/fd.js";
import { withOp } from "../map.js";
import type { StructOpsMap } from "../maps/struct-ops.js";
import { once } from "./detachable.js";
import { Link } from "./link.js";

/**
 * Unregistering a plain struct_ops map (deleting element 0) once, through a duplicate of the map fd of
 * its own: it also runs when the registration is garbage-collected unclosed, after the link's fds closed.
 */
function unregisterer(mapFd: Fd, description: string): { (): void; done: boolean } {
  const fd = mapFd.dup(`unregistration of ${description}`);
  return once(() => {
    try {
      withOp(`unregister ${description}`, () => mapDelete(fd, new Uint8Array(4)));
    } finally {
      fd.close();
    }
  });
}

/**
 * A registered struct_ops map (made by {@link StructOpsMap.attach}). `detach()` or `close()`
 * unregisters it. For `.struct_ops.link` maps it is a real BPF link (pin, info, `update(otherMap)`);
 * for plain `.struct_ops` maps it holds the map and unregisters by deleting element 0.
 *
 * @example
 * const reg = coll.structOps("cc_v1").attach();
 * reg.update(coll.structOps("cc_v2"));   // same name, new programs: new sockets use v2
 * reg.close();                            // unregistered
 */
export class StructOpsLink extends Link {
  #map: StructOpsMap;
  #detached = false;
  readonly #unregister: { (): void; done: boolean } | undefined;

  private constructor(fd: Fd, description: string, map: StructOpsMap, isBpfLink: boolean) {
    const unregister = isBpfLink ? undefined : unregisterer(map.fd, description);
    super(fd, description, { isBpfLink, ...(unregister ? { teardown: unregister } : {}) });
    this.#map = map;
    this.#unregister = unregister;
  }

  /** @internal Register `map` (its value already written): a BPF link for link maps, else a handle on the map. */
  static create(map: StructOpsMap): StructOpsLink {
    const description = `struct_ops ${map.kernelType} "${map.name}"`;
    if (map.isLink) {
      const fd = linkCreate({ progFd: map.fd.value, attachType: ATTACH_TYPE.STRUCT_OPS, context: `attach ${description}` });
      return new StructOpsLink(fd, description, map, true);
    }
    return new StructOpsLink(map.fd.dup(`registration of ${description}`), description, map, false);
  }

  /** The struct_ops map currently registered through this link. */
  get map(): StructOpsMap {
    return this.#map;
  }

  /** True once unregistered (by detach() or close()). */
  get detached(): boolean {
    return this.#detached;
  }

  /**
   * Swap in another `.struct_ops.link` map of the same type (BPF_LINK_UPDATE with the map's fd); its
   * value is written first. For tcp_congestion_ops both maps must carry the same `name`.
   */
  override update(next: StructOpsMap | Fd): void {
    const op = `update ${this.description}`;
    if (!this.isBpfLink) {
      throw new TsbpfError("NOT_A_LINK", `${op}: a SEC(".struct_ops") map is registered by a map update, not a link, so it cannot swap maps; declare the variables in SEC(".struct_ops.link")`);
    }
    if (this.#detached) throw new TsbpfError("DETACHED", `${op}: already detached`);
    if ("isLink" in next) {
      if (!next.isLink) throw new TsbpfError("NOT_A_LINK", `${op}: map "${next.name}" is not a SEC(".struct_ops.link") map; only those can be swapped into a link`);
      next.writeValue(op);
      withOp(`${op} to map "${next.name}"`, () => linkUpdate(this.fd, next.fd));
      this.#map.untrackLink(this);
      next.trackLink(this);
      this.#map = next;
    } else {
      withOp(op, () => linkUpdate(this.fd, next));
    }
  }

  /**
   * Unregister now. Links: BPF_LINK_DETACH (Linux 6.10+; before that an unpinned link is closed
   * instead). Plain maps: element 0 is deleted — such a map cannot register again.
   */
  override detach(): void {
    if (this.#detached || this.closed) return;
    if (this.isBpfLink) {
      try {
        super.detach();
      } catch (e) {
        const unsupported = e instanceof SyscallError && (e.code === "EOPNOTSUPP" || e.code === "ENOTSUPP" || e.code === "EINVAL");
        if (!unsupported || this.pinnedAt !== undefined) throw e;
        this.#detached = true;
        this.close();
        return;
      }
    } else {
      this.#unregister!();
      this.#map.markSpent();
    }
    this.#detached = true;
  }

  /** Unregister (unless a pinned link keeps it) and close. */
  override close(): void {
    if (this.closed) return;
    try {
      if (!this.isBpfLink) this.detach();
    } finally {
      this.#map.untrackLink(this);
      if (this.isBpfLink && this.pinnedAt === undefined) this.#detached = true;
      super.close();
    }
  }
}
