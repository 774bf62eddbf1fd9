// Without privileges, tsbpf fails with a PermissionError that names the missing capability, never a
// bare errno: checked for real by running a child process as user nobody (setpriv drops root).

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "../helpers/toolchain.js";
import { privileged } from "../helpers/privileges.js";

test("creating a map as an unprivileged user raises PermissionError naming CAP_BPF", privileged(), () => {
  const dir = mkdtempSync(join(tmpdir(), "tsbpf-perm-"));
  chmodSync(dir, 0o755);
  const script = join(dir, "create-map.ts");
  writeFileSync(script, `
import { BpfMap } from ${JSON.stringify(join(REPO_ROOT, "src", "index.ts"))};
try {
  BpfMap.create({ name: "perm_test", type: "HASH", keySize: 4, valueSize: 4, maxEntries: 1 });
  console.log(JSON.stringify({ created: true }));
} catch (e) {
  const err = e as { constructor: { name: string }; code?: string; message: string };
  console.log(JSON.stringify({ name: err.constructor.name, code: err.code, message: err.message }));
}
`);
  chmodSync(script, 0o644);
  const r = spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, "--import", "tsx", script], {
    cwd: REPO_ROOT, encoding: "utf8", env: { ...process.env, HOME: dir },
  });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split("\n").pop()!) as { name: string; code: string; message: string };
  assert.equal(out.name, "PermissionError");
  assert.equal(out.code, "EPERM");
  assert.match(out.message, /BPF_MAP_CREATE/);
  assert.match(out.message, /CAP_BPF/);
});
