// Content-addressed cache of compiled kernel programs for `load("x.bpf.ts")`: an entry is reused when
// every source file it was built from, the compiler and the options are unchanged.

import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, renameSync, statSync, writeFileSync } from "node:fs";
import { readUserFile, USER_FILE_LIMITS } from "../sys/user-file.js";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { CompileError } from "./diagnostics.js";
import { PACKAGE_ROOT } from "./host.js";
import { compile, type CompileOptions } from "./index.js";

interface Manifest {
  readonly compiler: string;
  readonly options: string;
  readonly files: Record<string, string>;
}

/** Where compiled objects are cached: $TSBPF_CACHE_DIR, else $XDG_CACHE_HOME/tsbpf, else ~/.cache/tsbpf. */
export function cacheDir(): string {
  return process.env.TSBPF_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "tsbpf");
}

let compilerId: string | undefined;

/** Identifies this compiler build: the sizes and mtimes of its own sources. */
function compilerFingerprint(): string {
  if (compilerId) return compilerId;
  const h = createHash("sha256");
  const walk = (dir: string): void => {
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else h.update(`${p}:${st.size}:${st.mtimeMs}\n`);
    }
  };
  for (const sub of ["compiler", "kernel", "types", "asm", "btf"]) {
    walk(join(PACKAGE_ROOT, "src", sub));
    walk(join(PACKAGE_ROOT, "dist", sub));
  }
  return (compilerId = h.digest("hex").slice(0, 16));
}

function sha(text: string | Uint8Array): string {
  return createHash("sha256").update(text).digest("hex");
}

/**
 * Compiles `entry` or returns the cached object when nothing it depends on changed.
 * Throws {@link CompileError} with every diagnostic when compilation fails.
 */
export function compileCached(entry: string, opts: Pick<CompileOptions, "cpu"> = {}): Uint8Array {
  const path = resolve(entry);
  const key = sha(path).slice(0, 24);
  const dir = cacheDir();
  const manifestPath = join(dir, `${key}.json`);
  const objectPath = join(dir, `${key}.o`);
  const options = JSON.stringify({ cpu: opts.cpu ?? "v3" });
  const compiler = compilerFingerprint();
  try {
    const m = JSON.parse(readUserFile(manifestPath, "cache manifest", USER_FILE_LIMITS.source).toString("utf8")) as Manifest;
    // The sources are user files (any of them may since have become a FIFO or a huge file): read
    // safely, and a refusal is a cache miss that the compile below reports properly.
    if (m.compiler === compiler && m.options === options && Object.entries(m.files).every(([f, h]) => sha(readUserFile(f, "source file", USER_FILE_LIMITS.source)) === h)) {
      return new Uint8Array(readUserFile(objectPath, "cached object", USER_FILE_LIMITS.object));
    }
  } catch {
    // No usable cache entry.
  }
  const r = compile(path, opts);
  if (!r.object || !r.module) throw new CompileError(r.diagnostics);
  const files: Record<string, string> = {};
  for (const [f, text] of r.module.sources) files[f] = sha(text);
  try {
    mkdirSync(dir, { recursive: true });
    const tmp = `${objectPath}.${process.pid}.tmp`;
    writeFileSync(tmp, r.object);
    renameSync(tmp, objectPath);
    writeFileSync(`${manifestPath}.${process.pid}.tmp`, JSON.stringify({ compiler, options, files } satisfies Manifest));
    renameSync(`${manifestPath}.${process.pid}.tmp`, manifestPath);
  } catch {
    // A read-only cache is not an error: the object is still returned.
  }
  return r.object;
}
