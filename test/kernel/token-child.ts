// Child of test/kernel/token.test.ts, run by test/helpers/token-sandbox.c as an unprivileged user
// that is root only of its own user namespace, with a bpffs made for that namespace mounted at
// /sys/fs/bpf. Prints one JSON line: what happened, or the error (class, code, message).
//
//   token-child.ts <object> <token> <n>   load the XDP counter (<object>) with the token option <token>
//                                          ("implicit": unset; "off": false; else a path), attach it to
//                                          this namespace's loopback, send <n> UDP datagrams to
//                                          127.0.0.1:7357 and print the count the program saw
//   token-child.ts probe                   the feature probes' answers with the implicit token, the token
//                                          named /sys/fs/bpf, and none (token: false)
//   token-child.ts struct_ops <object> <token>
//                                          load the tsbpf_cc struct_ops object (<object>) and register it
//                                          under a fresh name; print whether TCP offered it

import { createSocket } from "node:dgram";
import { readFileSync } from "node:fs";
import { haveMapType, haveProgramType, type FeatureResult, type ProbeOptions } from "../../src/features.js";
import { readCollectionSpec } from "../../src/object/reader.js";
import { loadCollection, type CollectionOptions } from "../../src/runtime/collection.js";
import { attachXdp } from "../../src/runtime/links/xdp.js";

const args = process.argv.slice(2);

function tokenOption(arg: string | undefined): CollectionOptions {
  return arg === undefined || arg === "implicit" ? {} : arg === "off" ? { token: false } : { token: arg };
}

async function send(n: number): Promise<void> {
  const sock = createSocket("udp4");
  for (let i = 0; i < n; i++) {
    await new Promise<void>((resolve, reject) => sock.send("tsbpf-tok", 7357, "127.0.0.1", (e) => (e ? reject(e) : resolve())));
  }
  sock.close();
}

const answer = (r: FeatureResult) => (r.status === "yes" ? "yes" : `${r.status} ${r.errnoCode}`);

async function main(): Promise<object> {
  if (args[0] === "probe") {
    const out: Record<string, Record<string, string>> = {};
    for (const [name, opts] of [["implicit", {}], ["named", { token: "/sys/fs/bpf" }], ["off", { token: false }]] as [string, ProbeOptions][]) {
      out[name] = { xdp: answer(haveProgramType("XDP", opts)), hash: answer(haveMapType("HASH", opts)) };
    }
    return { ok: true, probes: out };
  }
  if (args[0] === "struct_ops") {
    const spec = readCollectionSpec(readFileSync(args[1]!), { name: "tsbpf_cc" });
    using coll = loadCollection(spec, tokenOption(args[2]));
    const ops = coll.structOps("tsbpf_cc");
    const name = `tstok${process.pid % 100000}`;
    ops.setField("name", name);
    using _reg = ops.attach();
    const offered = readFileSync("/proc/sys/net/ipv4/tcp_available_congestion_control", "utf8").trim().split(/\s+/).includes(name);
    return { ok: true, offered };
  }
  const [objectPath, tokenArg = "implicit", sendArg = "5"] = args;
  const spec = readCollectionSpec(readFileSync(objectPath!), { name: "attach_xdp" });
  using coll = loadCollection(spec, tokenOption(tokenArg));
  using link = attachXdp(coll.program("xdp_count"), "lo");
  await send(Number(sendArg));
  const v = coll.map("xdp_counts").getRaw(new Uint8Array(4));
  return { ok: true, count: v ? Number(new DataView(v.buffer, v.byteOffset).getBigUint64(0, true)) : -1 };
}

try {
  console.log(JSON.stringify(await main()));
} catch (e) {
  const err = e as { name?: string; code?: string; message?: string };
  console.log(JSON.stringify({ ok: false, name: err.name, code: err.code, message: err.message }));
}
