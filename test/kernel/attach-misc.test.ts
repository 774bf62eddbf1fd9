// perf_event sampling on every CPU, netfilter (dropping UDP on the output hook), syscall programs
// run with a test run, and lwt_xmit/lwt_out/lwt_in on routes made by the test — each triggered for real.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { dirname } from "node:path";
import { TsbpfError } from "../../src/errors.js";
import { ProgramSet, unlessKernelRefuses } from "../helpers/program-set.js";
import { attachLwt } from "../../src/runtime/links/lwt.js";
import { attachNetfilter } from "../../src/runtime/links/netfilter.js";
import { attachPerfEvent, PerfEventLinks } from "../../src/runtime/links/sampling.js";
import { LINK_TYPE } from "../../src/sys/constants.js";
import { onlineCpus } from "../../src/sys/system.js";
import { vmlinuxHeader } from "../helpers/toolchain.js";
import { compileAndRead, counterAt, must, sleep, u32, waitFor } from "../helpers/loader.js";
import { createVethPair, netnsProblem, sendUdpFromNs, type VethPair } from "../helpers/netns.js";
import { privileged } from "../helpers/privileges.js";
import { needs } from "../helpers/needs.js";

function busy(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) { /* spin */ }
}

describe("attach: perf_event, netfilter, syscall, lwt", privileged(netnsProblem), () => {
  let coll: ProgramSet;
  let veth: VethPair;
  const hits = (k: number) => counterAt(coll.map("hits"), k) ?? 0;

  before(async () => {
    const { spec } = await compileAndRead("test/fixtures/c/hooks/misc.bpf.c", { includes: [dirname(vmlinuxHeader())] });
    coll = new ProgramSet(spec);
    for (let k = 0; k < 8; k++) coll.map("hits").setRaw(u32(k), new Uint8Array(8));
    veth = await createVethPair("lw", 45);
  });

  after(async () => {
    coll?.close();
    await veth?.cleanup();
  });

  test("perf_event: cpu-clock sampling at 1000 Hz on every CPU; nothing after close", async (t) => {
    if (!needs(t, { programType: "PERF_EVENT", linkType: "PERF_EVENT" })) return;
    const link = coll.program("on_sample").attach({ perfEvent: { frequency: 1000 } });
    assert.ok(link instanceof PerfEventLinks);
    assert.deepEqual([...link.cpus], onlineCpus());
    assert.equal(link.info().type, LINK_TYPE.PERF_EVENT);
    busy(300);
    const n = hits(0);
    assert.ok(n >= 50, `at least 50 samples in 300 ms of spinning, saw ${n}`);
    link.close();
    await sleep(20);
    const m = hits(0);
    busy(100);
    assert.equal(hits(0), m, "no samples after close");
    // One process, by period.
    using one = attachPerfEvent(coll.program("on_sample"), { pid: process.pid, period: 100_000n });
    assert.deepEqual([...one.cpus], [-1]);
    busy(100);
    assert.ok(hits(0) > m, "per-process sampling by period");
    assert.throws(() => one.pin("/sys/fs/bpf/x"), (e: unknown) => e instanceof TsbpfError && e.code === "NOT_A_LINK");
  });

  test("netfilter: drops UDP to one port on the IPv4 output hook while attached", async (t) => {
    if (!needs(t, { programType: "NETFILTER", linkType: "NETFILTER" })) return;
    const rx = createSocket("udp4");
    let got = 0;
    rx.on("message", () => { got++; });
    await new Promise<void>((r) => rx.bind(7371, "127.0.0.1", r));
    const tx = createSocket("udp4");
    const send = () => new Promise<void>((r) => tx.send("nf", 7371, "127.0.0.1", () => r()));
    try {
      const link = coll.program("nf_drop").attach({ netfilter: { family: "ipv4", hook: "output", priority: -100 } });
      const info = link.info();
      assert.equal(info.type, LINK_TYPE.NETFILTER);
      assert.deepEqual(info.netfilter, { pf: 2, hooknum: 3, priority: -100, flags: 0 });
      for (let i = 0; i < 3; i++) await send();
      assert.ok(await waitFor(() => hits(1) === 3), `3 dropped, saw ${hits(1)}`);
      await sleep(20);
      assert.equal(got, 0);
      link.close();
      await send();
      assert.ok(await waitFor(() => got === 1), "delivered after close");
      assert.equal(hits(1), 3);
    } finally {
      rx.close();
      tx.close();
    }
    assert.throws(() => attachNetfilter(coll.program("nf_drop"), { family: "ipv4", hook: "output", priority: -0x80000000 }),
      (e: unknown) => e instanceof TsbpfError && e.code === "INVALID_ARGUMENT");
    assert.throws(() => attachNetfilter(coll.program("nf_drop"), { family: "ipx" as "ipv4", hook: "output", priority: 1 }),
      (e: unknown) => e instanceof TsbpfError && e.code === "INVALID_ARGUMENT");
    assert.throws(() => coll.program("nf_drop").attach(), (e: unknown) => e instanceof TsbpfError && e.code === "ATTACH_NEEDS_TARGET");
  });

  test("syscall program: run with a test run on a context it reads and writes", (t) => {
    if (!needs(t, { programType: "SYSCALL" })) return;
    const ctx = new Uint8Array(24);
    const v = new DataView(ctx.buffer);
    v.setBigUint64(0, 40n, true);
    v.setBigUint64(8, 2n, true);
    // Syscall programs take no ctx_out: the kernel writes the context back into ctx_in.
    const r = coll.program("sum_args").testRun({ ctx, ctxOutSize: 0 });
    assert.equal(r.retval, 7);
    assert.equal(v.getBigUint64(16, true), 42n);
    assert.throws(() => coll.program("sum_args").attach(), (e: unknown) => e instanceof TsbpfError && e.code === "ATTACH_UNSUPPORTED");
  });

  test("lwt_xmit: a route with BPF encapsulation runs the program; closing deletes the route", async (t) => {
    if (!needs(t, { programType: "LWT_XMIT" })) return;
    const route = "198.18.145.0/24";
    const link = attachLwt(coll.program("lwt_count"), { route, interface: veth.hostIf });
    try {
      assert.match(await must("ip", ["route", "show", route]), /encap bpf xmit lwt_count/);
      const tx = createSocket("udp4");
      for (let i = 0; i < 3; i++) await new Promise<void>((r) => tx.send("lwt", 9, "198.18.145.7", () => r()));
      tx.close();
      assert.ok(await waitFor(() => hits(2) === 3), `3 packets through the lwt program, saw ${hits(2)}`);
    } finally {
      link.close();
    }
    assert.equal((await must("ip", ["route", "show", route])).trim(), "");
    const tx = createSocket("udp4");
    await new Promise<void>((r) => tx.send("lwt", 9, "198.18.145.7", () => r()));
    tx.close();
    await sleep(30);
    assert.equal(hits(2), 3, "route gone, program not run");
    assert.throws(() => attachLwt(coll.program("nf_drop"), { route, interface: veth.hostIf }),
      (e: unknown) => e instanceof TsbpfError && e.code === "WRONG_PROGRAM_TYPE");
    assert.throws(() => attachLwt(coll.program("lwt_count"), { route: "not-an-ip/8", interface: veth.hostIf }),
      (e: unknown) => e instanceof TsbpfError && e.code === "INVALID_ARGUMENT");
    assert.throws(() => coll.program("lwt_count").attach({ route, interface: "tsbpf-nope0" }),
      (e: unknown) => e instanceof TsbpfError && e.code === "NO_SUCH_INTERFACE");
  });

  test("lwt_out: locally generated packets on the route run the program; nothing after close", async (t) => {
    if (!needs(t, { programType: "LWT_OUT" })) return;
    const route = "198.18.146.0/24";
    const send = async (n: number) => {
      const tx = createSocket("udp4");
      for (let i = 0; i < n; i++) await new Promise<void>((r) => tx.send("out", 9, "198.18.146.7", () => r()));
      tx.close();
    };
    const link = coll.program("lwt_out_count").attach({ route, interface: veth.hostIf });
    try {
      assert.match(await must("ip", ["route", "show", route]), /encap bpf out lwt_out_count/);
      await send(4);
      assert.ok(await waitFor(() => hits(3) === 4), `4 packets through lwt_out, saw ${hits(3)}`);
    } finally {
      link.close();
    }
    await send(2);
    await sleep(30);
    assert.equal(hits(3), 4, "not run after close");
  });

  test("lwt_in: forwarded packets matching the route run the program on input; nothing after close", async (t) => {
    if (!needs(t, { programType: "LWT_IN" })) return;
    const route = "198.18.147.0/24";
    // Packets from the namespace to 198.18.147.7 via the host: the host routes them on input,
    // which needs forwarding on the receiving interface.
    await must("sysctl", ["-qw", `net.ipv4.conf.${veth.hostIf}.forwarding=1`]);
    await veth.inNs("ip", ["route", "replace", route, "via", veth.hostIp]);
    const send = (n: number) => sendUdpFromNs(veth.ns, "198.18.147.7", 9, n, "in");
    const link = coll.program("lwt_in_count").attach({ route, interface: veth.hostIf });
    try {
      assert.match(await must("ip", ["route", "show", route]), /encap bpf in lwt_in_count/);
      await send(3);
      assert.ok(await waitFor(() => hits(4) === 3), `3 packets through lwt_in, saw ${hits(4)}`);
    } finally {
      link.close();
    }
    await send(2);
    await sleep(30);
    assert.equal(hits(4), 3, "not run after close");
  });
});
