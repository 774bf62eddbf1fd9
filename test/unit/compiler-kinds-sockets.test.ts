// The socket-level kinds' rules (src/compiler/kinds/{sk-msg,sk-skb,sk-lookup,sk-reuseport,
// flow-dissector}.ts): verdicts outside SK_DROP/SK_PASS refused, read-only and unreadable context
// fields, socket maps as the only targets of redirects and assignments, helpers the kinds may not call.

import assert from "node:assert/strict";
import { resolve } from "node:path";
import { test } from "node:test";
import { compile, DiagnosticCode as D } from "../../src/compiler/index.js";
import { TS_FIXTURES } from "../helpers/compile-ts.js";

let n = 0;
function diagnose(source: string): { code: string; line: number; message: string }[] {
  const path = resolve(TS_FIXTURES, `virtual-ksk-${process.pid}-${n++}.bpf.ts`);
  const r = compile(path, { sources: new Map([[path, source]]) });
  return r.diagnostics.map((d) => ({ code: d.code, line: d.line, message: d.message }));
}

const IMPORTS = `import { skMsg, skSkb, skLookup, skReuseport, flowDissector, SockMap, SockHash, ReuseportSockArray, HashMap, SkAction, bpf, u32, u64 } from "tsbpf/kernel";\n`;
const socks = `const socks = new SockMap({ maxEntries: 2 });\n`;

/** Every diagnostic of `body` (after the imports), with the first expected on the line matching `at`. */
function expectOne(body: string, code: string, message: RegExp, at: RegExp): void {
  const source = IMPORTS + body;
  const d = diagnose(source);
  assert.ok(d.length >= 1, "no diagnostic");
  assert.equal(d[0]!.code, code, JSON.stringify(d));
  assert.match(d[0]!.message, message);
  assert.equal(d[0]!.line, source.split("\n").findIndex((l) => at.test(l)) + 1, JSON.stringify(d));
}

test("sockets: verdicts outside SK_DROP/SK_PASS are refused for sk_msg, sk_skb verdicts, sk_lookup and sk_reuseport", () => {
  for (const entry of ["skMsg(", `skSkb("stream_verdict", `, `skSkb("verdict", `, "skLookup(", "skReuseport("]) {
    const body = `export const p = ${entry}(ctx) => {\n  if (bpf.random() === 10) return 2;\n  return SkAction.PASS;\n});\n`;
    expectOne(body, D.ReturnValue, /return 0\.\.1 \(SK_DROP 0 or SK_PASS 1\); 2 is not accepted/, /return 2;/);
  }
});

test("sockets: a stream parser returns a length and a flow dissector any action", () => {
  assert.deepEqual(diagnose(IMPORTS + `export const p = skSkb("stream_parser", (ctx) => 4096);\n`), []);
  assert.deepEqual(diagnose(IMPORTS + `export const p = flowDissector((ctx) => 129);\n`), []);
});

test("sockets: context fields are read-only, and sk_skb cannot read mark", () => {
  const ro = diagnose(IMPORTS + `export const p = skMsg((ctx) => {\n  ctx.size = 1;\n  return 1;\n});\n`);
  assert.ok(ro.some((d) => d.code === D.TypeMismatch && /ctx\.size is read-only/.test(d.message)), JSON.stringify(ro));
  expectOne(`export const p = skSkb("verdict", (ctx) => {\n  if (ctx.mark === 1) return 0;\n  return 1;\n});\n`, D.TypeMismatch, /ctx\.mark is not readable by sk_skb programs/, /ctx\.mark/);
  // priority stays writable for sk_skb.
  assert.deepEqual(diagnose(IMPORTS + `export const p = skSkb("verdict", (ctx) => {\n  ctx.priority = 3;\n  return 1;\n});\n`), []);
  // TypeScript refuses it too (TS2339); the compiler names the kind's context.
  const fd = diagnose(IMPORTS + `export const p = flowDissector((ctx) => {\n  return ctx.protocol === 8 ? 0 : 2;\n});\n`);
  assert.ok(fd.some((d) => d.code === D.TypeMismatch && /the flow dissector context has no field "protocol"/.test(d.message)), JSON.stringify(fd));
});

test("sockets: redirect, assign and select take a socket map of a class the helper accepts", () => {
  const hash = `const h = new HashMap<u32, u64>({ maxEntries: 2 });\n`;
  // `as never` passes TypeScript's own check, so the compiler's diagnostic is the one seen.
  expectOne(hash + `export const p = skMsg((ctx) => ctx.redirect(h as never, 0));\n`, D.TypeMismatch, /ctx\.redirect needs a SockMap or SockHash declared in this file, not a HashMap/, /ctx\.redirect/);
  expectOne(`const r = new ReuseportSockArray({ maxEntries: 2 });\nexport const p = skLookup((ctx) => {\n  ctx.assign(r as never, 0);\n  return 1;\n});\n`, D.TypeMismatch, /ctx\.assign needs a SockMap or SockHash/, /ctx\.assign/);
  assert.deepEqual(diagnose(IMPORTS + `const r = new ReuseportSockArray({ maxEntries: 2 });\nexport const p = skReuseport((ctx) => ctx.select(r, 1) === 0n ? 1 : 0);\n`), []);
  assert.deepEqual(diagnose(IMPORTS + `const hs = new SockHash<u64>({ maxEntries: 2 });\nexport const p = skSkb("verdict", (ctx) => ctx.redirect(hs, 7n));\n`), []);
  assert.deepEqual(diagnose(IMPORTS + socks + `export const p = skSkb("stream_verdict", (ctx) => ctx.redirect(socks, 1));\n`), []);
});

test("sockets: a SockHash needs its key type", () => {
  expectOne(`const hs = new SockHash({ maxEntries: 2 });\nexport const p = skMsg((ctx) => 1);\n`, D.MapDeclaration, /SockHash needs its key type/, /new SockHash/);
});

test("sockets: helpers and methods of other kinds are refused", () => {
  expectOne(`export const p = skMsg((ctx) => {\n  if (bpf.pid() === 1) return 0;\n  return 1;\n});\n`, D.HelperNotAllowed, /bpf\.pid is not available in skMsg programs/, /bpf\.pid/);
  expectOne(socks + `export const p = skLookup((ctx) => {\n  ctx.redirect(socks, 0);\n  return 1;\n});\n`, D.UnknownHelper, /the context has no method "redirect"/, /ctx\.redirect/);
  expectOne(socks + `export const p = skMsg((ctx) => {\n  socks.delete(0);\n  return 1;\n});\n`, D.HelperNotAllowed, /SockMap\.delete is not available in skMsg programs \(allowed in: tc, xdp/, /socks\.delete/);
});

test("sockets: the flow keys are writable, IPv6 address words included", () => {
  assert.deepEqual(diagnose(IMPORTS + `export const p = flowDissector((ctx) => {
  const k = ctx.flowKeys;
  k.addrProto = 0x86dd;
  k.addr.ipv6.src[3] = 1;
  k.addr.ipv6.dst[0] = k.addr.ipv6.src[3];
  k.flowLabel = 7;
  return 0;
});
`), []);
});
