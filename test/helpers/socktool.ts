// The socket tool processes in a test cgroup run (test/fixtures/c/hooks/socktool.c: see its usage),
// built once per host like the other host programs.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { hostProgram } from "./loader.js";
import { REPO_ROOT } from "./toolchain.js";

/** Path of the built socktool. */
export function socktool(): string {
  return hostProgram("tsbpf-socktool", readFileSync(join(REPO_ROOT, "test/fixtures/c/hooks/socktool.c"), "utf8"));
}
