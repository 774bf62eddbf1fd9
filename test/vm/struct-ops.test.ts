// struct_ops on the VM kernels: a tcp_congestion_ops registered by a map update, used by loopback TCP and
// unregistered; .struct_ops.link maps (Linux 6.4+) attach through links on 6.12 and are refused on 6.1.

import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { MapError, MissingFeatureError } from "../../src/errors.js";
import { loadCollection } from "../../src/runtime/collection.js";
import { kernelVersion } from "../../src/sys/system.js";
import { run } from "../helpers/loader.js";
import { IN_VM } from "./fixtures.js";
import { availableCcs, counter, structOpsSpec, tcpWithCc, uniqueCcName } from "./struct-ops-helpers.js";

const skip = IN_VM ? undefined : "covered on the host by test/kernel/struct-ops.test.ts; this file runs on the VM kernels (npm run test:vm)";
const v = kernelVersion();
const linksSupported = v.major > 6 || (v.major === 6 && v.minor >= 4);

describe(`vm: struct_ops tcp_congestion_ops on ${v.release}`, { skip }, () => {
  before(async () => {
    // The VM boots with no network configured: loopback is down.
    await run("ip", ["link", "set", "lo", "up"]);
  });

  test("register by map update: TCP uses it, its ops run, unregistering removes the name", async () => {
    using coll = loadCollection(await structOpsSpec("structops"));
    const ops = coll.structOps("tsbpf_cc");
    assert.equal(ops.kernelType, "tcp_congestion_ops");
    const name = uniqueCcName("tscc");
    ops.setField("name", name);
    const reg = ops.attach();
    try {
      assert.ok(availableCcs().includes(name), `${name} offered: ${availableCcs().join(" ")}`);
      const bytes = 2 << 20;
      assert.deepEqual(await tcpWithCc(name, bytes), { cc: name, bytes });
      assert.ok(counter(coll, "inits") >= 1, "init ran");
      assert.ok(counter(coll, "cong_avoids") >= 1, "cong_avoid ran");
      assert.ok(counter(coll, "max_cwnd") >= 2, "snd_cwnd read through CO-RE on this kernel's tcp_sock");
    } finally {
      reg.detach();
    }
    assert.ok(!availableCcs().includes(name));
    assert.equal((await tcpWithCc(name, 100)).errno, 2, "setsockopt(TCP_CONGESTION) gets ENOENT");
    assert.throws(() => ops.attach(), (e: unknown) => e instanceof MapError && e.code === "STRUCT_OPS_SPENT");
  });

  test(linksSupported ? ".struct_ops.link maps attach through links" : ".struct_ops.link maps need Linux 6.4: a MissingFeatureError", async () => {
    const spec = await structOpsSpec("structops_link");
    if (!linksSupported) {
      assert.throws(() => loadCollection(spec), (e: unknown) => e instanceof MissingFeatureError && e.code === "STRUCT_OPS_LINK_UNSUPPORTED" && /6\.4/.test(e.message) && /"cc_link_a"/.test(e.message));
      return;
    }
    using coll = loadCollection(spec);
    const name = uniqueCcName("tsccl");
    coll.structOps("cc_link_a").setField("name", name);
    using link = coll.structOps("cc_link_a").attach();
    assert.equal(link.isBpfLink, true);
    assert.ok(availableCcs().includes(name));
  });
});
