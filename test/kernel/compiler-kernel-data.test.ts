// Kernel data compiled from TypeScript: integer arrays of kernel structs (`task.comm`) read by constant
// and run-time index and copied whole, and a bitfield read with CO-RE bitfield relocations
// (`task.in_execve`), through a BTF pointer (tp_btf, direct loads) and a plain kernel address (raw_tp,
// bpf_probe_read_kernel), checked on the fork and exec of a process whose name the test chose.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createConnection, createServer } from "node:net";
import { after, before, describe, test } from "node:test";
import { readCollectionSpec } from "../../src/index.js";
import { attachIter } from "../../src/runtime/links/iter.js";
import type { Collection } from "../../src/runtime/collection.js";
import { RingBufReader } from "../../src/runtime/ringbuf.js";
import { compileTs, loadFixture } from "../helpers/compile-ts.js";
import { privileged } from "../helpers/privileges.js";
import { ProgramSet } from "../helpers/program-set.js";

/** 15 bytes: the longest comm the kernel keeps (16 with the NUL). */
const NAME = "wkd-kdata-comm1";

const u32 = (n: number): Uint8Array => new Uint8Array(new Uint32Array([n]).buffer);

describe("compiler: kernel arrays and bitfields", privileged(), () => {
  let coll: Collection;
  let dir: string;
  before(() => {
    coll = loadFixture("kernel-data.bpf.ts");
    dir = mkdtempSync(join(tmpdir(), "tsbpf-wkd-"));
  });
  after(() => {
    coll?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("task.comm by constant index, bounded run-time index and whole, task.in_execve, via tp_btf and raw_tp", () => {
    coll.map("indices").setRaw(u32(0), u32(3));
    coll.map("indices").setRaw(u32(1), u32(16));
    using _a = coll.program("execBtf").attach();
    using _b = coll.program("execRaw").attach();
    using _c = coll.program("forkedBtf").attach();
    using _d = coll.program("forkedRaw").attach();
    // The exec'd file's base name becomes the task's comm.
    const exe = join(dir, NAME);
    symlinkSync("/bin/true", exe);
    const child = spawnSync(exe);
    assert.equal(child.status, 0);
    const want = Buffer.alloc(16);
    want.write(NAME, "latin1");
    for (const map of ["viaBtf", "viaRaw"]) {
      const raw = coll.map(map).getRaw(u32(child.pid!));
      assert.ok(raw, `${map} saw the exec of ${child.pid}`);
      const b = Buffer.from(raw);
      assert.deepEqual([...b.subarray(0, 5)], [0x77, 0x6b, 0x64, 0x2d, 0], `${map}: comm[0..2] "wkd", comm[i] for i = 3 "-", comm[16] reads 0`);
      assert.deepEqual(b.subarray(8, 24), want, `${map}: the whole comm copied into a local`);
      assert.deepEqual(b.subarray(24, 40), want, `${map}: the whole comm read as a string`);
      assert.deepEqual(b.subarray(40, 56), want, `${map}: the whole comm assigned to a cstring field`);
      assert.equal(b[6], NAME.length, `${map}: the non-NUL bytes of comm, counted up to task.comm.length`);
      assert.equal(b[5], 1, `${map}: task.in_execve (a bitfield) is set while the task execs`);
    }
    // Both programs copied the whole comm into a ring buffer record's cstring and (longer) bytes fields.
    const recs: Buffer[] = [];
    using reader = new RingBufReader(coll.map("records"));
    reader.drain((r) => void (new DataView(r.buffer, r.byteOffset).getUint32(0, true) === child.pid && recs.push(Buffer.from(r))));
    assert.equal(recs.length, 2, "one record from each program");
    for (const r of recs) {
      assert.deepEqual(r.subarray(4, 20), want);
      assert.deepEqual(r.subarray(20, 40), Buffer.concat([want, Buffer.alloc(4)]), "zero-filled past the array");
    }
    for (const map of ["forkBtf", "forkRaw"]) {
      const raw = coll.map(map).getRaw(u32(child.pid!));
      assert.ok(raw, `${map} saw the fork of ${child.pid}`);
      assert.equal(new DataView(raw.buffer, raw.byteOffset).getUint32(0, true), 0x100, `${map}: the forking task's in_execve bit is clear`);
    }
  });
});

describe("compiler: kernel arrays and bitfields of sockets (tcp iterator, BTF pointers)", privileged(), () => {
  let set: ProgramSet;
  before(() => {
    set = new ProgramSet(readCollectionSpec(compileTs(join("test/fixtures/ts/kinds/kernel-data.bpf.ts"))));
  });
  after(() => set?.close());

  test("skc_reuse and skc_ipv6only bitfields, skc_v6_daddr through the anonymous in6_u union", async () => {
    // Node's TCP servers set SO_REUSEADDR (skc_reuse 1); ipv6Only sets IPV6_V6ONLY (skc_ipv6only 1).
    const server = createServer();
    await new Promise<void>((r) => server.listen({ port: 0, host: "::1", ipv6Only: true }, r));
    const port = (server.address() as { port: number }).port;
    const client = createConnection({ port, host: "::1" });
    await new Promise<void>((r, j) => client.once("connect", r).once("error", j));
    try {
      using link = attachIter(set.program("tcp"));
      const lines = (await link.text()).split("\n");
      // "local-port remote-port reuse ipv6only daddr32[3] daddr"
      assert.ok(lines.includes(`${port} 0 1 1 0 0000:0000:0000:0000:0000:0000:0000:0000`), `the listener on [::1]:${port} in ${JSON.stringify(lines)}`);
      const mine = lines.find((l) => l.startsWith(`${client.localPort} ${port} `));
      assert.equal(mine, `${client.localPort} ${port} 0 0 1000000 0000:0000:0000:0000:0000:0000:0000:0001`, "the client socket: connected to ::1");
    } finally {
      client.destroy();
      server.close();
    }
  });
});
