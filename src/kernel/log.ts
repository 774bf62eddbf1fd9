// `tsbpf/kernel` logging: `log.info\`pid ${pid} opened ${name}\``. Declarations only; the compiler
// lowers each call (src/compiler/lower/log.ts) and the loader prints the records (src/runtime/log.ts).
// See docs/language.md ("Logging") and docs/logging.md.

/** A value wrapped by hex(), ipv4(), ipv6() or mac(): how log prints it. */
export interface LogFormatted {
  readonly __logFormatted: "hex" | "ipv4" | "ipv6" | "mac";
}

/**
 * What a log template may interpolate: integers of any width (printed signed or unsigned by their
 * type), booleans, constants (folded into the text), byte strings (`bytes(n)`, `cstring(n)` and
 * `array(u8, n)` fields, printed up to the first NUL), and hex()/ipv4()/ipv6()/mac() of values.
 */
export type LogValue = number | bigint | boolean | string | Uint8Array | readonly number[] | LogFormatted;

/** A log level's tag: used as `log.info\`text ${value}\``. Returns nothing. */
export type LogTag = (text: TemplateStringsArray, ...values: LogValue[]) => void;

/**
 * Logging from kernel programs. Each call writes one record (format id, level, pid/tid, cpu, time and
 * the argument bytes; the text stays in the object) into the object's `__tsbpf_log` ring buffer; the
 * loader prints it or hands it to the logger passed to `load()`. A level below the load-time
 * `minLevel` is removed by the verifier (its arguments are not evaluated). A full buffer drops the
 * record; logging never blocks.
 *
 * @example
 * log.info`pid ${bpf.pid()} ran ${ev.comm} on ${ipv4(daddr)} port ${bpf.ntohs(dport)}`;
 */
export declare const log: {
  readonly error: LogTag;
  readonly warn: LogTag;
  readonly info: LogTag;
  readonly debug: LogTag;
  readonly trace: LogTag;
};

/** Prints an integer in lowercase hex (no prefix), or bytes as two hex digits each. Only inside a log template. */
export declare function hex(value: number | bigint | Uint8Array | readonly number[]): LogFormatted;
/** Prints an IPv4 address: a u32 in network byte order (as in packets and sockets) or 4 bytes. Only inside a log template. */
export declare function ipv4(addr: number | Uint8Array | readonly number[]): LogFormatted;
/** Prints an IPv6 address (RFC 5952 text) from 16 bytes in network order. Only inside a log template. */
export declare function ipv6(addr: Uint8Array | readonly number[]): LogFormatted;
/** Prints a MAC address (`aa:bb:cc:dd:ee:ff`) from 6 bytes. Only inside a log template. */
export declare function mac(addr: Uint8Array | readonly number[]): LogFormatted;
