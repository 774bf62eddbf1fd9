// What the socket-level kinds (sk_msg, sk_skb, sk_lookup, sk_reuseport) share: a socket map given as
// an argument of a context method (`ctx.redirect(socks, 1)`), its key, and the redirect methods.

import type ts from "typescript";
import { HELPER_IDS as H } from "../../sys/helper-ids.js";
import { array, u32 } from "../../types/index.js";
import { DiagnosticCode as D } from "../diagnostics.js";
import type { Operand, VReg } from "../ir.js";
import { U32 } from "../types.js";
import { arg, callHelper, intArg, mapFd, memArg, optionalWide, stackBuffer } from "../lower/call-args.js";
import type { MapInfo } from "../lower/context.js";
import { tyOfLayout, type Lowerer } from "../lower/function.js";
import { reg, type Value } from "../lower/values.js";
import type { ContextMethod } from "./kind.js";

/** Map classes that hold sockets, by class name. */
export type SocketMapClass = "SockMap" | "SockHash" | "ReuseportSockArray";

/** The socket map passed as argument `i` of `method`; reported unless its class is one of `allowed`. */
export function socketMapArg(L: Lowerer, call: ts.CallExpression, i: number, method: string, allowed: readonly SocketMapClass[]): MapInfo {
  const e = arg(L, call, i);
  const v = L.expr(e);
  const map = v.ty.k === "map" ? L.m.mapByName(v.ty.name) : undefined;
  if (!map || !(allowed as readonly string[]).includes(map.className)) {
    return L.report(e, D.TypeMismatch, `ctx.${method} needs a ${allowed.join(" or ")} declared in this file${map ? `, not a ${map.className}` : ""}`);
  }
  return map;
}

/** The key argument `i` for `map`: an address of the key on the stack (a u32 index for arrays of sockets). */
export function socketKeyAddr(L: Lowerer, call: ts.CallExpression, i: number, map: MapInfo): Operand {
  return reg(memArg(L, arg(L, call, i), map.className === "SockHash" ? map.key : U32, "key").addr);
}

/**
 * `ctx.redirect(map, key, flags?)`: the kind's redirect helper for a SockMap (u32 key by value) or a
 * SockHash (key by address). Returns SK_PASS when the socket is found, else SK_DROP.
 */
export function redirectMethod(byIndex: number, byKey: number): ContextMethod {
  return (L, c, ctx) => {
    const map = socketMapArg(L, c, 0, "redirect", ["SockMap", "SockHash"]);
    const key = map.className === "SockHash" ? socketKeyAddr(L, c, 1, map) : intArg(L, arg(L, c, 1), U32);
    return callHelper(L, map.className === "SockHash" ? byKey : byIndex, [reg(ctx), mapFd(L, map), key, optionalWide(L, c, 2)], U32);
  };
}

/** Helper ids of the redirects, re-exported for the kind files. */
export const REDIRECT = { msg: [H.msg_redirect_map, H.msg_redirect_hash], skb: [H.sk_redirect_map, H.sk_redirect_hash] } as const;

/** SK_DROP 0 / SK_PASS 1, the verdicts of socket-level programs. */
export const SK_VERDICT = { min: 0, max: 1, meaning: "SK_DROP 0 or SK_PASS 1" } as const;

const IP6 = array(u32, 4);

/**
 * An IPv6 address field of a context (`__u32 x[4]`, network byte order) as a copy on the stack: the
 * kernel allows only constant-offset loads from the context itself, so `ctx.remoteIp6[i]` reads a copy.
 */
export function ip6Field(offset: number): (L: Lowerer, ctx: VReg) => Value {
  return (L, ctx) => {
    const copy = stackBuffer(L, 16, "ipv6 address", 4);
    for (let i = 0; i < 4; i++) {
      const w = L.b.reg();
      L.b.emit({ op: "load", size: 4, dst: w, base: ctx, offset: offset + 4 * i });
      L.b.emit({ op: "store", size: 4, base: copy, offset: 4 * i, value: reg(w) });
    }
    return { ty: tyOfLayout(IP6), op: reg(copy) };
  };
}
