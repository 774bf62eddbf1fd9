// Pinning reliability (tsbpf issue 11): a pin directory that is not on bpffs fails fast with a typed
// error and leaves nothing behind (under /proc it used to spin forever); maps are pinned under their
// full names (two maps sharing 15 characters no longer collide); a rerun into a used directory lists
// the conflicting pins, and --replace / { replace: true } swaps the whole directory; permission errors
// name the real cause (file mode and owner, read-only opens, the missing capability).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PinError, TsbpfError } from "../../src/errors.js";
import { readCollectionSpec } from "../../src/object/reader.js";
import { loadCollection } from "../../src/runtime/collection.js";
import { BpfMap } from "../../src/runtime/map.js";
import { sys, withSys, type Sys } from "../../src/sys/seam.js";
import { bpftoolPath, compileC, REPO_ROOT } from "../helpers/toolchain.js";
import { bpffsProblem, fileBytes } from "../helpers/loader.js";
import { privileged } from "../helpers/privileges.js";

const CLI = join(REPO_ROOT, "src", "cli", "main.ts");
const SRC = "test/fixtures/c/maps/longnames.bpf.c";
const MAPS = ["connection_counts_ipv4", "connection_counts_ipv6"];

/** Run the CLI; the timeout bounds a hang (the /proc case used to spin at 100% CPU forever). */
function tsbpf(...args: string[]) {
  return spawnSync(process.execPath, ["--import", "tsx", CLI, ...args], {
    cwd: REPO_ROOT, encoding: "utf8", timeout: 60_000, env: { ...process.env, NO_COLOR: "1" },
  });
}

function bpftoolJson<T>(...args: string[]): T {
  const r = spawnSync(bpftoolPath(), [...args, "--json"], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as T;
}

const mapId = (path: string) => bpftoolJson<{ id: number }>("map", "show", "pinned", path).id;
const progMapIds = (path: string) => bpftoolJson<{ map_ids: number[] }>("prog", "show", "pinned", path).map_ids;

/**
 * Run a TypeScript snippet in a child process (optionally under setpriv); its last stdout line is JSON.
 * The snippet sees `tsbpf` (the package root) and `args`.
 */
function child(body: string, args: string[], setpriv: string[] = []): Record<string, unknown> {
  const dir = mkdtempSync(join(tmpdir(), "tsbpf-pinning-"));
  chmodSync(dir, 0o755);
  const script = join(dir, "child.ts");
  writeFileSync(script, `import * as tsbpf from ${JSON.stringify(join(REPO_ROOT, "src", "index.ts"))};
const args = process.argv.slice(2);
const report = (e: unknown) => { const x = e as { constructor: { name: string }; code?: string; message: string }; return { name: x.constructor.name, code: x.code, message: x.message }; };
${body}
`);
  chmodSync(script, 0o644);
  const cmd = setpriv.length ? "setpriv" : process.execPath;
  const argv = [...(setpriv.length ? [...setpriv, process.execPath] : []), "--import", "tsx", script, ...args];
  const r = spawnSync(cmd, argv, { cwd: REPO_ROOT, encoding: "utf8", timeout: 60_000, env: { ...process.env, HOME: dir } });
  rmSync(dir, { recursive: true, force: true });
  assert.equal(r.status, 0, `child failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as Record<string, unknown>;
}

const NOBODY = ["--reuid=65534", "--regid=65534", "--clear-groups"];

describe("pinning", privileged(bpffsProblem), () => {
  let obj: string;
  const base = `/sys/fs/bpf/tsbpf-pinning-${process.pid}`;
  before(async () => {
    obj = await compileC(SRC);
    rmSync(base, { recursive: true, force: true });
    mkdirSync(base, { recursive: true });
  });
  after(() => rmSync(base, { recursive: true, force: true }));

  test("a pin directory under /proc fails fast with NOT_BPFFS instead of hanging", () => {
    const r = tsbpf("load", obj, "--pin", "/proc/self/tsbpf-pinning/deeper");
    assert.equal(r.signal, null, "the CLI hung and was killed by the timeout");
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /\[NOT_BPFFS\]/);
    assert.match(r.stderr, /\/proc\/self\/tsbpf-pinning\/deeper is not on a BPF filesystem \(bpffs\)/);
    assert.match(r.stderr, /mount -t bpf bpf \/sys\/fs\/bpf/);
  });

  test("a pin directory under /tmp fails with NOT_BPFFS and leaves no directories behind", () => {
    const tmp = mkdtempSync(join(tmpdir(), "tsbpf-pinning-"));
    try {
      const r = tsbpf("load", obj, "--pin", join(tmp, "a", "b"));
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /\[NOT_BPFFS\]/);
      assert.doesNotMatch(r.stderr, /Operation not permitted/);
      assert.deepEqual(readdirSync(tmp), [], "no directory was created");
      // The API: Map.pin and Collection.pin refuse the same way.
      using coll = loadCollection(readCollectionSpec(fileBytes(obj), { name: "longnames" }));
      assert.throws(() => coll.map(MAPS[0]).pin(join(tmp, "x", "y", "m")), (e: unknown) => e instanceof PinError && e.code === "NOT_BPFFS");
      assert.throws(() => coll.program("touch").pin(join(tmp, "x", "p")), (e: unknown) => e instanceof PinError && e.code === "NOT_BPFFS");
      assert.throws(() => coll.pin(join(tmp, "x")), (e: unknown) => e instanceof PinError && e.code === "NOT_BPFFS");
      assert.deepEqual(readdirSync(tmp), []);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  test("a name with a dot under bpffs is refused with a clear error, nothing left behind", () => {
    const dir = join(base, "dotted.dir", "x");
    const r = tsbpf("load", obj, "--pin", dir);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /\[PIN_NAME\]/);
    assert.match(r.stderr, /"dotted\.dir".*'\.'/);
    assert.deepEqual(readdirSync(base), []);
  });

  test("two maps sharing their first 15 characters are pinned under their full names", () => {
    const dir = join(base, "full");
    const r = tsbpf("load", obj, "--pin", dir);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(readdirSync(join(dir, "maps")).sort(), MAPS);
    assert.deepEqual(readdirSync(dir).sort(), ["maps", "touch"]);
    const ids = MAPS.map((m) => mapId(join(dir, "maps", m)));
    assert.deepEqual(progMapIds(join(dir, "touch")).sort(), [...ids].sort());
  });

  test("a rerun into a used directory lists the conflicts; --replace swaps in the new load", () => {
    const dir = join(base, "rerun");
    assert.equal(tsbpf("load", obj, "--pin", dir).status, 0);
    const oldIds = MAPS.map((m) => mapId(join(dir, "maps", m)));
    const again = tsbpf("load", obj, "--pin", dir);
    assert.equal(again.status, 1, again.stderr);
    assert.match(again.stderr, /\[PIN_EXISTS\]/);
    for (const p of ["touch", "maps/connection_counts_ipv4", "maps/connection_counts_ipv6"]) assert.ok(again.stderr.includes(join(dir, p)), again.stderr);
    assert.match(again.stderr, /--replace/);
    assert.ok(again.stderr.includes(`rm -r ${dir}`), again.stderr);
    assert.deepEqual(MAPS.map((m) => mapId(join(dir, "maps", m))), oldIds, "the failed rerun changed nothing");

    const replaced = tsbpf("load", obj, "--pin", dir, "--replace");
    assert.equal(replaced.status, 0, replaced.stderr);
    const newIds = MAPS.map((m) => mapId(join(dir, "maps", m)));
    for (let i = 0; i < newIds.length; i++) assert.notEqual(newIds[i], oldIds[i]);
    assert.deepEqual(progMapIds(join(dir, "touch")).sort(), [...newIds].sort(), "the new program holds the new maps");
    assert.deepEqual(readdirSync(base).filter((n) => n.startsWith("rerun")), ["rerun"], "no sibling directory is left");
  });

  test("a partial earlier load (some pins present) is reported and replaced", () => {
    const dir = join(base, "partial");
    mkdirSync(join(dir, "maps"), { recursive: true });
    const stale = join(dir, "maps", MAPS[0]);
    const mk = spawnSync(bpftoolPath(), ["map", "create", stale, "type", "array", "key", "4", "value", "8", "entries", "4", "name", "stale"], { encoding: "utf8" });
    assert.equal(mk.status, 0, mk.stderr);
    const staleId = mapId(stale);
    const r = tsbpf("load", obj, "--pin", dir);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /\[PIN_EXISTS\]/);
    assert.ok(r.stderr.includes(stale), r.stderr);
    assert.ok(!r.stderr.includes(join(dir, "touch")), "only what is there is listed");
    assert.deepEqual(readdirSync(join(dir, "maps")), [MAPS[0]], "nothing was pinned next to the stale pin");
    const replaced = tsbpf("load", obj, "--pin", dir, "--replace");
    assert.equal(replaced.status, 0, replaced.stderr);
    assert.notEqual(mapId(stale), staleId);
    assert.deepEqual(readdirSync(join(dir, "maps")).sort(), MAPS);
  });

  test("Collection.pin: conflicts are a PinError listing them; { replace: true } swaps the directory", () => {
    const dir = join(base, "api");
    const spec = readCollectionSpec(fileBytes(obj), { name: "longnames" });
    using first = loadCollection(spec);
    const pins = first.pin(dir);
    assert.deepEqual(pins.map((p) => p.path).sort(), [join(dir, "maps", MAPS[0]), join(dir, "maps", MAPS[1]), join(dir, "touch")]);
    assert.equal(first.map(MAPS[0]).pinnedAt, join(dir, "maps", MAPS[0]));
    using second = loadCollection(spec);
    assert.throws(() => second.pin(dir), (e: unknown) =>
      e instanceof PinError && e.code === "PIN_EXISTS" && e.conflicts.length === 3 && e.message.includes(join(dir, "touch")));
    second.program("touch").testRun({ data: new Uint8Array(64) });
    second.pin(dir, { replace: true });
    const counts = BpfMap.openPinned(join(dir, "maps", MAPS[1]));
    try {
      const v = counts.getRaw(new Uint8Array(4))!;
      assert.equal(new DataView(v.buffer, v.byteOffset).getBigUint64(0, true), 1n, "the pin holds the second load's map");
    } finally {
      counts.close();
    }
    assert.equal(second.map(MAPS[1]).pinnedAt, join(dir, "maps", MAPS[1]));
  });

  test("replace without RENAME_EXCHANGE (older kernels) moves the old directory aside and still ends with the new pins only", () => {
    const dir = join(base, "fallback");
    const spec = readCollectionSpec(fileBytes(obj), { name: "longnames" });
    using first = loadCollection(spec);
    first.pin(dir);
    mkdirSync(join(dir, "extra")); // not something the load pins: replacing the directory removes it
    const oldId = mapId(join(dir, "maps", MAPS[0]));
    using second = loadCollection(spec);
    // The kernel answers renameat2(RENAME_EXCHANGE) with EINVAL where it lacks it: simulate only that.
    const real = sys();
    const noExchange = Object.create(real) as Sys;
    noExchange.rename2 = () => { throw Object.assign(new Error("renameat2: Invalid argument"), { code: "EINVAL", errno: 22, syscall: "renameat2" }); };
    withSys(noExchange, () => second.pin(dir, { replace: true }));
    assert.notEqual(mapId(join(dir, "maps", MAPS[0])), oldId);
    assert.deepEqual(readdirSync(join(dir, "maps")).sort(), MAPS);
    assert.deepEqual(readdirSync(dir).sort(), ["maps", "touch"], "the old directory's contents are gone");
    assert.deepEqual(readdirSync(base).filter((n) => n.startsWith("fallback")), ["fallback"], "nothing left aside");
  });

  test("another user opening a 0600 pin is told about the file mode and owner, not CAP_BPF", () => {
    const dir = join(base, "mode");
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o755);
    const path = join(dir, "secret");
    using m = BpfMap.create({ name: "secret", type: "ARRAY", keySize: 4, valueSize: 8, maxEntries: 1 });
    m.pin(path);
    const out = child(`
try { tsbpf.BpfMap.openPinned(args[0]); console.log(JSON.stringify({ opened: true })); }
catch (e) { console.log(JSON.stringify(report(e))); }
`, [path], NOBODY);
    assert.equal(out.name, "PermissionError");
    assert.equal(out.code, "EACCES");
    assert.match(String(out.message), /mode 0600/);
    assert.match(String(out.message), /owned by uid 0/);
    assert.match(String(out.message), /uid 65534/);
    assert.doesNotMatch(String(out.message), /CAP_BPF/);
  });

  test("a pin behind a directory another user may not search names that directory; a dotted name says bpffs refuses dots", () => {
    const dir = join(base, "closed");
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o700);
    const path = join(dir, "inside");
    using m = BpfMap.create({ name: "inside", type: "ARRAY", keySize: 4, valueSize: 8, maxEntries: 1 });
    m.pin(path);
    chmodSync(path, 0o644);
    const out = child(`
try { tsbpf.BpfMap.openPinned(args[0], { readOnly: true }); console.log(JSON.stringify({ opened: true })); }
catch (e) { console.log(JSON.stringify(report(e))); }
`, [path], NOBODY);
    assert.equal(out.name, "PermissionError");
    assert.equal(out.code, "EACCES");
    assert.ok(String(out.message).includes(`the directory ${dir} has mode 0700, owned by uid 0`), String(out.message));
    assert.throws(() => BpfMap.openPinned(join(base, "no.such")), (e: unknown) => e instanceof PinError && e.code === "PIN_NAME" && /refuses names containing '\.'/.test(e.message));
  });

  test("pin() takes a mode and owner: private by default (0600, this user), shared read-only with 0644, given to another user", () => {
    const dir = join(base, "pinmode");
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o755);
    using m = BpfMap.create({ name: "pinmode", type: "ARRAY", keySize: 4, valueSize: 8, maxEntries: 1 });
    m.setRaw(new Uint8Array(4), new Uint8Array([7, 0, 0, 0, 0, 0, 0, 0]));
    const priv = join(dir, "private"), shared = join(dir, "shared"), given = join(dir, "given");
    m.pin(priv);
    const umask = process.umask();
    assert.equal(statSync(priv).mode & 0o777, 0o600 & ~umask, "default: 0600 less the umask");
    m.pin(shared, { mode: 0o644 });
    m.pin(given, { mode: 0o600, uid: 65534, gid: 65534 });
    assert.equal(statSync(shared).mode & 0o777, 0o644);
    assert.deepEqual([statSync(given).uid, statSync(given).gid, statSync(given).mode & 0o777], [65534, 65534, 0o600]);
    const out = child(`
const open = (p: string, o?: object) => { try { const m = tsbpf.BpfMap.openPinned(p, o); const v = m.getRaw(new Uint8Array(4)); m.close(); return { value: v ? v[0] : null }; } catch (e) { return report(e); } };
console.log(JSON.stringify({ priv: open(args[0]), shared: open(args[1], { readOnly: true }), given: open(args[2]) }));
`, [priv, shared, given], NOBODY) as Record<string, { value?: number; code?: string; message?: string }>;
    assert.equal(out.priv!.code, "EACCES", "another user cannot open a private pin");
    assert.match(String(out.priv!.message), /mode 0600/);
    assert.equal(out.shared!.value, 7, "0644: another user reads it read-only");
    assert.equal(out.given!.value, 7, "a pin given to a user opens read-write for that user");
    assert.throws(() => m.pin(join(dir, "bad"), { mode: 0o10000 }), (e: unknown) => e instanceof TsbpfError && e.code === "INVALID_ARGUMENT" && /mode must be/.test(e.message));
    assert.ok(!existsSync(join(dir, "bad")), "nothing pinned on bad input");
  });

  test("readOnly opens a 0644 pin for another user: lookups work, updates fail saying read-only", () => {
    const dir = join(base, "ro");
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o755);
    const path = join(dir, "shared");
    using m = BpfMap.create({ name: "shared", type: "ARRAY", keySize: 4, valueSize: 8, maxEntries: 1 });
    m.setRaw(new Uint8Array(4), new Uint8Array([42, 0, 0, 0, 0, 0, 0, 0]));
    m.pin(path);
    chmodSync(path, 0o644);
    const out = child(`
const m = tsbpf.BpfMap.openPinned(args[0], { readOnly: true });
const v = m.getRaw(new Uint8Array(4));
let update: unknown;
try { m.setRaw(new Uint8Array(4), new Uint8Array(8)); update = { updated: true }; } catch (e) { update = report(e); }
let readWrite: unknown;
try { tsbpf.BpfMap.openPinned(args[0]).close(); readWrite = { opened: true }; } catch (e) { readWrite = report(e); }
console.log(JSON.stringify({ value: v ? v[0] : null, update, readWrite }));
`, [path], NOBODY) as { value: number; update: { name: string; code: string; message: string }; readWrite: { code: string; message: string } };
    assert.equal(out.value, 42);
    assert.equal(out.update.code, "EPERM");
    assert.equal(out.update.name, "MapSyscallError");
    assert.match(out.update.message, /read-only/);
    assert.doesNotMatch(out.update.message, /CAP_BPF/);
    assert.equal(out.readWrite.code, "EACCES");
    assert.match(out.readWrite.message, /readOnly: true/, "a read-write open that the mode refuses suggests readOnly");
    assert.equal(m.getRaw(new Uint8Array(4))![0], 42, "the value is unchanged");
  });

  test("root with dropped capabilities is told which capability is missing", () => {
    const out = child(`
try { tsbpf.BpfMap.create({ name: "nocaps", type: "HASH", keySize: 4, valueSize: 4, maxEntries: 1 }); console.log(JSON.stringify({ created: true })); }
catch (e) { console.log(JSON.stringify(report(e))); }
`, [], ["--inh-caps=-all", "--bounding-set=-all"]);
    assert.equal(out.name, "PermissionError");
    assert.equal(out.code, "EPERM");
    assert.match(String(out.message), /BPF_MAP_CREATE/);
    assert.match(String(out.message), /lacks CAP_BPF/);
  });

  test("loading an XDP program without CAP_NET_ADMIN (and CAP_SYS_ADMIN) names CAP_NET_ADMIN", () => {
    const out = child(`
import { readFileSync } from "node:fs";
try { tsbpf.loadCollection(tsbpf.readCollectionSpec(new Uint8Array(readFileSync(args[0])), { name: "longnames" })); console.log(JSON.stringify({ loaded: true })); }
catch (e) { console.log(JSON.stringify(report(e))); }
`, [obj], ["--inh-caps=-net_admin,-sys_admin", "--bounding-set=-net_admin,-sys_admin"]);
    assert.equal(out.name, "PermissionError");
    assert.equal(out.code, "EPERM");
    assert.match(String(out.message), /CAP_NET_ADMIN/);
    assert.match(String(out.message), /touch/);
  });

  test("attaching XDP through netlink without CAP_NET_ADMIN names CAP_NET_ADMIN", () => {
    // CAP_SYS_ADMIN stays, so the program loads; RTM_SETLINK then needs CAP_NET_ADMIN. The attach
    // cannot succeed without it, but should it, the child detaches from lo again at once.
    const out = child(`
import { readFileSync } from "node:fs";
const coll = tsbpf.loadCollection(tsbpf.readCollectionSpec(new Uint8Array(readFileSync(args[0])), { name: "longnames" }));
try { const l = tsbpf.attachXdp(coll.program("touch"), "lo", { mechanism: "netlink" }); l.detach(); l.close(); console.log(JSON.stringify({ attached: true })); }
catch (e) { console.log(JSON.stringify(report(e))); }
`, [obj], ["--inh-caps=-net_admin", "--bounding-set=-net_admin"]);
    assert.equal(out.name, "PermissionError");
    assert.equal(out.code, "EPERM");
    assert.match(String(out.message), /needs CAP_NET_ADMIN; this process lacks CAP_NET_ADMIN/);
  });
});
