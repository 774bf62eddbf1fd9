// opensnoop.bpf.ts: the kernel half of opensnoop (compiled by tsbpf, never run by node). The syscall
// entry remembers the path pointer per thread; the exit sends the path with the result to a ring buffer.

import { array, bpf, HashMap, RingBuf, struct, tracepoint, i32, u32, u64 } from "tsbpf/kernel";
import { OpenEvent } from "./common.js";

/** x86-64 syscall numbers of open, openat and openat2. */
const SYS_OPEN = 2n;
const SYS_OPENAT = 257n;
const SYS_OPENAT2 = 437n;

/** What the entry saw, kept until the exit of the same thread. */
const Pending = struct({ filename: u64, ts: u64, flags: i32, syscall: u32 });
/**
 * The syscall arguments of raw_syscalls/sys_enter (`long args[6]` at offset 16 of the record). Read as a
 * copy because the compiler indexes `ctx.args` as bytes (see README.md, "Compiler notes").
 */
const SysArgs = struct({ args: array(u64, 6) });
/** The first member of openat2's struct open_how. */
const OpenHow = struct({ flags: u64 });

const pending = new HashMap({ maxEntries: 8192, key: u64, value: Pending });
const events = new RingBuf({ byteSize: 256 * 1024 });

/** Only this process (tgid) when not 0; set from userspace before attaching. */
let targetPid: u32 = 0;
/** When 1, only calls that failed are reported. */
let failedOnly: u32 = 0;

export const openEnter = tracepoint("raw_syscalls/sys_enter", (ctx) => {
  const id = ctx.id;
  if (id !== SYS_OPEN && id !== SYS_OPENAT && id !== SYS_OPENAT2) return 0;
  if (targetPid !== 0 && bpf.pid() !== targetPid) return 0;
  const a = SysArgs.zero();
  if (bpf.probeReadKernel(a, bpf.addressOf(ctx) + 16n) !== 0n) return 0;
  const p = Pending.zero();
  p.ts = bpf.ktimeNs();
  p.syscall = Number(id);
  if (id === SYS_OPEN) {
    p.filename = a.args[0];
    p.flags = i32(a.args[1]);
  } else if (id === SYS_OPENAT) {
    p.filename = a.args[1];
    p.flags = i32(a.args[2]);
  } else {
    // openat2(dirfd, path, struct open_how *how, size): the flags are in user memory.
    p.filename = a.args[1];
    const how = OpenHow.zero();
    if (bpf.probeReadUser(how, a.args[2]) === 0n) p.flags = i32(how.flags);
  }
  pending.update(bpf.pidTgid(), p);
  return 0;
});

export const openExit = tracepoint("raw_syscalls/sys_exit", (ctx) => {
  const key = bpf.pidTgid();
  const p = pending.lookup(key);
  if (p === null) return 0;
  const ret = i32(ctx.ret);
  if (failedOnly !== 0 && ret >= 0) {
    pending.delete(key);
    return 0;
  }
  const ev = events.reserve(OpenEvent);
  if (ev === null) {
    pending.delete(key);
    return 0;
  }
  ev.latencyNs = bpf.ktimeNs() - p.ts;
  ev.pid = bpf.pid();
  ev.tid = bpf.tid();
  ev.uid = bpf.uid();
  ev.ret = ret;
  ev.flags = p.flags;
  ev.syscall = p.syscall;
  bpf.currentComm(ev.comm);
  bpf.probeReadUserStr(ev.filename, p.filename);
  events.submit(ev);
  pending.delete(key);
  return 0;
});
