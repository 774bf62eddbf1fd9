// struct __sk_buff, the context of TC, socket filter and cgroup skb programs (and others that see a
// socket buffer): the fields tsbpf exposes, with their UAPI offsets and whether programs may write them.

import { u32Fields, type ContextShape, type PacketShape } from "./kind.js";

/** struct __sk_buff fields by tsbpf name: offset, writable. */
const SK_BUFF = u32Fields({
  len: [0], pktType: [4], mark: [8, true], queueMapping: [12], protocol: [16], vlanPresent: [20], vlanTci: [24],
  vlanProto: [28], priority: [32, true], ingressIfindex: [36], ifindex: [40], tcIndex: [44, true], hash: [68],
  tcClassid: [72, true], napiId: [84], family: [88], remoteIp4: [92], localIp4: [96], remotePort: [132], localPort: [136],
});

/** The socket buffer context; `direct`: packet data is read in place (else copied with skb_load_bytes). */
export function skbContext(direct: boolean, overrides: Readonly<Record<string, { writable?: boolean; unavailable?: string }>> = {}): ContextShape {
  const fields = { ...SK_BUFF };
  for (const [name, o] of Object.entries(overrides)) fields[name] = { ...fields[name]!, ...o };
  const packet: PacketShape = { data: 76, dataEnd: 80, direct };
  return { k: "fields", what: "socket buffer context", fields, packet };
}
