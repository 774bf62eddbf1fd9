// BTF sanitising on real older kernels: Debian's 6.1 and 6.12 have every BTF kind, but not 6.14's tag
// "attribute" kind flag (a btf_type_tag / btf_decl_tag that stands for a plain __attribute__((...))).
// The XDP counter's BTF gets two such tags appended by hand (clang 19 cannot emit them). Where the probe
// says the kernel lacks them, the object still loads and counts a datagram (sanitising rewrote the tags),
// and the same BTF unsanitised is refused by the kernel's BTF loader with a typed error. A kernel that
// has the attribute (6.14+, e.g. the host) loads it as it is.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { release } from "node:os";
import { Btf } from "../../src/btf/btf.js";
import { sanitizeBtf } from "../../src/btf/sanitize.js";
import { BtfBuilder, type BtfTypeSpec } from "../../src/btf/writer.js";
import { SyscallError } from "../../src/errors.js";
import { haveBtfTagAttribute } from "../../src/features.js";
import { readCollectionSpec } from "../../src/object/reader.js";
import type { CollectionSpec } from "../../src/object/spec.js";
import { loadCollection } from "../../src/runtime/collection.js";
import { btfLoad } from "../../src/sys/bpf.js";
import { privileged } from "../helpers/privileges.js";
import { vmObject } from "./fixtures.js";

/** attach_xdp.o with a type_tag and a decl_tag in the attribute form appended to its BTF (ids of its own types unchanged). */
async function taggedSpec(): Promise<CollectionSpec> {
  const spec = readCollectionSpec(new Uint8Array(readFileSync(await vmObject("xdp"))), { name: "attach_xdp" });
  const btf = spec.btf!;
  const b = new BtfBuilder({ strings: btf.rawStrings });
  for (let id = btf.firstId; id < btf.typeCount; id++) {
    const { id: _id, ...rest } = btf.type(id);
    b.add(rest as BtfTypeSpec);
  }
  const u64 = btf.find("unsigned long long", "int")[0] ?? btf.find("__u64", "typedef")[0];
  const func = btf.find("xdp_count", "func")[0];
  assert.ok(u64 !== undefined && func !== undefined, "attach_xdp.o's BTF has unsigned long long and xdp_count");
  const tag = b.add({ kind: "type_tag", name: "tsbpf_attr", type: u64, attribute: true });
  b.add({ kind: "ptr", name: "", type: tag });
  b.add({ kind: "decl_tag", name: "tsbpf_decl_attr", type: func, componentIdx: -1, attribute: true });
  return { ...spec, btf: Btf.parse(b.encode()) };
}

/** Ethernet + IPv4 + UDP to port 7357 with a 4-byte payload: the counter's xdp_counts[0] counts it. */
function datagram(): Uint8Array {
  const f = new Uint8Array(14 + 20 + 8 + 4);
  const dv = new DataView(f.buffer);
  dv.setUint16(12, 0x0800); // ETH_P_IP
  f[14] = 0x45; // IPv4, ihl 5
  dv.setUint16(16, 20 + 8 + 4);
  f[22] = 64;
  f[23] = 17; // UDP
  dv.setUint16(36, 7357);
  dv.setUint16(38, 8 + 4);
  return f;
}

describe(`vm: BTF tag attributes on ${release()}`, privileged(), () => {
  test("lacking them (probe: no), the object loads sanitised and runs; unsanitised its BTF is refused", async (t) => {
    const spec = await taggedSpec();
    const probe = haveBtfTagAttribute();
    t.diagnostic(`haveBtfTagAttribute on ${release()}: ${probe.status}${probe.status === "yes" ? "" : ` (${probe.errnoCode}: ${probe.reason})`}`);
    const rewritten = sanitizeBtf(spec.btf!, (f) => f !== "tag_attribute" || probe.status !== "no");
    if (probe.status === "yes") {
      assert.equal(rewritten.bytes, undefined, "a kernel with tag attributes gets the BTF as it is");
      btfLoad(spec.btf!.bytes).close();
    } else {
      assert.equal(probe.status, "no", `haveBtfTagAttribute: ${probe.status}${probe.status === "refused" ? ` (${probe.reason})` : ""}`);
      assert.equal(probe.errnoCode, "EINVAL");
      assert.deepEqual(rewritten.report, { tag_attribute: 2 });
      // The raw kernel answer to the unsanitised BTF: its loader rejects the kind flag.
      assert.throws(() => btfLoad(spec.btf!.bytes, { context: "load tagged BTF" }), (e: unknown) =>
        e instanceof SyscallError && e.code === "EINVAL" && /load tagged BTF/.test(e.message) && /kind_flag/i.test(e.message));
      // The loader with sanitising switched off (every feature said present) fails the same way, typed.
      assert.throws(() => loadCollection(spec, { btfFeatures: () => true }), (e: unknown) =>
        e instanceof SyscallError && e.code === "EINVAL" && /load BTF of object "attach_xdp"/.test(e.message));
    }
    // The default load consults the probe, rewrites what the kernel lacks, and the program runs.
    using coll = loadCollection(spec);
    const r = coll.program("xdp_count").testRun({ data: datagram() });
    assert.equal(r.retval, 1, "XDP_DROP for a datagram to port 7357");
    const v = coll.map("xdp_counts").getRaw(new Uint8Array(4))!;
    assert.equal(new DataView(v.buffer, v.byteOffset).getBigUint64(0, true), 1n, "xdp_counts[0] counted the datagram");
  });
});
