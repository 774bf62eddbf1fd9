// examples/tcpstates for real: main.ts (JSON output, filtered on one port) watches TCP connections this
// test makes over IPv4 and IPv6 loopback; each socket's state changes arrive in order with the right
// addresses, ports, process and time spent in the established state.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, connect, type Server, type AddressInfo } from "node:net";
import { privileged } from "../helpers/privileges.js";
import { runExample, sleep } from "./examples-run.js";

interface Row { skaddr: string; pid: number; comm: string; laddr: string; lport: number; raddr: string; rport: number; oldstate: string; newstate: string; ms: number }

function listen(host: string): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer((c) => c.on("data", () => {}));
    server.listen(0, host, () => resolve(server));
  });
}

/** Connect, stay established for `holdMs`, then close from the client side; resolves with the client's local port. */
function connection(host: string, port: number, holdMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const c = connect(port, host, async () => {
      const local = c.localPort!;
      await sleep(holdMs);
      c.end("bye");
      c.on("close", () => resolve(local));
    });
    c.on("error", reject);
  });
}

describe("examples/tcpstates", privileged(), () => {
  for (const host of ["127.0.0.1", "::1"]) {
    test(`follows a ${host} connection through every state`, async () => {
      const server = await listen(host);
      const port = (server.address() as AddressInfo).port;
      const run = runExample("tcpstates", ["--json", "--port", String(port), "--duration", "30"]);
      try {
        // main.ts prints nothing before the first event in JSON mode: wait for it to be attached by
        // making a throwaway connection until its events show up.
        const deadline = Date.now() + 30_000;
        while (!run.lines.some((l) => l.includes("SYN_SENT")) && Date.now() < deadline) {
          await connection(host, port, 0);
          await sleep(300);
        }
        const before = run.lines.length;
        const clientPort = await connection(host, port, 200);
        server.close();
        await run.waitForLine(/"oldstate":"LISTEN","newstate":"CLOSE"/, 10_000);
        const { code, lines, stderr } = await run.stop();
        assert.equal(code, 0, stderr);
        const rows: Row[] = lines.slice(before).map((l) => JSON.parse(l) as Row);
        assert.ok(rows.every((r) => r.lport === port || r.rport === port || r.lport === 0), "the kernel filter keeps only this port");

        // The client socket: found by its ports once connected, then followed by its address.
        const clientSk = rows.find((r) => r.lport === clientPort && r.rport === port)?.skaddr;
        assert.ok(clientSk, `client socket in\n${lines.join("\n")}`);
        const client = rows.filter((r) => r.skaddr === clientSk);
        assert.deepEqual(client.map((r) => `${r.oldstate}>${r.newstate}`),
          ["CLOSE>SYN_SENT", "SYN_SENT>ESTABLISHED", "ESTABLISHED>FIN_WAIT1", "FIN_WAIT1>FIN_WAIT2", "FIN_WAIT2>CLOSE"]);
        assert.equal(client[0]!.pid, process.pid, "connect() ran in this process");
        for (const r of client.slice(1)) {
          assert.equal(r.laddr, host);
          assert.equal(r.raddr, host);
        }
        assert.ok(client[2]!.ms >= 150, `established for ~200 ms, got ${client[2]!.ms}`);

        // The accepted socket on the server side.
        const serverSk = rows.find((r) => r.lport === port && r.rport === clientPort)?.skaddr;
        assert.ok(serverSk && serverSk !== clientSk);
        const accepted = rows.filter((r) => r.skaddr === serverSk);
        assert.deepEqual(accepted.map((r) => `${r.oldstate}>${r.newstate}`),
          ["LISTEN>SYN_RECV", "SYN_RECV>ESTABLISHED", "ESTABLISHED>CLOSE_WAIT", "CLOSE_WAIT>LAST_ACK", "LAST_ACK>CLOSE"]);

        // The listener itself closes.
        assert.ok(rows.some((r) => r.lport === port && r.rport === 0 && r.oldstate === "LISTEN" && r.newstate === "CLOSE"));
      } finally {
        server.close();
        await run.stop();
      }
    });
  }
});
