// End to end: examples/execsnoop's BPF side (clang) attached to sched_process_exec, its ring buffer read
// with the shared ExecEvent layout; execs of known children arrive with the right pid, ppid and names.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { ExecEvent } from "../../examples/execsnoop/common.js";
import { load } from "../../src/index.js";
import { RingBufReader } from "../../src/runtime/ringbuf.js";
import { compileC } from "../helpers/toolchain.js";
import { privileged } from "../helpers/privileges.js";

type Exec = ReturnType<typeof ExecEvent.decode>;

function runChild(file: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: "ignore" });
    child.on("error", reject);
    child.on("exit", () => resolve(child.pid!));
  });
}

test("execsnoop: every exec of a child arrives as one ExecEvent with its pid, parent, comm and filename", privileged(), async () => {
  await using obj = await load(await compileC("examples/execsnoop/execsnoop.bpf.c"));
  using events = new RingBufReader(obj.map("events"));
  const seen: Exec[] = [];
  const reading = (async () => {
    for await (const ev of events.records(ExecEvent)) seen.push(ev);
  })();

  const pids: number[] = [];
  {
    using link = obj.program("handle_exec").attach();
    assert.equal(link.description, "tracepoint sched/sched_process_exec");
    for (let i = 0; i < 3; i++) pids.push(await runChild("/bin/true", []));
    pids.push(await runChild("/bin/sh", ["-c", "exit 0"]));
    const deadline = Date.now() + 3000;
    while (!pids.every((p) => seen.some((e) => e.pid === p)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  }
  const afterDetach = await runChild("/bin/true", []);
  await new Promise((r) => setTimeout(r, 50));
  events.close();
  await reading;

  for (const [i, pid] of pids.entries()) {
    const mine = seen.filter((e) => e.pid === pid);
    assert.equal(mine.length, 1, `one event for child ${pid}`);
    const ev = mine[0];
    assert.equal(ev.ppid, process.pid, "parent is this process");
    assert.equal(ev.uid, process.getuid!());
    if (i < 3) {
      assert.equal(ev.comm, "true");
      assert.match(ev.filename, /^\/(usr\/)?bin\/true$/);
    } else {
      assert.equal(ev.comm, "sh");
      assert.match(ev.filename, /^\/(usr\/)?bin\/sh$/);
    }
  }
  assert.ok(!seen.some((e) => e.pid === afterDetach), "no event once the link is closed");
});
