// opensnoop: prints every open/openat/openat2 call on the machine as it returns — process, fd or error,
// flags, latency and path — read from a BPF ring buffer. Kernel half: opensnoop.bpf.ts.
// Usage: npx tsx examples/opensnoop/main.ts [--duration N] [--pid PID] [--failed] [--name COMM]

import { constants } from "node:os";
import { constants as fsc } from "node:fs";
import { parseArgs } from "node:util";
import { load } from "../../src/index.js";
import { OpenEvent } from "./common.js";

const { values } = parseArgs({
  options: {
    duration: { type: "string", short: "d" },
    pid: { type: "string", short: "p" },
    failed: { type: "boolean", short: "x" },
    name: { type: "string", short: "n" },
  },
});

/** errno number → name ("ENOENT"), from node's table. */
const errnoNames = new Map(Object.entries(constants.errno).map(([name, n]) => [n, name]));

/** open(2) flags as text: the access mode, then the usual flag names. */
function formatFlags(flags: number): string {
  const access = ["O_RDONLY", "O_WRONLY", "O_RDWR"][flags & 3] ?? "O_ACCMODE";
  const names: [number, string][] = [
    [fsc.O_CREAT, "O_CREAT"], [fsc.O_EXCL, "O_EXCL"], [fsc.O_TRUNC, "O_TRUNC"], [fsc.O_APPEND, "O_APPEND"],
    [fsc.O_NONBLOCK, "O_NONBLOCK"], [fsc.O_DIRECTORY, "O_DIRECTORY"], [fsc.O_NOFOLLOW, "O_NOFOLLOW"],
    [0o2000000, "O_CLOEXEC"], [fsc.O_DIRECT ?? 0o40000, "O_DIRECT"], [fsc.O_SYNC, "O_SYNC"],
  ];
  return [access, ...names.filter(([bit]) => bit && (flags & bit) === bit).map(([, n]) => n)].join("|");
}

const obj = await load(new URL("./opensnoop.bpf.ts", import.meta.url));
try {
  // Filters live in the program's global variables (.bss), written before the programs are attached.
  if (values.pid) obj.variable("targetPid").set(Number(values.pid));
  if (values.failed) obj.variable("failedOnly").set(1);
  using enter = obj.program("openEnter").attach();
  using exit = obj.program("openExit").attach();
  const events = obj.ringbuf("events", OpenEvent);

  console.log(`${"PID".padEnd(8)}${"TID".padEnd(8)}${"COMM".padEnd(17)}${"FD".padStart(4)} ${"ERR".padEnd(8)}${"LAT(us)".padStart(9)}  ${"FLAGS".padEnd(24)} PATH`);
  if (values.duration) setTimeout(() => events.close(), Number(values.duration) * 1000).unref();
  process.once("SIGINT", () => events.close());
  for await (const ev of events) {
    if (values.name && !ev.comm.includes(values.name)) continue;
    const fd = ev.ret >= 0 ? String(ev.ret) : "-1";
    const err = ev.ret >= 0 ? "" : (errnoNames.get(-ev.ret) ?? String(-ev.ret));
    const lat = (Number(ev.latencyNs) / 1000).toFixed(1);
    console.log(`${String(ev.pid).padEnd(8)}${String(ev.tid).padEnd(8)}${ev.comm.padEnd(17)}${fd.padStart(4)} ${err.padEnd(8)}${lat.padStart(9)}  ${formatFlags(ev.flags).padEnd(24)} ${ev.filename}`);
  }
  console.error(`opensnoop: detached from ${enter.description} and ${exit.description}`);
} finally {
  obj.close();
}
