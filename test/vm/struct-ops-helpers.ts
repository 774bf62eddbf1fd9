// Shared by the struct_ops tests on the host (test/kernel/struct-ops.test.ts) and in the VM
// (test/vm/struct-ops.test.ts): load the tsbpf_cc object, run loopback TCP with a congestion control.

import { readFileSync } from "node:fs";
import { readCollectionSpec } from "../../src/object/reader.js";
import type { CollectionSpec } from "../../src/object/spec.js";
import type { Collection } from "../../src/runtime/collection.js";
import { run } from "../helpers/loader.js";
import { vmBinary, vmObject } from "./fixtures.js";

/** The struct_ops fixture: `structops` (a .struct_ops map) or `structops_link` (plus two .struct_ops.link maps). */
export async function structOpsSpec(which: "structops" | "structops_link"): Promise<CollectionSpec> {
  return readCollectionSpec(new Uint8Array(readFileSync(await vmObject(which))), { name: "tsbpf_cc" });
}

/** A congestion control name no other run uses at the same time (kernel names are global; at most 15 characters). */
export function uniqueCcName(tag: string): string {
  return `${tag}${(process.pid % 100000).toString(36)}${Math.floor(Math.random() * 36 * 36).toString(36)}`.slice(0, 15);
}

/** The congestion controls the kernel offers (/proc/sys/net/ipv4/tcp_available_congestion_control). */
export function availableCcs(): string[] {
  return readFileSync("/proc/sys/net/ipv4/tcp_available_congestion_control", "utf8").trim().split(/\s+/);
}

/** Outcome of one loopback transfer: the congestion control the socket used and bytes received, or the failing step. */
export interface TcpRun {
  readonly cc?: string;
  readonly bytes?: number;
  readonly error?: string;
  readonly errno?: number;
}

/** Send `bytes` over a loopback TCP connection whose sender uses congestion control `cc`. */
export async function tcpWithCc(cc: string, bytes: number): Promise<TcpRun> {
  const r = await run(vmBinary("tcp_cc_client"), [cc, String(bytes)]);
  const ok = /cc=(\S*) bytes=(-?\d+)/.exec(r.stdout);
  if (r.code === 0 && ok) return { cc: ok[1], bytes: Number(ok[2]) };
  const err = /error=(\S+) errno=(\d+)/.exec(r.stdout);
  if (err) return { error: err[1], errno: Number(err[2]) };
  throw new Error(`tcp_cc_client ${cc} ${bytes} exited ${r.code}: ${r.stdout}${r.stderr}`);
}

/** A u64/u32 global of the object as a number. */
export function counter(coll: Collection, name: string): number {
  return Number(coll.variable(name).get());
}
