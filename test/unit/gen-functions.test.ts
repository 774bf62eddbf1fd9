// Tests of the function prototypes `tsbpf gen vmlinux --hooks --functions` emits on the running kernel's
// BTF: named tp_btf arguments, LSM hooks, fentry targets with return types, unknown names, the shipped file.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { kernelBtf, VMLINUX_BTF_PATH } from "../../src/btf/kernel.js";
import { BtfError } from "../../src/errors.js";
import { functionProtos } from "../../src/gen/functions.js";
import { generateDeclarations } from "../../src/gen/typescript.js";
import { SHIPPED_FUNCTIONS, SHIPPED_PATH } from "../../scripts/gen-vmlinux.js";

const noBtf = existsSync(VMLINUX_BTF_PATH) ? false : "no kernel BTF at /sys/kernel/btf/vmlinux";

describe("gen: function prototypes", { skip: noBtf }, () => {
  test("tp_btf events get their probe's parameter names; LSM hooks and functions their own", () => {
    const btf = kernelBtf();
    const p = functionProtos(btf, { hooks: true, functions: ["do_unlinkat", "vfs_read"] });
    const names = (list: typeof p.functions, n: string) => list.find((f) => f.name === n)?.params.map((a) => a.name);
    assert.deepEqual(names(p.btfTracepoints, "sched_switch"), ["preempt", "prev", "next", "prev_state"]);
    assert.deepEqual(names(p.btfTracepoints, "sched_process_fork"), ["parent", "child"]);
    // sched_wakeup shares the sched_wakeup_template class: names come from the class's probe
    assert.deepEqual(names(p.btfTracepoints, "sched_wakeup"), ["p"]);
    assert.deepEqual(names(p.lsmHooks, "file_open"), ["file"]);
    assert.deepEqual(names(p.functions, "do_unlinkat"), ["dfd", "name"]);
    assert.deepEqual(names(p.functions, "vfs_read"), ["file", "buf", "count", "pos"]);
    assert.ok(p.btfTracepoints.length > 1000, `${p.btfTracepoints.length} tp_btf events`);
    assert.ok(p.lsmHooks.length > 200, `${p.lsmHooks.length} LSM hooks`);
  });

  test("the emitted maps type arguments and return values; argument structs come with their members", () => {
    const text = generateDeclarations(kernelBtf(), { hooks: true, functions: ["do_unlinkat"], depth: 1 }).text;
    assert.match(text, /"sched_switch": \{ preempt: bool; prev: task_struct; next: task_struct; prev_state: u32; \};/);
    assert.match(text, /"file_open": \{ file: file; \};/);
    assert.match(text, /"do_unlinkat": \{ args: \{ dfd: i32; name: filename; \}; ret: i32 \};/);
    assert.match(text, /export interface file \{\n[^}]*f_flags: u32;/, "struct file has its members");
  });

  test("an unknown function is a typed error naming it", () => {
    assert.throws(
      () => functionProtos(kernelBtf(), { functions: ["do_unlinkat", "no_such_function_xyz"] }),
      (e: unknown) => e instanceof BtfError && e.code === "BTF_GEN_UNKNOWN_TYPE" && /no_such_function_xyz/.test(e.message) && !/do_unlinkat/.test(e.message),
    );
  });

  test("the shipped declarations hold every shipped function", () => {
    const shipped = readFileSync(SHIPPED_PATH, "utf8");
    for (const f of SHIPPED_FUNCTIONS) assert.match(shipped, new RegExp(`^  "${f}": \\{ args: `, "m"), f);
  });
});
