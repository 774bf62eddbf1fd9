// BPF tokens on the real kernel (Linux 6.9+). An unprivileged user (uid 65534), root only of its own
// user namespace, gets a bpffs created for that namespace at /sys/fs/bpf (test/helpers/token-sandbox.c
// does the fsopen / fsconfig delegate_* / fsmount hand-off with this privileged test), and tsbpf in a
// Node child (test/kernel/token-child.ts) loads the XDP counter through the token, attaches it to the
// namespace's loopback and counts real UDP datagrams. Without delegation, or with a delegation that
// lacks the program type, the load fails with a typed error naming what is missing.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TokenError } from "../../src/errors.js";
import { createToken, resolveToken } from "../../src/runtime/token.js";
import { kernelAtLeast } from "../../src/sys/system.js";
import { compileAndRead, haveTool, hostProgram, run } from "../helpers/loader.js";
import { privileged } from "../helpers/privileges.js";
import { vmObject } from "../vm/fixtures.js";

const UID = "65534";
const ALL = "delegate_cmds=any,delegate_maps=any,delegate_progs=any,delegate_attachs=any";
const root = new URL("../..", import.meta.url).pathname;

interface ChildResult {
  ok: boolean;
  count?: number;
  probes?: Record<string, Record<string, string>>;
  offered?: boolean;
  name?: string;
  code?: string;
  message?: string;
}

const problem = (): string | undefined => (!haveTool("cc") && !process.env.CC ? "needs a C compiler (cc) for test/helpers/token-sandbox.c" : undefined);
// An older kernel skips, under CI=true too: only a missing privilege fails there.
const options = kernelAtLeast(6, 9) ? privileged(problem) : { skip: "BPF tokens (BPF_TOKEN_CREATE) need Linux 6.9+" };

describe("BPF token: an unprivileged user namespace loads through a delegated bpffs", options, () => {
  let dir: string;
  let sandbox: string;
  let object: string;
  let structOpsObject: string;
  let usernsProblem: string | undefined;

  before(async () => {
    sandbox = hostProgram("token-sandbox", readFileSync(join(root, "test/helpers/token-sandbox.c"), "utf8"));
    dir = mkdtempSync(join(tmpdir(), "tsbpf-token-"));
    chmodSync(dir, 0o755);
    object = join(dir, "attach_xdp.o");
    copyFileSync((await compileAndRead("test/fixtures/c/attach_xdp.bpf.c")).path, object);
    chmodSync(object, 0o644);
    structOpsObject = join(dir, "tsbpf_cc.o");
    copyFileSync(await vmObject("structops"), structOpsObject);
    chmodSync(structOpsObject, 0o644);
    // Unprivileged user namespaces may be switched off (user.max_user_namespaces=0, distro sysctls, LSMs).
    const probe = await run(sandbox, [UID, "probe"]);
    if (probe.code === 77) usernsProblem = probe.stderr.trim();
    else assert.equal(probe.code, 0, `token-sandbox probe: ${probe.stderr}`);
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Runs the child with `delegation` ("none" or delegate_* options) and the token argument (or other child arguments). */
  async function child(delegation: string, token: string, args: string[] = [object, token, "5"]): Promise<ChildResult> {
    const r = await run(sandbox, [UID, delegation, "/sys/fs/bpf", process.execPath, "--import", "tsx", join(root, "test/kernel/token-child.ts"), ...args]);
    assert.equal(r.code, 0, `token-sandbox (${delegation}, ${args.join(" ")}) exited ${r.code}: ${r.stderr}`);
    const line = r.stdout.trim().split("\n").pop() ?? "";
    return JSON.parse(line) as ChildResult;
  }

  test("delegated bpffs at /sys/fs/bpf: used implicitly, XDP on the namespace's loopback counts 5 datagrams", (t) => {
    if (usernsProblem) return t.skip(usernsProblem);
    return child(ALL, "implicit").then((r) => assert.deepEqual(r, { ok: true, count: 5 }));
  });

  test("the same load with tokens switched off (token: false) is refused, naming the user namespace and tokens", async (t) => {
    if (usernsProblem) return t.skip(usernsProblem);
    const r = await child(ALL, "off");
    assert.equal(r.ok, false);
    assert.equal(r.name, "PermissionError");
    assert.equal(r.code, "EPERM");
    assert.match(r.message!, /child user namespace/);
    assert.match(r.message!, /BPF token/);
  });

  test("a delegation without the XDP program type: TokenError naming delegate_progs=xdp", async (t) => {
    if (usernsProblem) return t.skip(usernsProblem);
    const r = await child("delegate_cmds=any,delegate_maps=any,delegate_progs=socket_filter,delegate_attachs=any", "/sys/fs/bpf");
    assert.equal(r.ok, false);
    assert.equal(r.name, "TokenError");
    assert.equal(r.code, "TOKEN_NOT_DELEGATED");
    assert.match(r.message!, /load program "xdp_count"/);
    assert.match(r.message!, /does not delegate delegate_progs=xdp/);
  });

  test("a bpffs without delegation: the named token fails to be created (TOKEN_NOT_DELEGATED); implicitly, none is used and the load is refused", async (t) => {
    if (usernsProblem) return t.skip(usernsProblem);
    const named = await child("none", "/sys/fs/bpf");
    assert.equal(named.name, "TokenError");
    assert.equal(named.code, "TOKEN_NOT_DELEGATED");
    assert.match(named.message!, /no delegate_\* mount options/);
    const implicit = await child("none", "implicit");
    assert.equal(implicit.name, "PermissionError");
    assert.match(implicit.message!, /child user namespace/);
  });

  test("feature probes use the token: XDP programs and hash maps are there with it (implicit or named), refused without", async (t) => {
    if (usernsProblem) return t.skip(usernsProblem);
    const r = await child(ALL, "", ["probe"]);
    assert.equal(r.ok, true, r.message);
    assert.deepEqual(r.probes, {
      implicit: { xdp: "yes", hash: "yes" },
      named: { xdp: "yes", hash: "yes" },
      off: { xdp: "refused EPERM", hash: "refused EPERM" },
    });
  });

  test("a delegation without XDP: the XDP probe answers refused through the token, the hash map probe yes", async (t) => {
    if (usernsProblem) return t.skip(usernsProblem);
    const r = await child("delegate_cmds=any,delegate_maps=any,delegate_progs=socket_filter,delegate_attachs=any", "", ["probe"]);
    assert.equal(r.ok, true, r.message);
    assert.deepEqual(r.probes?.named, { xdp: "refused EPERM", hash: "yes" });
  });

  test("struct_ops: the tcp_congestion_ops map, its BTF and programs are made through the token, and TCP offers it", async (t) => {
    if (usernsProblem) return t.skip(usernsProblem);
    const r = await child(ALL, "", ["struct_ops", structOpsObject, "/sys/fs/bpf"]);
    assert.deepEqual(r, { ok: true, offered: true }, r.message);
    const denied = await child("delegate_cmds=any,delegate_maps=array,delegate_progs=any,delegate_attachs=any", "", ["struct_ops", structOpsObject, "/sys/fs/bpf"]);
    assert.equal(denied.name, "TokenError");
    assert.equal(denied.code, "TOKEN_NOT_DELEGATED");
    assert.match(denied.message!, /create struct_ops map "tsbpf_cc".*does not delegate delegate_maps=struct_ops/);
  });

  test("tsbpf load --token <bpffs>: the CLI loads through the named token; --no-token is refused; a bad path names itself", async (t) => {
    if (usernsProblem) return t.skip(usernsProblem);
    const cli = (...args: string[]) => run(sandbox, [UID, ALL, "/sys/fs/bpf", process.execPath, "--import", "tsx", join(root, "src/cli/main.ts"), "load", object, ...args]);
    const ok = await cli("--token", "/sys/fs/bpf");
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /program xdp_count \(xdp, section xdp\)/);
    assert.match(ok.stdout, /loaded /);
    const off = await cli("--no-token");
    assert.equal(off.code, 1);
    assert.match(off.stderr, /child user namespace/);
    const missing = "/sys/fs/bpf/tsbpf-i12-no-such-dir";
    const bad = await cli("--token", missing);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /error \[TOKEN_PATH_NOT_FOUND\]: BPF token from \/sys\/fs\/bpf\/tsbpf-i12-no-such-dir: the path does not exist/);
    // tsbpf features probes through the token the same way.
    const features = async (...args: string[]) => {
      const r = await run(sandbox, [UID, ALL, "/sys/fs/bpf", process.execPath, "--import", "tsx", join(root, "src/cli/main.ts"), "features", "--json", ...args]);
      assert.equal(r.code, 0, r.stderr);
      const rows = JSON.parse(r.stdout) as { group: string; feature: string; status: string }[];
      return rows.find((x) => x.group === "program type" && x.feature === "XDP")?.status;
    };
    assert.equal(await features("--token", "/sys/fs/bpf"), "yes");
    assert.equal(await features("--no-token"), "refused");
  });

  test("in the initial user namespace: no implicit token; a named one is TOKEN_INITIAL_USER_NAMESPACE, a non-bpffs TOKEN_NOT_BPFFS", () => {
    assert.equal(resolveToken(undefined, {}), undefined);
    assert.throws(() => createToken("/sys/fs/bpf"), (e: unknown) => e instanceof TokenError && e.code === "TOKEN_INITIAL_USER_NAMESPACE" && /initial user namespace/.test(e.message));
    assert.throws(() => createToken(dir), (e: unknown) => e instanceof TokenError && e.code === "TOKEN_NOT_BPFFS" && e.source === dir);
  });
});
