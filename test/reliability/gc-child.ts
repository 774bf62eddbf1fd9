// Child process of test/reliability/gc.test.ts (run with --expose-gc): creates kernel objects in one
// of several ways, drops (or closes) every reference, forces garbage collection and prints one JSON
// line with what is left in the kernel and which warnings were emitted. argv[2] is the scenario.

import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { readCollectionSpec } from "../../src/object/reader.js";
import type { CollectionSpec } from "../../src/object/spec.js";
import { loadCollection } from "../../src/runtime/collection.js";
import { BpfMap } from "../../src/runtime/map.js";
import { xdpState } from "../../src/runtime/links/xdp.js";
import { linkInfo, objectExists as exists, progInfo } from "../../src/sys/bpf.js";
import { compileC } from "../helpers/toolchain.js";
import { compileAndRead, fileBytes } from "../helpers/loader.js";

declare const gc: (() => void) | undefined;
if (typeof gc !== "function") throw new Error("gc-child: run with node --expose-gc");
const collect = gc;

const warnings: { code: string | undefined; message: string }[] = [];
process.on("warning", (w: Error & { code?: string }) => warnings.push({ code: w.code, message: w.message }));

interface Ids { progs: number[]; maps: number[]; links: number[] }

function alive(ids: Ids): Ids {
  return {
    progs: ids.progs.filter((id) => exists("prog", id)),
    maps: ids.maps.filter((id) => exists("map", id)),
    links: ids.links.filter((id) => exists("link", id)),
  };
}

const openFds = () => readdirSync("/proc/self/fd").length;
const count = (ids: Ids) => ids.progs.length + ids.maps.length + ids.links.length;

/** Several collection rounds with turns of the event loop between (finalizers run in their own task). */
async function gcRounds(rounds = 6): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    collect();
    await new Promise(setImmediate);
  }
}

/** Collect until `done()` (objects whose last reference goes asynchronously in the kernel) or ~10 s. */
async function settle(done: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !done(); i++) {
    await gcRounds(2);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Load `n` collections of `spec`, attach both programs of each, record ids; returns nothing that references them. */
function forget(spec: CollectionSpec, n: number, ids: Ids): void {
  for (let i = 0; i < n; i++) {
    const coll = loadCollection(spec);
    for (const p of coll.programs.values()) ids.progs.push(progInfo(p.fd).id);
    for (const m of coll.maps.values()) ids.maps.push(m.info().id);
    ids.links.push(linkInfo(coll.program("tp_getpid").attach().fd).id);
    ids.links.push(linkInfo(coll.program("raw_getpid").attach().fd).id);
  }
}

const mode = process.argv[2];
const out: Record<string, unknown> = { mode };

if (mode === "forgotten") {
  // 20 collections with two attached links each, never closed.
  const { spec } = await compileAndRead("test/fixtures/c/attach_syscalls.bpf.c");
  await gcRounds();
  const fdsBefore = openFds();
  const ids: Ids = { progs: [], maps: [], links: [] };
  forget(spec, 20, ids);
  out.created = { progs: ids.progs.length, maps: ids.maps.length, links: ids.links.length, fds: openFds() - fdsBefore };
  await gcRounds();
  await settle(() => count(alive(ids)) === 0 && openFds() <= fdsBefore);
  const left = alive(ids);
  out.left = { progs: left.progs.length, maps: left.maps.length, links: left.links.length, fds: openFds() - fdsBefore };
} else if (mode === "readers") {
  // A ring buffer reader that waited once (poll handle made) and a perf buffer reader, never closed.
  const path = await compileC("test/fixtures/c/events/events.bpf.c");
  const spec = readCollectionSpec(fileBytes(path), { name: "events" });
  await gcRounds();
  const fdsBefore = openFds();
  const ids: Ids = { progs: [], maps: [], links: [] };
  await (async () => {
    const coll = loadCollection(spec);
    for (const p of coll.programs.values()) ids.progs.push(progInfo(p.fd).id);
    for (const m of coll.maps.values()) ids.maps.push(m.info().id);
    const ring = coll.ringbuf("rb_a");
    coll.perfbuf("pb");
    // One record waited for and read: the reader's poll handle exists and has called back.
    coll.program("rb_a_one").testRun({ data: new Uint8Array(64) });
    await ring.wait();
    ring.drain();
  })();
  await gcRounds();
  await settle(() => count(alive(ids)) === 0 && openFds() <= fdsBefore);
  const left = alive(ids);
  out.left = { progs: left.progs.length, maps: left.maps.length, links: left.links.length, fds: openFds() - fdsBefore };
} else if (mode === "netlink") {
  // XDP attached through netlink (no BPF link) to a veth: collecting the link object detaches the program.
  const iface = "lifecycle0";
  try {
    execFileSync("ip", ["link", "del", iface], { stdio: "ignore" });
  } catch { /* not there */ }
  execFileSync("ip", ["link", "add", iface, "type", "veth", "peer", "name", "lifecycle1"]);
  try {
    const { spec } = await compileAndRead("test/fixtures/c/attach_xdp.bpf.c");
    const ids: Ids = { progs: [], maps: [], links: [] };
    (() => {
      const coll = loadCollection(spec);
      const prog = coll.program("xdp_count");
      ids.progs.push(progInfo(prog.fd).id);
      prog.attach({ interface: iface, xdpMode: "generic", mechanism: "netlink" });
    })();
    out.attachedProgId = xdpState(iface).progId === ids.progs[0] ? "ours" : "other";
    await gcRounds();
    await settle(() => xdpState(iface).progId === 0 && count(alive(ids)) === 0);
    out.xdpProgIdAfter = xdpState(iface).progId;
    const left = alive(ids);
    out.left = { progs: left.progs.length };
  } finally {
    execFileSync("ip", ["link", "del", iface]);
  }
} else if (mode === "closed") {
  // Explicitly closed objects: no warning, and a late finalizer never closes a reused fd number.
  const { spec } = await compileAndRead("test/fixtures/c/attach_syscalls.bpf.c");
  const numbers: number[] = [];
  (() => {
    const coll = loadCollection(spec);
    const link = coll.program("tp_getpid").attach();
    numbers.push(link.fd.value, coll.program("tp_getpid").fd.value, coll.map("tp_counts").fd.value);
    link.close();
    coll.close();
  })();
  // New maps take the lowest free numbers: those just closed.
  const reused: BpfMap[] = [];
  for (let i = 0; i < 16; i++) reused.push(BpfMap.create({ name: `reuse${i}`, type: "ARRAY", keySize: 4, valueSize: 4, maxEntries: 1 }));
  out.reusedNumbers = reused.filter((m) => numbers.includes(m.fd.value)).length;
  await gcRounds(10);
  await new Promise((r) => setTimeout(r, 200));
  await gcRounds(4);
  let working = 0;
  for (const m of reused) {
    try {
      m.info();
      working++;
    } catch { /* closed under us */ }
  }
  out.reusedWorking = working;
  out.reusedTotal = reused.length;
  for (const m of reused) m.close();
} else {
  throw new Error(`gc-child: unknown scenario ${String(mode)}`);
}

await new Promise(setImmediate);
out.warnings = warnings;
console.log(JSON.stringify(out));
