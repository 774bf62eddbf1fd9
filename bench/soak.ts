// `npm run soak [-- --duration 3600 --interval 60]`: a long run of attach/detach cycles and ring buffer
// load that samples this process's fds (/proc/self/fd), RSS and the kernel objects it created, prints
// them as a table and exits 1 when any of them grows. Not part of the test run (it takes an hour by
// default); docs/loader.md ("Lifecycle") records the last result.
//
// Each cycle: load a collection (2 programs, 3 maps), attach a tracepoint and a raw tracepoint link,
// close the links, close the collection — except every 10th cycle, whose collection is dropped
// unclosed and left to the garbage collector (its TSBPF_UNCLOSED warnings are counted, not printed).
// Alongside: a ring buffer reader consuming records that a program's test runs produce, and a
// short-lived second reader opened and closed every cycle. Before each sample the garbage collector
// runs (when node has --expose-gc, as `npm run soak` gives it), so the figures are comparable.

import { readdirSync } from "node:fs";
import { parseArgs } from "node:util";
import { readCollectionSpec } from "../src/object/reader.js";
import { loadCollection, type Collection } from "../src/runtime/collection.js";
import { linkInfo, objectExists as exists, objectIds, progInfo, type ObjectKind } from "../src/sys/bpf.js";
import { UNCLOSED_WARNING } from "../src/sys/finalize.js";
import { compileC } from "../test/helpers/toolchain.js";
import { fileBytes } from "../test/helpers/loader.js";

const { values } = parseArgs({
  options: {
    duration: { type: "string", default: "3600" },
    interval: { type: "string" },
  },
});
const duration = Number(values.duration);
if (!Number.isFinite(duration) || duration <= 0) throw new Error(`soak: --duration must be a positive number of seconds, got ${values.duration}`);
const interval = values.interval !== undefined ? Number(values.interval) : Math.max(5, Math.round(duration / 30));
if (!Number.isFinite(interval) || interval <= 0) throw new Error(`soak: --interval must be a positive number of seconds, got ${values.interval}`);

declare const gc: (() => void) | undefined;
const collect = typeof gc === "function" ? gc : undefined;
if (!collect) console.warn("soak: run with node --expose-gc (npm run soak does) for comparable samples");

let unclosedWarnings = 0;
process.removeAllListeners("warning");
process.on("warning", (w: Error & { code?: string }) => {
  if (w.code === UNCLOSED_WARNING) unclosedWarnings++;
  else console.warn(w);
});

const ids: Record<"prog" | "map" | "link", Set<number>> = { prog: new Set(), map: new Set(), link: new Set() };

/** Kernel objects this process created that still exist (ids found gone are forgotten). */
function ownAlive(kind: "prog" | "map" | "link"): number {
  for (const id of ids[kind]) if (!exists(kind, id)) ids[kind].delete(id);
  return ids[kind].size;
}

const systemCount = (kind: ObjectKind) => [...objectIds(kind)].length;

const syscallsSpec = readCollectionSpec(fileBytes(await compileC("test/fixtures/c/attach_syscalls.bpf.c")), { name: "attach_syscalls" });
const eventsSpec = readCollectionSpec(fileBytes(await compileC("test/fixtures/c/events/events.bpf.c")), { name: "events" });

function record(coll: Collection): void {
  for (const p of coll.programs.values()) ids.prog.add(progInfo(p.fd).id);
  for (const m of coll.maps.values()) ids.map.add(m.info().id);
}

let cycles = 0;
let forgotten = 0;

/** One attach/detach cycle; every 10th one forgets its collection. */
function cycle(): void {
  cycles++;
  const coll = loadCollection(syscallsSpec);
  record(coll);
  const tp = coll.program("tp_getpid").attach();
  const raw = coll.program("raw_getpid").attach();
  ids.link.add(linkInfo(tp.fd).id);
  ids.link.add(linkInfo(raw.fd).id);
  if (cycles % 10 === 0) {
    forgotten++;
    return; // dropped unclosed: the garbage collector releases it
  }
  tp.close();
  raw.close();
  coll.close();
}

// Ring buffer load: a long-lived reader consuming what test runs of rb_a_one produce.
const events = loadCollection(eventsSpec);
record(events);
let received = 0;
const reader = events.ringbuf("rb_a");
const consuming = reader.listen(() => {
  received++;
});
const packet = new Uint8Array(64);

function produce(): void {
  events.program("rb_a_one").testRun({ data: packet, repeat: 200 });
  // A short-lived second reader, opened, drained and closed.
  const extra = events.ringbuf("rb_b");
  extra.drain();
  extra.close();
}

interface Sample { t: number; cycles: number; fds: number; rssMb: number; heapMb: number; progs: number; maps: number; links: number; sysProgs: number; sysMaps: number; sysLinks: number; events: number; warnings: number }
const samples: Sample[] = [];
const fdCount = () => readdirSync("/proc/self/fd").length;

async function sample(start: number): Promise<Sample> {
  for (let i = 0; i < 3; i++) {
    collect?.();
    await new Promise(setImmediate);
  }
  // Closed objects leave the kernel asynchronously (deferred fput, RCU): wait until the count settles.
  let own = -1;
  let stable = 0;
  for (let i = 0; i < 100 && stable < 5; i++) {
    const now = ownAlive("prog") + ownAlive("map") + ownAlive("link");
    stable = now === own ? stable + 1 : 0;
    own = now;
    await new Promise((r) => setTimeout(r, 100));
  }
  const mem = process.memoryUsage();
  return {
    t: Math.round((Date.now() - start) / 1000),
    cycles, fds: fdCount(),
    rssMb: Math.round(mem.rss / 1048576),
    heapMb: Math.round(mem.heapUsed / 1048576),
    progs: ownAlive("prog"), maps: ownAlive("map"), links: ownAlive("link"),
    sysProgs: systemCount("prog"), sysMaps: systemCount("map"), sysLinks: systemCount("link"),
    events: received, warnings: unclosedWarnings,
  };
}

const columns: (keyof Sample)[] = ["t", "cycles", "fds", "rssMb", "heapMb", "progs", "maps", "links", "sysProgs", "sysMaps", "sysLinks", "events", "warnings"];
const widths = columns.map((c) => Math.max(c.length, 8));
const row = (cells: readonly string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join(" ");
console.log(`soak: ${duration} s, a sample every ${interval} s (progs/maps/links: objects this process created that still exist; sys*: whole system, for information)`);
console.log(row(columns));

const start = Date.now();
const end = start + duration * 1000;
let nextSample = start;
while (Date.now() < end) {
  if (Date.now() >= nextSample) {
    const s = await sample(start);
    samples.push(s);
    console.log(row(columns.map((c) => String(s[c]))));
    nextSample += interval * 1000;
  }
  cycle();
  produce();
  await new Promise(setImmediate); // let the reader's listener and the finalizers run
}
const last = await sample(start);
samples.push(last);
console.log(row(columns.map((c) => String(last[c]))));

reader.close();
await consuming;
events.close();

// Growth check: the first sample after warm-up (the second) against the last.
const base = samples[Math.min(1, samples.length - 1)]!;
const problems: string[] = [];
for (const k of ["fds", "progs", "maps", "links"] as const) {
  if (last[k] > base[k]) problems.push(`${k} grew from ${base[k]} to ${last[k]}`);
}
if (last.rssMb > base.rssMb * 1.25 + 32) problems.push(`RSS grew from ${base.rssMb} MB to ${last.rssMb} MB`);
if (received === 0) problems.push("no ring buffer events were received");
console.log(`soak: ${cycles} cycles (${forgotten} collections left to the garbage collector, ${last.warnings} TSBPF_UNCLOSED warnings), ${received} ring buffer events`);
if (problems.length) {
  console.error(`soak: FAILED: ${problems.join("; ")}`);
  process.exitCode = 1;
} else {
  console.log("soak: OK: fds, kernel objects and RSS did not grow");
}
