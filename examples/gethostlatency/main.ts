// gethostlatency: prints every host name lookup made through libc (getaddrinfo, gethostbyname,
// gethostbyname2) with the process, the latency and the result. Kernel half: gethostlatency.bpf.ts.
// Usage: npx tsx examples/gethostlatency/main.ts [--duration S] [--pid PID] [--libc PATH]

import { parseArgs } from "node:util";
import { load, type Link } from "../../src/index.js";
import { LookupEvent, LookupFunction } from "./common.js";

const { values } = parseArgs({
  options: {
    duration: { type: "string", short: "d" },
    pid: { type: "string", short: "p" },
    libc: { type: "string", default: "libc.so.6" },
  },
});

/** glibc's getaddrinfo error codes (netdb.h). */
const EAI: Record<string, string> = {
  "-1": "EAI_BADFLAGS", "-2": "EAI_NONAME", "-3": "EAI_AGAIN", "-4": "EAI_FAIL", "-5": "EAI_NODATA", "-6": "EAI_FAMILY",
  "-7": "EAI_SOCKTYPE", "-8": "EAI_SERVICE", "-9": "EAI_ADDRFAMILY", "-10": "EAI_MEMORY", "-11": "EAI_SYSTEM", "-12": "EAI_OVERFLOW",
};

/** Which return program goes with which function. */
const PROBES = [
  { symbol: "getaddrinfo", ret: "addrinfoReturn" },
  { symbol: "gethostbyname", ret: "hostentReturn" },
  { symbol: "gethostbyname2", ret: "hostentReturn" },
];

const obj = await load(new URL("./gethostlatency.bpf.ts", import.meta.url));
const links: Link[] = [];
try {
  // The entry program is attached to every function; `pid` makes the kernel fire them for that process only.
  const pid = values.pid ? { pid: Number(values.pid) } : {};
  for (const { symbol, ret } of PROBES) {
    links.push(obj.program("lookupEnter").attach({ binary: values.libc, symbol, ...pid }));
    links.push(obj.program(ret).attach({ binary: values.libc, symbol, ...pid }));
  }
  const events = obj.ringbuf("events", LookupEvent);
  console.log(`gethostlatency: ${links.length} probes on ${values.libc} (${PROBES.map((p) => p.symbol).join(", ")})`);
  console.log(`${"TIME".padEnd(9)}${"PID".padEnd(8)}${"COMM".padEnd(17)}${"FUNCTION".padEnd(15)}${"LATms".padStart(10)}  ${"RESULT".padEnd(13)} HOST`);
  if (values.duration) setTimeout(() => events.close(), Number(values.duration) * 1000).unref();
  process.once("SIGINT", () => events.close());
  for await (const ev of events) {
    const time = new Date().toTimeString().slice(0, 8);
    const ms = (Number(ev.latencyNs) / 1e6).toFixed(3);
    const addrinfo = ev.func === LookupFunction.GETADDRINFO;
    const result = addrinfo ? (ev.ret === 0n ? "ok" : (EAI[String(ev.ret)] ?? `error ${ev.ret}`)) : ev.ret === 0n ? "not found" : "ok";
    const func = addrinfo ? "getaddrinfo" : "gethostbyname*";
    console.log(`${time.padEnd(9)}${String(ev.pid).padEnd(8)}${ev.comm.padEnd(17)}${func.padEnd(15)}${ms.padStart(10)}  ${result.padEnd(13)} ${ev.host}`);
  }
} finally {
  for (const l of links) l.close();
  obj.close();
}
