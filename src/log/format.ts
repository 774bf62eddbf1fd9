// Logging from kernel programs (`log.info\`...\`` in tsbpf/kernel): what the compiler and the loader
// agree on. The compiler keeps every call site's format in the object (a `.rodata` variable holding the
// format table as JSON, never sent at run time); a record in the `__tsbpf_log` ring buffer carries only
// the call site's format id, its level, who logged (pid/tid, cpu, time) and the argument bytes.

/** Log levels, least severe first (their numbers are what records and the min-level constant hold). */
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The ring buffer map the compiler declares in every object that logs. */
export const LOG_MAP = "__tsbpf_log";
/** Its size: 256 KiB (about 4000 records of 64 bytes; a full buffer drops records, never blocks). */
export const LOG_RING_SIZE = 256 * 1024;
/** The `.rodata` u32 the programs compare each call's level with: levels below it are pruned by the verifier. */
export const LOG_MIN_LEVEL_VAR = "__tsbpf_log_level";
/** The `.bss` u64 counting records dropped because the ring buffer was full. */
export const LOG_DROPPED_VAR = "__tsbpf_log_dropped";
/** The `.rodata` char array holding the format table (JSON, {@link LogFormatTable}). */
export const LOG_FORMATS_VAR = "__tsbpf_log_formats";
/** The most bytes one record may hold (header included): a larger call is a compile error. */
export const LOG_MAX_RECORD = 512;

/**
 * Record header (little-endian): u32 format id @0, u8 level @4, u8 flags @5 (bit 0: pid/tid known),
 * u16 argument bytes @6, u64 CLOCK_MONOTONIC ns @8, u64 pid_tgid @16 (tgid << 32 | tid), u32 cpu @24,
 * 4 bytes padding; the arguments follow at {@link LOG_HEADER_SIZE}, each at its format-table offset.
 */
export const LOG_HEADER_SIZE = 32;
export const LOG_HEADER = { id: 0, level: 4, flags: 5, argSize: 6, time: 8, pidTgid: 16, cpu: 24 } as const;

/** How one argument is stored and printed. */
export type LogArgKind =
  /** An integer of `size` bytes, printed in decimal by its declared signedness. */
  | { readonly k: "int"; readonly size: 1 | 2 | 4 | 8; readonly signed: boolean }
  /** `true`/`false` (one byte). */
  | { readonly k: "bool" }
  /** `hex(x)` of an integer: lowercase hex without prefix. */
  | { readonly k: "hex"; readonly size: 1 | 2 | 4 | 8 }
  /** `hex(bytes)` of memory: two hex digits per byte. */
  | { readonly k: "hexbytes"; readonly size: number }
  /** A byte string (bytes/cstring/char array field, e.g. a comm): printed up to the first NUL, as UTF-8. */
  | { readonly k: "str"; readonly size: number }
  /** `ipv4(x)`: 4 bytes in network order, dotted quad. */
  | { readonly k: "ipv4" }
  /** `ipv6(bytes)`: 16 bytes in network order, RFC 5952 text. */
  | { readonly k: "ipv6" }
  /** `mac(bytes)`: 6 bytes, colon-separated lowercase hex. */
  | { readonly k: "mac" };

/** One argument of a call site: its kind and byte offset from the start of the arguments. */
export type LogArg = LogArgKind & { readonly offset: number };

/** One call site. `parts` has one more element than `args` (the template's literal pieces). */
export interface LogFormat {
  readonly level: LogLevel;
  /** The program the call is in. */
  readonly program: string;
  /** `file:line` of the call. */
  readonly at: string;
  readonly parts: readonly string[];
  readonly args: readonly LogArg[];
  /** Bytes of arguments (the record is the header plus this). */
  readonly size: number;
}

/** The format table: format id (index) → call site. */
export interface LogFormatTable {
  readonly version: 1;
  readonly formats: readonly LogFormat[];
}

/** The byte size an argument of `kind` takes in a record. */
export function argSize(kind: LogArgKind): number {
  switch (kind.k) {
    case "int": case "hex": return kind.size;
    case "bool": return 1;
    case "hexbytes": case "str": return kind.size;
    case "ipv4": return 4;
    case "ipv6": return 16;
    case "mac": return 6;
  }
}

/** The alignment an argument of `kind` is placed at. */
export function argAlign(kind: LogArgKind): number {
  return kind.k === "int" || kind.k === "hex" ? kind.size : kind.k === "ipv4" ? 4 : 1;
}

/** Formats one argument stored at `off` of `bytes`. */
export function formatArg(kind: LogArgKind, bytes: Uint8Array, off: number): string {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (kind.k) {
    case "int": {
      const { size, signed } = kind;
      if (size === 1) return String(signed ? dv.getInt8(off) : dv.getUint8(off));
      if (size === 2) return String(signed ? dv.getInt16(off, true) : dv.getUint16(off, true));
      if (size === 4) return String(signed ? dv.getInt32(off, true) : dv.getUint32(off, true));
      return String(signed ? dv.getBigInt64(off, true) : dv.getBigUint64(off, true));
    }
    case "bool": return bytes[off] ? "true" : "false";
    case "hex": {
      const v = kind.size === 1 ? dv.getUint8(off) : kind.size === 2 ? dv.getUint16(off, true) : kind.size === 4 ? dv.getUint32(off, true) : dv.getBigUint64(off, true);
      return v.toString(16);
    }
    case "hexbytes": return Buffer.from(bytes.subarray(off, off + kind.size)).toString("hex");
    case "str": {
      const b = bytes.subarray(off, off + kind.size);
      const nul = b.indexOf(0);
      return new TextDecoder().decode(nul < 0 ? b : b.subarray(0, nul));
    }
    case "ipv4": return [...bytes.subarray(off, off + 4)].join(".");
    case "ipv6": return formatIpv6(bytes.subarray(off, off + 16));
    case "mac": return [...bytes.subarray(off, off + 6)].map((x) => x.toString(16).padStart(2, "0")).join(":");
  }
}

/** RFC 5952: lowercase, no leading zeros, the longest run (≥ 2) of zero groups as `::`. */
export function formatIpv6(b: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i]! << 8) | b[i + 1]!);
  let best = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = (g: number[]) => g.map((x) => x.toString(16)).join(":");
  if (best < 0) return hex(groups);
  return `${hex(groups.slice(0, best))}::${hex(groups.slice(best + bestLen))}`;
}

/** A decoded log record. */
export interface LogRecord {
  readonly level: LogLevel;
  /** The formatted message. */
  readonly message: string;
  /** The program that logged. */
  readonly program: string;
  /** Process id (tgid) and thread id; undefined in program kinds that cannot know them (XDP, TC...). */
  readonly pid: number | undefined;
  readonly tid: number | undefined;
  readonly cpu: number;
  /** CLOCK_MONOTONIC nanoseconds when the program logged. */
  readonly monotonicNs: bigint;
  /** The same instant as wall-clock time. */
  readonly time: Date;
  /** `file:line` of the log call. */
  readonly at: string;
}

/** Decodes one record with `table`; undefined for a record the table does not describe (a format id out of range, short). */
export function decodeLogRecord(table: LogFormatTable, bytes: Uint8Array, bootToWallNs = 0n): LogRecord | undefined {
  if (bytes.length < LOG_HEADER_SIZE) return undefined;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const id = dv.getUint32(LOG_HEADER.id, true);
  const f = table.formats[id];
  if (!f || bytes.length < LOG_HEADER_SIZE + f.size) return undefined;
  const level = LOG_LEVELS[bytes[LOG_HEADER.level]!] ?? f.level;
  const known = (bytes[LOG_HEADER.flags]! & 1) !== 0;
  const pidTgid = dv.getBigUint64(LOG_HEADER.pidTgid, true);
  const ns = dv.getBigUint64(LOG_HEADER.time, true);
  let message = f.parts[0]!;
  f.args.forEach((a, i) => {
    message += formatArg(a, bytes, LOG_HEADER_SIZE + a.offset) + f.parts[i + 1]!;
  });
  return {
    level,
    message,
    program: f.program,
    pid: known ? Number(pidTgid >> 32n) : undefined,
    tid: known ? Number(pidTgid & 0xffffffffn) : undefined,
    cpu: dv.getUint32(LOG_HEADER.cpu, true),
    monotonicNs: ns,
    time: new Date(Number((ns + bootToWallNs) / 1000000n)),
    at: f.at,
  };
}
