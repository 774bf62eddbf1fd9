// Link lifetime across processes: a child process attaches a cgroup program and exits; an unpinned
// link goes with it, a pinned one keeps the program attached until it is opened, detached and unpinned.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { Link } from "../../src/runtime/links/link.js";
import { cgroupPrograms } from "../../src/runtime/links/cgroup.js";
import { listLinks } from "../../src/runtime/links/list.js";
import { objGet } from "../../src/sys/bpf.js";
import { createCgroup, type TestCgroup } from "../helpers/cgroup.js";
import { REPO_ROOT } from "../helpers/toolchain.js";
import { bpffsProblem, bpffsScratch, compileAndRead, run, waitFor } from "../helpers/loader.js";
import { nettool } from "../helpers/nettool.js";
import { privileged } from "../helpers/privileges.js";

/** In a separate node process: load the object, attach connect4 to the cgroup, optionally pin, exit. */
async function attachInChild(object: string, cgroup: string, pin: string | null): Promise<void> {
  const script = `
    import { readFileSync } from "node:fs";
    import { readCollectionSpec } from "./src/object/reader.ts";
    import { loadCollection } from "./src/runtime/collection.ts";
    const coll = loadCollection(readCollectionSpec(new Uint8Array(readFileSync(${JSON.stringify(object)})), { name: "cgroup" }));
    const link = coll.program("connect4").attach({ cgroup: ${JSON.stringify(cgroup)} });
    ${pin ? `link.pin(${JSON.stringify(pin)});` : ""}
    coll.close();
  `;
  const r = await run(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script]);
  assert.equal(r.code, 0, r.stderr);
}

describe("attach: pinned links outlive the process", privileged(bpffsProblem), () => {
  let cg: TestCgroup;
  let object: string;
  const connect = async () => (await cg.run(nettool(), ["tcp", "127.0.0.1", "7360"])).stdout.trim();

  before(async () => {
    process.chdir(REPO_ROOT);
    cg = createCgroup("pin");
    object = (await compileAndRead("test/fixtures/c/hooks/cgroup.bpf.c")).path;
  });

  after(() => cg?.cleanup());

  test("an unpinned link is gone when its process exits", async () => {
    await attachInChild(object, cg.path, null);
    assert.deepEqual(cgroupPrograms(cg.path, "CGROUP_INET4_CONNECT").progIds, []);
    assert.equal(await connect(), "connect:ECONNREFUSED");
  });

  test("a pinned link keeps working after its process exits, until detached and unpinned", async () => {
    const scratch = bpffsScratch("pin");
    const pin = `${scratch.dir}/connect4`;
    try {
      await attachInChild(object, cg.path, pin);
      assert.equal(cgroupPrograms(cg.path, "CGROUP_INET4_CONNECT").progIds.length, 1);
      assert.equal(await connect(), "connect:EPERM", "the program still refuses the port");
      const link = new Link(objGet(pin), "pinned connect4 link");
      const progId = cgroupPrograms(cg.path, "CGROUP_INET4_CONNECT").progIds[0];
      assert.equal(link.info().progId, progId);
      const listed = listLinks().find((l) => l.id === link.id);
      assert.equal(listed?.typeName, "cgroup", "the kernel lists the link");
      assert.equal(listed?.progId, progId);
      link.detach();
      rmSync(pin);
      link.close();
      assert.ok(await waitFor(() => !listLinks().some((l) => l.id === listed!.id)), "gone once unpinned and closed");
      assert.deepEqual(cgroupPrograms(cg.path, "CGROUP_INET4_CONNECT").progIds, []);
      assert.equal(await connect(), "connect:ECONNREFUSED");
    } finally {
      scratch.cleanup();
    }
  });
});
