// Tests of `tsbpf gen vmlinux` on the running kernel's BTF and of the shipped src/kernel/vmlinux.ts:
// CLI output, known kernel members, determinism, strict type-checking, freshness of the shipped file.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Btf } from "../../src/btf/btf.js";
import { kernelBtf, VMLINUX_BTF_PATH } from "../../src/btf/kernel.js";
import { BtfError } from "../../src/errors.js";
import { readTracefsFormats, tracepointContexts } from "../../src/gen/tracepoints.js";
import { buildCli } from "../../src/cli/main.js";
import { describeBtfSource, runGenVmlinux } from "../../src/cli/commands/gen.js";
import { generateDeclarations } from "../../src/gen/typescript.js";
import { BTF_MARKER } from "../../src/gen/typescript.js";
import { shippedVmlinux, SHIPPED_PATH, SHIPPED_ROOTS } from "../../scripts/gen-vmlinux.js";
import { kernelStandIn, typecheck } from "../helpers/ts-check.js";

const ROOT = new URL("../../", import.meta.url).pathname;
const TYPES_TS = readFileSync(new URL("../../src/kernel/types.ts", import.meta.url), "utf8");
const noBtf = existsSync(VMLINUX_BTF_PATH) ? false : "no kernel BTF at /sys/kernel/btf/vmlinux";

function interfaceBody(text: string, name: string): string {
  const m = new RegExp(`export interface ${name} \\{\\n([\\s\\S]*?)\\n\\}`).exec(text);
  assert.ok(m, `interface ${name} missing`);
  return m[1];
}

describe("tsbpf gen vmlinux on the running kernel", { skip: noBtf }, () => {
  test("CLI writes -o with the marker, task_struct members and tracepoint contexts", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tsbpf-gen-"));
    try {
      const out = join(dir, "sub", "vmlinux.ts");
      const err = process.stderr.write;
      let said = "";
      process.stderr.write = ((s: string) => ((said += s), true)) as typeof process.stderr.write;
      try {
        await buildCli().exitOverride().parseAsync(["node", "tsbpf", "gen", "vmlinux", "--types", "task_struct", "--types", "sock,sk_buff", "--depth", "1", "--tracepoints", "-o", out]);
      } finally {
        process.stderr.write = err;
      }
      assert.match(said, /interfaces, \d+ stubs/);
      const text = readFileSync(out, "utf8");
      assert.ok(text.startsWith(`${BTF_MARKER} vmlinux `), text.slice(0, 80));
      assert.match(text.split("\n")[1], /tsbpf gen vmlinux --types task_struct,sock,sk_buff --depth 1 --tracepoints/);
      assert.match(text, /from "tsbpf\/kernel";\n/);
      const task = interfaceBody(text, "task_struct");
      for (const line of ["real_parent: task_struct;", "tgid: i32;", "pid: i32;", "comm: CharArray<16>;", "mm: mm_struct;", "cred: cred;"]) {
        assert.ok(task.includes(`  ${line}\n`), `task_struct lacks ${line}`);
      }
      // Anonymous unions/structs of sock_common are flattened (C's sk->__sk_common.skc_family).
      const common = interfaceBody(text, "sock_common");
      for (const line of ["skc_family: u16;", "skc_daddr: u32;", "skc_dport: u16;", "skc_num: u16;"]) assert.ok(common.includes(`  ${line}`), line);
      assert.match(text, /"sched_process_exec": trace_event_raw_sched_process_exec;/);
      assert.match(text, /"sched_wakeup": trace_event_raw_sched_wakeup_template;/);
      assert.match(interfaceBody(text, "trace_event_raw_sched_process_exec"), /^  ent: trace_entry;\n  __data_loc_filename: u32;\n  pid: i32;\n  old_pid: i32;/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("CLI to stdout in a child process; errors exit non-zero with a coded message", () => {
    const run = (...args: string[]) => spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", "gen", "vmlinux", ...args], { cwd: ROOT, encoding: "utf8" });
    const ok = run("--types", "ethhdr,iphdr", "--depth", "0");
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /^\/\/ @tsbpf-btf vmlinux /);
    assert.match(interfaceBody(ok.stdout, "ethhdr"), /h_dest: CharArray<6>;\n  h_source: CharArray<6>;\n  h_proto: u16;/);
    const missing = run("--types", "no_such_struct_xyz");
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /BTF_GEN_UNKNOWN_TYPE.*no_such_struct_xyz/);
    const badBtf = run("--btf", "/nonexistent/vmlinux", "--types", "x");
    assert.equal(badBtf.status, 1);
    assert.match(badBtf.stderr, /BTF_KERNEL_NOT_FOUND/);
    const nothing = run();
    assert.equal(nothing.status, 1);
    assert.match(nothing.stderr, /BTF_GEN_BAD_OPTION/);
  });

  test("tracepoint classes: BTF-only matching agrees with tracefs; a bad --tracefs is an error", (t) => {
    const formats = readTracefsFormats();
    if (formats.size === 0) return t.skip("tracefs not mounted");
    const btf = kernelBtf();
    const exact = tracepointContexts(btf, { formats });
    const guessed = tracepointContexts(btf);
    assert.ok(exact.size >= guessed.size && guessed.size > 100, `${exact.size} / ${guessed.size}`);
    let agree = 0;
    for (const [event, id] of guessed) if (exact.get(event) === id) agree++;
    assert.ok(agree / guessed.size > 0.98, `${agree} of ${guessed.size} BTF-only matches agree with tracefs`);
    assert.throws(() => runGenVmlinux({ tracepoints: true, tracefs: "/nonexistent-tracefs" }), (e: unknown) => e instanceof BtfError && e.code === "BTF_GEN_BAD_OPTION");
  });

  test("deterministic: two generations from separately parsed BTF are identical", () => {
    const bytes = readFileSync(VMLINUX_BTF_PATH);
    const opts = { types: ["task_struct", "sock", "file"], depth: 2, tracepoints: true, source: "x" } as const;
    const a = generateDeclarations(Btf.parse(bytes), opts).text;
    const b = generateDeclarations(Btf.parse(new Uint8Array(bytes)), opts).text;
    assert.equal(a, b);
  });

  test("--all compiles under strict TypeScript (every kernel name handled)", () => {
    const r = runGenVmlinux({ all: true, tracepoints: true, importFrom: "./index.js", source: "all" });
    assert.ok(r.interfaces > 1000 && r.constants > 1000, `${r.interfaces} interfaces, ${r.constants} constants`);
    const diags = typecheck({ ...kernelStandIn(TYPES_TS), "all.ts": r.text }, ["all.ts"]);
    assert.deepEqual(diags.slice(0, 10), []);
  });
});

describe("shipped src/kernel/vmlinux.ts", () => {
  const shipped = readFileSync(SHIPPED_PATH, "utf8");

  test("starts with the marker, imports from ./index.js and holds every root", () => {
    assert.ok(shipped.startsWith(`${BTF_MARKER} vmlinux `));
    assert.match(shipped, /^import type \{[^}]+\} from "\.\/index\.js";$/m);
    for (const root of SHIPPED_ROOTS) assert.match(shipped, new RegExp(`/\\*\\* @btf (struct|union) ${root} \\*/\\nexport interface ${root} \\{\\n  `), root);
    assert.match(shipped, /export interface TracepointContexts \{/);
    assert.ok(shipped.length < 2_000_000, `${shipped.length} bytes`);
  });

  test("type-checks under strict TypeScript, with the kernel reads of DESIGN.md", () => {
    const use = [
      'import type { task_struct, sk_buff, TracepointContexts } from "./vmlinux.js";',
      "declare const task: task_struct;",
      "export const ppid: number = task.real_parent.tgid;",
      "export const pid: number = task.pid;",
      "export const c: number = task.comm[0];",
      "export const len: 16 = task.comm.length;",
      "export const inode: bigint = task.mm.exe_file.f_inode.i_ino;",
      "export const fam: number = task.files !== null ? 1 : 0;",
      "declare const skb: sk_buff;",
      "export const family: number = skb.sk.__sk_common.skc_family;",
      "export const len2: number = skb.len;",
      'declare const exec: TracepointContexts["sched_process_exec"];',
      "export const e: number = exec.pid + exec.ent.pid;",
      "// @ts-expect-error no such member",
      "export const bad = task.no_such_member;",
      "",
    ].join("\n");
    const diags = typecheck({ ...kernelStandIn(TYPES_TS), "vmlinux.ts": shipped, "use.ts": use }, ["vmlinux.ts", "use.ts"]);
    assert.deepEqual(diags, []);
  });

  test("is what scripts/gen-vmlinux.ts writes for this kernel (when the BTF is the one it was made from)", (t) => {
    if (noBtf) return t.skip(noBtf);
    const marker = shipped.split("\n", 1)[0];
    const here = `${BTF_MARKER} ${describeBtfSource(VMLINUX_BTF_PATH, readFileSync(VMLINUX_BTF_PATH))}`;
    if (marker !== here) return t.skip(`shipped file is from another kernel (${marker})`);
    assert.equal(shippedVmlinux(), shipped, "run: node --import tsx scripts/gen-vmlinux.ts");
  });
});
