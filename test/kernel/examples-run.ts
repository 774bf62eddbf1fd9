// Runs an example's userspace program (examples/<name>/main.ts) as a child process for the examples
// tests: collects its output line by line, waits for lines, stops it with SIGINT and reports how it ended.

import { spawn, type ChildProcess } from "node:child_process";
import { REPO_ROOT } from "../helpers/toolchain.js";

/** A running example. */
export interface RunningExample {
  readonly child: ChildProcess;
  /** Every stdout line so far. */
  readonly lines: string[];
  /** stderr so far. */
  stderr(): string;
  /** Resolves with the first stdout line matching `pattern` (already seen or to come); rejects after `ms` or when the process ends first. */
  waitForLine(pattern: RegExp, ms?: number): Promise<string>;
  /** Resolves when the process ends: its exit code (or null with a signal), all stdout lines and stderr. */
  readonly done: Promise<{ code: number | null; lines: string[]; stderr: string }>;
  /** Sends SIGINT (the examples stop cleanly on it) and waits for the end; kills after `ms`. */
  stop(ms?: number): Promise<{ code: number | null; lines: string[]; stderr: string }>;
}

/** Start `node --import tsx examples/<name>/main.ts ...args` from the repository root. */
export function runExample(name: string, args: string[]): RunningExample {
  const child = spawn(process.execPath, ["--import", "tsx", `examples/${name}/main.ts`, ...args], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1" },
  });
  const lines: string[] = [];
  let partial = "";
  let err = "";
  const waiters = new Set<() => void>();
  let ended = false;
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    const parts = (partial + chunk).split("\n");
    partial = parts.pop()!;
    lines.push(...parts);
    for (const w of waiters) w();
  });
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
  const done = new Promise<{ code: number | null; lines: string[]; stderr: string }>((resolve) => {
    child.on("close", (code) => {
      if (partial) lines.push(partial);
      partial = "";
      ended = true;
      for (const w of waiters) w();
      resolve({ code, lines, stderr: err });
    });
  });
  return {
    child,
    lines,
    stderr: () => err,
    done,
    waitForLine(pattern, ms = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = lines.find((l) => pattern.test(l));
          if (hit !== undefined) finish(() => resolve(hit));
          else if (ended) finish(() => reject(new Error(`examples/${name} ended before printing ${pattern}; stderr:\n${err}\nstdout:\n${lines.join("\n")}`)));
        };
        const timer = setTimeout(() => finish(() => reject(new Error(`examples/${name}: no line matching ${pattern} within ${ms} ms; stderr:\n${err}\nstdout:\n${lines.slice(-20).join("\n")}`))), ms);
        const finish = (f: () => void) => {
          clearTimeout(timer);
          waiters.delete(check);
          f();
        };
        waiters.add(check);
        check();
      });
    },
    async stop(ms = 10_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGINT");
      const timer = setTimeout(() => child.kill("SIGKILL"), ms);
      try {
        return await done;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Sleep for `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
