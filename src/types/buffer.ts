// Byte-level helpers shared by every layout: host byte order and zero filling.
// Internally layouts address bytes as (DataView over the whole ArrayBuffer, absolute byte offset).

/** Host byte order; BPF maps and ring buffers hold native-endian data. */
export const LITTLE_ENDIAN: boolean = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Writes `length` zero bytes at `at`. */
export function zeroFill(dv: DataView, at: number, length: number): void {
  if (length <= 16) {
    for (let i = 0; i < length; i++) dv.setUint8(at + i, 0);
  } else {
    new Uint8Array(dv.buffer, at, length).fill(0);
  }
}
