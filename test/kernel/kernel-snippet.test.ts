// The snippet builder (test/helpers/kernel-snippet.ts) itself: each test-runnable kind's context as the
// IR evaluator models it agrees with the kernel's test run, map expectations are read from both, and
// a failure names the half that disagreed and shows the numbered snippet and the program's assembly.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { kernel, withKernelImport } from "../helpers/kernel-snippet.js";
import { privileged } from "../helpers/privileges.js";

/** An Ethernet frame of `len` bytes: dst 00:..:00 (lo's address), IPv4, payload 0, 1, 2... */
function frame(len: number): Uint8Array {
  const b = Uint8Array.from({ length: len }, (_, i) => (i < 14 ? 0 : i & 0xff));
  b[12] = 0x08;
  return b;
}

test("the tsbpf/kernel import lists the kernel names the snippet uses, not property names or its own declarations", () => {
  const src = withKernelImport("const In = struct({ key: u32 });\nexport const p = xdp((ctx) => XdpAction.PASS);");
  assert.equal(src.split("\n").at(-2), 'import { XdpAction, struct, u32, xdp } from "tsbpf/kernel";');
  const own = 'import { xdp } from "tsbpf/kernel";\nexport const p = xdp(() => 2);';
  assert.equal(withKernelImport(own), own, "a snippet that imports the module is kept as written");
});

test("expectDiagnostic on a snippet that compiles shows its assembly", () => {
  assert.throws(
    () => kernel`export const p = xdp(() => XdpAction.PASS);`.expectDiagnostic("TSBPF1103", /x/),
    (e: Error) => /expected TSBPF1103, but the snippet compiled/.test(e.message) && /--- p \(xdp\) ---\n0: /.test(e.message),
  );
});

test("expectDiagnostic locates the diagnostic on the snippet's own lines and refuses a second one", () => {
  const d = kernel`export const p = xdp((ctx) => {
  const b: u8 = 300;
  return XdpAction.PASS;
});`.expectDiagnostic("TSBPF1103", /300 does not fit in u8/, { line: 2, column: 17 });
  assert.equal(d.line, 2);
  assert.throws(
    () => kernel`export const p = xdp((ctx) => {
  const a: u8 = 300;
  const b: i8 = 200;
  return XdpAction.PASS;
});`.expectDiagnostic("TSBPF1103", /300/),
    (e: Error) => /exactly one diagnostic \(TSBPF1103\), got 2/.test(e.message) && /2 \|   const a: u8 = 300;/.test(e.message),
  );
});

describe("kernel snippets on the IR evaluator and BPF_PROG_TEST_RUN", privileged(), () => {
  test("XDP: ctx.len and packet loads, a map written by the program", async () => {
    const s = kernel`
const counts = new HashMap({ maxEntries: 4, key: u32, value: u64 });
const Hdr = struct({ proto: u16 });
export const p = xdp((ctx) => {
  const h = ctx.load(Hdr, 12);
  if (h === null) return XdpAction.ABORTED;
  counts.update(h.proto, BigInt(ctx.len) + BigInt(ctx.ingressIfindex) * 1000n);
  return ctx.len > 20 ? XdpAction.DROP : XdpAction.PASS;
});`;
    await s.xdp().expectReturn({ packet: frame(30) }, 1).expectMap("counts", 8, 1030n).expectMap("counts", 0, null);
    await s.xdp("p").expectReturn({ packet: frame(14) }, 2).expectMap("counts", 8, 1014n);
  });

  test("TC: len, protocol, pkt_type, and mark and priority given as the context", async () => {
    await kernel`export const f = tc((ctx) => ctx.len + (ctx.protocol === 8 ? 100 : 0) + ctx.pktType * 1000 + (ctx.mark === 7 ? 10000 : 0) + ctx.priority * 100000);`
      .tc().expectReturn({ packet: frame(60), skb: { mark: 7, priority: 2 } }, 60 + 100 + 10000 + 200000);
  });

  test("socket filter: the Ethernet header is stripped; skb_load_bytes reads the network header", async () => {
    await kernel`
const B = struct({ a: u8, b: u8 });
export const f = socketFilter((ctx) => {
  const v = ctx.load(B, 1);
  if (v === null) return 0;
  return ctx.len * 1000 + v.a * 10 + v.b;
});`.socketFilter().expectReturn({ packet: frame(60) }, 46 * 1000 + 15 * 10 + 16);
  });

  test("cgroup_skb: the network header first, as for socket filters", async () => {
    await kernel`export const f = cgroupSkb("ingress", (ctx) => (ctx.len === 46 && ctx.protocol === 8 ? 1 : 0));`
      .cgroupSkb().expectReturn({ packet: frame(60) }, 1);
  });

  test("raw tracepoint: the arguments are the context", async () => {
    await kernel`export const r = rawTracepoint("sys_enter", (ctx) => (ctx.arg(1) === 59n ? 1 : 0));`
      .rawTracepoint().expectReturn({ args: [0n, 59n] }, 1);
  });

  test("a disagreement names the half that disagreed, with the numbered snippet and the assembly", async () => {
    await assert.rejects(
      async () => {
        await kernel`export const p = xdp((ctx) => (ctx.len > 10 ? XdpAction.DROP : XdpAction.PASS));`.xdp().expectReturn({ packet: frame(20) }, 2);
      },
      (e: Error) =>
        e.message.includes("[IR] returned 1, expected 2") && e.message.includes("[kernel] returned 1, expected 2") &&
        e.message.includes("1 | export const p = xdp(") && /--- p \(xdp\) ---\n0: /.test(e.message),
    );
  });

  test("a kind that cannot be test-run is refused with the alternative", () => {
    const s = kernel`export const t = tracepoint("syscalls/sys_enter_getpid", () => 0);`;
    assert.throws(() => s.tracepoint().expectReturn({}, 0), /cannot be test-run.*expectLoads/);
    s.tracepoint().expectLoads();
  });
});
