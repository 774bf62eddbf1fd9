// Key-by-key iteration over a map with its own buffers and attrs, one key ahead: a step is one bpf(2)
// call (two with the value), no allocation or copying, and deleting the current element is safe.

import { MapError } from "../../errors.js";
import { MAP_ELEM_LAYOUT } from "../../sys/attr.js";
import { BPF_CMD, bpfCmdName } from "../../sys/constants.js";
import { errnoError, sys } from "../../sys/seam.js";

const ENOENT = 2;
const KEY = MAP_ELEM_LAYOUT.fields.key.offset;
const VALUE = MAP_ELEM_LAYOUT.fields.value.offset;
const SIZE = MAP_ELEM_LAYOUT.size;

function attr(fd: number, key: Uint8Array | null, value: Uint8Array | null): Uint8Array {
  const a = new Uint8Array(SIZE);
  const dv = new DataView(a.buffer);
  dv.setUint32(0, fd, true);
  const s = sys();
  if (key && key.byteLength) dv.setBigUint64(KEY, s.addressOf(key), true);
  if (value && value.byteLength) dv.setBigUint64(VALUE, s.addressOf(value), true);
  return a;
}

/**
 * A position in a map's key order. `key` holds the current key and `value` (after {@link lookup}) its
 * value; the buffers belong to the cursor, so other operations on the map in between do not disturb it.
 *
 * The cursor reads one key ahead: moving to a key also fetches the key after it. So deleting or
 * rewriting the current element before the next step is safe — the kernel would restart a walk from a
 * deleted key at the first key (hash maps), and a rewritten hash element moves to the front of its
 * bucket, where a walk continuing from it would revisit its bucket mates. Changes further ahead can still
 * make a walk repeat keys; a walk that takes more than twice the map's capacity (plus 64) steps stops
 * with MapError ITERATION_ABORTED instead of never ending.
 */
export class KeyCursor {
  /** The current key's value (valid after `lookup()` returned true). */
  readonly value: Uint8Array;
  readonly valueView: DataView;
  readonly #keys: readonly [Uint8Array, Uint8Array];
  readonly #keyViews: readonly [DataView, DataView];
  readonly #first: Uint8Array;
  /** get-next-key attrs: from key 0 into key 1, and from key 1 into key 0. */
  readonly #step: readonly [Uint8Array, Uint8Array];
  readonly #lookups: [Uint8Array | undefined, Uint8Array | undefined] = [undefined, undefined];
  readonly #fd: number;
  readonly #map: string;
  readonly #limit: number;
  #steps = 0;
  /** Which of the two key buffers holds the current key. */
  #cur = 0;
  /** Whether the other buffer holds the key after the current one. */
  #ahead = false;

  constructor(fd: number, keySize: number, valueSize: number, map = "map", maxEntries = Number.MAX_SAFE_INTEGER / 4) {
    this.#fd = fd;
    this.#map = map;
    this.#limit = maxEntries * 2 + 64;
    // Allocated off-heap at once (an ArrayBuffer, not a small on-heap typed array), so the addresses in
    // the attrs and the DataViews below stay valid and nothing is re-materialised per step.
    const buf = (n: number) => new Uint8Array(new ArrayBuffer(Math.max(n, 1)), 0, n);
    const k0 = buf(keySize);
    const k1 = buf(keySize);
    this.#keys = [k0, k1];
    this.#keyViews = [new DataView(k0.buffer, 0, keySize), new DataView(k1.buffer, 0, keySize)];
    this.value = buf(valueSize);
    this.valueView = new DataView(this.value.buffer, 0, valueSize);
    this.#first = attr(fd, null, k0);
    this.#step = [attr(fd, k0, k1), attr(fd, k1, k0)];
  }

  /** The current key (valid after `next()` returned true). */
  get key(): Uint8Array {
    return this.#keys[this.#cur]!;
  }

  get keyView(): DataView {
    return this.#keyViews[this.#cur]!;
  }

  #getNext(attr: Uint8Array): boolean {
    const r = sys().bpfTry(BPF_CMD.MAP_GET_NEXT_KEY, attr);
    if (r >= 0) return true;
    if (r === -ENOENT) return false;
    throw errnoError(bpfCmdName(BPF_CMD.MAP_GET_NEXT_KEY), -r);
  }

  /** Move to the following key (the first one on the first call); false at the end of the map. */
  next(): boolean {
    if (this.#steps === 0) {
      if (!this.#getNext(this.#first)) return false;
      this.#cur = 0;
    } else {
      if (!this.#ahead) return false;
      this.#cur ^= 1;
    }
    if (++this.#steps > this.#limit) {
      this.#ahead = false;
      throw new MapError("ITERATION_ABORTED", this.#map, "iterate", `visited ${this.#steps - 1} keys of a map with room for ${(this.#limit - 64) / 2}: ` +
        "the map kept changing under the key-by-key walk (elements deleted or re-inserted ahead of it); " +
        "collect the keys first ([...map.keys()]) or read with batchEntries()/lookupAll()");
    }
    this.#ahead = this.#getNext(this.#step[this.#cur]!);
    return true;
  }

  /** Read the current key's value into `value`; false when the key vanished meanwhile. */
  lookup(): boolean {
    const c = this.#cur;
    const a = (this.#lookups[c] ??= attr(this.#fd, this.#keys[c]!, this.value));
    const r = sys().bpfTry(BPF_CMD.MAP_LOOKUP_ELEM, a);
    if (r >= 0) return true;
    if (r === -ENOENT) return false;
    throw errnoError(bpfCmdName(BPF_CMD.MAP_LOOKUP_ELEM), -r);
  }
}
