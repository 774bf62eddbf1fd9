// CO-RE against the running kernel's BTF: clang-compiled fixtures (test/fixtures/core) relocated by tsbpf,
// each value checked against the kernel's types as bpftool reports them (an independent BTF reader).

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Size } from "../../src/asm/opcode.js";
import { Btf } from "../../src/btf/btf.js";
import { CoreReloKind } from "../../src/btf/types.js";
import { isCorePoison } from "../../src/core/index.js";
import {
  bpftoolFind, bpftoolMember, bpftoolSize, buildCoreFixture, coreClangMajor, coreFixtureProblem, relocateObject,
  VMLINUX_BTF,
} from "../fixtures/core/build.js";
import type { RelocatedObject, RelocatedRecord } from "../fixtures/core/build.js";

const K = CoreReloKind;
const problem = coreFixtureProblem();
const opts = problem ? { skip: problem } : {};

let cached: { obj: RelocatedObject; resize: RelocatedObject; kernel: Btf } | undefined;
function fixtures() {
  if (!cached) {
    const kernel = Btf.parse(new Uint8Array(readFileSync(VMLINUX_BTF)));
    cached = {
      kernel,
      obj: relocateObject(buildCoreFixture("vmlinux_relos"), kernel),
      resize: relocateObject(buildCoreFixture("resize"), kernel),
    };
  }
  return cached;
}

/** The records of a program, asserting how many there are. */
function records(program: string, n: number, obj: RelocatedObject = fixtures().obj): RelocatedRecord[] {
  const rs = obj.program(program);
  assert.equal(rs.length, n, `${program}: ${rs.map((r) => `${r.relo.kind}:${r.relo.accessStr}`).join(", ")}`);
  return rs;
}

const byteOffset = (struct: string, member: string): bigint => BigInt(bpftoolMember(struct, member).bitOffset / 8);

describe("core: clang fixtures against the running kernel", opts, () => {
  test("BPF_CORE_READ chain task->real_parent->tgid", () => {
    const [parent, tgid] = records("read_chain", 2);
    assert.equal(parent.relo.kind, K.FieldByteOffset);
    assert.equal(parent.result.value, byteOffset("task_struct", "real_parent"));
    assert.equal(tgid.result.value, byteOffset("task_struct", "tgid"));
    // The relocated instructions carry the kernel offsets.
    assert.equal(BigInt(parent.insns[0].imm), parent.result.value);
    assert.equal(BigInt(tgid.insns[0].imm), tgid.result.value);
  });

  test("direct BTF-pointer loads get kernel offsets and keep their size", () => {
    const [pid, tgid] = records("direct_load", 2);
    assert.equal(pid.insns[0].isMemLoad, true);
    assert.equal(BigInt(pid.insns[0].offset), byteOffset("task_struct", "pid"));
    assert.equal(BigInt(tgid.insns[0].offset), byteOffset("task_struct", "tgid"));
    assert.equal(pid.insns[0].size, Size.W);
  });

  test("field exists: 1 for a real field, 0 and a poisoned guarded read for a missing one", () => {
    const [pid, missing, read] = records("field_exists", 3);
    assert.deepEqual([pid.relo.kind, pid.result.value, pid.insns[0].imm], [K.FieldExists, 1n, 1]);
    assert.deepEqual([missing.relo.kind, missing.result.value, missing.insns[0].imm], [K.FieldExists, 0n, 0]);
    assert.equal(read.relo.kind, K.FieldByteOffset);
    assert.equal(read.result.poison, true);
    assert.equal(isCorePoison(read.insns[0]), true);
    assert.equal(read.insns[0].toString().includes("call"), true);
  });

  test("field size of comm (char[16]) and pid (int)", () => {
    const [pid, comm] = records("field_size", 2);
    assert.equal(pid.result.value, BigInt(bpftoolSize(bpftoolMember("task_struct", "pid").typeId)));
    assert.equal(comm.result.value, BigInt(bpftoolSize(bpftoolMember("task_struct", "comm").typeId)));
    assert.equal(comm.result.value, 16n);
  });

  test("array element &task->comm[3]", () => {
    const [elem] = records("array_elem", 1);
    assert.equal(elem.relo.accessStr.split(":").pop(), "3");
    assert.equal(elem.result.value, byteOffset("task_struct", "comm") + 3n);
  });

  test("bitfield read: offset, size, shifts and signedness extract exactly the kernel's bits", () => {
    const rs = records("bitfield", 6);
    const m = bpftoolMember("task_struct", "sched_reset_on_fork");
    assert.ok(m.bitfieldSize > 0);
    const get = (kind: number) => rs.find((r) => r.relo.kind === kind)!.result.value;
    const off = Number(get(K.FieldByteOffset));
    const size = Number(get(K.FieldByteSize));
    const lshift = Number(get(K.FieldLShiftU64));
    const rshift = Number(get(K.FieldRShiftU64));
    assert.ok([1, 2, 4, 8].includes(size));
    assert.ok(off * 8 <= m.bitOffset && m.bitOffset + m.bitfieldSize <= (off + size) * 8, "load window covers the bits");
    assert.equal(off % size, 0, "aligned load");
    assert.equal(m.bitOffset - off * 8 + m.bitfieldSize + lshift, 64, "lshift puts the top bit at bit 63");
    assert.equal(rshift, 64 - m.bitfieldSize);
    assert.equal(get(K.FieldSigned), 0n);
  });

  test("anonymous unions/structs: sk_buff.dev", () => {
    const [dev] = records("anon_members", 1);
    assert.ok(dev.result.localSpec.raw.length > 2, "path goes through anonymous members");
    assert.equal(dev.result.value, byteOffset("sk_buff", "dev"));
  });

  test("type exists / size", () => {
    const [exists, missing, size] = records("type_relos", 3);
    assert.deepEqual([exists.relo.kind, exists.result.value], [K.TypeExists, 1n]);
    assert.deepEqual([missing.relo.kind, missing.result.value, missing.insns[0].imm], [K.TypeExists, 0n, 0]);
    assert.equal(size.result.value, BigInt(bpftoolFind("STRUCT", "task_struct").size!));
  });

  test("type id local and kernel", () => {
    const [local, kernel] = records("type_ids", 2);
    const { obj } = fixtures();
    assert.equal(local.relo.kind, K.TypeIdLocal);
    assert.equal(local.result.value, BigInt(obj.btf.find("task_struct", "struct")[0]));
    assert.equal(kernel.relo.kind, K.TypeIdTarget);
    assert.equal(kernel.result.value, BigInt(bpftoolFind("STRUCT", "task_struct").id));
    assert.equal(kernel.insns[0].constant, kernel.result.value);
  });

  test("enum value exists / value; a missing enumerator is 0 and its value load poisoned", () => {
    const [exists, value, missingExists, missingValue] = records("enum_values", 4);
    const ringbuf = bpftoolFind("ENUM", "bpf_map_type").values!.find((v) => v.name === "BPF_MAP_TYPE_RINGBUF")!;
    assert.deepEqual([exists.relo.kind, exists.result.value], [K.EnumvalExists, 1n]);
    assert.deepEqual([value.relo.kind, value.result.value], [K.EnumvalValue, BigInt(ringbuf.val)]);
    assert.equal(value.insns[0].constant, BigInt(ringbuf.val));
    assert.equal(missingExists.result.value, 0n);
    assert.equal(missingValue.result.poison, true);
    assert.equal(missingValue.insns.length, 2, "ld_imm64 becomes two poison calls");
    assert.ok(missingValue.insns.every(isCorePoison));
  });

  test("flavor task_struct___v1 resolves to the kernel's task_struct", () => {
    const [parent, tgid] = records("flavor", 2);
    assert.match(parent.result.localSpec.btf.nameOf(parent.relo.typeId), /^task_struct___v1$/);
    assert.equal(parent.result.value, byteOffset("task_struct", "real_parent"));
    assert.equal(tgid.result.value, byteOffset("task_struct", "tgid"));
    assert.equal(parent.result.origValue, 8n, "local flavor layout");
  });

  test("type matches: kernel-typed subset matches, wrong width does not but exists", { skip: coreClangMajor() < 15 ? "needs clang >= 15" : undefined }, () => {
    const [sub, mismatch, exists] = records("type_matches", 3);
    assert.deepEqual([sub.relo.kind, sub.result.value], [K.TypeMatches, 1n]);
    assert.deepEqual([mismatch.relo.kind, mismatch.result.value], [K.TypeMatches, 0n]);
    assert.deepEqual([exists.relo.kind, exists.result.value], [K.TypeExists, 1n]);
  });

  test("unsigned u64 view of a u32 field: the load is narrowed to 4 bytes", () => {
    const [r] = records("resize_unsigned", 1, fixtures().resize);
    assert.deepEqual([r.result.origSize, r.result.fieldSize, r.result.failMemSizeAdjust], [8, 4, false]);
    assert.equal(r.insns[0].size, Size.W);
    assert.equal(BigInt(r.insns[0].offset), byteOffset("task_struct", "flags"));
  });

  test("signed view of a different-size field: the load is poisoned", () => {
    const [r] = records("resize_signed", 1, fixtures().resize);
    assert.equal(r.result.failMemSizeAdjust, true);
    assert.equal(isCorePoison(r.insns[0]), true);
  });
});
