// Helpers for the probe tests (uprobe, USDT, kprobe): the probe_target test binary built from
// test/fixtures/c/probes/probe_target.c with the host compiler (needs <sys/sdt.h>: systemtap-sdt-dev).

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "./toolchain.js";
import { hostProgram, spawnGated } from "./loader.js";

/** Path of the probe_target binary (cached by content under .cache/host/). */
export function probeTarget(): string {
  return hostProgram("probe_target", readFileSync(join(REPO_ROOT, "test/fixtures/c/probes/probe_target.c"), "utf8"));
}

/** Run probe_target for `n` rounds; `setup(pid)` runs before it starts. Resolves with its pid and exit code. */
export async function runProbeTarget(n: number, setup?: (pid: number) => void): Promise<{ pid: number; code: number }> {
  const child = spawnGated(probeTarget(), [String(n)]);
  try {
    setup?.(child.pid);
  } finally {
    child.go();
  }
  return { pid: child.pid, code: await child.exited };
}
