// Shared by the maps-*.test.ts kernel tests: where cgroup v2 is mounted and this process's cgroup.
// (Not a test file itself.)

import { readFileSync } from "node:fs";

/** Where cgroup v2 is mounted (it may be /sys/fs/cgroup or /sys/fs/cgroup/unified). */
export function cgroup2Root(): string {
  const line = readFileSync("/proc/mounts", "utf8").split("\n").find((l) => l.split(" ")[2] === "cgroup2");
  if (!line) throw new Error("cgroup2 is not mounted");
  return line.split(" ")[1]!;
}

/** This process's cgroup v2 directory. */
export function ownCgroup(): string {
  const rel = readFileSync("/proc/self/cgroup", "utf8").split("\n").find((l) => l.startsWith("0::"))!.slice(3);
  return `${cgroup2Root()}${rel === "/" ? "" : rel}`;
}
