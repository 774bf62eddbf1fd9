// Network namespaces and veth pairs for the attach tests, made with iproute2's `ip`: the host end
// stays in this namespace, the peer lives in a fresh namespace; removed after the test, even on failure.

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { haveTool, must, run } from "./loader.js";

/** A veth pair whose peer end lives in its own network namespace. */
export interface VethPair {
  /** Name of the namespace (`ip netns exec <ns> ...`); its file is /run/netns/<ns>. */
  readonly ns: string;
  readonly hostIf: string;
  readonly peerIf: string;
  /** Address of the host end (in this namespace) and of the peer end (in `ns`), /24. */
  readonly hostIp: string;
  readonly peerIp: string;
  /** Interface index of the host end. */
  hostIfindex(): number;
  /** A counter of the host end from /sys/class/net/<if>/statistics. */
  hostStat(name: "rx_packets" | "tx_packets" | "rx_dropped" | "tx_dropped"): number;
  /** Run a command inside the namespace; throws with its stderr on failure. */
  inNs(cmd: string, args: string[]): Promise<string>;
  /** Run a command inside the namespace; resolves with its exit code and output. */
  tryInNs(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Delete the pair and the namespace (idempotent). */
  cleanup(): Promise<void>;
}

const live = new Set<{ ns: string; hostIf: string }>();
let exitHook = false;

function cleanupSync(): void {
  for (const p of live) {
    try { execFileSync("ip", ["link", "del", p.hostIf], { stdio: "ignore" }); } catch { /* gone */ }
    try { execFileSync("ip", ["netns", "del", p.ns], { stdio: "ignore" }); } catch { /* gone */ }
  }
  live.clear();
}

/** Why netns tests cannot run, or undefined. */
export function netnsProblem(): string | undefined {
  return haveTool("ip") ? undefined : "needs iproute2 (`ip`)";
}

/**
 * Create a veth pair `tsb<tag><pid>a` (host) / `...b` (peer in namespace `tsbpf-<tag>-<pid>`), both up,
 * with addresses 198.18.<subnet>.1 (host) and .2 (peer); loopback is up in the namespace.
 */
export async function createVethPair(tag: string, subnet: number): Promise<VethPair> {
  if (!/^[a-z]{1,4}$/.test(tag)) throw new Error(`veth tag must be 1-4 lowercase letters, got ${tag}`);
  const id = process.pid % 1_000_000;
  const ns = `tsbpf-${tag}-${process.pid}`;
  const hostIf = `tsb${tag}${id}a`;
  const peerIf = `tsb${tag}${id}b`;
  const hostIp = `198.18.${subnet}.1`;
  const peerIp = `198.18.${subnet}.2`;
  const entry = { ns, hostIf };
  if (!exitHook) {
    exitHook = true;
    process.on("exit", cleanupSync);
  }
  live.add(entry);
  await run("ip", ["link", "del", hostIf]);
  await run("ip", ["netns", "del", ns]);
  await must("ip", ["netns", "add", ns]);
  await must("ip", ["link", "add", hostIf, "type", "veth", "peer", "name", peerIf]);
  await must("ip", ["link", "set", peerIf, "netns", ns]);
  await must("ip", ["addr", "add", `${hostIp}/24`, "dev", hostIf]);
  await must("ip", ["link", "set", hostIf, "up"]);
  await must("ip", ["-n", ns, "addr", "add", `${peerIp}/24`, "dev", peerIf]);
  await must("ip", ["-n", ns, "link", "set", peerIf, "up"]);
  await must("ip", ["-n", ns, "link", "set", "lo", "up"]);
  return {
    ns, hostIf, peerIf, hostIp, peerIp,
    hostIfindex: () => Number(readFileSync(`/sys/class/net/${hostIf}/ifindex`, "utf8")),
    hostStat: (name) => Number(readFileSync(`/sys/class/net/${hostIf}/statistics/${name}`, "utf8")),
    inNs: (cmd, args) => must("ip", ["netns", "exec", ns, cmd, ...args]),
    tryInNs: (cmd, args) => run("ip", ["netns", "exec", ns, cmd, ...args]),
    cleanup: async () => {
      await run("ip", ["link", "del", hostIf]);
      await run("ip", ["netns", "del", ns]);
      live.delete(entry);
    },
  };
}

/** Send `n` UDP datagrams with `payload` to ip:port from inside namespace `ns` (bash /dev/udp). */
export async function sendUdpFromNs(ns: string, ip: string, port: number, n: number, payload = "tsbpf"): Promise<void> {
  const script = `for i in $(seq 1 ${n}); do printf '%s' '${payload}' > /dev/udp/${ip}/${port}; done`;
  await must("ip", ["netns", "exec", ns, "bash", "-c", script]);
}
