// Program arrays (BPF_MAP_TYPE_PROG_ARRAY) for tail calls: slot → program. Updates take a program (or
// its fd); lookups from userspace return the program's id.

import { BpfMap, expectType, TypedMap } from "../map.js";
import { fdCodec, u32Codec, type FdSource } from "./codecs.js";

/**
 * A PROG_ARRAY map: `set(slot, program)` installs a tail-call target, `get(slot)` gives its program id.
 *
 * @example
 * const jump = new ProgArray(coll.map("jump_table"));
 * jump.set(0, coll.program("stage_two"));
 * jump.delete(0);
 */
export class ProgArray extends TypedMap<number, number, number, FdSource> {
  constructor(map: BpfMap) {
    expectType(map, "ProgArray", "PROG_ARRAY");
    super(map, u32Codec, fdCodec(4));
  }

  /** Number of slots. */
  get length(): number {
    return this.map.maxEntries;
  }
}
