// Logging: the userspace decoder formats every argument kind exactly (integers of each width and sign,
// booleans, hex of integers and bytes, byte strings up to their NUL, IPv4/IPv6/MAC addresses), and the
// compiler's side: the format table a log call leaves in the object, constants folded into the text,
// and coded errors for arguments log cannot format or a record too large.

import assert from "node:assert/strict";
import { test } from "node:test";
import { DiagnosticCode as D } from "../../src/compiler/index.js";
import {
  decodeLogRecord, formatIpv6, LOG_FORMATS_VAR, LOG_HEADER, LOG_HEADER_SIZE, LOG_MAP, LOG_MIN_LEVEL_VAR,
  type LogArg, type LogArgKind, type LogFormatTable,
} from "../../src/log/format.js";
import { readCollectionSpec } from "../../src/index.js";
import { formatLogLine, logFormatTable } from "../../src/runtime/log.js";
import { compileVirtual } from "../helpers/compile-ts.js";

/** A record of format 0 of `table` with `args` stored at `argBytes`. */
function record(argBytes: Uint8Array, level = 2, pid = 0x1234n << 32n | 0x1235n, flags = 1): Uint8Array {
  const b = new Uint8Array(LOG_HEADER_SIZE + argBytes.length);
  const dv = new DataView(b.buffer);
  dv.setUint32(LOG_HEADER.id, 0, true);
  b[LOG_HEADER.level] = level;
  b[LOG_HEADER.flags] = flags;
  dv.setUint16(LOG_HEADER.argSize, argBytes.length, true);
  dv.setBigUint64(LOG_HEADER.time, 5_000_000_000n, true);
  dv.setBigUint64(LOG_HEADER.pidTgid, pid, true);
  dv.setUint32(LOG_HEADER.cpu, 3, true);
  b.set(argBytes, LOG_HEADER_SIZE);
  return b;
}

test("decoder: every argument kind is formatted exactly", () => {
  const args: LogArg[] = [];
  const bytes = new Uint8Array(128);
  const dv = new DataView(bytes.buffer);
  let off = 0;
  const add = (a: LogArgKind, size: number, write: (at: number) => void) => {
    args.push({ ...a, offset: off } as LogArg);
    write(off);
    off += size;
  };
  add({ k: "int", size: 1, signed: true }, 1, (o) => dv.setInt8(o, -5));
  add({ k: "int", size: 1, signed: false }, 1, (o) => dv.setUint8(o, 250));
  add({ k: "int", size: 2, signed: true }, 2, (o) => dv.setInt16(o, -300, true));
  add({ k: "int", size: 2, signed: false }, 2, (o) => dv.setUint16(o, 65000, true));
  add({ k: "int", size: 4, signed: true }, 4, (o) => dv.setInt32(o, -70000, true));
  add({ k: "int", size: 4, signed: false }, 4, (o) => dv.setUint32(o, 4_000_000_000, true));
  add({ k: "int", size: 8, signed: true }, 8, (o) => dv.setBigInt64(o, -(1n << 40n), true));
  add({ k: "int", size: 8, signed: false }, 8, (o) => dv.setBigUint64(o, (1n << 64n) - 1n, true));
  add({ k: "bool" }, 1, (o) => (bytes[o] = 1));
  add({ k: "hex", size: 4 }, 4, (o) => dv.setUint32(o, 0xdeadbeef, true));
  add({ k: "hex", size: 8 }, 8, (o) => dv.setBigUint64(o, 0xabcn, true));
  add({ k: "hexbytes", size: 3 }, 3, (o) => bytes.set([0x00, 0x0f, 0xa0], o));
  add({ k: "str", size: 16 }, 16, (o) => bytes.set(new TextEncoder().encode("bash\0junk"), o));
  add({ k: "str", size: 4 }, 4, (o) => bytes.set(new TextEncoder().encode("full"), o));
  add({ k: "ipv4" }, 4, (o) => bytes.set([192, 168, 1, 20], o));
  add({ k: "ipv6" }, 16, (o) => bytes.set([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], o));
  add({ k: "mac" }, 6, (o) => bytes.set([0x02, 0x42, 0xac, 0x11, 0x00, 0x0a], o));
  const table: LogFormatTable = {
    version: 1,
    formats: [{ level: "info", program: "prog", at: "x.bpf.ts:3", parts: ["<", ...args.slice(1).map(() => "|"), ">"], args, size: off }],
  };
  const r = decodeLogRecord(table, record(bytes.subarray(0, off)), 0n)!;
  assert.equal(r.message, "<-5|250|-300|65000|-70000|4000000000|-1099511627776|18446744073709551615|true|deadbeef|abc|000fa0|bash|full|192.168.1.20|2001:db8::1|02:42:ac:11:00:0a>");
  assert.equal(r.level, "info");
  assert.equal(r.pid, 0x1234);
  assert.equal(r.tid, 0x1235);
  assert.equal(r.cpu, 3);
  assert.equal(r.monotonicNs, 5_000_000_000n);
  assert.equal(r.time.getTime(), 5000);
  assert.equal(formatLogLine(r), "1970-01-01T00:00:05.000Z INFO  prog pid=4660 cpu=3 " + r.message);
  // A kind that cannot know the pid (flags bit 0 clear) prints none.
  const noPid = decodeLogRecord(table, record(bytes.subarray(0, off), 4, 0n, 0), 0n)!;
  assert.equal(noPid.pid, undefined);
  assert.equal(noPid.level, "error");
  assert.match(formatLogLine(noPid), /^\S+ ERROR prog cpu=3 </);
  // Short records and unknown ids are refused, not misread.
  assert.equal(decodeLogRecord(table, record(bytes.subarray(0, off - 1)), 0n), undefined);
  assert.equal(decodeLogRecord(table, new Uint8Array(8)), undefined);
});

test("decoder: IPv6 text follows RFC 5952 (longest zero run, not a single group)", () => {
  const v6 = (groups: number[]) => formatIpv6(new Uint8Array(groups.flatMap((g) => [g >> 8, g & 0xff])));
  assert.equal(v6([0, 0, 0, 0, 0, 0, 0, 0]), "::");
  assert.equal(v6([0, 0, 0, 0, 0, 0, 0, 1]), "::1");
  assert.equal(v6([0xfe80, 0, 0, 0, 0x1, 0x2, 0x3, 0x4]), "fe80::1:2:3:4");
  assert.equal(v6([0x2001, 0xdb8, 0, 1, 1, 1, 1, 1]), "2001:db8:0:1:1:1:1:1");
  assert.equal(v6([0x2001, 0, 0, 1, 0, 0, 0, 1]), "2001:0:0:1::1");
});

const HEAD = `import { bpf, bytes, cstring, array, hex, ipv4, ipv6, log, mac, struct, tracepoint, rawTracepoint, xdp, u8, u16, u32, i16, u64, i64, ArrayMap } from "tsbpf/kernel";\n`;

test("compile: the format table and the min-level constant are in the object, constants folded", () => {
  const r = compileVirtual(`${HEAD}
const S = struct({ a: u8, comm: bytes(16), name: cstring(8), hw: array(u8, 6), v6: bytes(16), x: i16 });
export const p = rawTracepoint("sys_enter", () => {
  const s = S.zero();
  log.debug\`a \${s.a} comm \${s.comm} name \${s.name} hw \${mac(s.hw)} v6 \${ipv6(s.v6)} x \${s.x} h \${hex(s.comm)} k \${"str"} n \${7} t \${true}\`;
  log.error\`plain\`;
  return 0;
});
`);
  assert.deepEqual(r.diagnostics, []);
  const spec = readCollectionSpec(r.object!);
  assert.ok(spec.maps.has(LOG_MAP));
  assert.equal(spec.maps.get(LOG_MAP)!.maxEntries, 256 * 1024);
  assert.ok(spec.variables.has(LOG_MIN_LEVEL_VAR));
  assert.ok(spec.variables.has(LOG_FORMATS_VAR));
  const table = logFormatTable(spec)!;
  assert.equal(table.formats.length, 2);
  const [f, g] = table.formats;
  assert.equal(f!.level, "debug");
  assert.equal(f!.program, "p");
  assert.match(f!.at, /:6$/);
  assert.deepEqual(f!.parts, ["a ", " comm ", " name ", " hw ", " v6 ", " x ", " h ", " k str n 7 t ", ""]);
  assert.deepEqual(f!.args.map((a) => a.k), ["int", "str", "str", "mac", "ipv6", "int", "hexbytes", "bool"]);
  assert.deepEqual(f!.args.map((a) => a.offset), [0, 1, 17, 25, 31, 48, 50, 66]);
  assert.equal(f!.size, 67);
  assert.deepEqual(g, { level: "error", program: "p", at: g!.at, parts: ["plain"], args: [], size: 0 });
  // `true` is a boolean value, stored (numbers and strings that are constants are folded into the text).
});

test("compile: an object without log calls has no log ring buffer nor table", () => {
  const r = compileVirtual(`${HEAD}export const p = rawTracepoint("sys_enter", () => 0);\n`);
  const spec = readCollectionSpec(r.object!);
  assert.equal(spec.maps.has(LOG_MAP), false);
  assert.equal(logFormatTable(spec), undefined);
});

test("compile: program kinds without a current task (XDP) log without pid", () => {
  const r = compileVirtual(`${HEAD}export const x = xdp((ctx) => { log.info\`if \${ctx.ingressIfindex}\`; return 2; });\n`);
  assert.deepEqual(r.diagnostics.map((d) => d.message), []);
});

/** The codes a source's compile reports. */
function codes(body: string, extra = ""): string[] {
  const r = compileVirtual(`${HEAD}${extra}export const p = rawTracepoint("sys_enter", () => {\n${body}\nreturn 0;\n});\n`);
  assert.equal(r.object, undefined, "no object");
  return r.diagnostics.map((d) => `${d.code} ${d.message}`);
}

test("compile errors: arguments log cannot format, and records too large", () => {
  const S = "const S = struct({ a: u32, b: u64, v4: bytes(4), big: bytes(300) });\n";
  assert.match(codes("const s = S.zero(); log.info`s ${s}`;", S)[0]!, /^TSBPF1800 log cannot format/);
  assert.match(codes("log.info`t ${bpf.currentTask()}`;")[0]!, /^TSBPF1800 log cannot read kernel memory/);
  assert.match(codes("const s = S.zero(); log.info`v6 ${ipv6(s.v4)}`;", S)[0]!, /^TSBPF1800 ipv6\(\) needs 16 bytes/);
  assert.match(codes("const s = S.zero(); log.info`v4 ${ipv4(s.b)}`;", S)[0]!, /^TSBPF1800 ipv4\(\) needs a u32/);
  assert.match(codes("log.info`v4 ${ipv4(1)}`;")[0]!, /^TSBPF1800 ipv4\(\) of a constant/);
  assert.match(codes("const s = S.zero(); log.info`${s.big} ${s.big}`;", S)[0]!, /^TSBPF1801 this log record needs 632 bytes/);
  assert.match(codes("const s = S.zero(); String.raw`x${s.a}`;", S)[0]!, /^TSBPF1001 tagged templates are only for logging/);
  // hex() and the address wrappers only mean something inside a log template.
  assert.match(codes("const h = hex(1);")[0]!, /^TSBPF1800 hex\(\) formats a log argument: use it inside a log template/);
  assert.match(codes("const a = ipv4(1);")[0]!, /^TSBPF1800 ipv4\(\) formats a log argument/);
});
