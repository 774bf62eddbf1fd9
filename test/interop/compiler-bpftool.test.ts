// Every TypeScript kernel program in the repository (examples, semantic and asm fixtures, found by glob)
// compiled by tsbpf loads with libbpf (`bpftool prog loadall`) and with tsbpf's own load().

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { compile, formatDiagnostic } from "../../src/compiler/index.js";
import { KernelRefusedError, TsbpfError, VerifierError } from "../../src/errors.js";
import { load } from "../../src/index.js";
import { readCollectionSpec } from "../../src/object/reader.js";
import type { CollectionSpec } from "../../src/object/spec.js";
import { bpftoolPath, REPO_ROOT } from "../helpers/toolchain.js";
import { bpffsProblem } from "../helpers/loader.js";
import { privileged } from "../helpers/privileges.js";

/** Every `*.bpf.ts` under examples/ (any depth), test/fixtures/ts/{semantics,asm,kinds}/. */
function discover(): string[] {
  const out: string[] = [];
  const add = (dir: string, recursive: boolean) => {
    const abs = join(REPO_ROOT, dir);
    if (!existsSync(abs)) return;
    for (const f of readdirSync(abs, { recursive }) as string[]) {
      // Skipped: scratch directories (`_x`, `.x`), node_modules, the semantic tests' virtual files.
      if (f.endsWith(".bpf.ts") && !f.split("/").some((p) => p === "node_modules" || p.startsWith("virtual-") || p.startsWith("_") || p.startsWith("."))) out.push(join(abs, f));
    }
  };
  add("examples", true);
  add("test/fixtures/ts/semantics", false);
  add("test/fixtures/ts/asm", false);
  add("test/fixtures/ts/kinds", false);
  return out.sort();
}

/**
 * Program kinds this host cannot load, by section prefix, with the reason. These programs are still
 * compiled, opened by libbpf and attempted: a load must either succeed or fail with EPERM (the host's
 * verdict), never with a verifier rejection of our code.
 */
const HOST_LIMITS: readonly [RegExp, string][] = [
  [/^(fentry|fexit|fmod_ret)\//, "fentry/fexit need BPF trampolines, refused with EPERM on this host (tested in the VM suite)"],
  [/^lsm\//, "LSM programs need BPF trampolines, refused with EPERM on this host (tested in the VM suite)"],
  [/^iter\/bpf_map_elem$/, "map-element iterators are refused with EPERM on this host (haveIterTarget(\"bpf_map_elem\") answers refused)"],
  [/^(fentry|fexit|fmod_ret|lsm)\.s\//, "sleepable fentry/fexit/fmod_ret/LSM need BPF trampolines, refused with EPERM on this host"],
  [/^lsm_cgroup\//, "lsm_cgroup programs need BPF trampolines, refused with EPERM on this host (test/vm/compiler-trampolines)"],
];
const EPERM = 1;

/**
 * Sections that need something bpftool's `prog loadall` cannot give: freplace (extension) programs are
 * loaded against a target program (libbpf: "attach program FD is not set"). bpftool's load is skipped with
 * the reason; tsbpf's load must refuse them with FREPLACE_NEEDS_TARGET (test/kernel/kinds-trampolines and
 * test/vm/compiler-trampolines load them against a target).
 */
const NEEDS_TARGET = /^freplace\//;

/**
 * Section names newer than some libbpf releases: [section, first libbpf version that accepts it] (from
 * libbpf's release notes: v1.3.0 added netfilter, tcx, uprobe.multi and the cgroup unix hooks). An
 * older libbpf (this host's bpftool links 1.1) cannot open such an object ("failed to guess program type
 * from ELF section"), so bpftool's `prog loadall` is skipped, saying why; tsbpf's own load still runs.
 */
const LIBBPF_SINCE: readonly [RegExp, string][] = [
  [/^netfilter$/, "1.3"],
  [/^tcx\//, "1.3"],
  [/^cgroup\/(connect|sendmsg|recvmsg|getpeername|getsockname)_unix$/, "1.3"],
  [/^u(ret)?probe\.multi(\.s)?(\/|$)/, "1.3"],
  [/^sk_skb\/verdict$/, "1.4"],
];

/** bpftool's libbpf version as [major, minor] ("using libbpf v1.1"), or undefined. */
function bpftoolLibbpf(): [number, number] | undefined {
  const m = /libbpf v(\d+)\.(\d+)/.exec(bpftool(["version"]).stdout);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/** Why bpftool cannot load a program of `section` here (a libbpf older than the section, or a target to give), or undefined. */
function bpftoolCannot(section: string, have: [number, number] | undefined): string | undefined {
  if (NEEDS_TARGET.test(section)) return `section ${section}: an extension program needs its target program at load, which bpftool prog loadall cannot give`;
  const need = LIBBPF_SINCE.find(([re]) => re.test(section))?.[1];
  if (!need || !have) return undefined;
  const [major, minor] = need.split(".").map(Number) as [number, number];
  return have[0] < major || (have[0] === major && have[1] < minor) ? `section ${section} needs libbpf >= ${need}; bpftool here uses libbpf v${have.join(".")}` : undefined;
}

function hostLimit(section: string): string | undefined {
  return HOST_LIMITS.find(([re]) => re.test(section))?.[1];
}

function run(cmd: string, args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  return { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}
const bpftool = (args: string[]) => run(bpftoolPath(), args);

/** libbpf's lines of a bpftool run (its warnings and errors), without bpftool's strict-mode banner. */
function libbpfLines(stderr: string): string {
  return stderr.split("\n").filter((l) => l.trim() && !/libbpf strict mode|--legacy option/.test(l)).join("\n");
}

const FILES = discover();

/** A bpffs entry name for a path (bpffs refuses names with dots). */
function pinName(path: string): string {
  return path.replace(/[^A-Za-z0-9_-]/g, "_");
}

describe("compiled TypeScript programs: libbpf and tsbpf load them", privileged(() => bpffsProblem()), () => {
  let dir: string;
  let pinRoot: string;
  const objects = new Map<string, { path: string; spec: CollectionSpec }>();
  const libbpfVersion = bpftoolLibbpf();

  /** Compiles `file` once (against the running kernel's BTF) and writes the object. */
  function object(file: string): { path: string; spec: CollectionSpec } {
    let o = objects.get(file);
    if (!o) {
      const r = compile(file);
      if (!r.object) throw new Error(`compile ${relative(REPO_ROOT, file)}:\n${r.diagnostics.map(formatDiagnostic).join("\n")}`);
      const path = join(dir, `${relative(REPO_ROOT, file).replace(/[/.]/g, "_")}.o`);
      writeFileSync(path, r.object);
      o = { path, spec: readCollectionSpec(r.object) };
      objects.set(file, o);
    }
    return o;
  }

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "tsbpf-compiler-interop-"));
    process.env.TSBPF_CACHE_DIR = join(dir, "cache"); // load("x.bpf.ts") caches here, not in ~/.cache
    pinRoot = `/sys/fs/bpf/tsbpf-compiler-interop-${process.pid}`;
    mkdirSync(pinRoot, { recursive: true });
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(pinRoot, { recursive: true, force: true });
  });

  test("finds the examples and fixtures", () => {
    const rel = FILES.map((f) => relative(REPO_ROOT, f));
    assert.ok(rel.some((f) => f.startsWith("examples/")), "an example");
    assert.ok(rel.filter((f) => f.startsWith("test/fixtures/ts/asm/")).length >= 15, "the asm fixtures");
    assert.ok(rel.some((f) => f.startsWith("test/fixtures/ts/semantics/")), "the semantic fixtures");
  });

  for (const file of FILES) {
    const name = relative(REPO_ROOT, file);

    test(`${name}: libbpf opens the object (bpftool btf dump, gen skeleton)`, () => {
      const { path, spec } = object(file);
      const btf = bpftool(["btf", "dump", "file", path]);
      assert.equal(btf.status, 0, btf.stderr);
      for (const p of spec.programs.keys()) assert.match(btf.stdout, new RegExp(`FUNC '${p}' type_id=\\d+ linkage=global`), `BTF names program ${p}`);
      const skel = bpftool(["gen", "skeleton", path, "name", "obj"]);
      assert.equal(skel.status, 0, skel.stderr);
      assert.equal(libbpfLines(skel.stderr), "", "no libbpf warnings");
    });

    test(`${name}: bpftool prog loadall loads and pins every program and map`, (t) => {
      const { path, spec } = object(file);
      const cannot = [...spec.programs.values()].map((p) => bpftoolCannot(p.sectionName, libbpfVersion)).find((w) => w);
      if (cannot) return t.skip(cannot);
      const limited = [...spec.programs.values()].filter((p) => hostLimit(p.sectionName));
      for (const p of limited) t.diagnostic(`${p.name} (${p.sectionName}): ${hostLimit(p.sectionName)}`);
      // Maps pinned by name go to libbpf's default root (/sys/fs/bpf/<name>); bpftool cannot move it.
      const pinnedByName = [...spec.maps.values()].filter((m) => m.pinning === "by_name").map((m) => join("/sys/fs/bpf", m.name));
      const taken = pinnedByName.filter((p) => existsSync(p));
      if (taken.length) return t.skip(`a map is already pinned at ${taken.join(", ")}`);
      const pins = join(pinRoot, pinName(name));
      const mapPins = join(pins, "maps");
      try {
        const r = bpftool(["prog", "loadall", path, pins, ...(pinnedByName.length ? [] : ["pinmaps", mapPins])]);
        if (limited.length) {
          // libbpf loads in order and stops at the first failure: it must be a host-limited program refused with EPERM.
          if (r.status !== 0) {
            const failed = /prog '([^']+)': BPF program load failed: (.*)/.exec(r.stderr);
            assert.ok(failed, `bpftool failed without a program load error:\n${libbpfLines(r.stderr)}`);
            assert.ok(limited.some((p) => p.name === failed[1]), `program ${failed[1]} is not host-limited:\n${libbpfLines(r.stderr)}`);
            assert.match(failed[2]!, /Operation not permitted/, libbpfLines(r.stderr));
            t.diagnostic(`libbpf stopped at ${failed[1]}: ${failed[2]} (programs after it are loaded by tsbpf only)`);
            return;
          }
        }
        assert.equal(r.status, 0, libbpfLines(r.stderr));
        assert.doesNotMatch(r.stderr, /libbpf:/, "no libbpf warnings");
        for (const p of spec.programs.keys()) assert.ok(existsSync(join(pins, p)), `program ${p} pinned`);
        if (!pinnedByName.length) {
          const pinned = spec.maps.size ? readdirSync(mapPins) : [];
          assert.equal(pinned.length, spec.maps.size, `every map pinned (have ${pinned.join(", ")})`);
        }
      } finally {
        for (const p of pinnedByName) rmSync(p, { force: true });
        rmSync(pins, { recursive: true, force: true });
      }
    });

    test(`${name}: tsbpf load() loads every program and map`, async (t) => {
      const { spec } = object(file);
      const names = [...spec.programs.values()];
      const extensions = names.filter((p) => NEEDS_TARGET.test(p.sectionName));
      const loadable = names.filter((p) => !hostLimit(p.sectionName) && !extensions.includes(p)).map((p) => p.name);
      const pinPath = join(pinRoot, `tsbpf-${pinName(name)}`);
      mkdirSync(pinPath, { recursive: true });
      try {
        {
          await using coll = await load(file, { programs: loadable, pinPath });
          assert.deepEqual([...coll.programs.keys()].sort(), [...loadable].sort());
          for (const m of spec.maps.keys()) assert.ok(coll.maps.has(m), `map ${m} created`);
        }
        for (const p of extensions) {
          await assert.rejects(load(file, { programs: [p.name], pinPath }), (e: unknown) => e instanceof TsbpfError && e.code === "FREPLACE_NEEDS_TARGET", `${p.name}: a load without a target`);
          t.diagnostic(`${p.name} (${p.sectionName}): refused without a target (FREPLACE_NEEDS_TARGET), as it should be`);
        }
        for (const p of names.filter((x) => hostLimit(x.sectionName))) {
          try {
            await using coll = await load(file, { programs: [p.name], pinPath });
            assert.ok(coll.programs.has(p.name));
            t.diagnostic(`${p.name} (${p.sectionName}) loaded`);
          } catch (e) {
            // The host's refusal before verification, not the verifier's: EPERM from BPF_PROG_LOAD.
            if (e instanceof VerifierError) throw e;
            assert.ok(e instanceof KernelRefusedError && e.errno === EPERM && e.operation === "BPF_PROG_LOAD", `${p.name}: expected a refusal with EPERM, got ${String(e)}`);
            t.diagnostic(`${p.name} (${p.sectionName}): ${hostLimit(p.sectionName)}`);
          }
        }
      } finally {
        rmSync(pinPath, { recursive: true, force: true });
      }
    });
  }
});
