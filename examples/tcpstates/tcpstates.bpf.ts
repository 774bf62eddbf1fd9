// tcpstates.bpf.ts: the kernel half of tcpstates (compiled by tsbpf). On every TCP state change
// (tracepoint sock/inet_sock_set_state) it sends the socket's addresses, ports, old and new state and the
// time spent in the old state; per-socket timestamps live in a hash map keyed by the socket's address.

import { bpf, HashMap, RingBuf, tracepoint, type u16, type u64 } from "tsbpf/kernel";
import { AF_INET, StateEvent } from "./common.js";

const IPPROTO_TCP = 6;
const TCP_CLOSE = 7;

/** When each socket entered its current state. */
const since = new HashMap<u64, u64>({ maxEntries: 10240 });
const events = new RingBuf({ byteSize: 256 * 1024 });

/** Only connections with this local or remote port when not 0 (set from userspace). */
let filterPort: u16 = 0;

export const onStateChange = tracepoint("sock/inet_sock_set_state", (ctx) => {
  if (ctx.protocol !== IPPROTO_TCP) return 0;
  if (filterPort !== 0 && ctx.sport !== filterPort && ctx.dport !== filterPort) return 0;

  // skaddr is a `void *` (KernelPtr<void>): its value is the address; the cast tells TypeScript so.
  const sk = ctx.skaddr as unknown as u64;
  const now = bpf.ktimeNs();
  const start = since.lookup(sk);
  const delta = start === null ? 0n : (now - start) / 1000n;

  const ev = events.reserve(StateEvent);
  if (ev !== null) {
    ev.skaddr = sk;
    ev.deltaUs = delta;
    ev.ts = now;
    ev.pid = bpf.pid();
    ev.oldstate = ctx.oldstate;
    ev.newstate = ctx.newstate;
    ev.sport = ctx.sport;
    ev.dport = ctx.dport;
    ev.family = ctx.family;
    // The address arrays are copied with probe reads: indexing a context array with a loop variable
    // makes the verifier reject the program (see README.md, "Compiler notes").
    if (ctx.family === AF_INET) {
      bpf.probeReadKernel(ev.saddr4, bpf.addressOf(ctx.saddr));
      bpf.probeReadKernel(ev.daddr4, bpf.addressOf(ctx.daddr));
    } else {
      bpf.probeReadKernel(ev.saddr, bpf.addressOf(ctx.saddr_v6));
      bpf.probeReadKernel(ev.daddr, bpf.addressOf(ctx.daddr_v6));
    }
    bpf.currentComm(ev.comm);
    events.submit(ev);
  }

  if (ctx.newstate === TCP_CLOSE) since.delete(sk);
  else since.update(sk, now);
  return 0;
});
