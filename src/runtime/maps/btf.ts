// Minimal BTF for maps created from userspace whose type the kernel insists on describing (local
// storage maps): an `int` key and the value as an opaque byte array of the right size.

import { BtfBuilder } from "../../btf/writer.js";
import { btfLoad } from "../../sys/bpf.js";
import type { Fd } from "../../sys/fd.js";
import type { BpfToken } from "../token.js";

/** A loaded BTF object describing one map's key and value, and the ids to put in MAP_CREATE. */
export interface MapBtf {
  readonly fd: Fd;
  readonly keyTypeId: number;
  readonly valueTypeId: number;
}

/** Load BTF (through `token`, when given) with `int` (4-byte keys) or `unsigned char[keySize]` keys and `unsigned char[valueSize]` values. */
export function loadMapBtf(name: string, keySize: number, valueSize: number, token?: BpfToken): MapBtf {
  const b = new BtfBuilder();
  const int = b.add({ kind: "int", name: "int", size: 4, signed: true, char: false, bool: false, bitOffset: 0, bits: 32 });
  const uchar = b.add({ kind: "int", name: "unsigned char", size: 1, signed: false, char: true, bool: false, bitOffset: 0, bits: 8 });
  const keyTypeId = keySize === 4 ? int : b.add({ kind: "array", name: "", elemType: uchar, indexType: int, nelems: keySize });
  const valueTypeId = b.add({ kind: "array", name: "", elemType: uchar, indexType: int, nelems: valueSize });
  const fd = btfLoad(b.encode(), { context: `load BTF for map "${name}"`, ...(token ? { tokenFd: token.fd.value } : {}) });
  return { fd, keyTypeId, valueTypeId };
}
