// Packet program kinds (tcx, the skb helper methods, xdp frags, netfilter, lwt): their sections and the
// diagnostics for wrong uses — a refused verdict, a bare number stored without a width, a method the
// kind's program type may not call.

import assert from "node:assert/strict";
import { resolve } from "node:path";
import { test } from "node:test";
import { compile, DiagnosticCode as D } from "../../src/compiler/index.js";
import { readCollectionSpec } from "../../src/index.js";
import { TS_FIXTURES } from "../helpers/compile-ts.js";

let n = 0;
function compileText(source: string): ReturnType<typeof compile> {
  const path = resolve(TS_FIXTURES, `virtual-kpk-${process.pid}-${n++}.bpf.ts`);
  return compile(path, { sources: new Map([[path, source]]) });
}
function diagnose(source: string): { code: string; message: string }[] {
  return compileText(source).diagnostics.map((d) => ({ code: d.code, message: d.message }));
}
function sections(source: string): string[] {
  const r = compileText(source);
  assert.ok(r.object, JSON.stringify(r.diagnostics.map((d) => d.message)));
  return [...readCollectionSpec(r.object).programs.values()].map((p) => p.sectionName);
}

test("tcx: the direction picks the section; tc keeps SEC(\"tc\")", () => {
  assert.deepEqual(sections(`import { tcx, tc } from "tsbpf/kernel";
export const a = tcx("ingress", (ctx) => 0);
export const b = tcx("egress", (ctx) => 2);
export const c = tc((ctx) => 0);`), ["tcx/ingress", "tcx/egress", "tc"]);
});

test("tcx: a verdict past TC_ACT_TRAP is refused at the return", () => {
  const d = diagnose(`import { tcx } from "tsbpf/kernel";\nexport const p = tcx("ingress", (ctx) => 9);`);
  assert.equal(d.length, 1, JSON.stringify(d));
  assert.equal(d[0]!.code, D.ReturnValue);
  assert.match(d[0]!.message, /tcx programs return -1\.\.8/);
});

test("storeBytes: a bare number has no width and is refused; a sized integer or a struct is accepted", () => {
  const d = diagnose(`import { tc } from "tsbpf/kernel";\nexport const p = tc((ctx) => { ctx.storeBytes(36, 7462); return 0; });`);
  assert.equal(d.length, 1, JSON.stringify(d));
  assert.equal(d[0]!.code, D.TypeMismatch);
  assert.match(d[0]!.message, /ctx\.storeBytes: give the value a width \(u8\(\.\.\.\), u16/);
  assert.deepEqual(diagnose(`import { tc, u16, struct, u32 } from "tsbpf/kernel";
const Two = struct({ a: u16, b: u16 });
export const p = tc((ctx) => {
  ctx.storeBytes(36, u16(7462));
  const v: u32 = 5;
  ctx.storeBytes(30, v, 1n);
  const t = Two.zero();
  ctx.storeBytes(40, t);
  return 0;
});`), []);
});

test("skb helper methods: a kind whose program type may not call them has no such method", () => {
  for (const [kind, decl] of [["socketFilter", "socketFilter((ctx)"], ["cgroupSkb", `cgroupSkb("ingress", (ctx)`]] as const) {
    const d = diagnose(`import { ${kind}, u16 } from "tsbpf/kernel";\nexport const p = ${decl} => { ctx.storeBytes(0, u16(1)); return 1; });`);
    assert.ok(d.some((x) => x.code === D.UnknownHelper && /the context has no method "storeBytes"/.test(x.message)), JSON.stringify(d));
  }
});

test("DevMap.redirect: a kind without the redirect group is refused; XDP compiles it to bpf_redirect_map", () => {
  const d = diagnose(`import { DevMap, tracepoint } from "tsbpf/kernel";
const devs = new DevMap({ maxEntries: 2 });
export const p = tracepoint("sched/sched_process_exec", (ctx) => { devs.redirect(0); return 0; });`);
  assert.equal(d.length, 1, JSON.stringify(d));
  assert.match(d[0]!.message, /redirect/);
  assert.deepEqual(diagnose(`import { CpuMap, DevMap, DevMapHash, XskMap, xdp, XdpAction } from "tsbpf/kernel";
const a = new DevMap({ maxEntries: 2 }), b = new DevMapHash({ maxEntries: 2 }), c = new CpuMap({ maxEntries: 2 }), x = new XskMap({ maxEntries: 2 });
export const p = xdp((ctx) => ctx.len > 100 ? a.redirect(0, XdpAction.PASS) : ctx.len > 50 ? b.redirect(1) : ctx.len > 20 ? c.redirect(0) : x.redirect(0));`), []);
});

test("a ctx.load view used after a helper that changes packet data is a compile error; a new load is fine", () => {
  const head = `import { xdp, tc, struct, bytes, u16 } from "tsbpf/kernel";\nconst Eth = struct({ dst: bytes(6), src: bytes(6), proto: u16 });\n`;
  for (const [call, kind] of [["ctx.adjustHead(4)", "xdp"], ["ctx.storeBytes(12, u16(8))", "tc"], ["ctx.l3CsumReplace(24, 1, 2, 2)", "tc"], ["ctx.cloneRedirect(1)", "tc"]] as const) {
    const d = diagnose(`${head}export const p = ${kind}((ctx) => {
  const eth = ctx.load(Eth, 0);
  if (eth === null) return 2;
  ${call};
  return eth.proto > 0 ? 2 : 1;
});`);
    assert.equal(d.length, 1, `${call}: ${JSON.stringify(d)}`);
    assert.equal(d[0]!.code, D.TypeMismatch);
    assert.ok(d[0]!.message.includes(`"eth" is a view of packet data loaded before ${call} on line 6, which changed the packet; load it again`), d[0]!.message);
  }
  assert.deepEqual(diagnose(`${head}export const p = xdp((ctx) => {
  const eth = ctx.load(Eth, 0);
  if (eth === null) return 2;
  const proto = eth.proto;
  if (ctx.adjustHead(4) !== 0n) return 1;
  const again = ctx.load(Eth, 0);
  if (again === null) return 1;
  again.proto = proto;
  return 2;
});`), []);
});

test("xdpFrags: SEC(\"xdp.frags\") with the XDP context and methods", () => {
  assert.deepEqual(sections(`import { xdpFrags } from "tsbpf/kernel";\nexport const p = xdpFrags((ctx) => ctx.bufLen() > 1500n ? 1 : 2);`), ["xdp.frags"]);
  const d = diagnose(`import { xdpFrags } from "tsbpf/kernel";\nexport const p = xdpFrags((ctx) => 5);`);
  assert.equal(d[0]?.code, D.ReturnValue);
});

test("netfilter: SEC(\"netfilter\"); 2 (NF_STOLEN) is refused; ctx.state/ctx.skb are kernel structs", () => {
  assert.deepEqual(sections(`import { netfilter, NfAction } from "tsbpf/kernel";\nexport const p = netfilter((ctx) => ctx.skb.len > 100 && ctx.state.hook === 1 ? NfAction.DROP : NfAction.ACCEPT);`), ["netfilter"]);
  const d = diagnose(`import { netfilter } from "tsbpf/kernel";\nexport const p = netfilter((ctx) => 2);`);
  assert.equal(d.length, 1, JSON.stringify(d));
  assert.equal(d[0]!.code, D.ReturnValue);
  assert.match(d[0]!.message, /netfilter programs return 0\.\.1/);
});

test("lwt: sections; tcIndex is read-only, socket fields unavailable, only lwt_xmit may store bytes", () => {
  assert.deepEqual(sections(`import { lwtIn, lwtOut, lwtXmit, LwtAction } from "tsbpf/kernel";
export const a = lwtIn((ctx) => LwtAction.OK);
export const b = lwtOut((ctx) => { ctx.mark = 1; ctx.priority = 2; return LwtAction.DROP; });
export const c = lwtXmit((ctx) => LwtAction.REDIRECT);`), ["lwt_in", "lwt_out", "lwt_xmit"]);
  const write = diagnose(`import { lwtOut } from "tsbpf/kernel";\nexport const p = lwtOut((ctx) => { (ctx as { tcIndex: number }).tcIndex = 1; return 0; });`);
  assert.ok(write.some((d) => /tcIndex/.test(d.message) && /read-only|readonly|cannot|not writable/i.test(d.message)), JSON.stringify(write));
  const sock = diagnose(`import { lwtIn } from "tsbpf/kernel";\nexport const p = lwtIn((ctx) => (ctx as unknown as { remoteIp4: number }).remoteIp4 > 0 ? 0 : 2);`);
  assert.ok(sock.some((d) => /ctx\.remoteIp4 is not available to lwt programs/.test(d.message)), JSON.stringify(sock));
  const store = diagnose(`import { lwtOut, u16 } from "tsbpf/kernel";\nexport const p = lwtOut((ctx) => { (ctx as unknown as { storeBytes(o: number, v: u16): bigint }).storeBytes(0, u16(1)); return 0; });`);
  assert.ok(store.some((d) => d.code === D.UnknownHelper && /no method "storeBytes"/.test(d.message)), JSON.stringify(store));
  assert.deepEqual(diagnose(`import { lwtXmit, LwtEncap, u16, struct, u32 } from "tsbpf/kernel";
const Hdr = struct({ a: u32, b: u32, c: u32, d: u32, e: u32 });
export const p = lwtXmit((ctx) => { ctx.storeBytes(0, u16(1)); ctx.pushEncap(LwtEncap.IP, Hdr.zero()); return 0; });`), []);
});

test("a function that loads a view and then stores may be called twice (each call declares the view anew)", () => {
  assert.deepEqual(diagnose(`import { tc, struct, bytes, u16, type TcContext } from "tsbpf/kernel";
const Eth = struct({ dst: bytes(6), src: bytes(6), proto: u16 });
function swapProto(ctx: TcContext, to: u16): void {
  const eth = ctx.load(Eth, 0);
  if (eth === null) return;
  const proto: u16 = eth.proto;
  ctx.storeBytes(12, to);
  ctx.storeBytes(0, proto);
}
export const p = tc((ctx) => {
  swapProto(ctx, u16(0x0008));
  swapProto(ctx, u16(0xdd86));
  return 0;
});`), []);
});

test("xdpDevmap: SEC(\"xdp/devmap\") reads egressIfindex and returns 0..2; DevMap valueSize is 4 or 8", () => {
  assert.deepEqual(sections(`import { xdpDevmap, DevMap, XdpAction } from "tsbpf/kernel";
const d = new DevMap({ maxEntries: 1, valueSize: 8 });
export const p = xdpDevmap((ctx) => ctx.egressIfindex === 3 ? XdpAction.DROP : XdpAction.PASS);`), ["xdp/devmap"]);
  const ret = diagnose(`import { xdpDevmap, XdpAction } from "tsbpf/kernel";\nexport const p = xdpDevmap((ctx) => XdpAction.REDIRECT);`);
  assert.equal(ret.length, 1, JSON.stringify(ret));
  assert.equal(ret[0]!.code, D.ReturnValue);
  const size = diagnose(`import { DevMap, xdp } from "tsbpf/kernel";\nconst d = new DevMap({ maxEntries: 1, valueSize: 6 as 8 });\nexport const p = xdp((ctx) => d.redirect(0));`);
  assert.ok(size.some((x) => x.code === D.MapDeclaration && /valueSize is 4 .* or 8/.test(x.message)), JSON.stringify(size));
});
