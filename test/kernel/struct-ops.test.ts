// struct_ops on the host kernel: a tcp_congestion_ops written in C, registered by a map update and
// through BPF links (update, detach), used by loopback TCP connections; bad objects give typed errors.

import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname } from "node:path";
import { MapError, MapSyscallError, MissingFeatureError, ObjectError, TsbpfError } from "../../src/errors.js";
import { readElf } from "../../src/elf/reader.js";
import { readCollectionSpec } from "../../src/object/reader.js";
import type { CollectionSpec } from "../../src/object/spec.js";
import { loadCollection } from "../../src/runtime/collection.js";
import { openPinnedLink } from "../../src/runtime/links/list.js";
import { StructOpsLink } from "../../src/runtime/links/struct-ops.js";
import { StructOpsMap } from "../../src/runtime/maps/struct-ops.js";
import { LINK_TYPE, MAP_FLAGS } from "../../src/sys/constants.js";
import { compileCSource, vmlinuxHeader } from "../helpers/toolchain.js";
import { bpffsProblem, bpffsScratch, cString, fileBytes, waitFor } from "../helpers/loader.js";
import { privileged } from "../helpers/privileges.js";
import { vmObject } from "../vm/fixtures.js";
import { availableCcs, counter, structOpsSpec, tcpWithCc, uniqueCcName } from "../vm/struct-ops-helpers.js";
import { needs } from "../helpers/needs.js";

const BYTES = 8 << 20;

describe("struct_ops: spec from the object", () => {
  let spec: CollectionSpec;
  before(async () => {
    spec = await structOpsSpec("structops_link");
  });

  test(".struct_ops and .struct_ops.link variables become STRUCT_OPS maps naming the program of each member", () => {
    const cc = spec.maps.get("tsbpf_cc")!;
    assert.equal(cc.type, "STRUCT_OPS");
    assert.deepEqual([cc.keySize, cc.maxEntries, cc.flags, cc.section], [4, 1, 0, ".struct_ops"]);
    assert.equal(cc.structOps?.typeName, "tcp_congestion_ops");
    assert.equal(cc.structOps?.link, false);
    const progs = Object.fromEntries(cc.structOps!.members.filter((m) => m.program).map((m) => [m.name, m.program]));
    assert.deepEqual(progs, { init: "cc_init", release: "cc_release", ssthresh: "cc_ssthresh", undo_cwnd: "cc_undo_cwnd", cong_avoid: "cc_cong_avoid" });
    const name = cc.structOps!.members.find((m) => m.name === "name")!;
    assert.equal(name.kind, "data");
    assert.equal(new TextDecoder().decode(cc.structOps!.data.subarray(name.offset, name.offset + 8)), "tsbpf_cc");
    const a = spec.maps.get("cc_link_a")!;
    assert.deepEqual([a.flags, a.section, a.structOps?.link], [MAP_FLAGS.LINK, ".struct_ops.link", true]);
    assert.equal(a.structOps!.members.find((m) => m.name === "cong_avoid")?.program, "cc_a_cong_avoid");
    assert.equal(a.structOps!.members.find((m) => m.name === "ssthresh")?.program, "cc_ssthresh", "a program may serve several maps");
    assert.equal(spec.programs.get("cc_cong_avoid")?.type, "STRUCT_OPS");
  });

  test("mutated .struct_ops / .rel.struct_ops bytes are read or refused with a TsbpfError", async () => {
    const bytes = fileBytes(await vmObject("structops_link"));
    const elf = readElf(bytes);
    const targets = [".struct_ops", ".struct_ops.link", ".rel.struct_ops", ".rel.struct_ops.link"].map((n) => elf.section(n)!).filter(Boolean);
    assert.equal(targets.length, 4);
    let seed = 0x5eed;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const outcomes = new Map<string, number>();
    for (let i = 0; i < 400; i++) {
      const b = bytes.slice();
      const sec = targets[Math.floor(rnd() * targets.length)]!;
      for (let k = 1 + Math.floor(rnd() * 3); k > 0; k--) b[sec.offset + Math.floor(rnd() * sec.size)] = Math.floor(rnd() * 256);
      let key = "ok";
      try {
        readCollectionSpec(b, { name: "fuzz" });
      } catch (e) {
        assert.ok(e instanceof TsbpfError, `mutant ${i} in ${sec.name}: ${String(e)}`);
        key = e.code;
      }
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    }
    assert.ok(outcomes.has("ok") && outcomes.has("OBJ_BAD_STRUCT_OPS"), JSON.stringify([...outcomes]));
  });
});

describe("struct_ops: tcp_congestion_ops on the host kernel", needs({ programType: "STRUCT_OPS", mapType: "STRUCT_OPS" }), () => {
  let plain: CollectionSpec;
  let linked: CollectionSpec;
  before(async () => {
    plain = await structOpsSpec("structops");
    linked = await structOpsSpec("structops_link");
  });

  test("load: the map has the kernel's value layout, data members copied, a program fd in each slot", () => {
    using coll = loadCollection(plain);
    const ops = coll.structOps("tsbpf_cc");
    assert.ok(ops instanceof StructOpsMap);
    assert.equal(ops.kernelType, "tcp_congestion_ops");
    assert.equal(ops.isLink, false);
    assert.equal(ops.getField("name"), "tsbpf_cc");
    assert.equal(ops.getField("flags"), 0);
    assert.equal(ops.layout.kernel.module, "vmlinux");
    assert.equal(ops.valueSize, ops.layout.kernel.valueSize);
    assert.ok(ops.valueSize > plain.maps.get("tsbpf_cc")!.valueSize, "the kernel value wraps the struct (refcount, state) before it");
    const value = ops.value();
    const dv = new DataView(value.buffer);
    for (const s of ops.layout.slots) assert.equal(Number(dv.getBigUint64(s.valueOffset, true)), coll.program(s.program).fd.value, `${s.member} holds ${s.program}'s fd`);
    assert.deepEqual([...ops.programs.keys()].sort(), ["cong_avoid", "init", "release", "ssthresh", "undo_cwnd"]);
    assert.equal(value.subarray(0, ops.layout.kernel.dataOffset).every((b) => b === 0), true, "common part (refcnt, state) left zero");
    assert.ok(!availableCcs().includes("tsbpf_cc"), "loading does not register");
  });

  test("register by map update: TCP uses it and the kernel calls its ops; unregistering removes the name", async () => {
    using coll = loadCollection(plain);
    const ops = coll.structOps("tsbpf_cc");
    const name = uniqueCcName("tscc");
    ops.setField("name", name);
    assert.equal((await tcpWithCc(name, 1000)).errno, 2, "not offered before attach (ENOENT)");
    const reg = ops.attach();
    assert.ok(reg instanceof StructOpsLink);
    assert.equal(reg.isBpfLink, false);
    try {
      assert.ok(availableCcs().includes(name), `${name} is in tcp_available_congestion_control`);
      const r = await tcpWithCc(name, BYTES);
      assert.deepEqual(r, { cc: name, bytes: BYTES });
      assert.ok(counter(coll, "inits") >= 1, "init ran for the connection");
      assert.ok(counter(coll, "cong_avoids") >= 1, `cong_avoid ran on ACKs (${counter(coll, "cong_avoids")} calls)`);
      assert.ok(counter(coll, "acked_total") >= 1, "ACKed segments were counted");
      assert.ok(counter(coll, "max_cwnd") >= 2, "cong_avoid read snd_cwnd through the tcp_sock it was given");
      assert.ok(await waitFor(() => counter(coll, "releases") >= 1, 3000), "release ran when the socket went away");
      assert.throws(() => ops.attach(), (e: unknown) => e instanceof MapError && e.code === "STRUCT_OPS_ATTACHED");
    } finally {
      reg.detach();
    }
    assert.equal(reg.detached, true);
    assert.ok(!availableCcs().includes(name), "unregistered");
    const after = await tcpWithCc(name, 1000);
    assert.deepEqual([after.error, after.errno], ["setsockopt", 2], "setsockopt(TCP_CONGESTION) no longer finds it (ENOENT)");
    assert.throws(() => ops.attach(), (e: unknown) => e instanceof MapError && e.code === "STRUCT_OPS_SPENT" && /registers once/.test(e.message));
    assert.throws(() => ops.setField("name", "x".repeat(16)), (e: unknown) => e instanceof MapError && e.code === "STRUCT_OPS_BAD_VALUE");
    assert.throws(() => ops.setField("cong_avoid", 1), (e: unknown) => e instanceof MapError && e.code === "STRUCT_OPS_NO_MEMBER" && /function pointer/.test(e.message));
  });

  test("data members reach the kernel: flags = TCP_CONG_NON_RESTRICTED; the kernel's copy of the value says INUSE", () => {
    using coll = loadCollection(plain);
    const ops = coll.structOps("tsbpf_cc");
    const name = uniqueCcName("tscc");
    ops.setField("name", name);
    ops.setField("flags", 1);
    assert.equal(ops.getField("flags"), 1);
    const allowed = () => readFileSync("/proc/sys/net/ipv4/tcp_allowed_congestion_control", "utf8").trim().split(/\s+/);
    {
      using _reg = ops.attach();
      assert.ok(allowed().includes(name), "a non-restricted congestion control is allowed for everyone");
      const kv = ops.getRaw(new Uint8Array(4))!;
      assert.equal(new DataView(kv.buffer, kv.byteOffset).getUint32(4, true), 1, "common.state = BPF_STRUCT_OPS_STATE_INUSE");
      assert.equal(cString(kv, ops.layout.fields.find((f) => f.name === "name")!.valueOffset, 16), name, "the kernel holds the name written");
    }
    assert.ok(!allowed().includes(name));
  });

  test("a link pinned on bpffs keeps the registration after close; BPF_LINK_DETACH through the pin ends it", needs({ linkType: "STRUCT_OPS" }, bpffsProblem), () => {
    const { dir, cleanup } = bpffsScratch("structops");
    try {
      using coll = loadCollection(linked);
      const a = coll.structOps("cc_link_a");
      const name = uniqueCcName("tsccp");
      a.setField("name", name);
      const link = a.attach();
      link.pin(`${dir}/link`);
      link.close();
      assert.ok(availableCcs().includes(name), "still registered: the pin holds the link");
      const pinned = openPinnedLink(`${dir}/link`);
      assert.equal(pinned.info().type, LINK_TYPE.STRUCT_OPS);
      pinned.detach();
      assert.ok(!availableCcs().includes(name), "detached through the pinned link");
      pinned.close();
    } finally {
      cleanup();
    }
  });

  test("closing the collection unregisters; a name registered twice is refused by the kernel (EEXIST)", async () => {
    const name = uniqueCcName("tscc");
    const a = loadCollection(plain);
    const b = loadCollection(plain);
    try {
      a.structOps("tsbpf_cc").setField("name", name);
      b.structOps("tsbpf_cc").setField("name", name);
      a.structOps("tsbpf_cc").attach();
      assert.ok(availableCcs().includes(name));
      assert.throws(() => b.structOps("tsbpf_cc").attach(), (e: unknown) => e instanceof MapSyscallError && e.code === "EEXIST" && e.map === "tsbpf_cc");
    } finally {
      a.close();
      b.close();
    }
    assert.ok(!availableCcs().includes(name), "closing the collection closed the registration");
  });

  test("links: attach makes a STRUCT_OPS link, update swaps in the other map, detach unregisters, attach again works", async (t) => {
    if (!needs(t, { linkType: "STRUCT_OPS" })) return;
    using coll = loadCollection(linked);
    const a = coll.structOps("cc_link_a");
    const b = coll.structOps("cc_link_b");
    const name = uniqueCcName("tsccl");
    a.setField("name", name);
    b.setField("name", name);
    assert.equal(a.isLink, true);
    const link = a.attach();
    try {
      assert.equal(link.isBpfLink, true);
      const info = link.info();
      assert.equal(info.type, LINK_TYPE.STRUCT_OPS);
      assert.ok((info.mapId ?? 0) > 0);
      assert.deepEqual(await tcpWithCc(name, BYTES), { cc: name, bytes: BYTES });
      assert.ok(counter(coll, "a_inits") >= 1 && counter(coll, "a_cong_avoids") >= 1, "map a's programs ran");
      assert.equal(counter(coll, "b_cong_avoids"), 0);

      link.update(b);
      assert.equal(link.map, b);
      assert.notEqual(link.info().mapId, info.mapId, "the link now holds map b");
      const aBefore = counter(coll, "a_cong_avoids");
      assert.deepEqual(await tcpWithCc(name, BYTES), { cc: name, bytes: BYTES });
      assert.ok(counter(coll, "b_inits") >= 1 && counter(coll, "b_cong_avoids") >= 1, "map b's programs ran for the new connection");
      assert.equal(counter(coll, "a_cong_avoids"), aBefore, "map a's no longer");
      assert.throws(() => link.update(coll.structOps("tsbpf_cc")), (e: unknown) => e instanceof TsbpfError && e.code === "NOT_A_LINK");

      link.detach();
      assert.ok(!availableCcs().includes(name), "detached: unregistered");
      assert.equal((await tcpWithCc(name, 1000)).errno, 2);
    } finally {
      link.close();
    }
    using again = b.attach();
    assert.ok(availableCcs().includes(name), "a link map attaches again after detach");
    again.close();
    assert.ok(!availableCcs().includes(name), "closing the link unregisters");
    const plainReg = coll.structOps("tsbpf_cc").attach();
    assert.throws(() => plainReg.update(b), (e: unknown) => e instanceof TsbpfError && e.code === "NOT_A_LINK" && /struct_ops\.link/.test(e.message));
    plainReg.close();
  });
});

const HEAD = `#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
char _license[] SEC("license") = "GPL";
`;

async function specOf(name: string, body: string): Promise<CollectionSpec> {
  const path = await compileCSource(name, HEAD + body, { includes: [dirname(vmlinuxHeader())] });
  return readCollectionSpec(fileBytes(path), { name });
}

describe("struct_ops: bad input gives typed errors", () => {
  test("a member pointing at a program that is not a struct_ops program (read time)", async () => {
    await assert.rejects(specOf("so_bad_prog", `
SEC("tracepoint/syscalls/sys_enter_getpid") int not_ops(void *ctx) { return 0; }
SEC(".struct_ops") struct tcp_congestion_ops bad = { .init = (void *)not_ops, .name = "tsbpf_bad" };
`), (e: unknown) => e instanceof ObjectError && e.code === "OBJ_BAD_STRUCT_OPS" && /"init" points at "not_ops".*TRACEPOINT.*not a struct_ops program/.test(e.message));
  });

  test("a data member set to a program (read time)", async () => {
    await assert.rejects(specOf("so_data_prog", `
struct tsbpf_fake_ops { long init; char name[16]; };
SEC("struct_ops/x") void BPF_PROG(x_init) {}
SEC(".struct_ops") struct tsbpf_fake_ops bad = { .init = (long)x_init, .name = "x" };
`), (e: unknown) => e instanceof ObjectError && e.code === "OBJ_BAD_STRUCT_OPS" && /"init" is not a function pointer/.test(e.message));
  });

  test("an unknown struct_ops type (load time)", privileged(), async () => {
    const spec = await specOf("so_unknown", `
struct tsbpf_no_such_ops { void (*init)(void); char name[16]; };
SEC("struct_ops/u_init") void BPF_PROG(u_init) {}
SEC(".struct_ops") struct tsbpf_no_such_ops unknown = { .init = (void *)u_init, .name = "u" };
`);
    assert.equal(spec.maps.get("unknown")?.structOps?.typeName, "tsbpf_no_such_ops");
    assert.throws(() => loadCollection(spec), (e: unknown) => e instanceof MissingFeatureError && e.code === "STRUCT_OPS_TYPE_NOT_FOUND" && /bpf_struct_ops_tsbpf_no_such_ops/.test(e.message) && /"unknown"/.test(e.message));
  });

  test("mismatched members against the kernel's struct (load time)", privileged(), async () => {
    // A flavour (___bad) of tcp_congestion_ops: matched to the kernel's by its essential name.
    const wrongSize = await specOf("so_wrong_size", `
struct tcp_congestion_ops___bad { void (*init)(struct sock *sk); unsigned long long flags; char name[16]; };
SEC("struct_ops/w_init") void BPF_PROG(w_init, struct sock *sk) {}
SEC(".struct_ops") struct tcp_congestion_ops___bad wrong = { .init = (void *)w_init, .flags = 1, .name = "w" };
`);
    assert.throws(() => loadCollection(wrongSize), (e: unknown) => e instanceof MapError && e.code === "STRUCT_OPS_MISMATCH" && e.map === "wrong" && /"flags" is 8 bytes in the object but 4 bytes in the kernel/.test(e.message));
    const extra = await specOf("so_extra", `
struct tcp_congestion_ops___extra { void (*init)(struct sock *sk); int tsbpf_extra; char name[16]; };
SEC("struct_ops/e_init") void BPF_PROG(e_init, struct sock *sk) {}
SEC(".struct_ops") struct tcp_congestion_ops___extra extra = { .init = (void *)e_init, .tsbpf_extra = 7, .name = "e" };
`);
    assert.throws(() => loadCollection(extra), (e: unknown) => e instanceof MapError && e.code === "STRUCT_OPS_MISMATCH" && /"tsbpf_extra" is set in the object but the kernel's struct has no such member/.test(e.message));
    const kind = await specOf("so_kind", `
struct tcp_congestion_ops___kind { void (*init)(struct sock *sk); long ssthresh; char name[16]; };
SEC("struct_ops/k_init") void BPF_PROG(k_init, struct sock *sk) {}
SEC(".struct_ops") struct tcp_congestion_ops___kind kind = { .init = (void *)k_init, .ssthresh = 3, .name = "k" };
`);
    assert.throws(() => loadCollection(kind), (e: unknown) => e instanceof MapError && e.code === "STRUCT_OPS_MISMATCH" && /"ssthresh" is a data member in the object but a function pointer in the kernel/.test(e.message));
    const twice = await specOf("so_twice", `
SEC("struct_ops/t_fn") void BPF_PROG(t_fn, struct sock *sk) {}
SEC(".struct_ops") struct tcp_congestion_ops twice = { .init = (void *)t_fn, .release = (void *)t_fn, .name = "t" };
`);
    assert.throws(() => loadCollection(twice), (e: unknown) => e instanceof MapError && e.code === "STRUCT_OPS_MISMATCH" && /"t_fn" implements twice\.(init|release) and twice\.(init|release)/.test(e.message));
    // Zero members the kernel lacks are dropped, as libbpf does: this one loads.
    const zero = await specOf("so_zero_extra", `
struct tcp_congestion_ops___zero { void (*init)(struct sock *sk); int tsbpf_unused; char name[16]; };
SEC("struct_ops/z_init") void BPF_PROG(z_init, struct sock *sk) {}
SEC(".struct_ops") struct tcp_congestion_ops___zero zero = { .init = (void *)z_init, .name = "z" };
`);
    using coll = loadCollection(zero);
    assert.equal(coll.structOps("zero").getField("name"), "z");
  });

  test("a struct_ops program no struct_ops variable uses, and attaching a struct_ops program directly", privileged(), async () => {
    const spec = await specOf("so_unused", `
SEC("struct_ops/lonely") void BPF_PROG(lonely, struct sock *sk) {}
`);
    assert.throws(() => loadCollection(spec), (e: unknown) => e instanceof TsbpfError && e.code === "STRUCT_OPS_UNREFERENCED" && /"lonely"/.test(e.message));
    using coll = loadCollection(await structOpsSpec("structops"));
    assert.throws(() => coll.program("cc_init").attach(), (e: unknown) => e instanceof TsbpfError && e.code === "ATTACH_UNSUPPORTED" && /structOps/.test(e.message));
    assert.throws(() => coll.structOps(".bss"), (e: unknown) => e instanceof TsbpfError && e.code === "NOT_FOUND" && /tsbpf_cc/.test(e.message));
  });
});

