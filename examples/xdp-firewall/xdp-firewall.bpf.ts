// xdp-firewall.bpf.ts: the kernel half of xdp-firewall (compiled by tsbpf). Parses Ethernet, IPv4 and the
// TCP/UDP ports with bounds-checked packet views; drops sources in an LPM-trie blocklist and destination
// ports in a hash blocklist; counts every verdict per CPU and reports each drop through a ring buffer.

import { bpf, bytes, HashMap, LpmTrieMap, PerCpuArrayMap, RingBuf, struct, u16, u32, u64, u8, xdp, XdpAction } from "tsbpf/kernel";
import { Counter, DropEvent, DropReason, Ipv4Prefix, PortKey, Verdict, VERDICTS } from "./common.js";

const EthHdr = struct({ dst: bytes(6), src: bytes(6), proto: u16 });
const Ipv4Hdr = struct({
  verIhl: u8, tos: u8, totLen: u16, id: u16, fragOff: u16, ttl: u8, protocol: u8, check: u16, saddr: bytes(4), daddr: bytes(4),
});
/** The first four bytes of TCP and UDP headers alike. */
const Ports = struct({ sport: u16, dport: u16 });

const ETH_P_IP = 0x0800;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
const ETH_HLEN = 14;
const BPF_F_NO_PREALLOC = 1;

/** Source prefixes to drop; the value counts the packets each rule dropped. */
const blockedAddrs = new LpmTrieMap({ maxEntries: 1024, key: Ipv4Prefix, value: u64, flags: BPF_F_NO_PREALLOC });
/** (protocol, destination port) pairs to drop; the value counts hits. */
const blockedPorts = new HashMap({ maxEntries: 1024, key: PortKey, value: u64 });
/** Packets and bytes per verdict (Verdict.*), per CPU. */
const counters = new PerCpuArrayMap({ maxEntries: VERDICTS, value: Counter });
/** One record per dropped packet. */
const drops = new RingBuf({ byteSize: 64 * 1024 });

function count(verdict: u32, len: u32): void {
  const c = counters.lookup(verdict);
  if (c !== null) {
    c.packets = c.packets + 1n;
    c.bytes = c.bytes + BigInt(len);
  }
}

export const firewall = xdp((ctx) => {
  const len = ctx.len; // frame length: data_end - data
  const eth = ctx.load(EthHdr, 0);
  if (eth === null || bpf.ntohs(eth.proto) !== ETH_P_IP) {
    count(Verdict.NOT_IPV4, len);
    return XdpAction.PASS;
  }
  const ip = ctx.load(Ipv4Hdr, ETH_HLEN);
  if (ip === null) {
    count(Verdict.NOT_IPV4, len);
    return XdpAction.PASS;
  }

  const key = Ipv4Prefix.zero();
  key.prefixLen = 32;
  key.addr = ip.saddr;
  const hits = blockedAddrs.lookup(key);
  let reason: u8 = 0;
  let sport: u16 = 0;
  let dport: u16 = 0;
  if (hits !== null) {
    blockedAddrs.update(key, hits + 1n);
    reason = DropReason.ADDRESS;
  }

  // Ports, for TCP and UDP without IP options (IHL 5) and not a later fragment.
  const proto = ip.protocol;
  if ((proto === IPPROTO_TCP || proto === IPPROTO_UDP) && (ip.verIhl & 0x0f) === 5 && (bpf.ntohs(ip.fragOff) & 0x1fff) === 0) {
    const ports = ctx.load(Ports, ETH_HLEN + 20);
    if (ports !== null) {
      sport = bpf.ntohs(ports.sport);
      dport = bpf.ntohs(ports.dport);
      if (reason === 0) {
        const pk = PortKey.zero();
        pk.proto = proto;
        pk.port = dport;
        const portHits = blockedPorts.lookup(pk);
        if (portHits !== null) {
          blockedPorts.update(pk, portHits + 1n);
          reason = DropReason.PORT;
        }
      }
    }
  }

  if (reason === 0) {
    count(Verdict.PASS, len);
    return XdpAction.PASS;
  }
  count(reason === DropReason.ADDRESS ? Verdict.DROP_ADDRESS : Verdict.DROP_PORT, len);
  const ev = drops.reserve(DropEvent);
  if (ev !== null) {
    ev.saddr = ip.saddr;
    ev.daddr = ip.daddr;
    ev.sport = sport;
    ev.dport = dport;
    ev.len = u16(len);
    ev.proto = proto;
    ev.reason = reason;
    drops.submit(ev);
  }
  return XdpAction.DROP;
});
