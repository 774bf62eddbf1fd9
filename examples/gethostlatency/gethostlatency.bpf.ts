// gethostlatency.bpf.ts: the kernel half of gethostlatency (compiled by tsbpf). A uprobe on libc's host
// lookup functions saves the host name and a timestamp per thread; a uretprobe sends name, result and
// latency to a ring buffer. main.ts attaches the same programs to several functions.

import { bpf, cstring, HashMap, i32, i64, RingBuf, struct, uprobe, uretprobe, u64, type u32 } from "tsbpf/kernel";
import { HOST_LEN, LookupEvent, LookupFunction } from "./common.js";

/** What the entry saw, until the same thread returns. */
const Start = struct({ ts: u64, host: cstring(HOST_LEN) });

const starts = new HashMap({ maxEntries: 4096, key: u64, value: Start });
const events = new RingBuf({ byteSize: 128 * 1024 });

// The binary and function are given when attaching; "libc.so.6:getaddrinfo" would fix them here.
export const lookupEnter = uprobe("", (ctx) => {
  const s = Start.zero();
  s.ts = bpf.ktimeNs();
  bpf.probeReadUserStr(s.host, ctx.arg(0)); // the first argument is the host name in every function
  starts.update(bpf.pidTgid(), s);
  return 0;
});

/** Sends the event for the thread's pending lookup, if any, with the function's return value. */
function finish(ret: i64, func: u32): void {
  const key = bpf.pidTgid();
  const s = starts.lookup(key);
  if (s === null) return; // entered before we attached
  const ev = events.reserve(LookupEvent);
  if (ev !== null) {
    ev.latencyNs = bpf.ktimeNs() - s.ts;
    ev.pid = bpf.pid();
    ev.tid = bpf.tid();
    ev.func = func;
    ev.ret = ret;
    bpf.currentComm(ev.comm);
    ev.host = s.host;
    events.submit(ev);
  }
  starts.delete(key);
}

/** Return of getaddrinfo: an int status (only the low 32 bits of the register are meaningful). */
export const addrinfoReturn = uretprobe("", (ctx) => {
  finish(i64(i32(ctx.ret())), LookupFunction.GETADDRINFO);
  return 0;
});

/** Return of gethostbyname and gethostbyname2: a struct hostent pointer. */
export const hostentReturn = uretprobe("", (ctx) => {
  finish(i64(ctx.ret()), LookupFunction.GETHOSTBYNAME);
  return 0;
});
