// Child cgroups (cgroup v2) for the cgroup attach tests: finds or mounts cgroup2, creates a scratch
// cgroup, runs commands inside it, and removes it after the test, even on failure.

import { execFileSync } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmdirSync, writeFileSync, constants } from "node:fs";
import { join } from "node:path";
import { run } from "./loader.js";

/** A scratch cgroup. */
export interface TestCgroup {
  /** Its directory in the cgroup2 hierarchy. */
  readonly path: string;
  /** Open the cgroup directory (O_RDONLY|O_DIRECTORY); the caller closes the fd. */
  open(): number;
  /** Run a command as a member of the cgroup (`sh` moves itself in, then execs). */
  run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Kill what is left in it and remove it (idempotent). */
  cleanup(): void;
}

/** Where cgroup2 is mounted: /sys/fs/cgroup or /sys/fs/cgroup/unified, else mounted at /run/tsbpf-cgroup2. */
export function cgroup2Root(): string {
  for (const line of readFileSync("/proc/self/mounts", "utf8").split("\n")) {
    const [, where, type] = line.split(" ");
    if (type === "cgroup2") return where;
  }
  const dir = "/run/tsbpf-cgroup2";
  mkdirSync(dir, { recursive: true });
  execFileSync("mount", ["-t", "cgroup2", "none", dir]);
  return dir;
}

const live = new Set<string>();
let exitHook = false;

function removeCgroup(path: string): void {
  if (!existsSync(path)) return;
  try {
    if (existsSync(join(path, "cgroup.kill"))) writeFileSync(join(path, "cgroup.kill"), "1");
    else for (const pid of readFileSync(join(path, "cgroup.procs"), "utf8").split("\n").filter(Boolean)) process.kill(Number(pid), "SIGKILL");
  } catch { /* empty already */ }
  for (let i = 0; i < 50; i++) {
    try {
      rmdirSync(path);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
      execFileSync("sleep", ["0.02"]);
    }
  }
}

/** Create `<cgroup2>/tsbpf-<tag>-<pid>`. */
export function createCgroup(tag: string): TestCgroup {
  const path = join(cgroup2Root(), `tsbpf-${tag}-${process.pid}`);
  if (!exitHook) {
    exitHook = true;
    process.on("exit", () => { for (const p of live) removeCgroup(p); });
  }
  removeCgroup(path);
  mkdirSync(path);
  live.add(path);
  return {
    path,
    open: () => openSync(path, constants.O_RDONLY | constants.O_DIRECTORY),
    run: (cmd, args) => run("sh", ["-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', path, cmd, ...args]),
    cleanup: () => {
      removeCgroup(path);
      live.delete(path);
    },
  };
}

export { closeSync };
