// profile: a sampling CPU profiler. A perf_event program samples every CPU (or one process) at a fixed
// frequency and counts kernel + user stacks; at the end the hottest stacks are printed, symbolized.
// Usage: npx tsx examples/profile/main.ts [--duration S] [--frequency HZ] [--pid PID] [--top N] [--folded]

import { parseArgs } from "node:util";
import { HashMap, load, StackTraceMap } from "../../src/index.js";
import { u64 } from "../../src/types/index.js";
import { SampleKey } from "./common.js";
import { KernelSymbols, ProcessSymbols } from "./symbolize.js";

const { values } = parseArgs({
  options: {
    duration: { type: "string", short: "d", default: "5" },
    frequency: { type: "string", short: "F", default: "99" },
    pid: { type: "string", short: "p" },
    top: { type: "string", short: "n", default: "10" },
    folded: { type: "boolean", short: "f" },
  },
});

const obj = await load(new URL("./profile.bpf.ts", import.meta.url));
try {
  const counts = new HashMap(obj.map("counts"), SampleKey, u64);
  const stacks = new StackTraceMap(obj.map("stacks"));
  const frequency = Number(values.frequency);
  {
    using sampler = obj.program("onSample").attach({ perfEvent: { frequency }, ...(values.pid ? { pid: Number(values.pid) } : {}) });
    console.error(`profile: sampling ${values.pid ? `process ${values.pid}` : "all CPUs"} at ${frequency} Hz for ${values.duration} s (${sampler.description}); Ctrl-C to stop early`);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Number(values.duration) * 1000);
      process.once("SIGINT", () => { clearTimeout(timer); resolve(); });
    });
  } // detached here: the counts below are final

  const kernel = new KernelSymbols();
  const procs = new Map<number, ProcessSymbols>();
  const user = (pid: number) => procs.get(pid) ?? procs.set(pid, new ProcessSymbols(pid)).get(pid)!;
  /** Innermost frame first. */
  const frames = (id: number, sym: (a: bigint) => string) => (id >= 0 ? (stacks.get(id) ?? []).map(sym) : []);

  const entries = [...counts].sort((a, b) => (b[1] > a[1] ? 1 : b[1] < a[1] ? -1 : 0));
  const total = entries.reduce((a, [, c]) => a + c, 0n);
  const idle = obj.variable("idleSamples").get() as bigint;

  if (values.folded) {
    // One line per stack, outermost frame first: the input of flamegraph.pl.
    for (const [key, count] of entries) {
      const u = frames(key.userStack, (a) => user(key.pid).name(a).replace(/\+0x[0-9a-f]+( \(.*\))?$/, "")).reverse();
      const k = frames(key.kernelStack, (a) => kernel.name(a).replace(/\+0x[0-9a-f]+$/, "")).reverse();
      console.log(`${[key.comm, ...u, ...k].join(";")} ${count}`);
    }
  } else {
    for (const [key, count] of entries.slice(0, Number(values.top))) {
      console.log(`${count} samples  ${key.comm} (pid ${key.pid}, tid ${key.tid})`);
      for (const f of frames(key.kernelStack, (a) => kernel.name(a))) console.log(`    ${f}`);
      if (key.kernelStack >= 0 && key.userStack >= 0) console.log("    --");
      for (const f of frames(key.userStack, (a) => user(key.pid).name(a))) console.log(`    ${f}`);
      console.log("");
    }
    console.log(`total ${total} samples in ${entries.length} stacks; ${idle} idle samples`);
  }
} finally {
  obj.close();
}
