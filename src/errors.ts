// Typed errors for every layer of tsbpf.
// Each error names the operation and the cause; callers can switch on `code` or use instanceof.

/** Base class of every error tsbpf throws on purpose. */
export class TsbpfError extends Error {
  /** Stable machine-readable code, e.g. `ELF_TRUNCATED`, `EPERM`, `VERIFIER_REJECTED`. */
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * A file named by the user that tsbpf cannot use: `FILE_NOT_FOUND`, `FILE_NOT_REGULAR` (a directory,
 * device, FIFO or socket), `FILE_TOO_LARGE` (over the size cap for its kind), `FILE_UNREADABLE`,
 * `FILE_WRONG_KIND` (e.g. C source given to `tsbpf build`) or `FILE_UNWRITABLE` (an output path).
 * `path` is the file as given.
 */
export class FileError extends TsbpfError {
  readonly path: string;
  constructor(code: string, path: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.path = path;
  }
}

/** A malformed, truncated or unsupported ELF file. */
export class ElfError extends TsbpfError {}

/** Malformed or unsupported BTF / BTF.ext data. */
export class BtfError extends TsbpfError {}

/** An object file whose contents tsbpf cannot turn into a spec (unknown section, bad relocation, ...). */
export class ObjectError extends TsbpfError {}

/** A CO-RE relocation that could not be resolved against the target kernel's BTF. */
export class CoreError extends TsbpfError {}

/**
 * A failed system call. `code` is the errno name (`EPERM`, `ENOENT`, ...), `errno` its number and
 * `operation` the call (`BPF_PROG_LOAD`, `BPF_MAP_CREATE`, `perf_event_open`, ...).
 */
export class SyscallError extends TsbpfError {
  readonly errno: number;
  readonly operation: string;
  constructor(operation: string, errno: number, code: string, detail: string, context?: string) {
    super(code, `${context ? context + ": " : ""}${operation}: ${detail} (${code})`);
    this.errno = errno;
    this.operation = operation;
  }
}

/** The kernel lacks a feature the operation needs (program type, map type, helper, hook). */
export class MissingFeatureError extends TsbpfError {}

/** The process lacks the privilege (capability) the operation needs. */
export class PermissionError extends TsbpfError {}

/**
 * A BPF token could not be created from the bpffs given (`source`), or refused an operation:
 * `TOKEN_PATH_NOT_FOUND`, `TOKEN_NOT_BPFFS` (not the root of a bpffs mount), `TOKEN_NOT_DELEGATED`
 * (the mount has no delegate_* options, or not those an operation needs), `TOKEN_INITIAL_USER_NAMESPACE`
 * (tokens exist for child user namespaces only), `TOKEN_WRONG_USER_NAMESPACE` (the bpffs was created
 * for another user namespace, or this process lacks CAP_BPF in its own), `TOKEN_UNSUPPORTED` (kernel
 * before 6.9), `TOKEN_CREATE_FAILED`. A PermissionError, so callers catching those still do.
 */
export class TokenError extends PermissionError {
  readonly source: string;
  constructor(code: string, source: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.source = source;
  }
}

/** Raised when the verifier rejects a program; carries the full log and the failing instruction. */
export class VerifierError extends TsbpfError {
  /** The complete verifier log. */
  readonly log: string;
  /** Index of the instruction the verifier stopped at, if it could be found in the log. */
  readonly instruction: number | undefined;
  /** The errno the kernel returned (usually EACCES or EINVAL). */
  readonly errno: number;
  constructor(message: string, log: string, errno: number, instruction?: number) {
    super("VERIFIER_REJECTED", message);
    this.log = log;
    this.errno = errno;
    this.instruction = instruction;
  }
}

/**
 * The kernel refused a program (or object) before verifying it: no verifier log, an errno such as
 * EPERM, EINVAL or EOPNOTSUPP. Nothing was verified, so nothing in the program is at fault; the message
 * says what may be the cause (a missing capability, kernel lockdown, an LSM policy, a program or attach
 * type this kernel lacks, ftrace for trampolines). `code` is `KERNEL_REFUSED`.
 */
export class KernelRefusedError extends TsbpfError {
  /** The errno the kernel returned. */
  readonly errno: number;
  /** Its name (`EPERM`, `EINVAL`...). */
  readonly errnoCode: string;
  /** The system call operation (`BPF_PROG_LOAD`, `BPF_MAP_CREATE`...). */
  readonly operation: string;
  constructor(message: string, e: SyscallError) {
    super("KERNEL_REFUSED", message, { cause: e });
    this.errno = e.errno;
    this.errnoCode = e.code;
    this.operation = e.operation;
  }
}

/** An instruction stream that cannot be decoded or encoded. */
export class AsmError extends TsbpfError {}

/**
 * A map operation tsbpf refused before reaching the kernel (wrong key size, layout that does not fit,
 * incompatible pinned map, unsupported map kind...). `map` names the map, `operation` what was tried.
 */
export class MapError extends TsbpfError {
  readonly map: string;
  readonly operation: string;
  constructor(code: string, map: string, operation: string, cause: string, options?: { cause?: unknown }) {
    super(code, `${operation} on map "${map}": ${cause}`, options);
    this.map = map;
    this.operation = operation;
  }
}

/** A map operation the kernel refused: a SyscallError that also names the map and the operation. */
export class MapSyscallError extends SyscallError {
  readonly map: string;
  readonly mapOperation: string;
  constructor(map: string, mapOperation: string, e: SyscallError, detail: string) {
    super(e.operation, e.errno, e.code, detail, `${mapOperation} on map "${map}"`);
    this.map = map;
    this.mapOperation = mapOperation;
    (this as { cause?: unknown }).cause = e;
  }
}

/**
 * A ring or perf buffer with more than one consumer: a second reader refused in this process
 * (`RINGBUF_READER_EXISTS`, `PERFBUF_READER_EXISTS`), or a consumer position moved by someone else
 * while reading (`RINGBUF_CONCURRENT_CONSUMER`). `map` names the map, `mapId` is the kernel's map id.
 */
export class ConsumerConflictError extends TsbpfError {
  readonly map: string;
  readonly mapId: number;
  constructor(code: string, map: string, mapId: number, message: string) {
    super(code, message);
    this.map = map;
    this.mapId = mapId;
  }
}

/**
 * Pinning on bpffs refused before or instead of the kernel's bare errno: `NOT_BPFFS` (the path is not
 * on a BPF filesystem), `PIN_NAME` (a name bpffs does not accept), `PIN_EXISTS` (pins already there;
 * `conflicts` lists them). `path` is the pin path or directory concerned.
 */
export class PinError extends TsbpfError {
  readonly path: string;
  readonly conflicts: readonly string[];
  constructor(code: string, path: string, message: string, options?: { cause?: unknown; conflicts?: readonly string[] }) {
    super(code, message, options);
    this.path = path;
    this.conflicts = options?.conflicts ?? [];
  }
}

/**
 * A value in the `globals` load option that cannot be written into the object's variable:
 * `GLOBAL_UNKNOWN` (no such variable; the message lists the known ones), `GLOBAL_NOT_VARIABLE` (the
 * name is a map, program or extern, not a global variable), `GLOBAL_RANGE` (an integer or enumerator
 * outside the variable's type), `GLOBAL_SIZE` (bytes or a string of the wrong size), `GLOBAL_TYPE`
 * (a JavaScript value of the wrong kind). `variable` names the variable, `object` the object.
 */
export class GlobalError extends TsbpfError {
  readonly variable: string;
  readonly object: string;
  constructor(code: string, object: string, variable: string, message: string) {
    super(code, `global "${variable}" of object "${object}": ${message}`);
    this.variable = variable;
    this.object = object;
  }
}
