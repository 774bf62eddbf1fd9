// examples/xdp-firewall for real: main.ts attaches to the host end of a veth pair; UDP datagrams sent
// from the peer namespace are passed, dropped by source prefix (LPM trie) or by port (hash) as configured,
// which the host's sockets, the printed drops and the per-CPU counters all agree on.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createSocket, type Socket } from "node:dgram";
import { createVethPair, netnsProblem, type VethPair } from "../helpers/netns.js";
import { privileged } from "../helpers/privileges.js";
import { runExample } from "./examples-run.js";

const SUBNET = 61;
const OPEN_PORT = 40061;
const BLOCKED_PORT = 40062;
const N = 5;
const PAYLOAD = "tsbpf-xdp-firewall"; // 18 bytes: IPv4 frame of 14 + 20 + 8 + 18 = 60 bytes

/** Listen on ip:port and count datagrams by source address. */
function receiver(ip: string, port: number): Promise<{ sock: Socket; from: Map<string, number> }> {
  return new Promise((resolve, reject) => {
    const sock = createSocket("udp4");
    const from = new Map<string, number>();
    sock.on("message", (_m, rinfo) => from.set(rinfo.address, (from.get(rinfo.address) ?? 0) + 1));
    sock.once("error", reject);
    sock.bind(port, ip, () => resolve({ sock, from }));
  });
}

/** In the namespace: send `n` datagrams from each [source, port] pair to the host end. */
async function sendFromPeer(veth: VethPair, flows: [string, number][], n: number): Promise<void> {
  const script = `
    const dgram = require("node:dgram");
    const flows = ${JSON.stringify(flows)};
    (async () => {
      for (const [src, port] of flows) {
        const s = dgram.createSocket("udp4");
        await new Promise((r) => s.bind(0, src, r));
        for (let i = 0; i < ${n}; i++) await new Promise((r, j) => s.send(${JSON.stringify(PAYLOAD)}, port, ${JSON.stringify(veth.hostIp)}, (e) => (e ? j(e) : r())));
        s.close();
      }
    })().catch((e) => { console.error(e); process.exit(1); });`;
  await veth.inNs(process.execPath, ["-e", script]);
}

describe("examples/xdp-firewall", privileged(netnsProblem), () => {
  let veth: VethPair;
  const blockedSrc = `198.18.${SUBNET}.3`;
  before(async () => {
    veth = await createVethPair("xfw", SUBNET);
    await veth.inNs("ip", ["addr", "add", `${blockedSrc}/24`, "dev", veth.peerIf]);
  });
  after(async () => {
    await veth?.cleanup();
  });

  test("drops blocked sources and ports, passes the rest, and counts both", async () => {
    const open = await receiver(veth.hostIp, OPEN_PORT);
    const closed = await receiver(veth.hostIp, BLOCKED_PORT);
    const run = runExample("xdp-firewall", [
      "--interface", veth.hostIf, "--block", `${blockedSrc}/32`, "--block-port", `udp:${BLOCKED_PORT}`,
      "--block-port", "tcp:1", "--duration", "60",
    ]);
    try {
      await run.waitForLine(/^xdp-firewall: attached to/);
      await sendFromPeer(veth, [[veth.peerIp, OPEN_PORT], [blockedSrc, OPEN_PORT], [veth.peerIp, BLOCKED_PORT]], N);
      const deadline = Date.now() + 5000;
      while ((open.from.get(veth.peerIp) ?? 0) < N && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      await run.waitForLine(new RegExp(`:${BLOCKED_PORT} len 60 \\(blocked port\\)`), 5000).catch(() => "");
      await new Promise((r) => setTimeout(r, 200));
      const { code, lines, stderr } = await run.stop();
      assert.equal(code, 0, stderr);
      const out = lines.join("\n");

      // What the host's sockets saw.
      assert.equal(open.from.get(veth.peerIp), N, "allowed flow delivered");
      assert.equal(open.from.get(blockedSrc) ?? 0, 0, "blocked source never reaches the socket");
      assert.equal(closed.from.size, 0, "blocked port never reaches the socket");

      // What the program reported: one drop line per packet, with addresses and ports.
      const byAddr = lines.filter((l) => l.startsWith(`drop udp ${blockedSrc}:`) && l.endsWith(`-> ${veth.hostIp}:${OPEN_PORT} len 60 (blocked address)`));
      const byPort = lines.filter((l) => l.startsWith(`drop udp ${veth.peerIp}:`) && l.endsWith(`-> ${veth.hostIp}:${BLOCKED_PORT} len 60 (blocked port)`));
      assert.equal(byAddr.length, N, out);
      assert.equal(byPort.length, N, out);

      // The per-CPU counters, summed in userspace: each frame is 14 (Ethernet) + 20 (IPv4) + 8 (UDP) + 18 bytes.
      const row = (name: string) => {
        const m = new RegExp(`^${name}\\s+(\\d+)\\s+(\\d+)$`, "m").exec(out);
        assert.ok(m, `${name} row in\n${out}`);
        return { packets: Number(m[1]), bytes: Number(m[2]) };
      };
      assert.deepEqual(row("DROP_ADDRESS"), { packets: N, bytes: N * 60 });
      assert.deepEqual(row("DROP_PORT"), { packets: N, bytes: N * 60 });
      assert.ok(row("PASS").packets >= N, "the allowed datagrams were counted as passed");
      assert.match(out, new RegExp(`^rule ${blockedSrc.replaceAll(".", "\\.")}/32: ${N} packets$`, "m"));
      assert.match(out, new RegExp(`^rule udp:${BLOCKED_PORT}: ${N} packets$`, "m"));
      assert.match(out, /^rule tcp:1: 0 packets$/m);
    } finally {
      await run.stop();
      open.sock.close();
      closed.sock.close();
    }
  });
});
