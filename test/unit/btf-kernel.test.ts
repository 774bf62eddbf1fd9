// Unit tests of kernel BTF access: /sys/kernel/btf/vmlinux parsed lazily, well-known types, bpftool agreement, caching.
// Reads sysfs only (no bpf syscalls, no privileges); skipped when the kernel has no BTF.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import {
  clearKernelBtfCache, kernelBtf, kernelBtfWithModules, kernelModuleBtfNames, moduleBtf, VMLINUX_BTF_PATH,
} from "../../src/btf/kernel.js";
import { BtfError } from "../../src/errors.js";
import { hasTool } from "../helpers/toolchain.js";
import { bpftoolTypes, normalize } from "../helpers/bpftool-btf.js";

const skip = existsSync(VMLINUX_BTF_PATH) ? {} : { skip: "no /sys/kernel/btf/vmlinux (CONFIG_DEBUG_INFO_BTF)" };

describe("kernel BTF", skip, () => {
  test("vmlinux parses; task_struct and list_head look like they should", () => {
    const btf = kernelBtf();
    assert.ok(btf.typeCount > 10_000);
    const task = btf.findOne("task_struct", "struct");
    assert.ok(task !== undefined);
    const t = btf.type(task);
    assert.ok(t.kind === "struct");
    if (t.kind !== "struct") return;
    const members = new Map(t.members.map((m) => [m.name, m]));
    for (const name of ["pid", "tgid", "comm", "real_parent", "mm", "flags"]) assert.ok(members.has(name), name);
    assert.equal(btf.toString(members.get("real_parent")!.type), "struct task_struct *");
    assert.equal(btf.sizeof(members.get("comm")!.type), 16);
    assert.equal(btf.toString(btf.resolve(members.get("pid")!.type)), "int");
    assert.equal(btf.sizeof(btf.findOne("list_head", "struct")!), 16);
    assert.ok(btf.sizeof(task) > 1000);
    assert.equal(btf.nameOf(btf.resolve(btf.findOne("u32", "typedef")!)), "unsigned int");
    const func = btf.find("bpf_map_lookup_elem", "func");
    assert.ok(func.length >= 1);
    const enums = btf.find("bpf_map_type", "enum");
    assert.equal(enums.length, 1);
    const e = btf.type(enums[0]);
    assert.ok(e.kind === "enum" && e.values.some((v) => v.name === "BPF_MAP_TYPE_RINGBUF" && v.value === 27n));
  });

  test("every vmlinux type decodes exactly as bpftool dumps it", { skip: !hasTool("bpftool") && "bpftool missing" }, () => {
    const btf = kernelBtf();
    const want = bpftoolTypes(VMLINUX_BTF_PATH);
    assert.equal(want.length, btf.typeCount - 1);
    for (const w of want) {
      const got = normalize(btf.type(w.id));
      if (got.kind !== w.kind || got.name !== w.name) assert.deepEqual(got, w); // cheap pre-check, full diff on failure
      assert.deepEqual(got, w);
    }
    assert.ok(want.some((w) => w.kind === "enum" && w.is64), "vmlinux has ENUM64 types");
  });

  test("cached until cleared", () => {
    const a = kernelBtf();
    assert.equal(kernelBtf(), a);
    clearKernelBtfCache();
    const b = kernelBtf();
    assert.notEqual(b, a);
    assert.equal(b.typeCount, a.typeCount);
  });

  test("modules: vmlinux comes first, modules are split on top of it", () => {
    const entries = [...kernelBtfWithModules()];
    assert.equal(entries[0].name, "vmlinux");
    assert.equal(entries[0].btf, kernelBtf());
    assert.equal(entries.length, 1 + kernelModuleBtfNames().length);
    for (const e of entries.slice(1)) {
      assert.equal(e.btf.base, kernelBtf());
      assert.equal(e.btf.firstId, kernelBtf().typeCount);
      assert.equal(moduleBtf(e.name), e.btf);
    }
    assert.equal(moduleBtf("vmlinux"), kernelBtf());
  });

  test("missing BTF is a clear BtfError", () => {
    assert.throws(() => moduleBtf("tsbpf_no_such_module"), (e: unknown) => e instanceof BtfError && e.code === "BTF_KERNEL_NOT_FOUND" && /tsbpf_no_such_module/.test(e.message));
    assert.throws(() => moduleBtf("../vmlinux"), (e: unknown) => e instanceof BtfError && e.code === "BTF_KERNEL_NOT_FOUND");
    assert.throws(() => kernelBtf("/nonexistent/vmlinux"), (e: unknown) => e instanceof BtfError && e.code === "BTF_KERNEL_NOT_FOUND" && e.message.includes("/nonexistent/vmlinux"));
  });
});
