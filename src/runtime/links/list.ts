// Every BPF link in the system (like `bpftool link list`), and opening a link pinned on bpffs as a Link
// again, e.g. to detach an attachment an earlier process left pinned.

import { getFdById, linkInfo, objectIds } from "../../sys/bpf.js";
import { openPin } from "../pin.js";
import { LINK_TYPE } from "../../sys/constants.js";
import type { LinkInfo } from "../../sys/info.js";
import { withOp } from "../map.js";
import { Link } from "./link.js";

/** A link's info with its type's name (`perf_event`, `tracing`, `uprobe_multi`...). */
export interface LinkListing extends LinkInfo {
  readonly typeName: string;
}

const TYPE_NAMES = new Map<number, string>(Object.entries(LINK_TYPE).map(([k, v]) => [v, k.toLowerCase()]));

/**
 * Info of every BPF link alive in the kernel (links that vanish while listing are skipped).
 *
 * @example
 * for (const l of listLinks()) console.log(l.id, l.typeName, l.progId);
 */
export function listLinks(): LinkListing[] {
  const out: LinkListing[] = [];
  for (const id of objectIds("link")) {
    let info: LinkInfo;
    try {
      using fd = getFdById("link", id);
      info = linkInfo(fd);
    } catch {
      continue; // released meanwhile
    }
    out.push({ ...info, typeName: TYPE_NAMES.get(info.type) ?? `type ${info.type}` });
  }
  return out;
}

/**
 * Open a link pinned on bpffs. Closing the returned Link keeps the attachment (the pin holds it);
 * `detach()` ends it, and removing the pin file lets it go once no fd refers to it.
 *
 * @example
 * using link = openPinnedLink("/sys/fs/bpf/my-probe");
 * link.detach();
 */
export function openPinnedLink(path: string): Link {
  const fd = withOp(`open pinned link at ${path}`, () => openPin(path, {}, `open pinned link at ${path}`));
  const link = new Link(fd, `pinned link ${path}`);
  return link;
}

/** Open a link by its kernel id (see {@link listLinks}). */
export function openLinkById(id: number): Link {
  const fd = withOp(`open link #${id}`, () => getFdById("link", id));
  return new Link(fd, `link #${id}`);
}
