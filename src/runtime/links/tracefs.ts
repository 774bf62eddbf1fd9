// Legacy probe events through tracefs (kprobe_events / uprobe_events): the fallback for kernels whose
// perf kprobe/uprobe PMUs are missing. Each event gets a unique name and is removed when its link closes.

import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { MissingFeatureError, TsbpfError } from "../../errors.js";
import { PERF_TYPE } from "../../sys/constants.js";
import type { Fd } from "../../sys/fd.js";
import { perfEventOpen } from "../../sys/perf.js";
import { tracefsPath } from "../../sys/system.js";

/** The tracefs group our probe events live in. */
export const PROBE_EVENT_GROUP = "tsbpf";

let counter = 0;

/** A probe event created in tracefs: its id, and an idempotent remove(). */
export interface ProbeEvent {
  readonly kind: "kprobe" | "uprobe";
  readonly name: string;
  readonly id: number;
  remove(): void;
}

function tracefsOrNull(): string | null {
  try {
    return tracefsPath();
  } catch {
    return null;
  }
}

/** Whether `<tracefs>/kprobe_events` (or uprobe_events) exists on this kernel. */
export function probeEventsAvailable(kind: "kprobe" | "uprobe"): boolean {
  const tfs = tracefsOrNull();
  return tfs !== null && existsSync(join(tfs, `${kind}_events`));
}

/** The kernel's EILSEQ for a probe address: not where an instruction starts (an offset inside one). */
export function instructionBoundaryError(what: string, cause: unknown): TsbpfError {
  return new TsbpfError("ATTACH_BAD_TARGET", `${what}: the address is not on an instruction boundary (EILSEQ); give 0 (the function itself) or the offset of an instruction's first byte, as the function's disassembly shows them`, { cause });
}

/**
 * Create a probe event. `definition` is the text after the event name, e.g. `do_sys_openat2+0` for a
 * kprobe or `/usr/bin/bash:0x4f0` for a uprobe; `retprobe` makes it an `r:` event.
 */
export function createProbeEvent(kind: "kprobe" | "uprobe", definition: string, retprobe: boolean, what: string): ProbeEvent {
  const tfs = tracefsOrNull();
  const file = tfs ? join(tfs, `${kind}_events`) : `<tracefs>/${kind}_events`;
  if (!tfs || !existsSync(file)) {
    throw new MissingFeatureError(`${kind.toUpperCase()}S_UNSUPPORTED`, `${what}: ${file} does not exist (kernel without ${kind === "kprobe" ? "CONFIG_KPROBE_EVENTS" : "CONFIG_UPROBE_EVENTS"})`);
  }
  const name = `${kind[0]}${retprobe ? "r" : "p"}_${process.pid}_${++counter}`;
  const line = `${retprobe ? "r" : "p"}:${PROBE_EVENT_GROUP}/${name} ${definition}\n`;
  try {
    appendFileSync(file, line);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === "EILSEQ") throw instructionBoundaryError(what, cause);
    throw new TsbpfError(code === "ENOENT" || code === "EINVAL" ? "SYMBOL_NOT_FOUND" : "TRACEFS_ERROR",
      `${what}: the kernel refused probe event "${line.trim()}" in ${file} (${code ?? (cause as Error).message})`, { cause });
  }
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    try {
      appendFileSync(file, `-:${PROBE_EVENT_GROUP}/${name}\n`);
    } catch {
      // Still busy (a perf event on it not yet released) or already gone: nothing more to do.
    }
  };
  let id: number;
  try {
    id = Number.parseInt(readFileSync(join(tfs, "events", PROBE_EVENT_GROUP, name, "id"), "utf8").trim(), 10);
  } catch (cause) {
    remove();
    throw new TsbpfError("TRACEFS_ERROR", `${what}: probe event ${PROBE_EVENT_GROUP}/${name} has no id: ${(cause as Error).message}`, { cause });
  }
  return { kind, name, id, remove };
}

/** Open a perf event on a created probe event (all processes, or only `pid`). */
export function openProbeEvent(ev: ProbeEvent, pid = -1): Fd {
  return perfEventOpen({ type: PERF_TYPE.TRACEPOINT, config: ev.id, samplePeriod: 1, wakeupEvents: 1 }, pid, pid === -1 ? 0 : -1);
}
