// Differential tests: the same logic written in C (clang -O2) and in TypeScript (tsbpf's compiler),
// run on the same generated packets, must give identical verdicts and identical map contents.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { loadCollection, readCollectionSpec } from "../../src/index.js";
import { compileC } from "../helpers/toolchain.js";
import { compileTs, cTwinPath, dumpMaps, PROGRAM_PAIRS, TS_FIXTURES } from "../helpers/compile-ts.js";
import { privileged } from "../helpers/privileges.js";

describe("compiler differential: TypeScript vs clang -O2", privileged(), () => {
  for (const pair of PROGRAM_PAIRS) {
    test(`${pair.name}: same verdicts and map contents on 600 generated packets`, async () => {
      const cObj = readFileSync(await compileC(cTwinPath(pair.file), { mcpu: pair.cpu }));
      const tsObj = compileTs(`${TS_FIXTURES}/${pair.file}.bpf.ts`, undefined, { cpu: pair.cpu });
      const c = loadCollection(readCollectionSpec(new Uint8Array(cObj)));
      const t = loadCollection(readCollectionSpec(tsObj));
      try {
        const verdicts = new Map<number, number>();
        for (const [i, data] of pair.packets(600).entries()) {
          const rc = c.program(pair.program).testRun({ data }).retval;
          const rt = t.program(pair.program).testRun({ data }).retval;
          assert.equal(rt, rc, `packet ${i} (${Buffer.from(data).toString("hex")}): TS returned ${rt}, C ${rc}`);
          verdicts.set(rc, (verdicts.get(rc) ?? 0) + 1);
        }
        assert.ok(verdicts.size >= 2, `the inputs exercise more than one verdict: ${[...verdicts]}`);
        const cm = dumpMaps(c), tm = dumpMaps(t);
        assert.ok(cm.length > 0);
        assert.deepEqual(tm, cm);
      } finally {
        c.close();
        t.close();
      }
    });
  }
});
