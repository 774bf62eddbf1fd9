// Every C corpus object through tsbpf's own loader: spec (programs, maps) against expectations.json,
// then loaded into the kernel with test runs and map contents checked, or refused with the typed error.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { KernelRefusedError, SyscallError, TsbpfError, VerifierError } from "../../src/errors.js";
import { load } from "../../src/index.js";
import type { CollectionSpec, ProgramSpec } from "../../src/object/spec.js";
import { loadCollection, type Collection } from "../../src/runtime/collection.js";
import { mapInfo, progInfo } from "../../src/sys/bpf.js";
import { MAP_TYPE, PROG_TYPE } from "../../src/sys/constants.js";
import { bpftoolPath, compileC } from "../helpers/toolchain.js";
import { compileAndRead, dataValue, leUint, mapByKernelName, u32, variableValues } from "../helpers/loader.js";
import { privileged } from "../helpers/privileges.js";
import {
  type CorpusObject,
  type CorpusProgram,
  type MapCheck,
  corpusSource,
  loadCorpus,
  matchesExpected,
  packetBytes,
  possibleCpus,
  resolveToken,
} from "../interop/corpus.js";

const corpus = loadCorpus();
const upper = (s: string) => s.toUpperCase();

/** The kernel BTF name an expectation's `attachTo` gives for a program spec's attach target. */
function attachToOf(p: ProgramSpec): string {
  if (p.expectedAttachType === "TRACE_RAW_TP") return `btf_trace_${p.attachTarget}`;
  if (p.expectedAttachType === "TRACE_ITER") return `bpf_iter_${p.attachTarget}`;
  if (p.type === "LSM") return `bpf_lsm_${p.attachTarget}`;
  return p.attachTarget;
}

function checkProgramSpec(p: ProgramSpec, want: CorpusProgram, license: string): void {
  const label = `program ${want.name}`;
  assert.equal(p.sectionName, want.section, `${label}: section`);
  assert.equal(p.type, upper(want.type), `${label}: type`);
  if (want.attachType) assert.equal(p.expectedAttachType, want.attachType.replace(/^BPF_/, ""), `${label}: expected attach type`);
  if (want.attachTo) assert.equal(attachToOf(p), want.attachTo, `${label}: attach target`);
  assert.equal(p.sleepable, want.sleepable ?? false, `${label}: sleepable`);
  assert.equal(p.license, license, `${label}: license`);
  assert.ok(p.instructions.length > 0 && p.instructions.length === p.metas.length, `${label}: has instructions with metadata`);
  assert.equal(p.functions[0], want.name, `${label}: entry function first`);
}

function checkSpec(spec: CollectionSpec, obj: CorpusObject): void {
  assert.equal(spec.license, obj.license, "license");
  assert.deepEqual([...spec.programs.keys()].sort(), obj.programs.map((p) => p.name).sort(), "program names");
  for (const want of obj.programs) checkProgramSpec(spec.programs.get(want.name)!, want, obj.license);
  assert.deepEqual([...spec.maps.keys()].sort(), obj.maps.map((m) => m.name).sort(), "map names");
  for (const want of obj.maps) {
    const m = spec.maps.get(want.name)!;
    const label = `map ${want.name}`;
    assert.equal(m.kernelName, want.kernelName, `${label}: kernel name`);
    assert.equal(m.type, upper(want.type), `${label}: type`);
    assert.equal(m.keySize, want.keySize, `${label}: key size`);
    if (want.layoutByLoader) assert.ok(m.valueSize >= want.valueSize - 8 && m.valueSize > 0, `${label}: value size ${m.valueSize}`);
    else assert.equal(m.valueSize, want.valueSize, `${label}: value size`);
    // "$NCPUS": declared without max_entries, filled in at load time.
    assert.equal(m.maxEntries, want.maxEntries === "$NCPUS" ? 0 : want.maxEntries, `${label}: max entries`);
    assert.equal(m.flags, want.flags, `${label}: flags`);
    assert.equal(m.freeze, want.frozen ?? false, `${label}: frozen`);
  }
}

/** Programs bpftool sees, by id: an independent view of what we loaded. */
function bpftoolPrograms(): Map<number, { name: string; type: string }> {
  const r = spawnSync(bpftoolPath(), ["-j", "prog", "show"], { encoding: "utf8", maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `bpftool prog show: ${r.stderr}`);
  const list = JSON.parse(r.stdout) as { id: number; name?: string; type: string }[];
  return new Map(list.map((p) => [p.id, { name: p.name ?? "", type: p.type }]));
}

function checkLive(coll: Collection, obj: CorpusObject): void {
  assert.equal(coll.programs.size, obj.programs.length, "every program loaded");
  const seen = bpftoolPrograms();
  for (const want of obj.programs) {
    const prog = coll.program(want.name);
    const info = progInfo(prog.fd);
    assert.equal(info.name, want.name.slice(0, 15), `${want.name}: kernel name`);
    assert.equal(info.type, PROG_TYPE[upper(want.type) as keyof typeof PROG_TYPE], `${want.name}: kernel program type`);
    assert.equal(info.gplCompatible, obj.license !== "Proprietary", `${want.name}: gpl_compatible`);
    // Cross-check with bpftool: it lists the program under the same id, name and type.
    // Cross-check with bpftool: it lists the program under the same id and type, with the full
    // name taken from the program's BTF (so BTF func info was loaded too).
    assert.deepEqual(seen.get(info.id), { name: want.name, type: want.type }, `${want.name}: bpftool's view`);
  }
  for (const want of obj.maps) {
    const map = coll.map(want.name);
    const info = mapInfo(map.fd);
    const label = `map ${want.name}`;
    assert.equal(info.name, want.kernelName, `${label}: kernel name`);
    assert.equal(info.type, MAP_TYPE[upper(want.type) as keyof typeof MAP_TYPE], `${label}: kernel type`);
    assert.equal(info.keySize, want.keySize, `${label}: key size`);
    if (!want.layoutByLoader) assert.equal(info.valueSize, want.valueSize, `${label}: value size`);
    assert.equal(info.maxEntries, resolveToken(want.maxEntries), `${label}: max entries`);
    assert.equal(map.maxEntries, info.maxEntries, `${label}: BpfMap.maxEntries`);
    assert.equal(info.mapFlags, want.flags, `${label}: flags`);
    if (want.frozen) {
      // A frozen map refuses writes from userspace.
      const value = dataValue(map);
      assert.throws(() => map.setRaw(u32(0), value), (e: unknown) => e instanceof SyscallError && e.code === "EPERM", `${label}: frozen`);
    }
  }
}

function checkMap(coll: Collection, check: MapCheck): void {
  const spec = mapByKernelName(coll.spec, check.map);
  const map = coll.map(spec.name);
  const label = `${check.map} after ${check.after}`;
  if (check.keys) {
    // Present keys, as bpftool dumps them: array slots without a program/map do not look up.
    const keys = [...map.entriesRaw()].map(([k]) => Number(leUint(k))).sort((a, b) => a - b);
    assert.deepEqual(keys, check.keys, `${label}: keys`);
  }
  for (const { key, value } of check.entries ?? []) {
    const raw = map.getRaw(u32(key));
    assert.ok(raw, `${label}: key ${key} present`);
    assert.equal(leUint(raw, 0, map.valueSize), value, `${label}: key ${key}`);
  }
  if (check.valueHex !== undefined) {
    const hex = Buffer.from(dataValue(map)).toString("hex");
    assert.equal(hex, check.valueHex, `${label}: value bytes`);
  }
  if (check.values) {
    const actual = variableValues(coll.spec, spec.name, dataValue(map));
    for (const [name, want] of Object.entries(check.values)) {
      assert.ok(
        matchesExpected(actual[name], want),
        `${label}: ${name} = ${JSON.stringify(actual[name], (_, v) => (typeof v === "bigint" ? `${v}n` : v))}, expected ${JSON.stringify(resolveToken(want))}`,
      );
    }
  }
}

function int32Words(words: number[]): Uint8Array {
  const b = new Uint8Array(words.length * 4);
  const dv = new DataView(b.buffer);
  words.forEach((w, i) => dv.setInt32(i * 4, w, true));
  return b;
}

function exercise(coll: Collection, obj: CorpusObject): void {
  const checks = (after: MapCheck["after"]) => {
    for (const c of obj.mapChecks ?? []) if (c.after === after) checkMap(coll, c);
  };
  checks("load");
  for (const run of obj.runs ?? []) {
    const r = coll.program(run.program).testRun({ data: packetBytes(run.packet) });
    assert.equal(r.retval, resolveToken(run.retval), `${run.program} with ${JSON.stringify(run.packet)}: retval`);
  }
  checks("runs");
  for (const run of obj.ctxRuns ?? []) {
    const ctx = run.ctx ? int32Words(run.ctx) : undefined;
    const r = coll.program(run.program).testRun(ctx ? { ctx, ctxOutSize: 0 } : {});
    assert.equal(r.retval, run.retval, `${run.program} ctx run: retval`);
    if (run.ctxOut) {
      assert.ok(ctx);
      const dv = new DataView(ctx.buffer);
      const out = run.ctxOut.map((_, i) => dv.getInt32(i * 4, true));
      assert.deepEqual(out, run.ctxOut, `${run.program}: context written back`);
    }
  }
  checks("ctxRuns");
}

describe("loader: corpus specs match expectations.json", () => {
  for (const [name, obj] of Object.entries(corpus)) {
    test(`${name}: ${obj.programs.length} program(s), ${obj.maps.length} map(s)`, async () => {
      const { spec } = await compileAndRead(corpusSource(obj));
      assert.equal(spec.name, name);
      checkSpec(spec, obj);
    });
  }
});

describe("loader: corpus objects in the kernel", privileged(), () => {
  for (const [name, obj] of Object.entries(corpus)) {
    if (obj.hostLoads) {
      test(`${name} loads; test runs and map contents as expected`, async () => {
        const { spec } = await compileAndRead(corpusSource(obj));
        const coll = loadCollection(spec);
        try {
          checkLive(coll, obj);
          exercise(coll, obj);
        } finally {
          coll.close();
        }
        assert.ok(coll.closed);
        for (const p of coll.programs.values()) assert.ok(p.fd.closed, `${p.name} closed`);
        for (const m of coll.maps.values()) assert.ok(m.fd.closed, `${m.name} closed`);
      });
    } else {
      const fragment = obj.kernelFragment!;
      test(`${name} is refused: ${fragment}`, async () => {
        const { spec } = await compileAndRead(corpusSource(obj));
        assert.throws(
          () => loadCollection(spec),
          (e: unknown) => {
            assert.ok(e instanceof TsbpfError, `typed error, got ${String(e)}`);
            if (fragment === "EPERM") {
              // Refused before verification: not a verifier verdict, and the message says why (ftrace).
              assert.ok(e instanceof KernelRefusedError, `KernelRefusedError, got ${e.constructor.name}: ${e.message}`);
              assert.equal(e.code, "KERNEL_REFUSED");
              assert.equal(e.errnoCode, "EPERM");
              assert.equal(e.operation, "BPF_PROG_LOAD");
              assert.match(e.message, /before verification \(EPERM.*trampolines, which need ftrace/);
            } else {
              assert.ok(e instanceof VerifierError, `VerifierError, got ${e.constructor.name}: ${e.message}`);
              assert.ok(e.log.includes(fragment), `log mentions "${fragment}"`);
              assert.ok(e.message.includes(fragment), `message mentions "${fragment}": ${e.message}`);
            }
            assert.match(e.message, new RegExp(`load program "(${obj.programs.map((p) => p.name).join("|")})"`));
            return true;
          },
        );
      });
    }
  }

  test("verifier rejection names the C source line", async () => {
    const { spec } = await compileAndRead(corpusSource(corpus.verifier_reject));
    const err = (() => {
      try {
        loadCollection(spec).close();
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    assert.ok(err instanceof VerifierError);
    assert.match(err.message, /verifier_reject\.bpf\.c:\d+/);
    assert.equal(err.errno, 13, "EACCES");
    assert.ok(err.instruction !== undefined && err.instruction >= 0, "failing instruction found");
  });

  test("load() from a path names global data maps like libbpf", async () => {
    const path = await compileC(corpusSource(corpus.globals));
    // compileC caches as globals.bpf.<hash>.o: libbpf takes the object name up to the first dot.
    await using coll = await load(path);
    assert.equal(coll.spec.name, "globals");
    assert.deepEqual(
      [...coll.maps.values()].map((m) => mapInfo(m.fd).name).sort(),
      corpus.globals.maps.map((m) => m.kernelName).sort(),
    );
    assert.equal(coll.program("global_sum").testRun({ data: new Uint8Array(64) }).retval, 1053);
  });

  test("programs option loads a subset; the prog array skips programs left out", async () => {
    const { spec } = await compileAndRead(corpusSource(corpus.tailcall));
    using coll = loadCollection(spec, { programs: ["tail_entry", "tail_zero"] });
    assert.deepEqual([...coll.programs.keys()].sort(), ["tail_entry", "tail_zero"]);
    const keys = [...coll.map("jmp_table").entriesRaw()].map(([k]) => Number(leUint(k)));
    assert.deepEqual(keys, [0]);
    assert.equal(coll.program("tail_entry").testRun({ data: packetBytes({ size: 64, prefix: [0] }) }).retval, 100);
    assert.equal(coll.program("tail_entry").testRun({ data: packetBytes({ size: 64, prefix: [2, 5] }) }).retval, 999);
  });
});
