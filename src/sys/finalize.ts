// Objects dropped without close(): when the garbage collector collects an owner of kernel resources
// (an Fd, a program, map, link, collection, event reader), its fds are closed and its attachment undone
// as close() would, and a TSBPF_UNCLOSED warning names it. close() unregisters, so nothing is released
// twice. The one place for this concept: every owner registers here.

import type { Fd } from "./fd.js";

/**
 * What to release when an owner is collected without close(). It must not reference the owner
 * (directly or through a closure), or the owner is never collected.
 */
export interface Unclosed {
  /** The object as the warning names it: `program "onExec"`, `map "events"`, `link tracepoint/...`. */
  readonly what: string;
  /**
   * Fds the owner owns, closed through their Fd objects: closing one that was closed meanwhile does
   * nothing, so a late release never closes a number the process has reused since. May be an array
   * the owner keeps adding to.
   */
  readonly fds?: readonly Fd[];
  /** Runs after the fds are closed: undoing an attachment, removing a tracefs event, closing handles. */
  readonly release?: () => void;
}

/** Warning code of objects collected without close(); silence it with `node --disable-warning=TSBPF_UNCLOSED`. */
export const UNCLOSED_WARNING = "TSBPF_UNCLOSED";

let pending: string[] = [];

function warn(what: string): void {
  pending.push(what);
  // One warning per collection run rather than one per object (a forgotten collection is many objects).
  if (pending.length === 1) setImmediate(flush);
}

function flush(): void {
  const names = pending;
  pending = [];
  if (names.length === 0) return;
  const counts = new Map<string, number>();
  for (const n of names) counts.set(n, (counts.get(n) ?? 0) + 1);
  const listed = [...counts].map(([n, c]) => (c > 1 ? `${n} (×${c})` : n));
  const shown = listed.length > 20 ? [...listed.slice(0, 20), `and ${listed.length - 20} more`] : listed;
  process.emitWarning(
    `${names.length === 1 ? "an eBPF object was" : `${names.length} eBPF objects were`} garbage-collected without close(), ` +
      `so ${names.length === 1 ? "its" : "their"} file descriptors were closed (and attachments detached) only now: ${shown.join(", ")}. ` +
      "Call close() (or use `using`) when done with them.",
    { code: UNCLOSED_WARNING, detail: "Objects that are never closed keep programs loaded, maps alive and links attached until the garbage collector (or the process exit) gets to them." },
  );
}

function finalize(held: Unclosed): void {
  try {
    for (const fd of held.fds ?? []) {
      try {
        fd.close();
      } catch {
        // already gone: nothing to release
      }
    }
    held.release?.();
  } catch {
    // A finalizer has nobody to report to; the warning below still names the object.
  }
  warn(held.what);
}

const registry = new FinalizationRegistry<Unclosed>(finalize);

/**
 * Release `held` (close its fds, then run its release) when `owner` is garbage-collected before
 * {@link closedExplicitly} was called for it, and warn that it was never closed.
 */
export function releaseOnCollect(owner: object, held: Unclosed): void {
  registry.register(owner, held, owner);
}

/** The owner was closed (or gave its resources away): nothing to release when it is collected. */
export function closedExplicitly(owner: object): void {
  registry.unregister(owner);
}
