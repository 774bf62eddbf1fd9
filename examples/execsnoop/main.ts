// execsnoop: prints every exec on the machine (pid, parent pid, uid, command, file), read from a BPF
// ring buffer. Kernel half: execsnoop.bpf.ts (tsbpf's compiler), or with --c execsnoop.bpf.c (clang).
// Usage: node --import tsx main.ts [--duration N] [--c]

import { parseArgs } from "node:util";
import { load, RingBufReader } from "../../src/index.js";
import { ExecEvent } from "./common.js";

const { values } = parseArgs({ options: { duration: { type: "string" }, c: { type: "boolean" } } });
const duration = values.duration ? Number(values.duration) : undefined;

// The TypeScript kernel program is compiled on first use and cached by content.
await using obj = await load(new URL(values.c ? "./execsnoop.bpf.o" : "./execsnoop.bpf.ts", import.meta.url));
using link = obj.program(values.c ? "handle_exec" : "onExec").attach();
using events = new RingBufReader(obj.map("events"));

console.log(`${"PID".padEnd(8)}${"PPID".padEnd(8)}${"UID".padEnd(7)}${"COMM".padEnd(17)}FILENAME`);
if (duration !== undefined) setTimeout(() => events.close(), duration * 1000);
process.once("SIGINT", () => events.close());
for await (const ev of events.records(ExecEvent)) {
  console.log(`${String(ev.pid).padEnd(8)}${String(ev.ppid).padEnd(8)}${String(ev.uid).padEnd(7)}${ev.comm.padEnd(17)}${ev.filename}`);
}
console.error(`execsnoop: detached from ${link.description}`);
