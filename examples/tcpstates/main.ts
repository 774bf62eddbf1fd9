// tcpstates: prints every TCP state change on the machine (socket, process, addresses, ports, old and new
// state, milliseconds spent in the old state), read from a BPF ring buffer. Kernel half: tcpstates.bpf.ts.
// Usage: npx tsx examples/tcpstates/main.ts [--duration S] [--port PORT] [--json]

import { parseArgs } from "node:util";
import { load } from "../../src/index.js";
import { AF_INET, StateEvent, TCP_STATES } from "./common.js";

const { values } = parseArgs({
  options: {
    duration: { type: "string", short: "d" },
    port: { type: "string", short: "p" },
    json: { type: "boolean" },
  },
});

/** An address from the event: dotted IPv4, or IPv6 with the longest run of zero groups compressed. */
function formatAddr(family: number, v4: Uint8Array, b: Uint8Array): string {
  if (family === AF_INET) return v4.join(".");
  const groups = Array.from({ length: 8 }, (_, i) => ((b[2 * i]! << 8) | b[2 * i + 1]!).toString(16));
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8; i++) {
    let j = i;
    while (j < 8 && groups[j] === "0") j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
  }
  if (best < 0) return groups.join(":");
  return `${groups.slice(0, best).join(":")}::${groups.slice(best + bestLen).join(":")}`;
}

const state = (s: number) => TCP_STATES[s] ?? String(s);

const obj = await load(new URL("./tcpstates.bpf.ts", import.meta.url));
try {
  if (values.port) obj.variable("filterPort").set(Number(values.port));
  using link = obj.program("onStateChange").attach();
  const events = obj.ringbuf("events", StateEvent);

  if (!values.json) {
    console.log(`${"SKADDR".padEnd(18)} ${"PID".padEnd(7)} ${"COMM".padEnd(16)} ${"LADDR".padEnd(15)} ${"LPORT".padEnd(5)} ${"RADDR".padEnd(15)} ${"RPORT".padEnd(5)} ${"OLDSTATE".padEnd(11)} -> ${"NEWSTATE".padEnd(11)} ${"MS".padStart(8)}`);
  }
  if (values.duration) setTimeout(() => events.close(), Number(values.duration) * 1000).unref();
  process.once("SIGINT", () => events.close());
  for await (const ev of events) {
    const laddr = formatAddr(ev.family, ev.saddr4, ev.saddr), raddr = formatAddr(ev.family, ev.daddr4, ev.daddr);
    const ms = (Number(ev.deltaUs) / 1000).toFixed(3);
    if (values.json) {
      console.log(JSON.stringify({
        skaddr: `0x${ev.skaddr.toString(16)}`, pid: ev.pid, comm: ev.comm, laddr, lport: ev.sport, raddr, rport: ev.dport,
        oldstate: state(ev.oldstate), newstate: state(ev.newstate), ms: Number(ms),
      }));
    } else {
      console.log(`${("0x" + ev.skaddr.toString(16)).padEnd(18)} ${String(ev.pid).padEnd(7)} ${ev.comm.padEnd(16)} ${laddr.padEnd(15)} ${String(ev.sport).padEnd(5)} ${raddr.padEnd(15)} ${String(ev.dport).padEnd(5)} ${state(ev.oldstate).padEnd(11)} -> ${state(ev.newstate).padEnd(11)} ${ms.padStart(8)}`);
    }
  }
  console.error(`tcpstates: detached from ${link.description}`);
} finally {
  obj.close();
}
