// Pre-encoded map element syscalls: one bpf_attr per command with the key/value pointers written once,
// so a lookup/update/delete costs one bpf(2) call and no attr building or address lookups.

import { MAP_ELEM_LAYOUT } from "../../sys/attr.js";
import { BPF_CMD, bpfCmdName } from "../../sys/constants.js";
import { errnoError, sys } from "../../sys/seam.js";

const ENOENT = 2;
const KEY = MAP_ELEM_LAYOUT.fields.key.offset;
const VALUE = MAP_ELEM_LAYOUT.fields.value.offset;
const FLAGS = MAP_ELEM_LAYOUT.fields.flags.offset;
const SIZE = MAP_ELEM_LAYOUT.size;

/**
 * Element calls on one map with fixed scratch buffers `key` and `value`: fill `key` (and `value`),
 * call, read `value`. The buffers live as long as this object, so their addresses stay valid.
 */
export class ElemCalls {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  /** Where BPF_MAP_GET_NEXT_KEY writes the following key. */
  readonly next: Uint8Array;
  readonly keyView: DataView;
  readonly valueView: DataView;
  readonly #fd: number;
  #first: Uint8Array | undefined;
  #nextKey: Uint8Array | undefined;
  #lookup: Uint8Array | undefined;
  #update: Uint8Array | undefined;
  #updateView: DataView | undefined;
  #delete: Uint8Array | undefined;
  #lookupAndDelete: Uint8Array | undefined;

  constructor(fd: number, keySize: number, valueSize: number) {
    this.#fd = fd;
    this.key = new Uint8Array(keySize);
    this.value = new Uint8Array(valueSize);
    this.next = new Uint8Array(keySize);
    this.keyView = new DataView(this.key.buffer);
    this.valueView = new DataView(this.value.buffer);
  }

  #attr(withKey: boolean, withValue: boolean, value: Uint8Array = this.value): Uint8Array {
    const a = new Uint8Array(SIZE);
    const dv = new DataView(a.buffer);
    dv.setUint32(0, this.#fd, true);
    const s = sys();
    if (withKey && this.key.byteLength) dv.setBigUint64(KEY, s.addressOf(this.key), true);
    if (withValue && value.byteLength) dv.setBigUint64(VALUE, s.addressOf(value), true);
    return a;
  }

  /**
   * BPF_MAP_GET_NEXT_KEY: the key after `key` (the first key when `first`) into `next`; false at the end.
   */
  nextKey(first: boolean): boolean {
    const attr = first ? (this.#first ??= this.#attr(false, true, this.next)) : (this.#nextKey ??= this.#attr(true, true, this.next));
    return this.#call(BPF_CMD.MAP_GET_NEXT_KEY, attr);
  }

  #call(cmd: number, attr: Uint8Array): boolean {
    const r = sys().bpfTry(cmd, attr);
    if (r >= 0) return true;
    if (r === -ENOENT) return false;
    throw errnoError(bpfCmdName(cmd), -r);
  }

  /** BPF_MAP_LOOKUP_ELEM of `key` into `value`; false when absent. `keyless`: queue/stack/bloom (no key pointer). */
  lookup(): boolean {
    return this.#call(BPF_CMD.MAP_LOOKUP_ELEM, (this.#lookup ??= this.#attr(true, true)));
  }

  /** BPF_MAP_UPDATE_ELEM of `key` with `value`. */
  update(flags: number): void {
    this.#update ??= this.#attr(true, true);
    this.#updateView ??= new DataView(this.#update.buffer);
    this.#updateView.setUint32(FLAGS, flags >>> 0, true);
    const r = sys().bpfTry(BPF_CMD.MAP_UPDATE_ELEM, this.#update);
    if (r < 0) throw errnoError("BPF_MAP_UPDATE_ELEM", -r);
  }

  /** BPF_MAP_DELETE_ELEM of `key`; false when absent. */
  delete(): boolean {
    return this.#call(BPF_CMD.MAP_DELETE_ELEM, (this.#delete ??= this.#attr(true, false)));
  }

  /** BPF_MAP_LOOKUP_AND_DELETE_ELEM of `key` (pop for queues/stacks) into `value`; false when absent/empty. */
  lookupAndDelete(): boolean {
    return this.#call(BPF_CMD.MAP_LOOKUP_AND_DELETE_ELEM, (this.#lookupAndDelete ??= this.#attr(true, true)));
  }
}
