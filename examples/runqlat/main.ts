// runqlat: run-queue latency — how long runnable threads wait for a CPU — as a log2 histogram, for the
// whole machine or one process, in one histogram or per thread/process. Kernel half: runqlat.bpf.ts.
// Usage: npx tsx examples/runqlat/main.ts [--duration S] [--interval S] [--pid PID] [--per-thread | --per-process] [--ms]

import { parseArgs } from "node:util";
import { HashMap, load } from "../../src/index.js";
import { u32 } from "../../src/types/index.js";
import { Hist } from "./common.js";

const { values } = parseArgs({
  options: {
    duration: { type: "string", short: "d" },
    interval: { type: "string", short: "i" },
    pid: { type: "string", short: "p" },
    "per-thread": { type: "boolean", short: "L" },
    "per-process": { type: "boolean", short: "P" },
    ms: { type: "boolean", short: "m" },
  },
});
const unit = values.ms ? "msecs" : "usecs";

/** bcc-style text histogram of log2 buckets, up to the highest non-empty one. */
function formatHistogram(slots: readonly bigint[], unitName: string): string {
  let last = -1;
  slots.forEach((c, i) => { if (c > 0n) last = i; });
  if (last < 0) return `${unitName.padStart(10)}: no samples`;
  const max = slots.reduce((a, b) => (b > a ? b : a), 0n);
  const width = 40;
  const lines = [`${unitName.padStart(15)}${"".padEnd(10)}: count     distribution`];
  for (let i = 0; i <= last; i++) {
    const lo = i === 0 ? 0n : 1n << BigInt(i);
    const hi = (1n << BigInt(i + 1)) - 1n;
    const c = slots[i]!;
    const stars = max === 0n ? 0 : Number((c * BigInt(width)) / max);
    lines.push(`${String(lo).padStart(10)} -> ${String(hi).padEnd(10)} : ${String(c).padEnd(9)} |${"*".repeat(stars).padEnd(width)}|`);
  }
  const total = slots.reduce((a, b) => a + b, 0n);
  lines.push(`${total} samples`);
  return lines.join("\n");
}

const obj = await load(new URL("./runqlat.bpf.ts", import.meta.url));
try {
  if (values.pid) obj.variable("targetPid").set(Number(values.pid));
  const per = values["per-thread"] ? "tid" : values["per-process"] ? "pid" : undefined;
  if (per) obj.variable("perKey").set(per === "tid" ? 1 : 2);
  if (values.ms) obj.variable("milliseconds").set(1);
  const hists = new HashMap(obj.map("hists"), u32, Hist);

  using wakeup = obj.program("onWakeup").attach();
  using wakeupNew = obj.program("onWakeupNew").attach();
  using sched = obj.program("onSwitch").attach();
  console.log(`runqlat: tracing run queue latency (${wakeup.description}, ${wakeupNew.description}, ${sched.description})${values.duration ? ` for ${values.duration} s` : ""}; Ctrl-C to end`);

  const print = () => {
    const entries = [...hists].sort(([a], [b]) => a - b);
    if (entries.length === 0) console.log(`${unit.padStart(10)}: no samples`);
    for (const [key, h] of entries) {
      if (per) console.log(`\n${per} = ${key}`);
      console.log(formatHistogram(h.slots, unit));
    }
  };

  await new Promise<void>((resolve) => {
    const interval = values.interval ? Number(values.interval) * 1000 : 0;
    const timer = interval > 0 ? setInterval(() => { print(); hists.clear(); console.log(""); }, interval) : undefined;
    const stop = values.duration ? setTimeout(() => end(), Number(values.duration) * 1000) : undefined;
    const end = () => { clearInterval(timer); clearTimeout(stop); resolve(); };
    process.once("SIGINT", end);
  });
  print();
} finally {
  obj.close();
}
