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
import { parseTokenFdinfo, resolveToken, tokenPathFromEnv } from "../../src/runtime/token.js";

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
