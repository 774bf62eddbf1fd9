// BPF tokens without a kernel: the EPERM analysis inside a child user namespace (seam), parsing a
// token's fdinfo, and which token a load picks (option, TSBPF_/LIBBPF_BPF_TOKEN_PATH, implicit default).
// The kernel side (a delegated bpffs in a user namespace) is test/kernel/token.test.ts.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { PermissionError, SyscallError, TokenError } from "../../src/errors.js";
import * as bpf from "../../src/sys/bpf.js";
import { CAP, isInitialUidMap } from "../../src/sys/capabilities.js";
import { FakeSys } from "../../src/sys/fake.js";
import { withSys } from "../../src/sys/seam.js";
import { BpfToken, parseTokenFdinfo, resolveToken, tokenPathFromEnv } from "../../src/runtime/token.js";
import { existsSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { readCollectionSpec } from "../../src/object/reader.js";
import { loadCollection } from "../../src/runtime/collection.js";
import { BPF_CMD, BTF_FLAGS, MAP_FLAGS, MAP_TYPE, PROG_FLAGS } from "../../src/sys/constants.js";
import { Fd } from "../../src/sys/fd.js";
import { compileC, vmlinuxHeader } from "../helpers/toolchain.js";
import { createMap } from "../../src/runtime/maps/create.js";
import { u64 } from "../../src/types/index.js";

describe("BPF token: permission analysis and selection", () => {
  test("EPERM in a child user namespace with a full CapEff blames the namespace and points at tokens", () => {
    const fake = new FakeSys().fail("bpf", "EPERM");
    fake.capEff = (1n << 41n) - 1n; // root of its namespace: every capability, there
    (fake as unknown as { initialUserNs: boolean }).initialUserNs = false;
    withSys(fake, () => {
      assert.throws(
        () => bpf.mapCreate({ mapType: 1, keySize: 4, valueSize: 4, maxEntries: 1 }),
        (e: unknown) =>
          e instanceof PermissionError &&
          /child user namespace/.test(e.message) &&
          /BPF token/.test(e.message) &&
          /delegate_cmds/.test(e.message),
      );
    });
  });

  test("in the initial namespace, a process holding CAP_BPF is not told about tokens", () => {
    const fake = new FakeSys().fail("bpf", "EPERM");
    fake.euid = 1000;
    fake.capEff = 1n << BigInt(CAP.BPF);
    withSys(fake, () => {
      assert.throws(
        () => bpf.mapCreate({ mapType: 1, keySize: 4, valueSize: 4, maxEntries: 1 }),
        (e: unknown) => e instanceof SyscallError && !(e instanceof PermissionError) && !/token/i.test(e.message),
      );
    });
  });

  test("uid_map of the initial user namespace", () => {
    assert.equal(isInitialUidMap("         0          0 4294967295\n"), true);
    assert.equal(isInitialUidMap("         0      65534          1\n"), false);
    assert.equal(isInitialUidMap(""), false);
  });

  test("fdinfo of a token: any, masks by name, and not a token", () => {
    const d = parseTokenFdinfo("pos:\t0\nflags:\t02000002\nallowed_cmds:\t0x40001\nallowed_maps:\t0x4\nallowed_progs:\tany\nallowed_attachs:\t0x0\n");
    assert.deepEqual(d, { cmds: ["map_create", "btf_load"], maps: ["array"], progs: "any", attachs: [] });
    assert.equal(parseTokenFdinfo("pos:\t0\nflags:\t02\nmnt_id:\t3\n"), undefined);
  });

  test("environment: TSBPF_BPF_TOKEN_PATH before LIBBPF_BPF_TOKEN_PATH; empty switches tokens off", () => {
    assert.equal(tokenPathFromEnv({ TSBPF_BPF_TOKEN_PATH: "/a", LIBBPF_BPF_TOKEN_PATH: "/b" }), "/a");
    assert.equal(tokenPathFromEnv({ LIBBPF_BPF_TOKEN_PATH: "/b" }), "/b");
    assert.equal(tokenPathFromEnv({}), undefined);
    assert.equal(resolveToken(undefined, { TSBPF_BPF_TOKEN_PATH: "" }), undefined);
    assert.equal(resolveToken(false, { TSBPF_BPF_TOKEN_PATH: "/nonexistent" }), undefined);
  });

  test("a named path that does not exist is a TokenError, never silently no token", () => {
    const missing = "/nonexistent/tsbpf-token-bpffs";
    assert.throws(() => resolveToken(undefined, { LIBBPF_BPF_TOKEN_PATH: missing }), (e: unknown) => e instanceof TokenError && e.code === "TOKEN_PATH_NOT_FOUND" && e.source === missing && e.message.includes("does not exist"));
    assert.throws(() => resolveToken(missing, {}), (e: unknown) => e instanceof TokenError && e.code === "TOKEN_PATH_NOT_FOUND");
  });

  test("nothing named, initial user namespace: no token and no system call", () => {
    const fake = new FakeSys();
    withSys(fake, () => {
      assert.equal(resolveToken(undefined, {}), undefined);
    });
    assert.equal(fake.calls?.length ?? 0, 0);
  });
});

describe("BPF token: every object a collection creates carries it", () => {
  const hasVmlinux = existsSync("/sys/kernel/btf/vmlinux");

  /** Field `field` of the attr of every bpf() call of command `cmd` (offsets from src/sys/attr.ts). */
  function attrs(fake: FakeSys, cmd: number): DataView[] {
    return fake.callsOf("bpf").filter((c) => c.args[0] === cmd).map((c) => {
      const a = c.args[1] as Uint8Array;
      return new DataView(a.buffer, a.byteOffset, a.byteLength);
    });
  }

  test("struct_ops maps, plain maps, the BTF and the programs: BPF_F_TOKEN_FD and the token fd", { skip: hasVmlinux ? undefined : "needs /sys/kernel/btf/vmlinux (struct_ops types)" }, async () => {
    const path = await compileC("test/fixtures/c/structops/tsbpf_cc.bpf.c", { includes: [dirname(vmlinuxHeader())] });
    const spec = readCollectionSpec(new Uint8Array(readFileSync(path)), { name: "tsbpf_cc" });
    assert.ok([...spec.maps.values()].some((m) => m.structOps), "the fixture has a struct_ops map");
    // The collection works with its own duplicate of the token: dup() answers 555.
    const fake = new FakeSys().script("dup", { value: 555 });
    const used = 555;
    withSys(fake, () => {
      const token = new BpfToken(new Fd(77, "token"), "test bpffs");
      using coll = loadCollection(spec, { token });
      assert.ok(coll.structOps("tsbpf_cc"));
    });
    const maps = attrs(fake, BPF_CMD.MAP_CREATE);
    const structOps = maps.filter((dv) => dv.getUint32(0, true) === MAP_TYPE.STRUCT_OPS);
    assert.equal(structOps.length, 1, "one struct_ops map created");
    for (const dv of maps) {
      assert.ok(dv.getUint32(16, true) & MAP_FLAGS.TOKEN_FD, `map type ${dv.getUint32(0, true)}: BPF_F_TOKEN_FD in map_flags`);
      assert.equal(dv.getInt32(76, true), used, `map type ${dv.getUint32(0, true)}: map_token_fd`);
    }
    const btf = attrs(fake, BPF_CMD.BTF_LOAD);
    assert.ok(btf.length >= 1);
    for (const dv of btf) {
      assert.ok(dv.getUint32(32, true) & BTF_FLAGS.TOKEN_FD, "BPF_F_TOKEN_FD in btf_flags");
      assert.equal(dv.getInt32(36, true), used, "btf_token_fd");
    }
    const progs = attrs(fake, BPF_CMD.PROG_LOAD);
    assert.ok(progs.length >= 1);
    for (const dv of progs) {
      assert.ok(dv.getUint32(44, true) & PROG_FLAGS.TOKEN_FD, "BPF_F_TOKEN_FD in prog_flags");
      assert.equal(dv.getInt32(144, true), used, "prog_token_fd");
    }
  });
});


test("a map made from userspace with a token: the map and the BTF it needs (task storage) carry it", () => {
  const fake = new FakeSys();
  withSys(fake, () => {
    const token = new BpfToken(new Fd(66, "token"), "test bpffs");
    const m = createMap({ type: "task_storage", value: u64, token });
    m.close();
    token.close();
  });
  const calls = fake.callsOf("bpf").map((c) => [c.args[0], new DataView((c.args[1] as Uint8Array).buffer, (c.args[1] as Uint8Array).byteOffset)] as const);
  const btf = calls.find(([cmd]) => cmd === BPF_CMD.BTF_LOAD)![1];
  assert.ok(btf.getUint32(32, true) & BTF_FLAGS.TOKEN_FD);
  assert.equal(btf.getInt32(36, true), 66);
  const map = calls.find(([cmd]) => cmd === BPF_CMD.MAP_CREATE)![1];
  assert.equal(map.getUint32(0, true), MAP_TYPE.TASK_STORAGE);
  assert.ok(map.getUint32(16, true) & MAP_FLAGS.TOKEN_FD);
  assert.equal(map.getInt32(76, true), 66);
});
