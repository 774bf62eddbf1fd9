// Unit tests of the rtnetlink encoder/decoder: message and nested attribute layout, padding,
// decoding of replies and of error acks with extended-ack text, malformed input.

import { test } from "node:test";
import assert from "node:assert/strict";
import { TsbpfError } from "../../src/errors.js";
import {
  decodeNlError,
  decodeNlMessages,
  decodeTcmsg,
  encodeNlMessage,
  ifinfomsg,
  NLA_F_NESTED,
  nla,
  NlAttrs,
  NLM_F,
  NLMSG,
  RTM,
  tcmsg,
} from "../../src/sys/netlink.js";

test("encodes header, family header and padded, nested attributes", () => {
  const msg = encodeNlMessage(RTM.SETLINK, NLM_F.REQUEST | NLM_F.ACK, 7, ifinfomsg(3), [
    nla.nest(43, [nla.s32(1, -1), nla.u32(3, 2)]),
    nla.str(3, "eth0"),
  ]);
  const v = new DataView(msg.buffer);
  // 16 header + 16 ifinfomsg + (4 + 8 + 8) nest + (4 + 5 → 12) string
  assert.equal(msg.length, 16 + 16 + 20 + 12);
  assert.equal(v.getUint32(0, true), msg.length);
  assert.equal(v.getUint16(4, true), RTM.SETLINK);
  assert.equal(v.getUint16(6, true), NLM_F.REQUEST | NLM_F.ACK);
  assert.equal(v.getUint32(8, true), 7);
  assert.equal(v.getInt32(16 + 4, true), 3, "ifindex");
  assert.equal(v.getUint16(32, true), 20, "nest length");
  assert.equal(v.getUint16(34, true), 43 | NLA_F_NESTED);
  assert.equal(v.getInt32(32 + 8, true), -1);
  assert.equal(v.getUint16(52, true), 9, "string attr length counts the NUL, not the padding");
  const [back] = decodeNlMessages(msg);
  assert.equal(back.type, RTM.SETLINK);
  const attrs = new NlAttrs(back.payload.subarray(16));
  assert.equal(attrs.str(3), "eth0");
  const nested = attrs.nested(43)!;
  assert.equal(nested.u32(3), 2);
  assert.equal(new DataView(nested.bytes(1)!.buffer, nested.bytes(1)!.byteOffset).getInt32(0, true), -1);
});

test("tcmsg round trip", () => {
  const t = decodeTcmsg(tcmsg({ ifindex: 9, handle: 0xffff0000, parent: 0xfffffff2, info: (5 << 16) | 0x0300 }));
  assert.deepEqual([t.ifindex, t.handle, t.parent, t.info >>> 16], [9, 0xffff0000, 0xfffffff2, 5]);
  assert.throws(() => decodeTcmsg(new Uint8Array(4)), (e: unknown) => e instanceof TsbpfError && e.code === "NETLINK_MALFORMED");
});

test("error acks: errno, and the extended ack message after a capped request", () => {
  const text = new TextEncoder().encode("Exclusivity flag on\0");
  const tlvLen = 4 + text.length;
  const payload = new Uint8Array(4 + 16 + ((tlvLen + 3) & ~3));
  const v = new DataView(payload.buffer);
  v.setInt32(0, -17, true);
  v.setUint32(4, 100, true); // original request length (header only is included: capped)
  v.setUint16(20, tlvLen, true);
  v.setUint16(22, 1, true);
  payload.set(text, 24);
  assert.deepEqual(decodeNlError(payload, NLM_F.CAPPED | NLM_F.ACK_TLVS), { errno: 17, message: "Exclusivity flag on" });
  assert.deepEqual(decodeNlError(payload.subarray(0, 4), 0), { errno: 17 });
  const ack = encodeNlMessage(NLMSG.ERROR, 0, 1, new Uint8Array(20));
  assert.equal(decodeNlError(decodeNlMessages(ack)[0].payload, 0).errno, 0);
});

test("malformed datagrams are typed errors, not RangeErrors", () => {
  const bad = new Uint8Array(20);
  new DataView(bad.buffer).setUint32(0, 400, true);
  assert.throws(() => decodeNlMessages(bad), (e: unknown) => e instanceof TsbpfError && e.code === "NETLINK_MALFORMED");
  assert.throws(() => decodeNlError(new Uint8Array(2), 0), (e: unknown) => e instanceof TsbpfError);
  // Truncated attributes stop decoding instead of throwing.
  const attrs = new NlAttrs(Uint8Array.of(200, 0, 1, 0, 1));
  assert.deepEqual(attrs.types(), []);
  assert.throws(() => encodeNlMessage(1, 0, 0, new Uint8Array(0), [nla.raw(1, new Uint8Array(70000))]),
    (e: unknown) => e instanceof TsbpfError && e.code === "INVALID_ARGUMENT");
});
