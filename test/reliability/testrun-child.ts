// Child of inputs.test.ts: loads an XDP object and runs testRun({ repeat }) in a loop for about two
// seconds while the parent sends SIGUSR2; prints "ready", then JSON counts of calls, EINTR failures and
// signals received.

import { load, SyscallError } from "../../src/index.js";

const [object, repeatText] = process.argv.slice(2);
let signals = 0;
process.on("SIGUSR2", () => signals++);
const coll = await load(object!);
const prog = coll.program("xdp_count");
const data = new Uint8Array(64);
process.stdout.write("ready\n");
let calls = 0;
let eintr = 0;
const other: string[] = [];
const end = Date.now() + 2000;
// Signal handlers run between calls: yield to the event loop every few runs so `signals` counts them.
while (Date.now() < end) {
  for (let i = 0; i < 20; i++) {
    calls++;
    try {
      prog.testRun({ data, repeat: Number(repeatText) });
    } catch (e) {
      if (e instanceof SyscallError && e.code === "EINTR") eintr++;
      else other.push(String(e));
    }
  }
  await new Promise((r) => setImmediate(r));
}
coll.close();
process.stdout.write(JSON.stringify({ calls, eintr, other, signals }) + "\n");
// Keep the SIGUSR2 handler until the parent has stopped signalling (it closes our stdin): a signal that
// arrives while Node tears the process down would take the default action and kill it.
process.stdin.resume();
await new Promise((r) => process.stdin.on("end", r));
process.exit(0);
