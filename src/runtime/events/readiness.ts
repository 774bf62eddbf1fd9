// Readiness of a set of event fds (ring buffers, perf rings) on the libuv loop: one uv_poll per fd,
// started only while someone waits or listens, keeping the process alive only while it does.

import { TsbpfError } from "../../errors.js";
import { POLL } from "../../sys/constants.js";
import { pollStatusError, sys, type PollHandle } from "../../sys/seam.js";

/**
 * Readiness objects somebody waits on or listens to. The poll handles' callbacks reach a Readiness only
 * through a WeakRef (a native callback reference is a GC root), so an idle reader nobody holds can be
 * collected; while waited on or listened to, this set keeps it (and so its reader) alive.
 */
const busy = new Set<Readiness>();

/**
 * Watches fds for readability through the libuv loop (no threads, no busy polling).
 *
 * - `wait()` resolves at the next readiness of any fd (or at close); while a wait is pending the
 *   handles keep the loop alive, otherwise they are unref'd so an idle reader never holds the process.
 * - `listen(fn)` calls `fn` on every readiness until `unlisten()`/`close()` and keeps the loop alive.
 * - Handles are stopped lazily: a readiness nobody asked for stops them (level-triggered epoll would
 *   otherwise call back on every loop turn while data waits for a slow consumer).
 * - libuv registers a started handle with epoll only in the poll phase of a later loop turn, and a
 *   perf event's wake-up that comes before that registration is lost: its readiness is a one-shot flag
 *   that epoll's check at registration consumes, and epoll then re-checks before reporting and finds
 *   nothing. So after every start, once the loop has certainly registered the handles, `probe()` looks
 *   at the data itself and stands in for the wake-up that may have been missed. "Certainly" is two
 *   check phases later: a start made inside an I/O callback (the poll phase) is registered only in the
 *   next turn's poll phase, after this turn's check phase; a probe there would run before the
 *   registration and miss a sample written in between (measured: 20 of 20 such samples stranded).
 */
export class Readiness {
  readonly #label: string;
  readonly #probe: () => boolean;
  readonly #fds: number[] = [];
  readonly #handles: PollHandle[] = [];
  #waiters: (() => void)[] = [];
  #listener: (() => void) | undefined;
  #started = false;
  #refd = true;
  /** Never stop the handles (perf events: their readiness is a one-shot flag that a re-registration can eat). */
  #keep = false;
  #closed = false;
  #error: unknown;
  /** Readiness callbacks received (each one is a wake-up of the consumer). */
  wakeups = 0;
  readonly #relay = Readiness.#relayTo(new WeakRef(this));

  /** The poll handles' callback: reaches the Readiness without keeping it alive. */
  static #relayTo(ref: WeakRef<Readiness>): (status: number) => void {
    return (status) => {
      const r = ref.deref();
      if (r) r.#onReady(status);
    };
  }

  /** Hold this while somebody waits or listens (see {@link busy}). */
  #updateBusy(): void {
    if (!this.#closed && (this.#waiters.length > 0 || this.#listener !== undefined)) busy.add(this);
    else busy.delete(this);
  }

  /**
   * The poll handles (a live array). An owner's garbage-collection release closes them before the
   * fds they watch; it holds this array, never the Readiness (whose probe references the owner).
   */
  get handles(): readonly PollHandle[] {
    return this.#handles;
  }

  /** @param probe true when data is waiting (checked right after the handles are registered). */
  constructor(label: string, probe: () => boolean) {
    this.#label = label;
    this.#probe = probe;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Register the handles now and keep them registered until close (unref'd while nobody waits). For
   * sources whose readiness is a one-shot flag (perf events): epoll's own check when a handle is
   * (re-)registered consumes the flag and then drops the event, so registering early and never again
   * is what keeps wake-ups from being lost.
   */
  keepRegistered(): void {
    this.#keep = true;
    this.#setRef(false);
    this.#start();
  }

  /** Watch one more fd (owned by the caller, who must close it only after {@link close}). */
  add(fd: number): void {
    if (this.#closed) throw new TsbpfError("CLOSED", `${this.#label}: reader is closed`);
    this.#fds.push(fd);
    if (this.#started) this.#handles.push(this.#open(fd));
  }

  #open(fd: number): PollHandle {
    // A handle left open at exit is closed by the addon's env cleanup hook (native/tsbpf.c).
    const h = sys().poll(fd, POLL.READABLE, this.#relay);
    if (!this.#refd) h.unref();
    return h;
  }

  readonly #onReady = (status: number): void => {
    this.wakeups++;
    if (status < 0) {
      this.#error = pollStatusError(status);
      this.#stop();
    }
    const l = this.#listener;
    if (l) l();
    if (this.#waiters.length > 0) {
      const ws = this.#waiters;
      this.#waiters = [];
      this.#setRef(this.#listener !== undefined);
      this.#updateBusy();
      for (const w of ws) w();
    } else if (!this.#listener && !this.#keep) {
      this.#stop();
    }
  };

  #start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    if (this.#handles.length === 0) {
      for (const fd of this.#fds) this.#handles.push(this.#open(fd));
    } else {
      for (const h of this.#handles) h.start(POLL.READABLE);
    }
    setImmediate(this.#afterTurn);
  }

  /** The first check phase after a start: the handles are registered by the next poll phase at the latest. */
  readonly #afterTurn = (): void => {
    setImmediate(this.#afterStart);
  };

  readonly #afterStart = (): void => {
    if (!this.#started || this.#closed) return;
    if (this.#waiters.length === 0 && !this.#listener) return;
    let ready = false;
    try {
      ready = this.#probe();
    } catch {
      ready = true; // let the consumer run into the error
    }
    if (ready) this.#onReady(0);
  };

  #stop(): void {
    if (!this.#started) return;
    this.#started = false;
    for (const h of this.#handles) h.stop();
  }

  #setRef(on: boolean): void {
    if (this.#refd === on) return;
    this.#refd = on;
    for (const h of this.#handles) {
      if (on) h.ref();
      else h.unref();
    }
  }

  /** Throws the poll error (if a readiness callback reported one). */
  check(): void {
    if (this.#error !== undefined) {
      const e = this.#error;
      this.#error = undefined;
      throw new TsbpfError("POLL_FAILED", `${this.#label}: waiting for data failed: ${(e as Error).message}`, { cause: e });
    }
  }

  /** Resolves at the next readiness of any fd, or when closed. Keeps the loop alive meanwhile. */
  wait(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.check();
    return new Promise<void>((resolve) => {
      this.#waiters.push(resolve);
      this.#updateBusy();
      this.#start();
      this.#setRef(true);
    });
  }

  /** Call `fn` on every readiness until {@link unlisten} or {@link close}; `keepAlive: false` lets the process exit meanwhile. */
  listen(fn: () => void, keepAlive = true): void {
    if (this.#closed) throw new TsbpfError("CLOSED", `${this.#label}: reader is closed`);
    this.#listener = fn;
    this.#updateBusy();
    this.#start();
    this.#setRef(keepAlive);
  }

  unlisten(): void {
    this.#listener = undefined;
    this.#updateBusy();
    if (this.#waiters.length === 0) this.#setRef(false);
  }

  /** Close every poll handle (before the fds are closed) and release pending waits. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#listener = undefined;
    busy.delete(this);
    for (const h of this.#handles) h.close();
    this.#handles.length = 0;
    this.#started = false;
    const ws = this.#waiters;
    this.#waiters = [];
    for (const w of ws) w();
  }
}
