// Fixtures of the VM suite (BPF objects, host test binaries), built on the host before the VM boots:
// scripts/vm/prepare.ts builds them all and the VM reads their paths from $TSBPF_VM_MANIFEST.

import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { REPO_ROOT, compileC, vmlinuxHeader } from "../helpers/toolchain.js";
import { hostProgram, triggerProgram } from "../helpers/loader.js";
import { nettool } from "../helpers/nettool.js";
import { probeTarget } from "../helpers/probes.js";

/** BPF objects: name → C source (repo-relative) and whether it includes the host's vmlinux.h. */
const OBJECTS: Record<string, { source: string; vmlinux?: boolean }> = {
  kprobe: { source: "test/fixtures/c/probes/kprobe.bpf.c" },
  tracing: { source: "test/fixtures/c/probes/tracing.bpf.c", vmlinux: true },
  core: { source: "test/fixtures/c/probes/core_portable.bpf.c", vmlinux: true },
  freplace_target: { source: "test/fixtures/c/probes/freplace_target.bpf.c" },
  freplace: { source: "test/fixtures/c/probes/freplace.bpf.c" },
  uprobe: { source: "test/fixtures/c/probes/uprobe.bpf.c" },
  tc: { source: "test/fixtures/c/hooks/tc.bpf.c" },
  xdp: { source: "test/fixtures/c/attach_xdp.bpf.c" },
  cgroup: { source: "test/fixtures/c/hooks/cgroup.bpf.c" },
  structops: { source: "test/fixtures/c/structops/tsbpf_cc.bpf.c", vmlinux: true },
  structops_link: { source: "test/fixtures/c/structops/tsbpf_cc_link.bpf.c", vmlinux: true },
  // TypeScript kernel programs, compiled by tsbpf on the host (tsbpf build)
  ts_tracing: { source: "test/fixtures/ts/vm/tracing.bpf.ts" },
  ts_iter: { source: "test/fixtures/ts/kinds/iter.bpf.ts" },
  ts_kprobe: { source: "test/fixtures/ts/vm/kprobe.bpf.ts" },
  ts_fmod_ret: { source: "test/fixtures/ts/kinds/fmod-ret.bpf.ts" },
  ts_freplace: { source: "test/fixtures/ts/kinds/freplace.bpf.ts" },
  ts_lsm_cgroup: { source: "test/fixtures/ts/kinds/lsm-cgroup.bpf.ts" },
};

/** Host executables: name → builder. */
const BINARIES: Record<string, () => string> = {
  trigger: triggerProgram,
  syscaller: () => hostProgram("syscaller", readFileSync(join(REPO_ROOT, "test/fixtures/c/probes/syscaller.c"), "utf8")),
  nettool,
  probe_target: probeTarget,
  tcp_cc_client: () => hostProgram("tcp_cc_client", readFileSync(join(REPO_ROOT, "test/fixtures/c/structops/tcp_cc_client.c"), "utf8")),
};

export type VmFixtureName = keyof typeof OBJECTS;

let manifest: Record<string, string> | undefined;
function fromManifest(name: string): string | undefined {
  const path = process.env.TSBPF_VM_MANIFEST;
  if (!path) return undefined;
  manifest ??= JSON.parse(readFileSync(path, "utf8")) as Record<string, string>;
  const failed = manifest[`failed:${name}`];
  if (failed) throw new Error(`VM fixture "${name}" failed to build on the host:\n${failed}`);
  const found = manifest[name];
  if (!found) throw new Error(`VM fixture "${name}" is not in ${path}: add it to test/vm/fixtures.ts`);
  return found;
}

/** Path of the compiled BPF object `name` (compiled on the host by prepare.ts; compiled here otherwise). */
export async function vmObject(name: string): Promise<string> {
  const known = fromManifest(`object:${name}`);
  if (known) return known;
  const def = OBJECTS[name];
  if (!def) throw new Error(`unknown VM fixture object "${name}"`);
  if (def.source.endsWith(".bpf.ts")) return buildTs(def.source, name);
  return compileC(def.source, def.vmlinux ? { includes: [dirname(vmlinuxHeader())] } : {});
}

/** Compiles a TypeScript kernel program with `tsbpf build` in a child (keeps the compiler out of the VM bundle). */
function buildTs(source: string, name: string): string {
  const dir = join(REPO_ROOT, ".cache", "vm-ts");
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `${name}.o`);
  const r = spawnSync(process.execPath, ["--import", "tsx", join(REPO_ROOT, "src/cli/main.ts"), "build", join(REPO_ROOT, source), "-o", out], { encoding: "utf8", cwd: REPO_ROOT });
  if (r.status !== 0) throw new Error(`tsbpf build ${source} failed:\n${r.stdout}${r.stderr}`);
  return out;
}

/** Path of the host test binary `name`. */
export function vmBinary(name: string): string {
  const known = fromManifest(`binary:${name}`);
  if (known) return known;
  const build = BINARIES[name];
  if (!build) throw new Error(`unknown VM fixture binary "${name}"`);
  return build();
}

/**
 * Builds every fixture; returns the manifest prepare.ts writes. A fixture that fails to build is
 * recorded as `failed:<key>` with the error, so only the tests that use it fail (with that error).
 */
export async function buildVmFixtures(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const record = async (key: string, build: () => string | Promise<string>) => {
    try {
      out[key] = await build();
    } catch (e) {
      out[`failed:${key}`] = e instanceof Error ? e.message : String(e);
    }
  };
  for (const name of Object.keys(OBJECTS)) await record(`object:${name}`, () => vmObject(name));
  for (const name of Object.keys(BINARIES)) await record(`binary:${name}`, () => vmBinary(name));
  return out;
}

/** True inside the test VM (scripts/test-vm.sh). */
export const IN_VM = process.env.TSBPF_IN_VM === "1";

/** Outcome of one syscaller run. */
export interface SyscallerResult {
  readonly pid: number;
  readonly ok: number;
  readonly eperm: number;
}

/**
 * Run `syscaller <call> <n>`: `setup(pid)` runs after it started and before it makes any call (attach
 * per-pid things, move it into a cgroup). Resolves once it exited 0 with its success/EPERM counts.
 */
export async function runSyscaller(call: "getpid" | "getpgid" | "getsid" | "getppid", n: number, setup?: (pid: number) => void | Promise<void>): Promise<SyscallerResult> {
  const child = spawn(vmBinary("syscaller"), [call, String(n)], { stdio: ["pipe", "pipe", "inherit"] });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number>((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (code) => resolve(code ?? -1));
  });
  try {
    await setup?.(child.pid!);
  } finally {
    child.stdin!.end("go\n");
  }
  const code = await exited;
  const m = /ok=(\d+) eperm=(\d+)/.exec(out);
  if (code !== 0 || !m) throw new Error(`syscaller ${call} ${n} exited ${code}: ${out}`);
  return { pid: child.pid!, ok: Number(m[1]), eperm: Number(m[2]) };
}
