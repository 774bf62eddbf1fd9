// Child of test/kernel/token.test.ts, run by test/helpers/token-sandbox.c as an unprivileged user
// that is root only of its own user namespace, with a bpffs made for that namespace mounted at
// /sys/fs/bpf. Loads the XDP counter (argv[2], an object file) through tsbpf with the token option
// argv[3] ("implicit": unset; "off": false; else a path), attaches it to this namespace's loopback,
// sends argv[4] UDP datagrams to 127.0.0.1:7357 and prints one JSON line: the count the program
// saw, or the error (class, code, message).

import { createSocket } from "node:dgram";
import { readFileSync } from "node:fs";
import { readCollectionSpec } from "../../src/object/reader.js";
import { loadCollection, type CollectionOptions } from "../../src/runtime/collection.js";
import { attachXdp } from "../../src/runtime/links/xdp.js";

const [objectPath, tokenArg = "implicit", sendArg = "5"] = process.argv.slice(2);

async function send(n: number): Promise<void> {
  const sock = createSocket("udp4");
  for (let i = 0; i < n; i++) {
    await new Promise<void>((resolve, reject) => sock.send("tsbpf-tok", 7357, "127.0.0.1", (e) => (e ? reject(e) : resolve())));
  }
  sock.close();
}

try {
  const spec = readCollectionSpec(readFileSync(objectPath!), { name: "attach_xdp" });
  const opts: CollectionOptions = tokenArg === "implicit" ? {} : tokenArg === "off" ? { token: false } : { token: tokenArg };
  using coll = loadCollection(spec, opts);
  using link = attachXdp(coll.program("xdp_count"), "lo");
  await send(Number(sendArg));
  const v = coll.map("xdp_counts").getRaw(new Uint8Array(4));
  const count = v ? Number(new DataView(v.buffer, v.byteOffset).getBigUint64(0, true)) : -1;
  console.log(JSON.stringify({ ok: true, count }));
} catch (e) {
  const err = e as { name?: string; code?: string; message?: string };
  console.log(JSON.stringify({ ok: false, name: err.name, code: err.code, message: err.message }));
}
