// `tsbpf load <object.o> --pin <dir>` as committed in shared/DESIGN.md: every program and map pinned,
// what was loaded printed, and the verifier's message with a non-zero exit on rejection.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { compileC, CORPUS_DIR, REPO_ROOT, bpftoolPath } from "../helpers/toolchain.js";
import { privileged } from "../helpers/privileges.js";

const CLI = join(REPO_ROOT, "src", "cli", "main.ts");

function tsbpf(...args: string[]) {
  return spawnSync(process.execPath, ["--import", "tsx", CLI, ...args], { cwd: REPO_ROOT, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
}

test("tsbpf load --pin pins every program and map of a clang object", privileged(), async () => {
  const obj = await compileC(join(CORPUS_DIR, "tailcall.bpf.c"));
  const dir = `/sys/fs/bpf/tsbpf-test-cli-${process.pid}`;
  rmSync(dir, { recursive: true, force: true });
  try {
    const r = tsbpf("load", obj, "--pin", dir);
    assert.equal(r.status, 0, r.stderr);
    const progs = readdirSync(dir).filter((n) => n !== "maps").sort();
    assert.deepEqual(progs, ["tail_entry", "tail_two", "tail_via_subprog", "tail_zero"]);
    assert.deepEqual(readdirSync(join(dir, "maps")), ["jmp_table"]);
    for (const p of progs) assert.match(r.stdout, new RegExp(`program ${p} .*pinned at ${join(dir, p)}`));
    // The pinned program is a real, loaded kernel program: bpftool sees it by path.
    const show = spawnSync(bpftoolPath(), ["prog", "show", "pinned", join(dir, "tail_zero"), "--json"], { encoding: "utf8" });
    assert.equal(show.status, 0, show.stderr);
    const info = JSON.parse(show.stdout) as { type: string; name: string };
    assert.equal(info.type, "sched_cls");
    assert.equal(info.name, "tail_zero");
    // The prog array was filled from its declaration before pinning: slots 0 and 2 hold programs.
    const dump = spawnSync(bpftoolPath(), ["map", "dump", "pinned", join(dir, "maps", "jmp_table"), "--json"], { encoding: "utf8" });
    assert.equal(dump.status, 0, dump.stderr);
    assert.equal((JSON.parse(dump.stdout) as unknown[]).length, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("tsbpf load prints the verifier's message and exits non-zero on rejection", privileged(), async () => {
  const obj = await compileC(join(CORPUS_DIR, "verifier_reject.bpf.c"));
  const dir = `/sys/fs/bpf/tsbpf-test-cli-reject-${process.pid}`;
  rmSync(dir, { recursive: true, force: true });
  try {
    const r = tsbpf("load", obj, "--pin", dir);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /verifier rejected it at verifier_reject\.bpf\.c:\d+/);
    assert.match(r.stderr, /invalid mem access 'map_value_or_null'/);
    assert.match(r.stderr, /verifier log:/);
    assert.ok(!existsSync(join(dir, "deref_without_check")), "nothing is left pinned after a failure");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("tsbpf load of a file that is not an ELF object fails with a typed error", () => {
  const r = tsbpf("load", join(REPO_ROOT, "package.json"));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /error \[ELF_/);
});

test("tsbpf inspect lists programs, maps and variables without the kernel", async () => {
  const obj = await compileC(join(CORPUS_DIR, "globals.bpf.c"));
  const r = tsbpf("inspect", obj, "--disasm");
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /program global_sum: sched_cls \(section tc\)/);
  assert.match(r.stdout, /map \.rodata: array, key 4 B, value 12 B, max 1, flags 0x480/);
  assert.match(r.stdout, /variable cfg_base: 4 B at \.rodata\+0/);
  assert.match(r.stdout, /^\s+0: \([0-9a-f]{2}\) /m);
});

test("tsbpf load --token <path> that does not exist: a TokenError naming the path, exit 1, nothing loaded", async () => {
  const obj = await compileC(join(CORPUS_DIR, "tailcall.bpf.c"));
  const missing = `/nonexistent/tsbpf-i12-token-${process.pid}`;
  const r = tsbpf("load", obj, "--token", missing);
  assert.equal(r.status, 1);
  assert.match(r.stderr, new RegExp(`error \\[TOKEN_PATH_NOT_FOUND\\]: BPF token from ${missing}: the path does not exist`));
  assert.doesNotMatch(r.stdout, /loaded/);
  // tsbpf features makes a named token before probing: the same error, not a table of errors.
  const features = tsbpf("features", "--token", missing);
  assert.equal(features.status, 1);
  assert.match(features.stderr, /error \[TOKEN_PATH_NOT_FOUND\]/);
  assert.equal(features.stdout, "");
  const help = tsbpf("load", "--help");
  assert.match(help.stdout, /--token <bpffs>/);
  assert.match(help.stdout, /--no-token/);
});
