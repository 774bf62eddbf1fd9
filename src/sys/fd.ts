// An owned file descriptor: closes exactly once, refuses use after close, duplicates independently.
// Every fd the sys layer returns is wrapped in an Fd so ownership is explicit. An Fd that is
// garbage-collected without close() is closed then (with a TSBPF_UNCLOSED warning, see finalize.ts).

import { TsbpfError } from "../errors.js";
import { closedExplicitly, releaseOnCollect } from "./finalize.js";
import { sys, type Sys } from "./seam.js";

/** Closes `value` through the implementation that opened it (a fake's numbers never reach the real close). */
function closer(impl: Sys, value: number): () => void {
  return () => impl.close(value);
}

/**
 * An owned kernel file descriptor (map, program, link, BTF, perf event, socket, ...). Only ever wrap a
 * descriptor this process owns: one dropped without close() is closed when it is garbage-collected.
 */
export class Fd implements Disposable {
  #value: number;
  /** What the fd refers to, used in error messages (e.g. `map "events"`). */
  readonly label: string;

  constructor(value: number, label = "fd") {
    if (!Number.isInteger(value) || value < 0) {
      throw new TsbpfError("EBADF", `${label}: ${String(value)} is not a valid file descriptor`);
    }
    this.#value = value;
    this.label = label;
    releaseOnCollect(this, { what: label, release: closer(sys(), value) });
  }

  /** The raw descriptor number; throws once closed. */
  get value(): number {
    if (this.#value < 0) throw new TsbpfError("EBADF", `${this.label}: file descriptor used after close`);
    return this.#value;
  }

  /** True once close() has run. */
  get closed(): boolean {
    return this.#value < 0;
  }

  /** An owned duplicate of a descriptor this process borrows (never wrap a borrowed number itself). */
  static dupOf(borrowed: number, label = "fd"): Fd {
    return new Fd(sys().dup(borrowed), label);
  }

  /** A new Fd for the same kernel object (F_DUPFD_CLOEXEC); closing one leaves the other open. */
  dup(label: string = this.label): Fd {
    return new Fd(sys().dup(this.value), label);
  }

  /** Closes the descriptor; calling it again does nothing. */
  close(): void {
    const v = this.#value;
    if (v < 0) return;
    this.#value = -1;
    closedExplicitly(this);
    sys().close(v);
  }

  /** Gives up ownership: returns the number and forgets it without closing. */
  release(): number {
    const v = this.value;
    this.#value = -1;
    closedExplicitly(this);
    return v;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  toString(): string {
    return this.#value < 0 ? `${this.label}(closed)` : `${this.label}(${this.#value})`;
  }
}

/** An owned Fd or a raw descriptor number (borrowed). */
export type FdLike = Fd | number;

/** The descriptor number of an Fd or raw number. */
export function fdValue(fd: FdLike): number {
  return typeof fd === "number" ? fd : fd.value;
}
