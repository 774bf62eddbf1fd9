// xdp-firewall: drops IPv4 packets from blocked source prefixes and to blocked TCP/UDP ports at the
// earliest point of the receive path (XDP), prints each drop and the per-verdict counters.
// Usage: npx tsx examples/xdp-firewall/main.ts --interface IF [--block CIDR]... [--block-port udp:53]...
//        [--mode generic|driver] [--interval S] [--duration S]

import { parseArgs } from "node:util";
import { HashMap, load, LpmTrie, parseCidr, PerCpuArrayMap } from "../../src/index.js";
import { bytes, u64 } from "../../src/types/index.js";
import { Counter, DropEvent, DropReason, PortKey, Verdict } from "./common.js";

const { values } = parseArgs({
  options: {
    interface: { type: "string", short: "i" },
    block: { type: "string", short: "b", multiple: true, default: [] },
    "block-port": { type: "string", short: "p", multiple: true, default: [] },
    mode: { type: "string", default: "generic" },
    interval: { type: "string", default: "0" },
    duration: { type: "string", short: "d" },
    quiet: { type: "boolean", short: "q" },
  },
});
if (!values.interface) {
  console.error("usage: xdp-firewall --interface IF [--block CIDR]... [--block-port udp:PORT|tcp:PORT]... [--duration S]");
  process.exit(2);
}

const PROTOS: Record<string, number> = { tcp: 6, udp: 17 };
const ip = (b: Uint8Array) => b.join(".");

const obj = await load(new URL("./xdp-firewall.bpf.ts", import.meta.url));
try {
  // Typed views of the program's maps: the same layouts the kernel side uses.
  const addrs = new LpmTrie(obj.map("blockedAddrs"), bytes(4), u64);
  const ports = new HashMap(obj.map("blockedPorts"), PortKey, u64);
  const counters = new PerCpuArrayMap(obj.map("counters"), Counter);

  for (const cidr of values.block) addrs.set(parseCidr(cidr), 0n);
  for (const spec of values["block-port"]) {
    const [proto = "", port = ""] = spec.split(":");
    if (!(proto in PROTOS) || !/^\d+$/.test(port) || Number(port) > 65535) throw new Error(`--block-port ${spec}: expected tcp:PORT or udp:PORT`);
    ports.set({ proto: PROTOS[proto]!, port: Number(port) }, 0n);
  }

  using link = obj.program("firewall").attach({ interface: values.interface, xdpMode: values.mode as "generic" | "driver" });
  console.log(`xdp-firewall: attached to ${values.interface} (${link.description}); blocking ${values.block.length} prefixes, ${values["block-port"].length} ports`);

  /** Sum of each verdict's counters over the CPUs. */
  const totals = () => {
    const names = Object.keys(Verdict) as (keyof typeof Verdict)[];
    return names.map((name) => {
      const perCpu = counters.get(Verdict[name]) ?? [];
      return { name, packets: perCpu.reduce((a, c) => a + c.packets, 0n), bytes: perCpu.reduce((a, c) => a + c.bytes, 0n) };
    });
  };
  const printTotals = () => {
    console.log(`${"VERDICT".padEnd(14)}${"PACKETS".padStart(10)}${"BYTES".padStart(12)}`);
    for (const t of totals()) console.log(`${t.name.padEnd(14)}${String(t.packets).padStart(10)}${String(t.bytes).padStart(12)}`);
  };

  const drops = obj.ringbuf("drops", DropEvent);
  const interval = Number(values.interval);
  const timer = interval > 0 ? setInterval(printTotals, interval * 1000) : undefined;
  if (values.duration) setTimeout(() => drops.close(), Number(values.duration) * 1000).unref();
  process.once("SIGINT", () => drops.close());
  await drops.listen((ev) => {
    if (values.quiet) return;
    const proto = ev.proto === 6 ? "tcp" : ev.proto === 17 ? "udp" : `proto ${ev.proto}`;
    const why = ev.reason === DropReason.ADDRESS ? "blocked address" : "blocked port";
    console.log(`drop ${proto} ${ip(ev.saddr)}:${ev.sport} -> ${ip(ev.daddr)}:${ev.dport} len ${ev.len} (${why})`);
  });
  clearInterval(timer);

  printTotals();
  for (const [key, hits] of addrs) console.log(`rule ${ip(key.data)}/${key.prefixLen}: ${hits} packets`);
  for (const [key, hits] of ports) console.log(`rule ${key.proto === 6 ? "tcp" : "udp"}:${key.port}: ${hits} packets`);
} finally {
  obj.close();
}
