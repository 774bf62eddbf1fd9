// Hand-built IR programs through the code generator into the kernel: XDP packet parsing with the
// verifier's bounds check pattern, global data through PSEUDO_MAP_VALUE, spills of packet pointers.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { privileged } from "../helpers/privileges.js";
import { encode } from "../../src/asm/encode.js";
import { generate } from "../../src/compiler/codegen/index.js";
import type { IrFunction } from "../../src/compiler/ir.js";
import * as bpf from "../../src/sys/bpf.js";
import { MAP_TYPE, PROG_TYPE } from "../../src/sys/constants.js";
import { FnBuilder, link } from "../helpers/codegen-ir.js";

function load(progType: number, fn: IrFunction, maps: Record<string, number> = {}): ReturnType<typeof bpf.progLoad> {
  const g = generate(fn, { cpu: "v4" });
  const insns = link([{ name: fn.name, instructions: g.instructions }], maps);
  const log = new Uint8Array(1 << 20);
  try {
    return bpf.progLoad({ progType, insns: encode(insns), license: "GPL", logBuf: log, logLevel: 1 });
  } catch (e) {
    const asm = insns.map((i, n) => `${n}: ${i.toString()}`).join("\n");
    throw new Error(`${(e as Error).message}\n${asm}\n${bpf.logText(log).slice(-3000)}`);
  }
}

/** XDP: IPv4 packets with a TCP protocol byte pass (2) with the ttl added in; others drop (1). */
function xdpParser(withCall: boolean): IrFunction {
  const f = new FnBuilder("xdp_parse", 1);
  const ctx = f.params[0];
  const b0 = f.block();
  const short = f.block();
  const eth = f.block();
  const ip = f.block();
  const tcp = f.block();
  const other = f.block();
  const data = b0.load(4, ctx, 0);
  const end = b0.load(4, ctx, 4);
  if (withCall) b0.call(7, [], false); // data/end cross a call: callee-saved registers or spills
  const lim = b0.alu("add", 64, data, 34n);
  b0.br("gt", 64, lim, end, short, eth);
  short.ret(1n);
  const proto = eth.load(2, data, 12);
  const host = eth.bswap(proto, 16);
  eth.br("eq", 32, host, 0x0800n, ip, other);
  const l4 = ip.load(1, data, 14 + 9);
  const ttl = ip.load(1, data, 14 + 8);
  ip.br("eq", 32, l4, 6n, tcp, other);
  tcp.ret(tcp.alu("add", 32, ttl, 2n));
  other.ret(1n);
  return f.build();
}

function packet(ethertype: number, proto: number, ttl: number): Uint8Array {
  const p = new Uint8Array(64);
  p[12] = ethertype >> 8;
  p[13] = ethertype & 0xff;
  p[14] = 0x45;
  p[14 + 8] = ttl;
  p[14 + 9] = proto;
  return p;
}

describe("codegen: programs the verifier must accept", privileged(), () => {
  for (const withCall of [false, true]) {
    test(`XDP packet bounds check and header loads${withCall ? " across a helper call" : ""}`, () => {
      const fd = load(PROG_TYPE.XDP, xdpParser(withCall));
      try {
        const run = (p: Uint8Array) => bpf.progTestRun(fd, { dataIn: p, dataOut: new Uint8Array(p.length + 256) }).retval;
        assert.equal(run(packet(0x0800, 6, 0)), 2);
        assert.equal(run(packet(0x0800, 6, 0)), 2);
        assert.equal(run(packet(0x0800, 17, 0)), 1);
        assert.equal(run(packet(0x86dd, 6, 0)), 1);
        assert.equal(run(packet(0x0800, 6, 0).subarray(0, 20)), 1);
      } finally {
        fd.close();
      }
    });
  }

  test("global data: a .bss counter through PSEUDO_MAP_VALUE", () => {
    const bss = bpf.mapCreate({ mapType: MAP_TYPE.ARRAY, keySize: 4, valueSize: 16, maxEntries: 1, mapName: "cg_bss" });
    const f = new FnBuilder("count", 1);
    const b = f.block();
    const g = b.mapValue(".bss", 8);
    const n = b.alu("add", 64, b.load(8, g, 0), b.load(8, f.params[0], 0));
    b.store(8, g, 0, n);
    b.ret(n);
    const fd = load(PROG_TYPE.RAW_TRACEPOINT, f.build(), { ".bss": bss.value });
    try {
      const ctx = new Uint8Array(8);
      ctx[0] = 5;
      assert.equal(bpf.progTestRun(fd, { ctxIn: ctx }).retval, 5);
      assert.equal(bpf.progTestRun(fd, { ctxIn: ctx }).retval, 10);
      const v = new Uint8Array(16);
      bpf.mapLookup(bss, new Uint8Array(4), v);
      assert.equal(new DataView(v.buffer).getBigUint64(8, true), 10n);
    } finally {
      fd.close();
      bss.close();
    }
  });
});
