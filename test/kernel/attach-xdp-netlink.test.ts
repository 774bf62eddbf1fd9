// XDP through netlink (RTM_SETLINK IFLA_XDP) on a veth pair: generic and driver modes, EBUSY on a
// second attach, replacing the program (update and expected-fd replace), detach restoring delivery.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { SyscallError, TsbpfError } from "../../src/errors.js";
import { loadCollection, type Collection } from "../../src/runtime/collection.js";
import { attachXdp, xdpState } from "../../src/runtime/links/xdp.js";
import { progInfo } from "../../src/sys/bpf.js";
import { compileAndRead, counterAt, sleep, waitFor } from "../helpers/loader.js";
import { createVethPair, netnsProblem, sendUdpFromNs, type VethPair } from "../helpers/netns.js";
import { privileged } from "../helpers/privileges.js";

const PORT = 7357; // the port attach_xdp.bpf.c drops

describe("attach: XDP via netlink", privileged(netnsProblem), () => {
  let veth: VethPair;
  let a: Collection;
  let b: Collection;
  const matched = (c: Collection) => counterAt(c.map("xdp_counts"), 0) ?? 0;
  const id = (c: Collection) => progInfo(c.program("xdp_count").fd).id;

  before(async () => {
    veth = await createVethPair("xdp", 42);
    const { spec } = await compileAndRead("test/fixtures/c/attach_xdp.bpf.c");
    a = loadCollection(spec);
    b = loadCollection(spec);
  });

  after(async () => {
    a?.close();
    b?.close();
    await veth?.cleanup();
  });

  for (const mode of ["generic", "driver"] as const) {
    test(`${mode} mode: counts while attached, EBUSY on a second attach, nothing after close`, async () => {
      const before = matched(a);
      const link = a.program("xdp_count").attach({ interface: veth.hostIf, xdpMode: mode, mechanism: "netlink" });
      try {
        assert.equal(link.isBpfLink, false);
        const state = xdpState(veth.hostIf);
        assert.equal(state.mode, mode);
        assert.equal(state.progId, id(a));
        assert.equal(link.info().progId, id(a));
        assert.throws(
          () => attachXdp(b.program("xdp_count"), veth.hostIf, { mode, mechanism: "netlink" }),
          (e: unknown) => e instanceof SyscallError && e.code === "EBUSY" && e.operation === "RTM_SETLINK",
        );
        // A BPF link cannot take over a hook netlink holds either.
        assert.throws(() => b.program("xdp_count").attach({ interface: veth.hostIf, xdpMode: mode }),
          (e: unknown) => e instanceof SyscallError && e.code === "EBUSY" && e.operation === "BPF_LINK_CREATE");
        await sendUdpFromNs(veth.ns, veth.hostIp, PORT, 6);
        assert.ok(await waitFor(() => matched(a) === before + 6), `6 counted, saw ${matched(a) - before}`);
      } finally {
        link.close();
      }
      assert.equal(xdpState(veth.hostIf).mode, "none");
      await sendUdpFromNs(veth.ns, veth.hostIp, PORT, 3);
      await sleep(30);
      assert.equal(matched(a), before + 6, "not counted after close");
    });
  }

  test("update() replaces atomically; replace with an expected program; EEXIST when it is not attached", async () => {
    const a0 = matched(a);
    const b0 = matched(b);
    using link = attachXdp(a.program("xdp_count"), veth.hostIf, { mode: "generic", mechanism: "netlink" });
    link.update(b.program("xdp_count").fd);
    assert.equal(xdpState(veth.hostIf).progId, id(b));
    await sendUdpFromNs(veth.ns, veth.hostIp, PORT, 4);
    assert.ok(await waitFor(() => matched(b) === b0 + 4), "counted by the new program");
    assert.equal(matched(a), a0, "not by the old one");
    // Replace expecting a's program, which is no longer attached: refused.
    assert.throws(
      () => attachXdp(a.program("xdp_count"), veth.hostIf, { mode: "generic", replace: a.program("xdp_count") }),
      (e: unknown) => e instanceof SyscallError && e.code === "EEXIST",
    );
    // Closing the first handle detaches b's program (it is the one the handle last put there).
    link.close();
    assert.equal(xdpState(veth.hostIf).mode, "none");

    using first = attachXdp(a.program("xdp_count"), veth.hostIf, { mode: "generic", mechanism: "netlink" });
    using second = attachXdp(b.program("xdp_count"), veth.hostIf, { mode: "generic", replace: a.program("xdp_count") });
    assert.equal(xdpState(veth.hostIf).progId, id(b));
    // The first handle's program is gone: closing it must leave b's attached.
    first.close();
    assert.equal(xdpState(veth.hostIf).progId, id(b));
    second.close();
    assert.equal(xdpState(veth.hostIf).mode, "none");
  });

  test("replace: true takes over whatever is attached", () => {
    using first = attachXdp(a.program("xdp_count"), veth.hostIf, { mode: "generic", mechanism: "netlink" });
    using second = attachXdp(b.program("xdp_count"), veth.hostIf, { mode: "generic", replace: true });
    assert.equal(xdpState(veth.hostIf).progId, id(b));
    assert.equal(first.closed, false);
    assert.equal(second.isBpfLink, false);
  });

  test("bad input: missing interface, bad mode, replace with a link", () => {
    const p = a.program("xdp_count");
    assert.throws(() => attachXdp(p, "tsbpf-nope0", { mechanism: "netlink" }),
      (e: unknown) => e instanceof TsbpfError && e.code === "NO_SUCH_INTERFACE");
    assert.throws(() => attachXdp(p, veth.hostIf, { mode: "fast" as "generic" }),
      (e: unknown) => e instanceof TsbpfError && e.code === "INVALID_ARGUMENT" && e.message.includes("fast"));
    assert.throws(() => attachXdp(p, veth.hostIf, { mechanism: "link", replace: true }),
      (e: unknown) => e instanceof TsbpfError && e.code === "INVALID_ARGUMENT");
    assert.throws(() => attachXdp(p, 0), (e: unknown) => e instanceof TsbpfError && e.code === "NO_SUCH_INTERFACE");
  });
});
