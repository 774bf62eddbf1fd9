// Loads every C corpus object with `bpftool prog loadall` (libbpf) and checks programs, maps and
// test-run results against test/fixtures/c/expectations.json: the reference the tsbpf loader must match.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { privileged } from "../helpers/privileges.js";
import { bpftoolPath, compileC } from "../helpers/toolchain.js";
import {
  type CorpusObject,
  type MapCheck,
  corpusSource,
  loadCorpus,
  matchesExpected,
  packetBytes,
  resolveToken,
} from "./corpus.js";

const BPFFS = "/sys/fs/bpf";

/** Why these tests cannot run: bpffs must be mounted (scripts/setup.sh mounts it). */
function bpffsProblem(): string | undefined {
  const mounts = readFileSync("/proc/self/mounts", "utf8");
  const ok = mounts.split("\n").some((line) => {
    const [, where, type] = line.split(" ");
    return where === BPFFS && type === "bpf";
  });
  return ok ? undefined : `bpffs is not mounted at ${BPFFS}; run \`bash scripts/setup.sh\``;
}

function bpftool(args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(bpftoolPath(), args, { encoding: "utf8", maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  return { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

function bpftoolJson<T>(args: string[]): T {
  const out = execFileSync(bpftoolPath(), ["-j", ...args], { encoding: "utf8", maxBuffer: 64 << 20 });
  return JSON.parse(out) as T;
}

interface ProgInfo {
  name: string;
  type: string;
  gpl_compatible: boolean;
}
interface MapInfo {
  name: string;
  type: string;
  bytes_key: number;
  bytes_value: number;
  max_entries: number;
  flags: number;
  frozen?: number;
}
interface DumpEntry {
  key: string[];
  value: string[] | unknown;
  formatted?: { value?: unknown };
}

/** Little-endian unsigned number from bpftool's ["0x01", "0x00", ...] byte list. */
function leNumber(bytes: string[]): number {
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(Number.parseInt(bytes[i], 16));
  return Number(v);
}

/** Variables of a single-entry data-section map, from bpftool's BTF-formatted dump. */
function sectionValues(entry: DumpEntry): Record<string, unknown> {
  const formatted = entry.formatted?.value as Record<string, Record<string, unknown>[]> | undefined;
  assert.ok(formatted, "map has BTF so bpftool formats its value");
  const vars = Object.values(formatted)[0];
  return Object.assign({}, ...vars);
}

function checkMap(check: MapCheck, pinned: Map<string, string>): void {
  const path = pinned.get(check.map);
  assert.ok(path, `map ${check.map} is pinned`);
  const dump = bpftoolJson<DumpEntry[]>(["map", "dump", "pinned", path]);
  const label = `${check.map} after ${check.after}`;
  if (check.keys) {
    assert.deepEqual(dump.map((e) => leNumber(e.key)).sort((a, b) => a - b), check.keys, `${label}: keys`);
  }
  if (check.entries) {
    const byKey = new Map(dump.map((e) => [leNumber(e.key), leNumber(e.value as string[])]));
    for (const { key, value } of check.entries) assert.equal(byKey.get(key), value, `${label}: key ${key}`);
  }
  if (check.valueHex !== undefined) {
    const zero = dump.find((e) => leNumber(e.key) === 0);
    assert.ok(zero, `${label}: key 0 present`);
    const hex = (zero.value as string[]).map((b) => b.slice(2)).join("");
    assert.equal(hex, check.valueHex, `${label}: value bytes`);
  }
  if (check.values) {
    assert.equal(dump.length, 1, `${label}: one entry`);
    const actual = sectionValues(dump[0]);
    for (const [name, want] of Object.entries(check.values)) {
      assert.ok(
        matchesExpected(actual[name], want),
        `${label}: ${name} = ${JSON.stringify(actual[name])}, expected ${JSON.stringify(resolveToken(want))}`,
      );
    }
  }
}

function runPacket(progPath: string, packet: Uint8Array, scratch: string): number {
  const file = join(scratch, "packet.bin");
  writeFileSync(file, packet);
  const r = bpftool(["prog", "run", "pinned", progPath, "data_in", file, "repeat", "1"]);
  assert.equal(r.status, 0, `bpftool prog run ${progPath}: ${r.stderr}`);
  const m = /Return value: (\d+)/.exec(r.stdout);
  assert.ok(m, `bpftool prog run printed a return value: ${r.stdout}`);
  return Number(m[1]);
}

function checkObject(name: string, obj: CorpusObject, objectFile: string, dir: string, scratch: string): void {
  const r = bpftool(["prog", "loadall", objectFile, join(dir, "progs"), "pinmaps", join(dir, "maps")]);
  const output = r.stdout + r.stderr;
  if (!obj.bpftool.loads) {
    assert.notEqual(r.status, 0, `bpftool must refuse ${name}`);
    assert.ok(obj.bpftool.fragment, "a failure fragment is recorded");
    assert.ok(output.includes(obj.bpftool.fragment), `bpftool output mentions "${obj.bpftool.fragment}":\n${output}`);
    return;
  }
  assert.equal(r.status, 0, `bpftool prog loadall ${name} failed:\n${output}`);

  const progs = new Map<string, ProgInfo & { path: string }>();
  for (const pin of readdirSync(join(dir, "progs"))) {
    const path = join(dir, "progs", pin);
    const info = bpftoolJson<ProgInfo>(["prog", "show", "pinned", path]);
    progs.set(info.name, { ...info, path });
  }
  assert.deepEqual(
    [...progs.values()].map((p) => `${p.name}:${p.type}`).sort(),
    obj.programs.map((p) => `${p.name}:${p.type}`).sort(),
    "program names and types",
  );
  for (const p of progs.values()) assert.equal(p.gpl_compatible, obj.license !== "Proprietary", `${p.name} gpl_compatible`);

  const maps = new Map<string, MapInfo>();
  const pinnedMaps = new Map<string, string>();
  for (const pin of readdirSync(join(dir, "maps"))) {
    const path = join(dir, "maps", pin);
    const info = bpftoolJson<MapInfo>(["map", "show", "pinned", path]);
    maps.set(info.name, info);
    pinnedMaps.set(info.name, path);
  }
  assert.deepEqual([...maps.keys()].sort(), obj.maps.map((m) => m.kernelName).sort(), "map names");
  for (const want of obj.maps) {
    const got = maps.get(want.kernelName)!;
    assert.deepEqual(
      {
        type: got.type,
        keySize: got.bytes_key,
        valueSize: got.bytes_value,
        maxEntries: got.max_entries,
        flags: got.flags,
        frozen: Boolean(got.frozen),
      },
      {
        type: want.type,
        keySize: want.keySize,
        valueSize: want.valueSize,
        maxEntries: resolveToken(want.maxEntries),
        flags: want.flags,
        frozen: Boolean(want.frozen),
      },
      `map ${want.kernelName}`,
    );
  }

  for (const check of obj.mapChecks ?? []) if (check.after === "load") checkMap(check, pinnedMaps);
  for (const run of obj.runs ?? []) {
    const prog = progs.get(run.program);
    assert.ok(prog, `program ${run.program} loaded`);
    const retval = runPacket(prog.path, packetBytes(run.packet), scratch);
    const want = resolveToken(run.retval);
    assert.equal(retval, want, `${run.program} with ${JSON.stringify(run.packet)}: retval`);
  }
  for (const check of obj.mapChecks ?? []) if (check.after === "runs") checkMap(check, pinnedMaps);
}

const corpus = loadCorpus();

describe("bpftool loads the C corpus as expectations.json says", privileged(bpffsProblem), () => {
  for (const [name, obj] of Object.entries(corpus)) {
    const what = obj.bpftool.loads ? `loads with ${obj.programs.length} program(s)` : `is refused: ${obj.bpftool.fragment}`;
    test(`${name} ${what}`, async () => {
      const objectFile = await compileC(corpusSource(obj));
      const dir = join(BPFFS, `tsbpf-test-${process.pid}-${name}`);
      const scratch = mkdtempSync(join(tmpdir(), "tsbpf-bpftool-"));
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir);
      try {
        checkObject(name, obj, objectFile, dir, scratch);
      } finally {
        rmSync(dir, { recursive: true, force: true });
        rmSync(scratch, { recursive: true, force: true });
      }
    });
  }
});
