// Pinning on bpffs, the one place for it: a pin path is checked before anything is created (it must
// lie on a BPF filesystem, names without '.'), missing directories are created one by one and removed
// again when the pin fails, pinned objects are opened read-write / read-only / write-only with errors
// that name the file's mode and owner, and a whole collection is pinned into a directory (refusing or,
// with `replace`, atomically swapping an earlier load's pins).

import { chmodSync, chownSync, lstatSync, mkdirSync, renameSync, rmSync, rmdirSync, statfsSync, statSync, type Stats } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { PermissionError, PinError, SyscallError, TsbpfError } from "../errors.js";
import type { MapSpec } from "../object/spec.js";
import { objGet, objPin } from "../sys/bpf.js";
import { FILE_FLAGS, RENAME } from "../sys/constants.js";
import type { Fd, FdLike } from "../sys/fd.js";
import { sys } from "../sys/seam.js";
import { FS_MAGIC } from "../sys/system.js";

const MOUNT_HINT = "mount one with `mount -t bpf bpf /sys/fs/bpf` or choose a directory under it";

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // EPERM: bpffs refuses to even look up a name with '.' (checkPinPath then says so).
    if (code === "ENOENT" || code === "ENOTDIR" || code === "EPERM") return undefined;
    throw e;
  }
}

function onBpffs(path: string): boolean {
  try {
    return Number(statfsSync(path).type) === FS_MAGIC.BPF;
  } catch {
    return false;
  }
}

/**
 * Checks that `path` (a pin, or a directory for pins) can be made on bpffs, creating nothing: its
 * nearest existing ancestor is on a BPF filesystem and no name still to be created contains '.'
 * (bpffs refuses those). Returns the missing paths, outermost first (the last is `path` itself when
 * it does not exist). Throws PinError NOT_BPFFS or PIN_NAME.
 */
export function checkPinPath(path: string): string[] {
  const abs = resolve(path);
  const missing: string[] = [];
  let existing = abs;
  while (!lstatOrUndefined(existing)) {
    missing.unshift(existing);
    const up = dirname(existing);
    if (up === existing) break;
    existing = up;
  }
  if (!onBpffs(existing)) throw new PinError("NOT_BPFFS", path, `${path} is not on a BPF filesystem (bpffs); ${MOUNT_HINT}`);
  for (const p of missing) {
    const name = basename(p);
    if (name.includes(".")) {
      throw new PinError("PIN_NAME", path, `${path}: bpffs refuses names containing '.' ("${name}"); use another name (tsbpf pins maps with '.' replaced by '_')`);
    }
  }
  return missing;
}

/** Creates `dirs` (outermost first) one at a time; returns those it created. On failure removes them again. */
function makeDirs(dirs: readonly string[], forPath: string): string[] {
  const created: string[] = [];
  for (const d of dirs) {
    try {
      mkdirSync(d);
      created.push(d);
    } catch (e) {
      removeDirs(created);
      throw new PinError("PIN_FAILED", forPath, `pin at ${forPath}: cannot create directory ${d}: ${(e as Error).message}`, { cause: e });
    }
  }
  return created;
}

/** Removes directories this module created (innermost first); leaves any that are not empty. */
function removeDirs(created: readonly string[]): void {
  for (const d of [...created].reverse()) {
    try {
      rmdirSync(d);
    } catch {
      // not empty (someone else put something there) or already gone
    }
  }
}

/**
 * Pins `fd` at `path` on bpffs. The path is checked first (PinError NOT_BPFFS, PIN_NAME; PIN_EXISTS
 * when something is already there); missing parent directories are created and removed again if the
 * pin fails. `what` names the object in messages ("map \"counts\"").
 */
export function pinAt(fd: FdLike, path: string, what: string, opts: PinOptions = {}): void {
  checkPinOptions(opts, `pin ${what} at ${path}`);
  const missing = checkPinPath(path);
  if (missing.at(-1) !== resolve(path)) {
    throw new PinError("PIN_EXISTS", path, `pin ${what} at ${path}: the path already exists; unpin it first (rm ${path}) or choose another path`, { conflicts: [path] });
  }
  const created = makeDirs(missing.slice(0, -1), path);
  try {
    objPin(fd, path);
  } catch (e) {
    removeDirs(created);
    throw e;
  }
  try {
    if (opts.mode !== undefined) chmodSync(path, opts.mode);
    if (opts.uid !== undefined || opts.gid !== undefined) chownSync(path, opts.uid ?? -1, opts.gid ?? -1);
  } catch (e) {
    rmSync(path, { force: true });
    removeDirs(created);
    throw new PinError("PIN_MODE", path, `pin ${what} at ${path}: cannot set ${opts.mode !== undefined ? `mode ${octal(opts.mode)}` : ""}${opts.uid !== undefined || opts.gid !== undefined ? ` owner ${opts.uid ?? "-"}:${opts.gid ?? "-"}` : ""} (${(e as Error).message}); nothing was left pinned`, { cause: e });
  }
}

/**
 * Who may open a pin. By default the kernel creates it with mode 0600 (less the process umask), owned
 * by the pinning process's uid and gid: private to that user (and to root).
 */
export interface PinOptions {
  /** File mode of the pin, e.g. 0o640 (group may open it read-only with `{ readOnly: true }`) or 0o600. */
  readonly mode?: number;
  /** Owner of the pin (needs CAP_CHOWN to give it away). */
  readonly uid?: number;
  /** Group of the pin (a group the process is in, or CAP_CHOWN). */
  readonly gid?: number;
}

function checkPinOptions(opts: PinOptions, what: string): void {
  if (opts.mode !== undefined && (!Number.isInteger(opts.mode) || opts.mode < 0 || opts.mode > 0o7777)) {
    throw new TsbpfError("INVALID_ARGUMENT", `${what}: mode must be file permission bits (0 to 0o7777, e.g. 0o640), got ${String(opts.mode)}`);
  }
  for (const k of ["uid", "gid"] as const) {
    const v = opts[k];
    if (v !== undefined && (!Number.isInteger(v) || v < 0 || v > 0xfffffffe)) throw new TsbpfError("INVALID_ARGUMENT", `${what}: ${k} must be a user/group id, got ${String(v)}`);
  }
}

/** How a pinned object is opened. */
export interface OpenPinnedOptions {
  /** Open for reading only (BPF_F_RDONLY): enough for lookups, and all a 0644 pin grants other users. */
  readonly readOnly?: boolean;
  /** Open for writing only (BPF_F_WRONLY): updates and deletes, no lookups. */
  readonly writeOnly?: boolean;
}

/** The BPF_OBJ_GET file_flags for `opts`. */
export function pinAccessFlags(opts: OpenPinnedOptions): number {
  if (opts.readOnly && opts.writeOnly) throw new TsbpfError("INVALID_ARGUMENT", "open pinned object: readOnly and writeOnly exclude each other (leave both unset for read-write)");
  return opts.readOnly ? FILE_FLAGS.RDONLY : opts.writeOnly ? FILE_FLAGS.WRONLY : 0;
}

function octal(mode: number): string {
  return "0" + (mode & 0o7777).toString(8).padStart(3, "0");
}

/** Whether mode bits of `st` grant `want` ("r", "w", "rw", "x") to this process (uid/gid/groups). */
function modeGrants(st: Stats, want: string): boolean {
  const uid = process.geteuid?.() ?? 0;
  const groups = new Set([process.getegid?.() ?? 0, ...(process.getgroups?.() ?? [])]);
  const shift = uid === st.uid ? 6 : groups.has(st.gid) ? 3 : 0;
  const bits = (st.mode >> shift) & 7;
  return (!want.includes("r") || (bits & 4) !== 0) && (!want.includes("w") || (bits & 2) !== 0) && (!want.includes("x") || (bits & 1) !== 0);
}

/**
 * Opens the object pinned at `path` (BPF_OBJ_GET) read-write, or as `opts` says. When the kernel
 * refuses, the error names the real cause: the path is not on bpffs or not a pin (PinError), or the
 * file's mode and owner do not grant this user the access asked for (PermissionError, with the
 * `readOnly` hint when the mode allows reading).
 */
export function openPin(path: string, opts: OpenPinnedOptions, what: string): Fd {
  const flags = pinAccessFlags(opts);
  try {
    return objGet(path, flags);
  } catch (e) {
    throw explainOpenFailure(e, path, opts, what);
  }
}

function explainOpenFailure(e: unknown, path: string, opts: OpenPinnedOptions, what: string): unknown {
  const code = (e as { code?: string }).code;
  if (code !== "EACCES" && code !== "EPERM") return e;
  let st: Stats;
  try {
    st = statSync(path);
  } catch {
    return explainUnreachable(e, code, path, what);
  }
  if (!onBpffs(path)) return new PinError("NOT_BPFFS", path, `${what}: ${path} is not on a BPF filesystem (bpffs), so it is not a pin`, { cause: e });
  if (!st.isFile()) return new PinError("NOT_A_PIN", path, `${what}: ${path} is a ${st.isDirectory() ? "directory" : "special file"}, not a pinned object`, { cause: e });
  const want = opts.readOnly ? "r" : opts.writeOnly ? "w" : "rw";
  if (modeGrants(st, want)) return e;
  const uid = process.geteuid?.() ?? 0;
  const access = want === "r" ? "reading" : want === "w" ? "writing" : "reading and writing";
  const hint = !opts.readOnly && modeGrants(st, "r")
    ? "the mode lets you read it: open it with { readOnly: true }, or ask its owner to change the mode (chmod) or owner (chown)"
    : "ask its owner to change the mode (chmod) or owner (chown), or run as that user";
  return new PermissionError(
    code,
    `${what}: ${path} has mode ${octal(st.mode)}, owned by uid ${st.uid} gid ${st.gid}, which does not let this process (uid ${uid}) open it for ${access} (${code}); ${hint}`,
    { cause: e },
  );
}

/** The path itself cannot be looked up: a directory on the way that this user may not search, or a name with '.' on bpffs. */
function explainUnreachable(e: unknown, code: string, path: string, what: string): unknown {
  const abs = resolve(path);
  const parts = abs.split("/").filter(Boolean);
  let dir = "/";
  for (const part of parts) {
    let st: Stats;
    try {
      st = statSync(dir);
    } catch {
      return e;
    }
    if (!modeGrants(st, "x")) {
      const uid = process.geteuid?.() ?? 0;
      return new PermissionError(
        code,
        `${what}: the directory ${dir} has mode ${octal(st.mode)}, owned by uid ${st.uid} gid ${st.gid}, which does not let this process (uid ${uid}) reach ${path} (${code}); ask its owner to allow access (chmod o+x ${dir}), or run as that user`,
        { cause: e },
      );
    }
    if (part.includes(".") && onBpffs(dir)) {
      return new PinError("PIN_NAME", path, `${what}: ${path} cannot be a pin: bpffs refuses names containing '.' ("${part}"); tsbpf and libbpf pin such names with '_'`, { cause: e });
    }
    dir = join(dir, part);
  }
  return e;
}

/* ---------- whole collections ---------- */

/** File name a map of an object is pinned under, as bpftool/libbpf pin them: the full map name (for global data the libbpf-style kernel name, e.g. `obj.rodata`), with '.' made '_' (bpffs refuses dots). */
export function mapPinName(spec: MapSpec): string {
  const global = spec.origin === "data" || spec.origin === "rodata" || spec.origin === "bss" || spec.origin === "kconfig";
  return (global ? spec.kernelName : spec.name).replace(/\./g, "_");
}

/** File name a program is pinned under: its name, '.' made '_'. */
export function programPinName(name: string): string {
  return name.replace(/\./g, "_");
}

/** One object pinned by {@link pinCollection}. */
export interface PinnedObject {
  readonly kind: "program" | "map";
  readonly name: string;
  readonly path: string;
}

/** Options for {@link pinCollection}. */
export interface PinCollectionOptions {
  /**
   * Replace what the directory holds (an earlier or partial load): everything is pinned into a new
   * sibling directory which is then swapped with `dir` atomically (renameat2 RENAME_EXCHANGE) and the
   * old contents removed. The whole directory is replaced, including files the new load does not pin.
   */
  readonly replace?: boolean;
  /** Mode and owner of every pin (see {@link PinOptions}); the directories keep the process's defaults. */
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
}

/** What a collection pins: programs and maps, each with a way to pin it. */
export interface PinSource {
  readonly programs: ReadonlyMap<string, { readonly name: string; pin(path: string, opts?: PinOptions): void }>;
  readonly maps: ReadonlyMap<string, { readonly name: string; readonly spec: MapSpec; pin(path: string, opts?: PinOptions): void; notePinnedAt(path: string | undefined): void }>;
}

/** A pin to make: where, how, and (maps) how to forget a pin that was undone. */
interface Planned extends PinnedObject {
  pin(path: string): void;
  forget?(): void;
}

function layout(src: PinSource, dir: string, opts: PinOptions = {}): Planned[] {
  const out: Planned[] = [];
  const o: PinOptions = { ...(opts.mode !== undefined ? { mode: opts.mode } : {}), ...(opts.uid !== undefined ? { uid: opts.uid } : {}), ...(opts.gid !== undefined ? { gid: opts.gid } : {}) };
  for (const p of src.programs.values()) out.push({ kind: "program", name: p.name, path: join(dir, programPinName(p.name)), pin: (at) => p.pin(at, o) });
  for (const m of src.maps.values()) out.push({ kind: "map", name: m.name, path: join(dir, "maps", mapPinName(m.spec)), pin: (at) => m.pin(at, o), forget: () => m.notePinnedAt(undefined) });
  const seen = new Map<string, string>();
  for (const o of out) {
    const other = seen.get(o.path);
    if (other) throw new PinError("PIN_NAME", o.path, `pin ${o.kind} "${o.name}": ${other} pins at the same path ${o.path}`);
    seen.set(o.path, `${o.kind} "${o.name}"`);
  }
  return out;
}

/**
 * Pins every program of `src` at `<dir>/<program>` and every map at `<dir>/maps/<map>` (full names,
 * as bpftool does). Refuses a directory that already holds any of these pins (PinError PIN_EXISTS
 * listing them) unless `replace` is set. On failure nothing it pinned or created is left behind.
 */
export function pinCollection(src: PinSource, dir: string, opts: PinCollectionOptions = {}): PinnedObject[] {
  const missing = checkPinPath(dir);
  const exists = missing.length === 0;
  if (exists && !lstatSync(dir).isDirectory()) throw new PinError("PIN_EXISTS", dir, `pin into ${dir}: it exists and is not a directory`, { conflicts: [dir] });
  if (exists && opts.replace) return replaceDir(src, dir, opts);
  const plan = layout(src, dir, opts);
  const conflicts = plan.filter((o) => lstatOrUndefined(o.path)).map((o) => o.path);
  const mapsDir = join(dir, "maps");
  const mapsStat = lstatOrUndefined(mapsDir);
  if (mapsStat && !mapsStat.isDirectory()) conflicts.push(mapsDir);
  if (conflicts.length) {
    throw new PinError(
      "PIN_EXISTS",
      dir,
      `pin into ${dir}: it already holds pins (an earlier or partial load?): ${conflicts.join(", ")}; ` +
        `use --replace ({ replace: true } in the API) to replace the directory, or remove them with rm -r ${dir}`,
      { conflicts },
    );
  }
  const created = makeDirs([...missing, ...(mapsStat ? [] : [mapsDir])], dir);
  return pinAll(plan, (o) => o.path, () => removeDirs(created));
}

/** Pins every object of `plan` at `at(o)`; on failure removes those pins, runs `undo` and rethrows. */
function pinAll(plan: Planned[], at: (o: PinnedObject) => string, undo: () => void): PinnedObject[] {
  const done: string[] = [];
  try {
    for (const o of plan) {
      o.pin(at(o));
      done.push(at(o));
    }
  } catch (e) {
    for (const p of done) rmSync(p, { force: true });
    for (const o of plan.slice(0, done.length)) o.forget?.();
    undo();
    throw e;
  }
  return plan.map(({ kind, name, path }) => ({ kind, name, path }));
}

function replaceDir(src: PinSource, dir: string, opts: PinOptions): PinnedObject[] {
  const abs = resolve(dir);
  const parent = dirname(abs);
  if (!onBpffs(parent) || statSync(parent).dev !== statSync(abs).dev) {
    throw new PinError("PIN_REPLACE", dir, `replace ${dir}: it is the mount point of a bpffs, which cannot be swapped; pin into a directory under it`);
  }
  const tag = `${process.pid}_${Math.floor(Math.random() * 0xffffff).toString(16)}`;
  const staging = join(parent, `${basename(abs)}_tsbpf_new_${tag}`);
  const plan = layout(src, abs, opts);
  const stagedAt = (o: PinnedObject) => join(staging, o.path.slice(abs.length + 1));
  makeDirs([staging, join(staging, "maps")], dir);
  chmodSync(staging, statSync(abs).mode & 0o7777);
  pinAll(plan, stagedAt, () => rmSync(staging, { recursive: true, force: true }));
  let previous = staging; // after the swap: where the earlier load's pins are
  try {
    try {
      sys().rename2(staging, abs, RENAME.EXCHANGE);
    } catch (e) {
      if (!(e instanceof SyscallError) || (e.code !== "EINVAL" && e.code !== "ENOSYS")) throw e;
      // No RENAME_EXCHANGE (kernels before 3.15, or a filesystem without it): move the old directory
      // aside, then the new one in. Between the two renames `dir` does not exist.
      const old = join(parent, `${basename(abs)}_tsbpf_old_${tag}`);
      renameSync(abs, old);
      try {
        renameSync(staging, abs);
      } catch (e2) {
        renameSync(old, abs);
        throw e2;
      }
      previous = old;
    }
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    for (const m of src.maps.values()) m.notePinnedAt(undefined);
    throw new PinError("PIN_REPLACE", dir, `replace ${dir}: cannot swap in the new pins: ${(e as Error).message}; ${dir} is unchanged`, { cause: e });
  }
  rmSync(previous, { recursive: true, force: true });
  for (const m of src.maps.values()) m.notePinnedAt(join(abs, "maps", mapPinName(m.spec)));
  return plan.map(({ kind, name, path }) => ({ kind, name, path }));
}
