// Child of kinds-sockets.test.ts, run inside a network namespace (`ip netns exec`): listens on a random
// loopback port, puts the listener into the SockMap passed as fd 3 unless argv[2] is "empty", connects
// to port 7471 (which only the sk_lookup program can steer to the listener), sends a line and prints
// what happened as JSON.

import { createServer, connect, type Socket } from "node:net";
import { socketFd } from "../../src/runtime/links/targets.js";
import { mapUpdate } from "../../src/sys/bpf.js";

const MAP_FD = 3;
const mode = process.argv[2];
const server = createServer();
const received: Buffer[] = [];
server.on("connection", (c: Socket) => c.on("data", (d) => received.push(d)));
await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
const listenPort = (server.address() as { port: number }).port;
if (mode !== "empty") {
  const key = new Uint8Array(4), value = new Uint8Array(8);
  new DataView(value.buffer).setBigUint64(0, BigInt(socketFd(server)), true);
  mapUpdate(MAP_FD, key, value);
}
const result = await new Promise<Record<string, unknown>>((resolve) => {
  const client = connect(7471, "127.0.0.1");
  client.on("error", (e: NodeJS.ErrnoException) => resolve({ error: e.code }));
  client.on("connect", () => {
    const clientPort = client.localPort;
    client.end("via sk_lookup", () => {
      const t0 = Date.now();
      const poll = () => {
        if (Buffer.concat(received).length >= 13 || Date.now() - t0 > 3000) resolve({ clientPort, received: Buffer.concat(received).toString() });
        else setTimeout(poll, 10);
      };
      poll();
    });
  });
});
console.log(JSON.stringify({ listenPort, ...result }));
server.close();
process.exit(0);
