// The userspace half of kernel logging (log.info`...` in tsbpf/kernel): an object that logs carries its
// format table in `.rodata` (src/log/format.ts); loading it starts a LogReader on its `__tsbpf_log` ring
// buffer that decodes each record and hands it to the logger of the load options (console by default).
// The reader does not keep the process alive, and drains what is left when the collection closes.

import { TsbpfError } from "../errors.js";
import {
  decodeLogRecord, LOG_DROPPED_VAR, LOG_FORMATS_VAR, LOG_LEVELS, LOG_MAP, LOG_MIN_LEVEL_VAR,
  type LogFormatTable, type LogLevel, type LogRecord,
} from "../log/format.js";
import type { CollectionSpec, MapSpec } from "../object/spec.js";
import type { BpfMap } from "./map.js";
import { openVariable, type GlobalVariable } from "./maps/globals.js";
import { RingBufReader } from "./ringbuf.js";

export { LOG_LEVELS, type LogLevel, type LogRecord } from "../log/format.js";

/**
 * Where log records go: one method per level (a missing one drops that level), called with the
 * formatted message and the whole record (program, pid, cpu, time...). pino's and console's methods fit.
 */
export type Logger = { readonly [L in LogLevel]?: (message: string, record: LogRecord) => void };

/** Log options of a load. */
export interface LogOptions {
  /**
   * Where the object's log records go; default: {@link consoleLogger} (one line per record on stderr
   * with time, level, program, pid and cpu). `false`: no reader (the records stay in the ring buffer).
   */
  readonly logger?: Logger | false;
  /**
   * The least severe level the programs log; calls below it are removed by the verifier at load time
   * (a `.rodata` constant). Default: the object's ("trace": every level).
   */
  readonly minLevel?: LogLevel;
}

/** `2026-12-08T01:30:43.123Z INFO  onOpen pid=42 cpu=1 message` */
export function formatLogLine(r: LogRecord): string {
  const who = r.pid === undefined ? `cpu=${r.cpu}` : `pid=${r.pid} cpu=${r.cpu}`;
  return `${r.time.toISOString()} ${r.level.toUpperCase().padEnd(5)} ${r.program} ${who} ${r.message}`;
}

/** The default logger: one {@link formatLogLine} per record on stderr. */
export const consoleLogger: Logger = Object.fromEntries(LOG_LEVELS.map((l) => [l, (_m: string, r: LogRecord) => console.error(formatLogLine(r))]));

/** The format table an object carries, or undefined when it does not log. */
export function logFormatTable(spec: CollectionSpec): LogFormatTable | undefined {
  const v = spec.variables.get(LOG_FORMATS_VAR);
  if (!v) return undefined;
  const data = spec.maps.get(v.map)?.data;
  if (!data) throw new TsbpfError("BAD_OBJECT", `object "${spec.name}": the log format table ${LOG_FORMATS_VAR} has no contents`);
  const bytes = data.subarray(v.offset, v.offset + v.size);
  const nul = bytes.indexOf(0);
  try {
    const t = JSON.parse(new TextDecoder().decode(nul < 0 ? bytes : bytes.subarray(0, nul))) as LogFormatTable;
    if (t.version !== 1 || !Array.isArray(t.formats)) throw new Error(`unknown version ${String(t.version)}`);
    return t;
  } catch (e) {
    throw new TsbpfError("BAD_OBJECT", `object "${spec.name}": the log format table is not readable (${(e as Error).message}); rebuild the object with this tsbpf`, { cause: e });
  }
}

/**
 * The global data map specs with the min level applied: the `.rodata` map gets a copy of its bytes
 * with `__tsbpf_log_level` set (the spec itself is left as it is). Unchanged when nothing is asked.
 */
export function withMinLevel(spec: CollectionSpec, m: MapSpec, minLevel: LogLevel | undefined): MapSpec {
  if (minLevel === undefined) return m;
  const v = spec.variables.get(LOG_MIN_LEVEL_VAR);
  if (!v || v.map !== m.name || !m.data) return m;
  const n = LOG_LEVELS.indexOf(minLevel);
  if (n < 0) throw new TsbpfError("BAD_OPTION", `minLevel "${String(minLevel)}" is not a log level (${LOG_LEVELS.join(", ")})`);
  const data = m.data.slice();
  new DataView(data.buffer).setUint32(v.offset, n, true);
  return { ...m, data };
}

/** Reads an object's log records and hands them to a logger; closing drains what is left first. */
export class LogReader {
  readonly #reader: RingBufReader;
  readonly #table: LogFormatTable;
  readonly #logger: Logger;
  /** Wall-clock minus CLOCK_MONOTONIC, in ns (Node's hrtime is CLOCK_MONOTONIC on Linux). */
  readonly #offset = BigInt(Date.now()) * 1000000n - process.hrtime.bigint();
  readonly #done: Promise<void>;
  readonly #dropped: GlobalVariable<bigint> | undefined;
  /** Records that did not match the format table (a foreign writer, a truncated record). */
  undecodable = 0;

  constructor(map: BpfMap, table: LogFormatTable, logger: Logger, dropped?: GlobalVariable<bigint>) {
    this.#dropped = dropped;
    this.#table = table;
    this.#logger = logger;
    this.#reader = new RingBufReader(map);
    this.#done = this.#reader.listenAt((b, off, size) => this.#deliver(b.subarray(off, off + size)), { keepAlive: false });
    // A logger that throws ends the listening; the error is reported once, not lost.
    this.#done.catch((e: unknown) => process.emitWarning(`tsbpf log reader stopped: ${(e as Error).message}`, "TsbpfWarning"));
  }

  #deliver(bytes: Uint8Array): void {
    const r = decodeLogRecord(this.#table, bytes, this.#offset);
    if (!r) {
      this.undecodable++;
      return;
    }
    this.#logger[r.level]?.(r.message, r);
  }

  /** Records the programs could not write because the ring buffer was full (counted in the kernel). */
  get dropped(): bigint {
    return this.#dropped && !this.#reader.closed ? this.#dropped.get() : this.#lastDropped;
  }
  #lastDropped = 0n;

  /** The ring buffer's counters (records read...). */
  get stats() {
    return this.#reader.stats;
  }

  get closed(): boolean {
    return this.#reader.closed;
  }

  /** Hands every record already written to the logger (synchronously). */
  flush(): number {
    return this.#reader.drain((b) => this.#deliver(b));
  }

  /** Drains the records already written, then stops. Idempotent. */
  close(): void {
    if (this.#reader.closed) return;
    try {
      this.flush();
      this.#lastDropped = this.dropped;
    } finally {
      this.#reader.close();
    }
  }
}

/** Starts the log reader of a loaded object that logs (undefined when it does not, or `logger: false`). */
export function startLogReader(spec: CollectionSpec, maps: ReadonlyMap<string, BpfMap>, opts: LogOptions): LogReader | undefined {
  if (opts.logger === false) return undefined;
  const table = logFormatTable(spec);
  const map = maps.get(LOG_MAP);
  if (!table || !map) return undefined;
  const dropped = spec.variables.has(LOG_DROPPED_VAR) ? openVariable<bigint, bigint>(spec, (n) => maps.get(n)!, LOG_DROPPED_VAR) : undefined;
  return new LogReader(map, table, opts.logger ?? consoleLogger, dropped);
}
