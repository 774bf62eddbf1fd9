// Resolving attach targets given as paths, names, numbers, Fds or objects (cgroups, network
// namespaces, maps, sockets) to file descriptors, with typed errors for targets that do not exist.

import { constants, openSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { TsbpfError } from "../../errors.js";
import { Fd, type FdLike } from "../../sys/fd.js";
import { readMounts } from "../../sys/system.js";
import type { BpfMap } from "../map.js";

/** A target fd: owned (opened here, close after use) or borrowed. */
export interface ResolvedFd {
  readonly fd: number;
  /** For messages: the path or `fd 7`. */
  readonly label: string;
  /** Close it if it was opened here. */
  release(): void;
}

function borrowed(fd: number, label: string): ResolvedFd {
  return { fd, label, release: () => {} };
}

function openDir(path: string, code: string, what: string): ResolvedFd {
  let n: number;
  try {
    n = openSync(path, constants.O_RDONLY | (code === "NO_SUCH_CGROUP" ? constants.O_DIRECTORY : 0));
  } catch (e) {
    throw new TsbpfError(code, `${what} ${path} cannot be opened: ${(e as Error).message}`, { cause: e });
  }
  const owned = new Fd(n, `${what} ${path}`);
  return { fd: n, label: path, release: () => owned.close() };
}

/** Where cgroup v2 is mounted (/sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid systems), if anywhere. */
export function cgroup2Mount(): string | undefined {
  return readMounts().find((m) => m.fstype === "cgroup2")?.target;
}

/**
 * A cgroup: an open fd or Fd, an absolute path, or a path relative to the cgroup2 mount
 * (`"system.slice/foo"`). Throws NO_SUCH_CGROUP when it cannot be opened.
 */
export function resolveCgroup(cgroup: string | FdLike): ResolvedFd {
  if (typeof cgroup === "number") return borrowed(cgroup, `cgroup fd ${cgroup}`);
  if (cgroup instanceof Fd) return borrowed(cgroup.value, cgroup.label);
  let path = cgroup;
  if (!isAbsolute(path)) {
    const root = cgroup2Mount();
    if (!root) throw new TsbpfError("NO_SUCH_CGROUP", `cgroup "${cgroup}": cgroup v2 is not mounted, so a relative path cannot be resolved`);
    path = join(root, path);
  }
  return openDir(path, "NO_SUCH_CGROUP", "cgroup");
}

/**
 * A network namespace: an fd/Fd, a path (`/proc/1234/ns/net`), or a name made by `ip netns add`
 * (`/run/netns/<name>`); the current namespace when undefined. Throws NO_SUCH_NETNS.
 */
export function resolveNetns(netns: string | FdLike | undefined): ResolvedFd {
  if (netns === undefined) return openDir("/proc/self/ns/net", "NO_SUCH_NETNS", "network namespace");
  if (typeof netns === "number") return borrowed(netns, `netns fd ${netns}`);
  if (netns instanceof Fd) return borrowed(netns.value, netns.label);
  const path = netns.includes("/") ? netns : `/run/netns/${netns}`;
  return openDir(path, "NO_SUCH_NETNS", "network namespace");
}

/** The fd of a map given as a BpfMap, Fd or number. */
export function mapFd(map: BpfMap | FdLike): number {
  if (typeof map === "number") return map;
  if (map instanceof Fd) return map.value;
  return map.fd.value;
}

/** Something holding a socket: an fd number, an Fd, or a node socket (net.Socket, dgram.Socket, net.Server). */
export type SocketLike = FdLike | object;

/**
 * The fd of a socket. Node sockets are read through their internal handle (`_handle.fd`; for dgram
 * sockets the handle in their state object), which is present on Linux once bound or connected.
 */
export function socketFd(sock: SocketLike, what = "socket"): number {
  if (typeof sock === "number") {
    if (!Number.isInteger(sock) || sock < 0) throw new TsbpfError("INVALID_ARGUMENT", `${what}: ${sock} is not a file descriptor`);
    return sock;
  }
  if (sock instanceof Fd) return sock.value;
  // dgram sockets keep their handle in a symbol-keyed state object (their `_handle` getter is deprecated).
  const stateKey = Object.getOwnPropertySymbols(sock).find((k) => k.description === "state symbol");
  const state = stateKey ? (sock as Record<symbol, { handle?: { fd?: unknown } } | undefined>)[stateKey] : undefined;
  const handle = state?.handle ?? (sock as { _handle?: { fd?: unknown } })._handle;
  const fd = handle?.fd;
  if (typeof fd !== "number" || fd < 0) {
    throw new TsbpfError("INVALID_ARGUMENT", `${what}: this node socket has no file descriptor yet (bind or connect it first)`);
  }
  return fd;
}
