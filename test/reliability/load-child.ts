// Child of inputs.test.ts: `load(<path>)` and print, as JSON, what it threw (a hang is bounded by the parent).

import { load, TsbpfError } from "../../src/index.js";

const path = process.argv[2]!;
try {
  const coll = await load(path);
  coll.close();
  process.stdout.write(JSON.stringify({ name: "none", tsbpf: false, message: "load() succeeded" }));
} catch (e) {
  const err = e as Error & { code?: string };
  process.stdout.write(JSON.stringify({ name: err.name, tsbpf: e instanceof TsbpfError, code: err.code, message: err.message }));
}
