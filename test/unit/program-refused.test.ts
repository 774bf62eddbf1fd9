// A program the kernel refuses before verification (EPERM and no verifier log, or a log holding only the
// statistics line) is a KernelRefusedError that names the likely cause — never "verifier rejected it".
// The kernel's answers are scripted through the fake syscall seam; the real refusal is asserted on
// kernels that refuse map-element iterators (test/kernel/attach-iter.test.ts) and fentry (loader-corpus).

import assert from "node:assert/strict";
import { test } from "node:test";
import { exit, mov64Imm, R0 } from "../../src/asm/index.js";
import { KernelRefusedError, VerifierError } from "../../src/errors.js";
import type { ProgramSpec } from "../../src/object/spec.js";
import { loadProgram } from "../../src/runtime/program.js";
import { FakeSys, nativeErrnoError } from "../../src/sys/fake.js";
import { withSys } from "../../src/sys/seam.js";

function spec(type: ProgramSpec["type"], sectionName: string): ProgramSpec {
  const instructions = [mov64Imm(R0, 0), exit()];
  return {
    name: "p", sectionName, type, expectedAttachType: undefined, attach: "none" as ProgramSpec["attach"], attachTarget: "",
    sleepable: false, xdpFrags: false, needsBtfTarget: false, license: "GPL", kernelVersion: 0,
    instructions, metas: instructions.map(() => ({})), functions: ["p"],
  };
}

/** The kernel refuses both loads with `code`; on the second (with a log buffer) it writes `log`. */
function refusing(code: string, log: string): FakeSys {
  const fake = new FakeSys();
  fake.fail("bpf", code);
  fake.script("bpf", {
    run: (_cmd: unknown, attr: unknown) => {
      const a = attr as Uint8Array;
      const dv = new DataView(a.buffer, a.byteOffset, a.byteLength);
      const buf = fake.deref(dv.getBigUint64(32, true)) as Uint8Array | undefined;
      if (buf && log) buf.set(new TextEncoder().encode(log));
      throw nativeErrnoError(code, "BPF_PROG_LOAD");
    },
  });
  return fake;
}

const load = (fake: FakeSys, s: ProgramSpec) => withSys(fake, () => loadProgram(s, { mapFd: () => 0, coreTargets: () => { throw new Error("unused"); }, logLevel: 1 } as never));

test("EPERM with no verifier log: KernelRefusedError naming capabilities, lockdown and LSM", () => {
  assert.throws(() => load(refusing("EPERM", ""), spec("TRACING", "iter/bpf_map_elem")), (e: unknown) =>
    e instanceof KernelRefusedError && e.code === "KERNEL_REFUSED" && e.errnoCode === "EPERM" && e.operation === "BPF_PROG_LOAD" &&
    /load program "p": the kernel refused this tracing program \(SEC\("iter\/bpf_map_elem"\)\) before verification \(EPERM, no verifier log\)/.test(e.message) &&
    /CAP_BPF/.test(e.message) && /lockdown or an LSM policy/.test(e.message));
});

test("a log with only the statistics line ('processed 0 insns') is a refusal too", () => {
  assert.throws(() => load(refusing("EPERM", "processed 0 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0\n"), spec("TRACING", "fentry/do_nanosleep")),
    (e: unknown) => e instanceof KernelRefusedError && /trampolines, which need ftrace/.test(e.message));
});

test("EINVAL with no log names an unknown program type or flag", () => {
  assert.throws(() => load(refusing("EINVAL", ""), spec("XDP", "xdp")),
    (e: unknown) => e instanceof KernelRefusedError && e.errnoCode === "EINVAL" && /may not know this program type/.test(e.message));
});

test("a real verifier log stays a VerifierError", () => {
  assert.throws(() => load(refusing("EACCES", "0: (b7) r0 = 0\n1: (95) exit\nR0 !read_ok\nprocessed 2 insns\n"), spec("XDP", "xdp")),
    (e: unknown) => e instanceof VerifierError && /R0 !read_ok/.test(e.message));
});
