// Shared setup for the test/kernel/events-*.test.ts files: loads test/fixtures/c/events/events.bpf.c,
// its record layout, global counters, CPU pinning, fd counting and a child-process producer.

import { execFileSync, spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { readCollectionSpec } from "../../src/object/reader.js";
import { loadCollection, type Collection } from "../../src/runtime/collection.js";
import { struct, u32, u64 } from "../../src/types/index.js";
import { REPO_ROOT, compileC } from "../helpers/toolchain.js";
import { fileBytes, readGlobal, writeGlobal } from "../helpers/loader.js";

/** struct event of events.bpf.c. */
export const Event = struct({ seq: u32, tag: u32, magic: u64 }, { name: "event" });
export type EventValue = ReturnType<typeof Event.decode>;
export const MAGIC = 0x6576656e74730000n;
export const PACKET = new Uint8Array(64);

/** Compile and load the events fixture. */
export async function loadEvents(): Promise<Collection> {
  const path = await compileC("test/fixtures/c/events/events.bpf.c");
  return loadCollection(readCollectionSpec(fileBytes(path), { name: "events" }));
}

/** A global counter of the fixture (u32 or u64) as a number. */
export function counter(coll: Collection, name: string): number {
  return Number(readGlobal(coll, name));
}

/** Zero the sequence numbers and drop counters. */
export function resetCounters(coll: Collection): void {
  for (const n of ["seq_a", "seq_b", "seq_p", "extra_len"]) writeGlobal(coll, n, new Uint8Array(4));
  for (const n of ["drops_a", "drops_b", "drops_p", "last_perf_err"]) writeGlobal(coll, n, new Uint8Array(8));
}

/** Set a u32 global. */
export function setU32(coll: Collection, name: string, v: number): void {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v, true);
  writeGlobal(coll, name, b);
}

/** Pin every thread of this process to one CPU (test runs execute where the caller runs). */
export function pinCpu(cpu: number | string): void {
  execFileSync("taskset", ["-a", "-p", "-c", String(cpu), String(process.pid)], { stdio: "ignore" });
}

/** Open fds of this process. */
export function openFds(): number {
  return readdirSync("/proc/self/fd").length;
}

/** Check one decoded event. */
export function eventOk(ev: EventValue, seq: number, tag: number): boolean {
  return ev.seq === seq && ev.tag === tag && ev.magic === (MAGIC ^ BigInt(seq));
}

/**
 * Run `prog` (an XDP program of the collection) in a child process `runs` times with `repeat` each,
 * optionally pinned to `cpu`; the program fd is passed to the child as fd 3. Resolves when it exits.
 */
export function produceInChild(coll: Collection, prog: string, runs: number, repeat: number, cpu?: number): Promise<void> {
  const fd = coll.program(prog).fd.value;
  const args = ["--import", "tsx", join(REPO_ROOT, "test/kernel/events-producer.ts"), String(runs), String(repeat)];
  const cmd = cpu === undefined ? process.execPath : "taskset";
  const argv = cpu === undefined ? args : ["-c", String(cpu), process.execPath, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { stdio: ["ignore", "inherit", "inherit", fd], cwd: REPO_ROOT });
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`producer exited with ${code}`))));
  });
}
