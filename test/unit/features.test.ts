// Feature probes through the fake syscall seam: how each errno and verifier log is classified
// ("yes" / "no" / "refused"), memoisation, assertFeature's typed errors, and the loader errors that
// consult the probes. The real kernel's answers are asserted in test/kernel/features.test.ts.

import assert from "node:assert/strict";
import { test } from "node:test";
import { exit, mov64Imm, R0 } from "../../src/asm/index.js";
import { KernelRefusedError, MapSyscallError, MissingFeatureError, PermissionError, TsbpfError } from "../../src/errors.js";
import { assertFeature, haveBtfKind, haveHelper, haveInstructionSet, haveMapType, haveProgramType, type FeatureResult } from "../../src/features.js";
import { mapSpec } from "../../src/object/maps.js";
import type { ProgramSpec } from "../../src/object/spec.js";
import { createMap } from "../../src/runtime/map.js";
import { loadProgram } from "../../src/runtime/program.js";
import { BPF_CMD, BTF_FLAGS, MAP_FLAGS, PROG_FLAGS } from "../../src/sys/constants.js";
import { Fd } from "../../src/sys/fd.js";
import { BpfToken } from "../../src/runtime/token.js";
import { FakeSys, nativeErrnoError } from "../../src/sys/fake.js";
import { withSys } from "../../src/sys/seam.js";

/** A bpf() result that writes `log` into the attr's log buffer (PROG_LOAD log_buf is at offset 32) and fails with `code`. */
function failWithLog(fake: FakeSys, code: string, log: string) {
  return {
    run: (_cmd: unknown, attr: unknown) => {
      const a = attr as Uint8Array;
      const buf = fake.deref(new DataView(a.buffer, a.byteOffset, a.byteLength).getBigUint64(32, true)) as Uint8Array | undefined;
      if (buf && log) buf.set(new TextEncoder().encode(log));
      throw nativeErrnoError(code, "BPF_PROG_LOAD");
    },
  };
}

const bpfCmds = (fake: FakeSys) => fake.callsOf("bpf").map((c) => c.args[0]);

for (const [code, status] of [["EINVAL", "no"], ["E2BIG", "no"], ["EOPNOTSUPP", "no"], ["ENOTSUPP", "no"], ["EPERM", "refused"], ["EACCES", "refused"]] as const) {
  test(`map create answered ${code}: "${status}"`, () => {
    const fake = new FakeSys().fail("bpf", code);
    const r = withSys(fake, () => haveMapType("RINGBUF"));
    assert.equal(r.feature, "RINGBUF maps");
    assert.ok(r.status !== "yes");
    assert.equal(r.status, status);
    assert.equal(r.errnoCode, code);
    assert.match(r.reason, new RegExp(`BPF_MAP_CREATE answered ${code}`));
    // The probe asked for a ring buffer of one page (key and value size 0).
    const attr = fake.callsOf("bpf")[0]!.args[1] as Uint8Array;
    const dv = new DataView(attr.buffer, attr.byteOffset);
    assert.deepEqual([dv.getUint32(0, true), dv.getUint32(4, true), dv.getUint32(8, true), dv.getUint32(12, true)], [27, 0, 0, 4096]);
  });
}

test("an errno that does not tell (ENOMEM) is a FEATURE_PROBE_FAILED error, not an answer, and is not memoised", () => {
  const fake = new FakeSys().fail("bpf", "ENOMEM");
  assert.throws(() => withSys(fake, () => haveMapType("HASH")), (e: unknown) =>
    e instanceof TsbpfError && e.code === "FEATURE_PROBE_FAILED" && /probe for HASH maps: the kernel answered BPF_MAP_CREATE with ENOMEM/.test(e.message));
  assert.equal(withSys(fake, () => haveMapType("HASH")).status, "yes");
});

test("answers are memoised: the second question makes no system call", () => {
  const fake = new FakeSys().fail("bpf", "EINVAL");
  const first = withSys(fake, () => haveProgramType("NETFILTER"));
  const second = withSys(fake, () => haveProgramType(32));
  assert.equal(first.status, "no");
  assert.equal(second, first);
  assert.deepEqual(bpfCmds(fake), [BPF_CMD.PROG_LOAD]);
  // Another syscall implementation (another kernel, as far as the probes know) has its own answers.
  assert.equal(withSys(new FakeSys(), () => haveProgramType("NETFILTER")).status, "yes");
});

test("program type: EPERM with no verifier log (or only the statistics line) is 'refused'; a verifier verdict means the type exists", () => {
  const none = new FakeSys();
  none.script("bpf", failWithLog(none, "EPERM", ""));
  assert.equal(withSys(none, () => haveProgramType("XDP")).status, "refused");
  const stats = new FakeSys();
  stats.script("bpf", failWithLog(stats, "EPERM", "processed 0 insns (limit 1000000) max_states_per_insn 0 total_states 0\n"));
  assert.equal(withSys(stats, () => haveProgramType("XDP")).status, "refused");
  const verdict = new FakeSys();
  verdict.script("bpf", failWithLog(verdict, "EINVAL", "attach_btf_id 0 is not a supported struct\nprocessed 0 insns\n"));
  assert.equal(withSys(verdict, () => haveProgramType("SOCKET_FILTER")).status, "yes");
});

test("helper: the verifier's 'invalid func' / 'cannot use helper' is 'no'; an argument complaint is 'yes'", () => {
  const cases: [string, FeatureResult["status"]][] = [
    ["0: (85) call unknown#99999\ninvalid func unknown#99999\nprocessed 1 insns\n", "no"],
    ["0: (85) call bpf_skb_load_bytes#26\nprogram of this type cannot use helper bpf_skb_load_bytes#26\n", "no"],
    ["0: (85) call bpf_map_lookup_elem#1\nR1 !read_ok\nprocessed 1 insns\n", "yes"],
  ];
  for (const [log, status] of cases) {
    const fake = new FakeSys();
    fake.script("bpf", { value: 100 }, failWithLog(fake, "EINVAL", log)); // the program type probe loads, then the helper probe
    const r = withSys(fake, () => haveHelper("XDP", 1));
    assert.equal(r.status, status, log);
    if (r.status === "no") assert.match(r.reason, /^the verifier says: /);
  }
});

test("helper of a program type the kernel lacks: the type's answer", () => {
  const fake = new FakeSys().fail("bpf", "EINVAL");
  const r = withSys(fake, () => haveHelper("NETFILTER", "map_lookup_elem"));
  assert.equal(r.status, "no");
  assert.equal(r.feature, "helper bpf_map_lookup_elem in NETFILTER programs");
  assert.equal(fake.callsOf("bpf").length, 1);
});

test("instruction set: a verifier rejection ('unknown opcode') is 'no'", () => {
  const fake = new FakeSys();
  fake.script("bpf", failWithLog(fake, "EINVAL", "unknown opcode bf\nprocessed 0 insns\n"));
  const r = withSys(fake, () => haveInstructionSet("v4"));
  assert.equal(r.status, "no");
  assert.match(r.status === "no" ? r.reason : "", /unknown opcode bf/);
});

test("bad input is a typed error naming the valid choices", () => {
  assert.throws(() => haveMapType("HASHH" as never), (e: unknown) => e instanceof TsbpfError && e.code === "INVALID_ARGUMENT" && /unknown name "HASHH" \(one of UNSPEC, HASH, ARRAY/.test(e.message));
  assert.throws(() => haveHelper("XDP", "no_such_helper"), (e: unknown) => e instanceof TsbpfError && e.code === "INVALID_ARGUMENT" && /unknown helper name "no_such_helper"/.test(e.message));
  assert.throws(() => haveInstructionSet("v9" as never), (e: unknown) => e instanceof TsbpfError && /"v9" is not v2, v3 or v4/.test(e.message));
});

test("assertFeature: 'no' is a MissingFeatureError naming the release that brought it; 'refused' a KernelRefusedError (root) or PermissionError", () => {
  assert.doesNotThrow(() => assertFeature({ status: "yes", feature: "HASH maps" }));
  assert.throws(() => assertFeature({ status: "no", feature: "RINGBUF maps", errno: 22, errnoCode: "EINVAL", reason: "BPF_MAP_CREATE answered EINVAL" }),
    (e: unknown) => e instanceof MissingFeatureError && e.code === "FEATURE_MISSING" && /lacks RINGBUF maps \(needs Linux 5\.8\): BPF_MAP_CREATE answered EINVAL/.test(e.message));
  const refused: FeatureResult = { status: "refused", feature: "ARENA maps", errno: 1, errnoCode: "EPERM", operation: "BPF_MAP_CREATE", reason: "BPF_MAP_CREATE answered EPERM before verification" };
  const root = new FakeSys();
  assert.throws(() => withSys(root, () => assertFeature(refused)), (e: unknown) =>
    e instanceof KernelRefusedError && e.errnoCode === "EPERM" && e.operation === "BPF_MAP_CREATE" && /refuses ARENA maps/.test(e.message) && /lockdown or an LSM policy/.test(e.message));
  const user = new FakeSys();
  user.euid = 1000;
  assert.throws(() => withSys(user, () => assertFeature(refused)), (e: unknown) => e instanceof PermissionError && e.code === "EPERM");
});

test("loader: a map create refused with EINVAL for a map type the kernel lacks says so, with the release that brought it", () => {
  const fake = new FakeSys().fail("bpf", "EINVAL").fail("bpf", "EINVAL"); // the map, then the probe
  assert.throws(() => withSys(fake, () => createMap(mapSpec({ name: "events", type: "RINGBUF", maxEntries: 4096 }))), (e: unknown) =>
    e instanceof MissingFeatureError && e.code === "MAP_TYPE_UNSUPPORTED" && /create map "events": this kernel \(.*\) lacks RINGBUF maps \(needs Linux 5\.8\)/.test(e.message));
});

test("loader: EINVAL for a map type the kernel has stays the kernel's error", () => {
  const fake = new FakeSys().fail("bpf", "EINVAL"); // the map fails; the probe (unscripted) succeeds
  assert.throws(() => withSys(fake, () => createMap(mapSpec({ name: "counts", type: "HASH", keySize: 4, valueSize: 3, maxEntries: 1 }))), (e: unknown) =>
    !(e instanceof MissingFeatureError) && e instanceof Error && "code" in e && e.code === "EINVAL" && /create map "counts"/.test(e.message) && !(e instanceof MapSyscallError && /lacks/.test(e.message)));
});

test("loader: a program refused with EINVAL and no log, whose type the kernel lacks, is a MissingFeatureError", () => {
  const instructions = [mov64Imm(R0, 0), exit()];
  const spec: ProgramSpec = {
    name: "nf", sectionName: "netfilter", type: "NETFILTER", expectedAttachType: "NETFILTER", attach: "netfilter", attachTarget: "",
    sleepable: false, xdpFrags: false, needsBtfTarget: false, license: "GPL", kernelVersion: 0,
    instructions, metas: instructions.map(() => ({})), functions: ["nf"],
  };
  const fake = new FakeSys().fail("bpf", "EINVAL").fail("bpf", "EINVAL").fail("bpf", "EINVAL"); // load, load with log, probe
  assert.throws(() => withSys(fake, () => loadProgram(spec, { mapFd: () => 0, coreTargets: () => { throw new Error("unused"); }, logLevel: 1 } as never)), (e: unknown) =>
    e instanceof MissingFeatureError && e.code === "PROGRAM_TYPE_UNSUPPORTED" && /load program "nf": this kernel \(.*\) lacks NETFILTER programs \(needs Linux 6\.4\)/.test(e.message));
});

test("with a token, probes make their objects through it (BPF_F_TOKEN_FD) and are memoised per token", () => {
  // This fake kernel loads the first program (made with the token) and refuses the second (without).
  const fake = new FakeSys().script("bpf", { value: 200 }, { errno: "EPERM" });
  const token = new BpfToken(new Fd(88, "token"), "test bpffs");
  const withToken = withSys(fake, () => haveProgramType("XDP", { token }));
  const prog = (i: number) => {
    const a = fake.callsOf("bpf")[i]!.args[1] as Uint8Array;
    return new DataView(a.buffer, a.byteOffset, a.byteLength);
  };
  assert.equal(withToken.status, "yes");
  assert.ok(prog(0).getUint32(44, true) & PROG_FLAGS.TOKEN_FD, "BPF_F_TOKEN_FD in prog_flags");
  assert.equal(prog(0).getInt32(144, true), 88, "prog_token_fd");
  // Without the token it is a different question, asked again (and this fake kernel refuses it).
  const without = withSys(fake, () => haveProgramType("XDP", { token: false }));
  assert.equal(without.status, "refused");
  assert.equal(prog(1).getUint32(44, true) & PROG_FLAGS.TOKEN_FD, 0);
  assert.equal(prog(1).getInt32(144, true), 0);
  // Both answers are memoised, each under its own token.
  assert.equal(withSys(fake, () => haveProgramType("XDP", { token })), withToken);
  assert.equal(withSys(fake, () => haveProgramType("XDP", { token: false })), without);
  assert.equal(fake.callsOf("bpf").length, 2);
  // Map and BTF probes carry it too.
  withSys(fake, () => haveMapType("HASH", { token }));
  withSys(fake, () => haveBtfKind("float", { token }));
  const [map, btf] = fake.callsOf("bpf").slice(2).map((c) => {
    const a = c.args[1] as Uint8Array;
    return new DataView(a.buffer, a.byteOffset, a.byteLength);
  });
  assert.ok(map!.getUint32(16, true) & MAP_FLAGS.TOKEN_FD);
  assert.equal(map!.getInt32(76, true), 88);
  assert.ok(btf!.getUint32(32, true) & BTF_FLAGS.TOKEN_FD);
  assert.equal(btf!.getInt32(36, true), 88);
  withSys(fake, () => token.close());
});
