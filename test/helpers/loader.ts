// Helpers for the loader/attach/ring-buffer tests: compile+read objects, decode global variables
// through the object's BTF, read and write map values, bpffs and network-namespace scratch, host tools.

import { execFile, execFileSync, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Btf } from "../../src/btf/btf.js";
import { readCollectionSpec } from "../../src/object/reader.js";
import type { CollectionSpec, MapSpec } from "../../src/object/spec.js";
import type { BpfMap } from "../../src/runtime/map.js";
import type { Collection } from "../../src/runtime/collection.js";
import { REPO_ROOT, compileC, type CompileOptions } from "./toolchain.js";

/** The bytes of a file as a plain Uint8Array (a copy: Buffer.slice would alias). */
export function fileBytes(path: string): Uint8Array {
  return new Uint8Array(readFileSync(path));
}

/** Object name the way `load()` derives it: file name without `.bpf.o` / `.o` and cache hash. */
export function objectNameOf(source: string): string {
  return source.split("/").pop()!.replace(/\.c$/, "").replace(/\.bpf$/, "");
}

/** Compile a C source (repo-relative or absolute) and read its spec. */
export async function compileAndRead(
  source: string,
  opts: CompileOptions = {},
): Promise<{ path: string; bytes: Uint8Array; spec: CollectionSpec }> {
  const path = await compileC(source, opts);
  const bytes = fileBytes(path);
  return { path, bytes, spec: readCollectionSpec(bytes, { name: objectNameOf(source) }) };
}

/** A little-endian u32 key. */
export function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, true);
  return b;
}

/** Little-endian unsigned integer of any width; a number when it is a safe integer, else a bigint. */
export function leUint(bytes: Uint8Array, offset = 0, size = bytes.byteLength - offset): number | bigint {
  let v = 0n;
  for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[offset + i]);
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** Little-endian signed integer of 1, 2, 4 or 8 bytes. */
function leInt(bytes: Uint8Array, offset: number, size: number): number | bigint {
  const u = BigInt(leUint(bytes, offset, size));
  const s = BigInt.asIntN(size * 8, u);
  return s >= BigInt(Number.MIN_SAFE_INTEGER) && s <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(s) : s;
}

/** A NUL-terminated string in a char array. */
export function cString(bytes: Uint8Array, offset = 0, size = bytes.byteLength - offset): string {
  const view = bytes.subarray(offset, offset + size);
  const end = view.indexOf(0);
  return new TextDecoder().decode(end === -1 ? view : view.subarray(0, end));
}

/**
 * Decode a value of BTF type `id` at `offset`, the way bpftool formats it: integers as numbers
 * (bigints beyond 2^53), `bool` as boolean, char arrays as strings, enums by enumerator name,
 * structs/unions as objects, other arrays as arrays.
 */
export function decodeBtfValue(btf: Btf, id: number, bytes: Uint8Array, offset: number): unknown {
  const t = btf.type(btf.resolve(id));
  switch (t.kind) {
    case "int":
      if (t.bool) return bytes[offset] !== 0;
      return t.signed ? leInt(bytes, offset, t.size) : leUint(bytes, offset, t.size);
    case "ptr":
      return leUint(bytes, offset, 8);
    case "enum": {
      const raw = t.signed ? leInt(bytes, offset, t.size) : leUint(bytes, offset, t.size);
      const hit = t.values.find((v) => v.value === BigInt(raw));
      return hit ? hit.name : raw;
    }
    case "array": {
      const elem = btf.type(btf.resolve(t.elemType));
      if (elem.kind === "int" && elem.size === 1 && (elem.char || elem.name === "char")) return cString(bytes, offset, t.nelems);
      const size = btf.sizeof(t.elemType);
      return Array.from({ length: t.nelems }, (_, i) => decodeBtfValue(btf, t.elemType, bytes, offset + i * size));
    }
    case "struct":
    case "union": {
      const out: Record<string, unknown> = {};
      for (const m of t.members) {
        if (m.bitfieldSize || m.bitOffset % 8) continue;
        out[m.name] = decodeBtfValue(btf, m.type, bytes, offset + m.bitOffset / 8);
      }
      return out;
    }
    default:
      return bytes.slice(offset, offset + btf.sizeof(id));
  }
}

/** The spec map a kernel name refers to (mapChecks name maps by their kernel name). */
export function mapByKernelName(spec: CollectionSpec, kernelName: string): MapSpec {
  const found = [...spec.maps.values()].find((m) => m.kernelName === kernelName);
  if (!found) throw new Error(`no map with kernel name ${kernelName} (have ${[...spec.maps.values()].map((m) => m.kernelName).join(", ")})`);
  return found;
}

/** Every variable of data map `mapName` (section name), decoded from the map's single value. */
export function variableValues(spec: CollectionSpec, mapName: string, value: Uint8Array): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (mapName === ".kconfig") {
    for (const k of spec.kconfig) {
      switch (k.valueKind) {
        case "bool": out[k.name] = value[k.offset] !== 0; break;
        case "tristate": out[k.name] = ["TRI_NO", "TRI_YES", "TRI_MODULE"][value[k.offset]] ?? value[k.offset]; break;
        case "char_array": out[k.name] = cString(value, k.offset, k.size); break;
        case "int": out[k.name] = k.signed ? leInt(value, k.offset, k.size) : leUint(value, k.offset, k.size); break;
      }
    }
    return out;
  }
  if (!spec.btf) throw new Error(`object ${spec.name} has no BTF to decode ${mapName}`);
  for (const v of spec.variables.values()) {
    if (v.map === mapName) out[v.name] = decodeBtfValue(spec.btf, v.btfTypeId, value, v.offset);
  }
  return out;
}

/** Key 0's value of a global data map (the only entry). */
export function dataValue(map: BpfMap): Uint8Array {
  const v = map.getRaw(u32(0));
  if (!v) throw new Error(`map ${map.name} has no key 0`);
  return v;
}

/** The decoded variables of data map `mapName` of a live collection. */
export function readGlobals(coll: Collection, mapName: string): Record<string, unknown> {
  return variableValues(coll.spec, mapName, dataValue(coll.map(mapName)));
}

/** Overwrite one global variable of a live collection (read-modify-write of its data map). */
export function writeGlobal(coll: Collection, name: string, bytes: Uint8Array): void {
  const v = coll.spec.variables.get(name);
  if (!v) throw new Error(`no variable ${name}`);
  if (bytes.byteLength !== v.size) throw new Error(`variable ${name} has ${v.size} bytes, got ${bytes.byteLength}`);
  const map = coll.map(v.map);
  const value = dataValue(map);
  value.set(bytes, v.offset);
  map.setRaw(u32(0), value);
}

/** A global's value as a number/bigint (integer variables). */
export function readGlobal(coll: Collection, name: string): unknown {
  const v = coll.spec.variables.get(name);
  if (!v) throw new Error(`no variable ${name}`);
  return readGlobals(coll, v.map)[name];
}

/** A u64/u32 counter stored at a u32 key (undefined when the key is absent). */
export function counterAt(map: BpfMap, key: number): number | undefined {
  const v = map.getRaw(u32(key));
  return v === undefined ? undefined : Number(leUint(v, 0, map.valueSize));
}

/** Poll `fn` until it returns true or `timeoutMs` passes; returns the last result. */
export async function waitFor(fn: () => boolean, timeoutMs = 2000, stepMs = 10): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (fn()) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A fresh directory on bpffs for pins; `cleanup()` removes it and everything pinned in it. */
export function bpffsScratch(tag: string): { dir: string; cleanup: () => void } {
  const dir = join("/sys/fs/bpf", `tsbpf-test-${process.pid}-${tag}-${randomBytes(3).toString("hex")}`);
  mkdirSync(dir, { recursive: true });
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Why bpffs tests cannot run, or undefined. */
export function bpffsProblem(): string | undefined {
  const mounts = readFileSync("/proc/self/mounts", "utf8");
  const ok = mounts.split("\n").some((l) => {
    const [, where, type] = l.split(" ");
    return where === "/sys/fs/bpf" && type === "bpf";
  });
  return ok ? undefined : "bpffs is not mounted at /sys/fs/bpf; run `bash scripts/setup.sh`";
}

/** Whether an executable is on PATH. */
export function haveTool(name: string): boolean {
  return (process.env.PATH ?? "").split(":").some((d) => d && existsSync(join(d, name)));
}

/**
 * Compile a small host C program with the system compiler (`cc`), cached under .cache/host/ by
 * content; returns the executable's path.
 */
export function hostProgram(name: string, source: string): string {
  const dir = join(REPO_ROOT, ".cache", "host");
  const digest = createHash("sha256").update(source).digest("hex").slice(0, 12);
  const exe = join(dir, `${name}-${digest}`);
  if (existsSync(exe)) return exe;
  mkdirSync(dir, { recursive: true });
  const src = join(dir, `${name}-${digest}.c`);
  writeFileSync(src, source);
  const tmp = `${exe}.tmp-${process.pid}`;
  execFileSync(process.env.CC || "cc", ["-O1", "-o", tmp, src], { stdio: ["ignore", "pipe", "pipe"] });
  renameSync(tmp, exe);
  return exe;
}

/** Compile a C file for the host (not BPF) with `cc -c`, returning the object bytes. */
export function hostObject(name: string, source: string, flags: string[] = []): Uint8Array {
  const dir = join(REPO_ROOT, ".cache", "host");
  mkdirSync(dir, { recursive: true });
  const digest = createHash("sha256").update(source + flags.join(" ")).digest("hex").slice(0, 12);
  const src = join(dir, `${name}-${digest}.c`);
  const obj = join(dir, `${name}-${digest}.o`);
  if (!existsSync(obj)) {
    writeFileSync(src, source);
    execFileSync(process.env.CC || "cc", ["-O1", "-c", ...flags, "-o", obj, src], { stdio: ["ignore", "pipe", "pipe"] });
  }
  return fileBytes(obj);
}

/** Run a command to completion; resolves with its exit code, stdout and stderr. */
export function run(cmd: string, args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { encoding: "utf8", maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err && typeof (err as NodeJS.ErrnoException).code === "string") return reject(err);
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** Run a command and throw with its stderr when it fails. */
export async function must(cmd: string, args: string[]): Promise<string> {
  const r = await run(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

/** Spawn a process with piped stdin; returns the child and a promise of its exit code. */
export function spawnGated(cmd: string, args: string[]): { pid: number; go: () => void; exited: Promise<number> } {
  const child = spawn(cmd, args, { stdio: ["pipe", "ignore", "inherit"] });
  const exited = new Promise<number>((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (code) => resolve(code ?? -1));
  });
  return { pid: child.pid!, go: () => child.stdin!.end("go\n"), exited };
}

const TRIGGER_SOURCE = `/* tsbpf test trigger: waits for a line on stdin (unless the 3rd argument is "now"), then
 * makes N getpid() system calls or N 1 ms nanosleeps, and exits 0. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

int main(int argc, char **argv)
{
	char buf[16];
	long i, n;

	if (argc < 3)
		return 2;
	if (!(argc > 3 && strcmp(argv[3], "now") == 0) && read(0, buf, sizeof(buf)) < 0)
		return 3;
	n = atol(argv[2]);
	if (strcmp(argv[1], "getpid") == 0) {
		for (i = 0; i < n; i++)
			syscall(SYS_getpid);
	} else if (strcmp(argv[1], "sleep") == 0) {
		struct timespec ts = { 0, 1000000 };
		for (i = 0; i < n; i++)
			nanosleep(&ts, NULL);
	} else {
		return 2;
	}
	return 0;
}
`;

/** Path of the trigger program: `trigger getpid|sleep N [now]` (see its source above). */
export function triggerProgram(): string {
  return hostProgram("tsbpf-trigger", TRIGGER_SOURCE);
}

/** Run the trigger to completion right away; resolves with the child's pid once it exited 0. */
export async function runTrigger(what: "getpid" | "sleep", n: number): Promise<number> {
  const child = spawnGated(triggerProgram(), [what, String(n), "now"]);
  const code = await child.exited;
  if (code !== 0) throw new Error(`trigger ${what} ${n} exited with ${code}`);
  return child.pid;
}
