// BPF tokens (Linux 6.9+): BPF rights delegated to a user namespace through a bpffs instance mounted
// for it with delegate_cmds / delegate_maps / delegate_progs / delegate_attachs. Which token a load
// uses (option, environment, the implicit default), creating it with errors that say what is wrong
// with the mount, and explaining a refusal by what the token does not delegate.

import { closeSync, constants as fsConstants, openSync, readFileSync } from "node:fs";
import { PermissionError, SyscallError, TokenError, TsbpfError } from "../errors.js";
import { tokenCreate } from "../sys/bpf.js";
import { ATTACH_TYPE, BPF_CMD, MAP_TYPE, PROG_TYPE } from "../sys/constants.js";
import { Fd } from "../sys/fd.js";
import { sys } from "../sys/seam.js";
import { kernelAtLeast } from "../sys/system.js";

/** Where a token comes from: a bpffs mount root (path or directory fd), a token fd, or a {@link BpfToken}. */
export type TokenSource = string | Fd | BpfToken;

/** The bpffs path tried implicitly (as libbpf does) when nothing names one. */
export const DEFAULT_TOKEN_PATH = "/sys/fs/bpf";

/** Environment variables naming the bpffs to take a token from, first match wins (empty: no token). */
export const TOKEN_ENV = ["TSBPF_BPF_TOKEN_PATH", "LIBBPF_BPF_TOKEN_PATH"] as const;

/** What a token delegates: names as the mount options spell them (lower case), or "any". */
export interface TokenDelegation {
  readonly cmds: readonly string[] | "any";
  readonly maps: readonly string[] | "any";
  readonly progs: readonly string[] | "any";
  readonly attachs: readonly string[] | "any";
}

type Kind = keyof TokenDelegation;
const TABLES: Record<Kind, Record<string, number>> = { cmds: BPF_CMD, maps: MAP_TYPE, progs: PROG_TYPE, attachs: ATTACH_TYPE };
const OPTION: Record<Kind, string> = { cmds: "delegate_cmds", maps: "delegate_maps", progs: "delegate_progs", attachs: "delegate_attachs" };

/** Parses /proc/<pid>/fdinfo/<token fd> (allowed_cmds: any | 0x<mask>, ...); undefined when it is not a token's. */
export function parseTokenFdinfo(text: string): TokenDelegation | undefined {
  const out: Partial<Record<Kind, readonly string[] | "any">> = {};
  for (const kind of Object.keys(TABLES) as Kind[]) {
    const m = new RegExp(`^allowed_${kind}:\\s*(any|0x[0-9a-fA-F]+|\\d+)\\s*$`, "m").exec(text);
    if (!m) {
      if (kind === "cmds") return undefined;
      out[kind] = [];
      continue;
    }
    if (m[1] === "any") {
      out[kind] = "any";
      continue;
    }
    const mask = BigInt(m[1]);
    const names: string[] = [];
    for (const [name, bit] of Object.entries(TABLES[kind])) {
      if (((mask >> BigInt(bit)) & 1n) === 1n) names.push(name.toLowerCase());
    }
    out[kind] = names;
  }
  return out as TokenDelegation;
}

function readFdinfo(fd: number): string | undefined {
  try {
    return readFileSync(`/proc/self/fdinfo/${fd}`, "utf8");
  } catch {
    return undefined;
  }
}

/** A BPF token: an fd passed with BPF_F_TOKEN_FD to BTF loads, map creation and program loads. */
export class BpfToken implements Disposable {
  readonly fd: Fd;
  /** The bpffs it was made from (a path, or "fd N"), for messages. */
  readonly source: string;

  constructor(fd: Fd, source: string) {
    this.fd = fd;
    this.source = source;
  }

  /** What the token delegates, from its fdinfo; undefined when /proc cannot tell. */
  delegation(): TokenDelegation | undefined {
    const text = readFdinfo(this.fd.value);
    return text === undefined ? undefined : parseTokenFdinfo(text);
  }

  /** Whether the token delegates `name` (BPF_CMD, MAP_TYPE, PROG_TYPE or ATTACH_TYPE key) of `kind`; undefined when unknown. */
  allows(kind: Kind, name: string): boolean | undefined {
    const d = this.delegation();
    if (!d) return undefined;
    const list = d[kind];
    return list === "any" || list.includes(name.toLowerCase());
  }

  get closed(): boolean {
    return this.fd.closed;
  }

  close(): void {
    this.fd.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

const HOW = "mount a bpffs for the container's user namespace with delegate_cmds/delegate_maps/delegate_progs/delegate_attachs (see docs/token.md)";

function creationError(e: SyscallError, source: string): TokenError {
  const at = `BPF token from ${source}`;
  switch (e.code) {
    case "ENOENT":
      return new TokenError("TOKEN_NOT_DELEGATED", source, `${at}: the bpffs has no delegate_* mount options, so it grants nothing; ${HOW}`, { cause: e });
    case "EOPNOTSUPP":
      return new TokenError("TOKEN_INITIAL_USER_NAMESPACE", source, `${at}: this process is in the initial user namespace, where the kernel makes no tokens (use capabilities: CAP_BPF and CAP_PERFMON / CAP_NET_ADMIN); tokens are for processes in a child user namespace`, { cause: e });
    case "EPERM":
    case "EACCES":
      return new TokenError("TOKEN_WRONG_USER_NAMESPACE", source, `${at}: refused (${e.code}): the bpffs must be created for this process's user namespace (fsopen in the namespace, delegate_* set by the privileged parent), and the process needs CAP_BPF in that namespace; ${HOW}`, { cause: e });
    case "EINVAL":
      if (!kernelAtLeast(6, 9)) {
        return new TokenError("TOKEN_UNSUPPORTED", source, `${at}: this kernel has no BPF tokens (BPF_TOKEN_CREATE, Linux 6.9+); run with CAP_BPF instead`, { cause: e });
      }
      return new TokenError("TOKEN_NOT_BPFFS", source, `${at}: not the root directory of a bpffs mount (EINVAL); give the mount point of a delegated bpffs`, { cause: e });
    default:
      return new TokenError("TOKEN_CREATE_FAILED", source, `${at}: ${e.message}`, { cause: e });
  }
}

/**
 * Create a BPF token (mandatory: every failure throws a {@link TokenError} saying why). `source` is
 * the mount point of a delegated bpffs, an fd of it, an fd that already is a token (duplicated), or
 * a BpfToken (duplicated). The caller owns the result.
 */
export function createToken(source: TokenSource): BpfToken {
  if (source instanceof BpfToken) return new BpfToken(source.fd.dup("BPF token"), source.source);
  if (source instanceof Fd) {
    const text = readFdinfo(source.value);
    if (text !== undefined && parseTokenFdinfo(text)) return new BpfToken(source.dup("BPF token"), `token fd ${source.value}`);
    const name = `bpffs fd ${source.value}`;
    try {
      return new BpfToken(tokenCreate(source), name);
    } catch (e) {
      if (e instanceof SyscallError) throw creationError(e, name);
      throw e;
    }
  }
  if (typeof source !== "string" || source === "") {
    throw new TsbpfError("INVALID_ARGUMENT", `BPF token: give a bpffs path, an Fd or a BpfToken, not ${JSON.stringify(source)}`);
  }
  let dirFd: number;
  try {
    dirFd = openSync(source, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
  } catch (e) {
    const code = (e as { code?: string }).code ?? "EIO";
    const why = code === "ENOENT" ? "does not exist" : code === "ENOTDIR" ? "is not a directory" : code === "EACCES" ? "is not readable by this process" : `cannot be opened (${code})`;
    throw new TokenError("TOKEN_PATH_NOT_FOUND", source, `BPF token from ${source}: the path ${why}; ${HOW}`, { cause: e });
  }
  try {
    return new BpfToken(tokenCreate(dirFd), source);
  } catch (e) {
    if (e instanceof SyscallError) throw creationError(e, source);
    throw e;
  } finally {
    closeSync(dirFd);
  }
}

/** The bpffs path the environment names ("" = tokens switched off), or undefined when it names none. */
export function tokenPathFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const name of TOKEN_ENV) {
    const v = env[name];
    if (v !== undefined) return v;
  }
  return undefined;
}

/**
 * The token a load uses, created for it (the caller closes it), or undefined for none:
 * - `false` or `""`: none;
 * - a path, Fd or BpfToken: that one, and failing to make it throws a TokenError;
 * - unset: the path in TSBPF_BPF_TOKEN_PATH, else LIBBPF_BPF_TOKEN_PATH (mandatory likewise; empty: none);
 * - neither: the default /sys/fs/bpf, only for a process in a child user namespace, and silently
 *   none when it gives no token (no delegation there, not a bpffs, ...), as libbpf does.
 */
export function resolveToken(option: TokenSource | false | undefined, env: NodeJS.ProcessEnv = process.env): BpfToken | undefined {
  if (option === false || option === "") return undefined;
  if (option !== undefined) return createToken(option);
  const fromEnv = tokenPathFromEnv(env);
  if (fromEnv !== undefined) return fromEnv === "" ? undefined : createToken(fromEnv);
  let initial: boolean | undefined;
  try {
    initial = sys().initialUserNamespace();
  } catch {
    initial = undefined;
  }
  if (initial !== false) return undefined; // the kernel makes no tokens in the initial namespace
  try {
    return createToken(DEFAULT_TOKEN_PATH);
  } catch (e) {
    if (e instanceof TsbpfError) return undefined;
    throw e;
  }
}

/** What an operation asked of a token: the command, and the map type, program type and attach type (key names). */
export interface TokenRequest {
  readonly cmd: keyof typeof BPF_CMD;
  readonly map?: string;
  readonly prog?: string;
  readonly attach?: string;
  /** "create map \"counts\"", "load program \"x\"", ... */
  readonly context: string;
  /** Capabilities the kernel then asks for in the token's user namespace (e.g. "CAP_BPF and CAP_NET_ADMIN"). */
  readonly needs: string;
}

/**
 * The error for an operation made with `token` that the kernel refused with EPERM: a TokenError
 * TOKEN_NOT_DELEGATED naming the delegate_* values missing (the kernel then ignores the token and
 * checks the initial namespace's capabilities), else a PermissionError naming the capabilities the
 * process needs in the token's user namespace.
 */
export function tokenRefusal(token: BpfToken, req: TokenRequest, cause: unknown): TokenError | PermissionError {
  const missing: string[] = [];
  const check = (kind: Kind, name: string | undefined) => {
    if (name !== undefined && token.allows(kind, name) === false) missing.push(`${OPTION[kind]}=${name.toLowerCase()}`);
  };
  check("cmds", req.cmd);
  check("maps", req.map);
  check("progs", req.prog);
  check("attachs", req.attach);
  const errno = cause instanceof SyscallError ? cause.code : "EPERM";
  if (missing.length > 0) {
    const d = token.delegation();
    const has = d ? ` (it delegates ${(Object.keys(OPTION) as Kind[]).map((k) => `${OPTION[k]}=${d[k] === "any" ? "any" : d[k].join(":") || "(none)"}`).join(", ")})` : "";
    return new TokenError("TOKEN_NOT_DELEGATED", token.source, `${req.context}: refused (${errno}): the BPF token from ${token.source} does not delegate ${missing.join(", ")}${has}, so the kernel checked the initial user namespace's capabilities (${req.needs}) instead; add ${missing.join(", ")} to the bpffs mount options`, { cause });
  }
  return new PermissionError(errno, `${req.context}: refused (${errno}) although the BPF token from ${token.source} delegates it: the process needs ${req.needs} in the token's user namespace (or an LSM refused it)`, { cause });
}
