// Feature probes against the running kernel: what every 6.1+ kernel has is "yes", what no kernel has
// is "no", and where this kernel refuses something (map-element iterators and arenas on some builds)
// the probe's answer must match what loading the real object gives — whatever this host answers.

import assert from "node:assert/strict";
import { dirname } from "node:path";
import { after, before, describe, test } from "node:test";
import { kernelBtf } from "../../src/btf/kernel.js";
import { KernelRefusedError, MissingFeatureError, SyscallError, TsbpfError } from "../../src/errors.js";
import {
  assertFeature, haveAttachType, haveBtfKind, haveHelper, haveInstructionSet, haveIterTarget, haveKfunc, haveLinkType,
  haveMapType, haveProgramType, type FeatureResult,
} from "../../src/features.js";
import { featuresMarkdown, standardFeatureRows } from "../../src/cli/commands/features.js";
import { createMap } from "../../src/index.js";
import { vmlinuxHeader } from "../helpers/toolchain.js";
import { compileAndRead } from "../helpers/loader.js";
import { ProgramSet } from "../helpers/program-set.js";
import { privileged } from "../helpers/privileges.js";

/** The largest value of a kernel BTF enum (e.g. __MAX_BPF_PROG_TYPE), from the running kernel. */
function enumMax(name: string): number {
  const btf = kernelBtf();
  const id = btf.find(name, "enum")[0];
  assert.ok(id !== undefined, `kernel BTF has enum ${name}`);
  const t = btf.type(id);
  assert.ok(t.kind === "enum");
  return Math.max(...t.values.map((v) => Number(v.value)));
}

const statusOf = (r: FeatureResult) => `${r.status}${r.status === "yes" ? "" : ` (${r.errnoCode}: ${r.reason})`}`;

describe("feature probes: what every 6.1+ kernel has", privileged(), () => {
  const cases: [string, () => FeatureResult][] = [
    ["HASH maps", () => haveMapType("HASH")],
    ["ARRAY maps", () => haveMapType("ARRAY")],
    ["RINGBUF maps", () => haveMapType("RINGBUF")],
    ["XDP programs", () => haveProgramType("XDP")],
    ["socket filters", () => haveProgramType("SOCKET_FILTER")],
    ["tp_btf programs (TRACING)", () => haveProgramType("TRACING")],
    ["bpf_map_lookup_elem in XDP", () => haveHelper("XDP", "bpf_map_lookup_elem")],
    ["BTF kind FUNC", () => haveBtfKind("func")],
    ["BTF kind ENUM64 (6.0)", () => haveBtfKind("enum64")],
    ["instruction set v2", () => haveInstructionSet("v2")],
    ["instruction set v3", () => haveInstructionSet("v3")],
    ["the task iterator", () => haveIterTarget("task")],
    ["cgroup links", () => haveLinkType("CGROUP")],
    ["perf event links", () => haveLinkType("PERF_EVENT")],
    ["raw tracepoint links", () => haveLinkType("RAW_TRACEPOINT")],
    ["attach type CGROUP_INET4_CONNECT", () => haveAttachType("CGROUP_SOCK_ADDR", "CGROUP_INET4_CONNECT")],
  ];
  for (const [what, probe] of cases) {
    test(`${what}: yes`, () => {
      const r = probe();
      assert.equal(r.status, "yes", statusOf(r));
      assert.doesNotThrow(() => assertFeature(r));
    });
  }

  test("kfunc bpf_task_acquire (6.2+): yes exactly when the kernel's BTF has it, also for SYSCALL programs", () => {
    const inBtf = kernelBtf().find("bpf_task_acquire", "func").length > 0;
    assert.equal(haveKfunc("bpf_task_acquire").status, inBtf ? "yes" : "no");
    assert.equal(haveKfunc("bpf_task_acquire", "SYSCALL").status, inBtf ? "yes" : "no");
  });

  test("answers are memoised: asking again returns the same answer object", () => {
    assert.equal(haveMapType("HASH"), haveMapType(1));
  });
});

describe("feature probes: what no kernel has", privileged(), () => {
  test("a program type number beyond the kernel's last is 'no' (EINVAL), and assertFeature throws MissingFeatureError", () => {
    const r = haveProgramType(enumMax("bpf_prog_type") + 1);
    assert.ok(r.status === "no", statusOf(r));
    assert.equal(r.errnoCode, "EINVAL");
    assert.throws(() => assertFeature(r), (e: unknown) => e instanceof MissingFeatureError && e.code === "FEATURE_MISSING" && /lacks BPF_PROG_TYPE_\d+ programs|lacks \d+ programs/.test(e.message));
  });

  test("a map type number beyond the kernel's last is 'no'", () => {
    const r = haveMapType(enumMax("bpf_map_type") + 1);
    assert.equal(r.status, "no", statusOf(r));
  });

  test("a helper id far beyond the last is 'no', by the verifier's 'invalid func'", () => {
    const r = haveHelper("XDP", enumMax("bpf_func_id") + 1000);
    assert.ok(r.status === "no", statusOf(r));
    assert.match(r.reason, /the verifier says: .*(invalid|unknown) func/);
  });

  test("a helper the program type may not call is 'no' (bpf_skb_load_bytes in a tracepoint program)", () => {
    const r = haveHelper("TRACEPOINT", "skb_load_bytes");
    assert.ok(r.status === "no", statusOf(r));
    assert.match(r.reason, /cannot use helper|unknown func|invalid func/);
  });

  test("kfuncs: a name the kernel does not have, and a kernel function that is not a kfunc, are 'no'", () => {
    assert.equal(haveKfunc("tsbpf_features_no_such_kfunc").status, "no");
    const vfs = haveKfunc("vfs_read");
    assert.equal(vfs.status, "no", statusOf(vfs));
  });

  test("an iterator target the kernel does not have is 'no'", () => {
    assert.equal(haveIterTarget("tsbpf_no_such_iter").status, "no");
  });
});

describe("feature probes agree with loading the real object", privileged(), () => {
  let set: ProgramSet;
  before(async () => {
    const { spec } = await compileAndRead("test/fixtures/c/hooks/misc.bpf.c", { includes: [dirname(vmlinuxHeader())] });
    set = new ProgramSet(spec);
  });
  after(() => set?.close());

  test("haveIterTarget('bpf_map_elem') matches loading misc.bpf.c's iter/bpf_map_elem program dump_elems", () => {
    const r = haveIterTarget("bpf_map_elem");
    let loaded: unknown;
    try {
      loaded = set.program("dump_elems");
    } catch (e) {
      loaded = e;
    }
    if (r.status === "yes") {
      assert.ok(!(loaded instanceof Error), `the probe says yes, the load failed: ${String(loaded)}`);
    } else if (r.status === "refused") {
      assert.ok(loaded instanceof KernelRefusedError, `the probe says refused (${r.errnoCode}), the load gave: ${String(loaded)}`);
      assert.equal(loaded.errnoCode, r.errnoCode);
      assert.throws(() => assertFeature(r), (e: unknown) => e instanceof KernelRefusedError && e.errnoCode === r.errnoCode && /refuses iterator bpf_map_elem/.test(e.message));
    } else {
      assert.ok(loaded instanceof MissingFeatureError || loaded instanceof KernelRefusedError, `the probe says no, the load gave: ${String(loaded)}`);
    }
  });

  test("haveMapType('ARENA') matches creating an arena map", () => {
    const r = haveMapType("ARENA");
    let created: unknown;
    try {
      created = createMap({ type: "arena", name: "arena", maxEntries: 1 });
    } catch (e) {
      created = e;
    }
    if (created && typeof created === "object" && "close" in created && typeof created.close === "function") created.close();
    if (r.status === "yes") {
      assert.ok(!(created instanceof Error), `the probe says yes, the create failed: ${String(created)}`);
    } else if (r.status === "refused") {
      assert.ok(created instanceof SyscallError && created.code === r.errnoCode, `the probe says refused (${r.errnoCode}), the create gave: ${String(created)}`);
    } else {
      assert.ok(created instanceof MissingFeatureError && created.code === "MAP_TYPE_UNSUPPORTED", `the probe says no, the create gave: ${String(created)}`);
    }
  });

  test("asking about something tsbpf cannot name is a typed error", () => {
    assert.throws(() => haveLinkType("UNSPEC"), (e: unknown) => e instanceof TsbpfError && e.code === "INVALID_ARGUMENT");
  });
});

describe("tsbpf features", privileged(), () => {
  test("every probe of the standard set decides (no FEATURE_PROBE_FAILED) and the Markdown table lists each answer", () => {
    const rows = standardFeatureRows();
    const failed = rows.filter((r) => r.result instanceof TsbpfError).map((r) => `${r.group} ${r.feature}: ${(r.result as TsbpfError).message}`);
    assert.deepEqual(failed, []);
    const md = featuresMarkdown(rows, "test-kernel");
    assert.equal(md[0], "Answers on Linux test-kernel (`npm run features -- --markdown`):");
    assert.equal(md.length, rows.length + 4);
    assert.ok(md.includes("| map type | HASH | yes |  |"));
    const iter = haveIterTarget("bpf_map_elem");
    assert.ok(md.some((l) => l.startsWith(`| iterator | bpf_map_elem | ${iter.status === "yes" ? "yes" : `**${iter.status}**`} |`)));
  });
});
