// `skLookup((ctx) => ...)`: SEC("sk_lookup"), run when a network namespace looks up the socket for a
// new connection or datagram. The context is struct bpf_sk_lookup (read-only). `ctx.assign(map, key)`
// selects the socket stored in a SockMap/SockHash. Returns SK_PASS (with or without a socket
// assigned) or SK_DROP — the kernel refuses other values.

import { HELPER_IDS as H } from "../../sys/helper-ids.js";
import { I64, U64 } from "../types.js";
import { callHelper, mapFd, optionalWide } from "../lower/call-args.js";
import { imm, reg } from "../lower/values.js";
import { u32Fields, type ProgramKind } from "./kind.js";
import { ip6Field, socketKeyAddr, socketMapArg, SK_VERDICT } from "./sock-maps.js";

const ENOENT = 2;

export const skLookup: ProgramKind = {
  entry: "skLookup",
  targets: 0,
  section: () => "sk_lookup",
  contextTypes: ["SkLookupContext"],
  context: {
    k: "fields",
    what: "sk_lookup context",
    fields: {
      ...u32Fields({ family: [8], protocol: [12], remoteIp4: [16], localIp4: [40], localPort: [60], ingressIfindex: [64] }),
      // __be16 followed by 16 bits of padding.
      remotePort: { offset: 36, size: 2 },
    },
    computed: { remoteIp6: ip6Field(20), localIp6: ip6Field(44) },
  },
  helpers: [],
  returns: () => SK_VERDICT,
  methods: {
    // The map lookup takes a reference on the socket: it is assigned, then released on every path, so
    // the verifier sees no leak. -ENOENT when the key holds no socket.
    assign: (L, c, ctx) => {
      const map = socketMapArg(L, c, 0, "assign", ["SockMap", "SockHash"]);
      const key = socketKeyAddr(L, c, 1, map);
      const sk = L.b.toReg(callHelper(L, H.map_lookup_elem, [mapFd(L, map), key], U64).op);
      const flags = optionalWide(L, c, 2);
      const out = L.b.reg();
      const found = L.b.block(), missing = L.b.block(), done = L.b.block();
      L.b.terminate({ op: "br", cond: "ne", bits: 64, a: sk, b: imm(0), then: found, else: missing });
      L.b.setBlock(found);
      const rc = callHelper(L, H.sk_assign, [reg(ctx), reg(sk), flags], I64);
      L.b.mov(out, rc.op);
      L.b.emit({ op: "call", helper: H.sk_release, args: [reg(sk)] });
      L.b.jumpTo(done);
      L.b.setBlock(missing);
      L.b.mov(out, imm(-ENOENT));
      L.b.jumpTo(done);
      L.b.setBlock(done);
      return { ty: I64, op: reg(out) };
    },
  },
};
