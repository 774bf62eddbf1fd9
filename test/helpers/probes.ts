// Helpers for the probe tests (uprobe, USDT, kprobe): the probe_target test binary built from
// test/fixtures/c/probes/probe_target.c with the host compiler (needs <sys/sdt.h>: systemtap-sdt-dev).

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "./toolchain.js";
import { hostProgram } from "./loader.js";

/** Path of the probe_target binary (cached by content under .cache/host/). */
export function probeTarget(): string {
  return hostProgram("probe_target", readFileSync(join(REPO_ROOT, "test/fixtures/c/probes/probe_target.c"), "utf8"));
}
