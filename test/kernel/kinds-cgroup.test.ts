// The cgroup program kinds written in TypeScript (test/fixtures/ts/kinds/): each is compiled, attached
// to a scratch cgroup and triggered by a process in it (TCP connections, connect/bind/sendmsg, socket
// creation, sysctl reads and writes, sockopts, device opens); the assertions are on what that process
// sees and on the programs' maps.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { createServer, type AddressInfo } from "node:net";
import { basename, resolve } from "node:path";
import { loadCollection, readCollectionSpec } from "../../src/index.js";
import type { Collection } from "../../src/runtime/collection.js";
import { createCgroup, type TestCgroup } from "../helpers/cgroup.js";
import { REPO_ROOT } from "../helpers/toolchain.js";
import { compileTs } from "../helpers/compile-ts.js";
import { counterAt, hostProgram, u32 } from "../helpers/loader.js";
import { nettool } from "../helpers/nettool.js";
import { privileged } from "../helpers/privileges.js";

const KINDS = resolve(REPO_ROOT, "test", "fixtures", "ts", "kinds");
const loadKind = (file: string): Collection => loadCollection(readCollectionSpec(compileTs(resolve(KINDS, file))));

/** Entry 0 of an array map as a DataView. */
function entry(coll: Collection, map: string, key = 0): DataView {
  const raw = coll.map(map).getRaw(u32(key));
  assert.ok(raw, `${map}[${key}] exists`);
  return new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
}

/** Node code run inside the cgroup: a loopback echo server and a client exchanging `rounds` messages. */
const TCP_ECHO = `
const net = require("node:net");
const rounds = Number(process.argv[1]);
const srv = net.createServer((s) => { s.on("data", (d) => s.write(d)); s.on("end", () => s.end()); });
srv.listen(0, "127.0.0.1", () => {
  let n = 0, port = 0;
  const c = net.connect(srv.address().port, "127.0.0.1", () => { port = c.localPort; c.write("ping0"); });
  c.on("data", () => { if (++n === rounds) c.end(); else c.write("ping" + n); });
  c.on("close", () => { console.log("done " + port + " " + n + " " + srv.address().port); srv.close(); });
});`;

/** `sockopt-tool LEVEL NAME VALUE`: setsockopt then getsockopt of an int option on a TCP socket. */
const SOCKOPT_TOOL = `#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
int main(int argc, char **argv)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), level, name, v, out = -1;
	socklen_t len = sizeof out;
	if (argc != 4 || fd < 0) return 2;
	level = atoi(argv[1]); name = atoi(argv[2]); v = atoi(argv[3]);
	if (setsockopt(fd, level, name, &v, sizeof v) < 0) printf("set:%s ", strerror(errno)); else printf("set:ok ");
	if (getsockopt(fd, level, name, &out, &len) < 0) printf("get:%s\\n", strerror(errno)); else printf("get:%d len:%u\\n", out, len);
	return 0;
}
`;

describe("kinds: cgroup programs in TypeScript", privileged(), () => {
  let cg: TestCgroup;
  before(() => { cg = createCgroup("kcg-kinds"); });
  after(() => cg?.cleanup());

  test("sockOps: per-op counts, callback flags, RTT samples and a TCP header option written and parsed", async () => {
    using coll = loadKind("sock-ops.bpf.ts");
    {
      using _link = coll.program("tcpEvents").attach({ cgroup: cg.path });
      const r = await cg.run(process.execPath, ["-e", TCP_ECHO, "20"]);
      assert.equal(r.code, 0, r.stderr);
      const [, port, n, serverPort] = r.stdout.trim().split(" ");
      assert.equal(n, "20");
      const ops = (op: number) => counterAt(coll.map("ops"), op) ?? 0;
      assert.equal(ops(3), 1, "TCP_CONNECT_CB: one active open");
      assert.equal(ops(4), 1, "ACTIVE_ESTABLISHED_CB");
      assert.equal(ops(5), 1, "PASSIVE_ESTABLISHED_CB");
      assert.equal(ops(11), 1, "TCP_LISTEN_CB");
      assert.ok(ops(12) >= 1, `RTT_CB ran (${ops(12)})`);
      assert.ok(ops(13) >= 20 && ops(14) >= 20 && ops(15) >= 20, `header option callbacks ran: parse ${ops(13)}, len ${ops(14)}, write ${ops(15)}`);
      const s = entry(coll, "stats");
      assert.equal(s.getBigInt64(0, true), 0n, "setCbFlags succeeded");
      assert.equal(s.getUint32(8, true), 8 | 64 | 16, "cbFlags reads back what was set");
      assert.ok(s.getUint32(12, true) > 0 && s.getUint32(12, true) < 1_000_000, `srtt ${s.getUint32(12, true)} us`);
      assert.ok(s.getUint32(16, true) >= 1, "snd_cwnd");
      assert.ok(s.getUint32(20, true) >= 20 && s.getUint32(24, true) >= 20, "options reserved and written for each data packet");
      assert.ok(s.getUint32(28, true) >= 20, `the option was found in received headers (${s.getUint32(28, true)})`);
      assert.equal(s.getUint32(32, true), 0x3412, "its data bytes came through");
      assert.equal(s.getUint32(36, true), Number(port), "localPort is the client's port, in host order");
      assert.equal(s.getUint32(40, true), Number(serverPort), "remotePort, network order in the high half: ntohl gives the server's port");
    }
    const before = counterAt(coll.map("ops"), 4);
    await cg.run(process.execPath, ["-e", TCP_ECHO, "1"]);
    assert.equal(counterAt(coll.map("ops"), 4), before, "not run after the link is closed");
  });

  test("cgroupSockAddr: connect4, connect6 and sendmsg4 rewrite the destination, bind4 refuses a port", async () => {
    using coll = loadKind("cgroup-sock-addr.bpf.ts");
    const tcp = createServer((c) => c.destroy());
    await new Promise<void>((r) => tcp.listen(0, "127.0.0.1", r));
    const udp = createSocket("udp4");
    udp.on("message", (msg, from) => udp.send(msg, from.port, from.address));
    await new Promise<void>((r) => udp.bind(0, "127.0.0.1", r));
    const tool = async (...args: string[]) => (await cg.run(nettool(), args)).stdout.trim();
    try {
      const tcpPort = (tcp.address() as AddressInfo).port, udpPort = udp.address().port;
      coll.variable("fromPort").set(7451);
      coll.variable("deniedPort").set(7452);
      const hits = (slot: number) => counterAt(coll.map("hits"), slot) ?? 0;
      {
        using _c = coll.program("redirectConnect").attach({ cgroup: cg.path });
        coll.variable("toPort").set(tcpPort);
        assert.equal(await tool("tcp", "10.9.9.9", "7451"), `ok peer=127.0.0.1:${tcpPort}`);
        assert.equal(await tool("tcp", "127.0.0.1", "7451"), "connect:ECONNREFUSED", "another address is left alone");
        assert.deepEqual([hits(0), hits(3)], [1, 2]);
        const c = entry(coll, "caller");
        assert.equal(c.getUint32(0, true), 0, "uid (bpf.uid in a sock_addr program)");
        assert.deepEqual([c.getUint32(4, true), c.getUint32(8, true), c.getUint32(12, true)], [2, 1, 6], "AF_INET, SOCK_STREAM, IPPROTO_TCP");
        const comm = Buffer.from(c.buffer, c.byteOffset + 16, 16).toString("latin1").replace(/\0.*$/s, "");
        assert.equal(comm, basename(nettool()).slice(0, 15));
      }
      assert.equal(await tool("tcp", "127.0.0.1", String(tcpPort)), `ok peer=127.0.0.1:${tcpPort}`);
      assert.equal(hits(3), 2, "not run after the link is closed");
      {
        using _s = coll.program("redirectSendmsg").attach({ cgroup: cg.path });
        coll.variable("toPort").set(udpPort);
        assert.equal(await tool("udp", "10.9.9.9", "7451"), `reply from 127.0.0.1:${udpPort}`);
        assert.equal(hits(1), 1);
      }
      {
        using _b = coll.program("denyBind").attach({ cgroup: cg.path });
        assert.equal(await tool("bind", "7452"), "bind:EPERM");
        assert.equal(await tool("bind", "7453"), "bound 7453");
        assert.equal(hits(2), 1);
      }
      assert.equal(await tool("bind", "7452"), "bound 7452");
      // connect6: [::1]:7451 goes to the IPv6 listener's port (userIp6 elements read and written).
      const tcp6 = createServer((c) => c.destroy());
      await new Promise<void>((r) => tcp6.listen(0, "::1", r));
      try {
        coll.variable("toPort").set((tcp6.address() as AddressInfo).port);
        using _c6 = coll.program("portConnect6").attach({ cgroup: cg.path });
        const connect6 = `const c = require("node:net").connect(7451, "::1", () => { console.log("ok " + c.remotePort); c.destroy(); }); c.on("error", (e) => console.log(e.code));`;
        const r = await cg.run(process.execPath, ["-e", connect6]);
        assert.equal(r.stdout.trim(), `ok ${(tcp6.address() as AddressInfo).port}`);
      } finally {
        tcp6.close();
      }
    } finally {
      tcp.close();
      udp.close();
    }
  });

  test("cgroupSock: sock_create refuses UDP and marks TCP sockets, sock_release counts, post_bind4 refuses a port with EACCES", async () => {
    using coll = loadKind("cgroup-sock.bpf.ts");
    const tool = async (...args: string[]) => (await cg.run(nettool(), args)).stdout.trim();
    const hits = (slot: number) => counterAt(coll.map("hits"), slot) ?? 0;
    const bound = (slot: number) => counterAt(coll.map("bound"), slot);
    {
      using _c = coll.program("onCreate").attach({ cgroup: cg.path });
      using _r = coll.program("onRelease").attach({ cgroup: cg.path });
      assert.equal(await tool("udp", "127.0.0.1", "7461"), "socket:EPERM");
      assert.equal(await tool("sockopt"), "set:ok get:42", "SO_MARK reads the mark sock_create set");
      assert.deepEqual([hits(1), hits(2), hits(3)], [1, 1, 1], "one TCP socket made and released, one UDP socket refused");
      assert.equal(bound(2), 1, "uid 0 (+1) from bpf.uid()");
    }
    assert.equal(await tool("sockopt"), "set:ok get:0");
    assert.equal(hits(1), 1, "not run after the link is closed");
    coll.variable("deniedPort").set(7462);
    {
      using _b = coll.program("onBind").attach({ cgroup: cg.path });
      assert.equal(await tool("bind", "7463"), "bound 7463");
      assert.deepEqual([bound(0), bound(1)], [0x0100007f, 7463], "127.0.0.1 in network order, port in host order");
      assert.equal(await tool("bind", "7462"), "bind:EACCES");
      assert.equal(hits(4), 1);
    }
  });

  test("cgroupSysctl: a read of kernel/ostype is refused, a write of tcp_fin_timeout is seen and rewritten", async () => {
    using coll = loadKind("cgroup-sysctl.bpf.ts");
    const text = (v: DataView, at: number) => Buffer.from(v.buffer, v.byteOffset + at, 16).toString("latin1").replace(/\0.*$/s, "");
    {
      using _l = coll.program("sysctlGuard").attach({ cgroup: cg.path });
      const r = await cg.run("cat", ["/proc/sys/kernel/ostype"]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /Operation not permitted/);
      assert.ok(entry(coll, "seen").getBigUint64(16, true) >= 1n, "the read was refused (cat may try twice: copy_file_range, then read)");
      // In a network namespace of its own, so the host's value is untouched.
      const w = await cg.run("unshare", ["-n", "sh", "-c", "echo 100 > /proc/sys/net/ipv4/tcp_fin_timeout && cat /proc/sys/net/ipv4/tcp_fin_timeout"]);
      assert.equal(w.code, 0, w.stderr);
      assert.equal(w.stdout.trim(), "33", "the written value was replaced");
      const s = entry(coll, "seen");
      assert.equal(s.getBigUint64(8, true), 2n, "two writes: the rewritten one counts 2 bytes written, so sh writes the last 2 again");
      assert.ok(s.getBigUint64(0, true) >= 2n, "reads counted");
      assert.equal(s.getBigInt64(24, true), 0n, "setNewValue succeeded");
      assert.equal(text(s, 32), "60\n", "the old value (a new namespace's default)");
      assert.equal(text(s, 48), "100\n", "the value the process wrote");
    }
    assert.equal((await cg.run("cat", ["/proc/sys/kernel/ostype"])).stdout.trim(), "Linux");
  });

  test("cgroupSockopt: a socket option implemented in BPF (setsockopt stores, getsockopt answers), others refused", async () => {
    using coll = loadKind("cgroup-sockopt.bpf.ts");
    const tool = async (...args: string[]) => (await cg.run(hostProgram("tsbpf-kcg-sockopt", SOCKOPT_TOOL), args)).stdout.trim();
    const custom = String(0x7e57);
    assert.match(await tool(custom, "1", "77"), /^set:(Protocol not available|Operation not supported) get:/, "the kernel has no such option");
    {
      using _s = coll.program("setCustom").attach({ cgroup: cg.path });
      using _g = coll.program("getCustom").attach({ cgroup: cg.path });
      assert.equal(await tool(custom, "1", "77"), "set:ok get:77 len:4");
      assert.match(await tool(custom, "2", "77"), /^set:Operation not permitted /, "other names at that level are refused");
      assert.equal(await tool("1", "12", "3"), "set:ok get:3 len:4", "SO_PRIORITY passes through");
      assert.deepEqual([counterAt(coll.map("hits"), 0), counterAt(coll.map("hits"), 1)], [1, 1]);
      assert.ok(entry(coll, "values", 1).getInt32(0, true) < 0, "the kernel's own getsockopt failed before the program answered");
    }
  });

  test("cgroupDevice: /dev/null may be read, not written (EACCES through setRetval)", async () => {
    using coll = loadKind("cgroup-device.bpf.ts");
    const seen = (slot: number) => counterAt(coll.map("seen"), slot) ?? 0;
    {
      using _l = coll.program("devGuard").attach({ cgroup: cg.path });
      assert.equal((await cg.run("cat", ["/dev/null"])).code, 0);
      assert.equal(seen(2), 1, "one read access");
      const w = await cg.run("sh", ["-c", "echo x > /dev/null"]);
      assert.notEqual(w.code, 0);
      assert.match(w.stderr, /Permission denied/);
      assert.deepEqual([seen(4), seen(0)], [1, 1], "one write access, refused");
    }
    assert.equal((await cg.run("sh", ["-c", "echo x > /dev/null"])).code, 0, "writable again after close");
    assert.equal(seen(0), 1);
  });
});
