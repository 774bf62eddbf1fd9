// TypeScript programs that compile but that the verifier rejects: load() must throw a VerifierError
// naming the TypeScript file, line and source text of the failing instruction, and the verifier's reason.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { compile, formatDiagnostic } from "../../src/compiler/index.js";
import { VerifierError } from "../../src/errors.js";
import { load } from "../../src/index.js";
import { privileged } from "../helpers/privileges.js";

const DIR = fileURLToPath(new URL("../fixtures/ts/asm/rejected/", import.meta.url));
const MARKER = "// rejected at the next line: ";

/** Where a fixture expects the rejection: the file (entry or a relative import), line, text and reason. */
interface Expectation {
  readonly file: string;
  readonly line: number;
  readonly text: string;
  readonly reason: RegExp;
}

function expectation(entry: string): Expectation {
  const source = readFileSync(entry, "utf8");
  const imports = [...source.matchAll(/from "(\.\/[^"]+)\.js"/g)].map((m) => join(dirname(entry), `${m[1]}.ts`));
  for (const file of [entry, ...imports.filter((f) => existsSync(f))]) {
    const lines = readFileSync(file, "utf8").split("\n");
    const at = lines.findIndex((l) => l.trim().startsWith(MARKER));
    if (at === -1) continue;
    return { file: basename(file), line: at + 2, text: lines[at + 1]!.trim(), reason: new RegExp(lines[at]!.trim().slice(MARKER.length)) };
  }
  throw new Error(`${basename(entry)}: no "${MARKER}" comment in the fixture or its imports`);
}

/**
 * Known defects of the error report, by fixture: the assertion still runs and is reported as a TODO
 * (a failing TODO does not fail the suite; a passing one tells us to drop the entry).
 */
const KNOWN: Record<string, { reason?: string }> = {};

const FIXTURES = readdirSync(DIR).filter((f) => f.endsWith(".bpf.ts")).sort();

describe("verifier rejections are reported against the TypeScript source", privileged(), () => {
  let cache: string;
  before(() => {
    cache = mkdtempSync(join(tmpdir(), "tsbpf-verifier-"));
    process.env.TSBPF_CACHE_DIR = cache; // load("x.bpf.ts") caches compiled objects here
  });
  after(() => rmSync(cache, { recursive: true, force: true }));

  test("there are rejected fixtures", () => {
    assert.ok(FIXTURES.length >= 5, `found ${FIXTURES.length}`);
  });

  for (const file of FIXTURES) {
    describe(file, () => {
      const entry = join(DIR, file);
      const want = expectation(entry);
      let error: unknown;

      before(async () => {
        try {
          await using coll = await load(entry);
          void coll;
        } catch (e) {
          error = e;
        }
      });

      test("the compiler accepts it (the rejection comes from the kernel)", () => {
        const r = compile(entry);
        assert.ok(r.object, r.diagnostics.map(formatDiagnostic).join("\n"));
      });

      test("load() throws a VerifierError with the log and the failing instruction", () => {
        assert.ok(error instanceof VerifierError, `expected a VerifierError, got ${String(error)}`);
        assert.equal(error.code, "VERIFIER_REJECTED");
        // E2BIG (too large), EACCES (most rejections), EINVAL (bad access), EFAULT (the kernel's errno
        // when the verifier runs out of branch states).
        assert.ok([7, 13, 14, 22].includes(error.errno), `errno ${error.errno} is E2BIG, EACCES, EFAULT or EINVAL`);
        assert.match(error.log, want.reason, "the verifier's log states the reason");
        assert.equal(typeof error.instruction, "number", "the failing instruction is found in the log");
      });

      test(`the message names ${want.file}:${want.line} and its source text`, () => {
        assert.ok(error instanceof VerifierError);
        assert.ok(error.message.includes(`${want.file}:${want.line}: ${want.text}`), `message: ${error.message}\nexpected: ${want.file}:${want.line}: ${want.text}`);
      });

      const todo = KNOWN[file]?.reason;
      test("the message states the verifier's reason", todo ? { todo } : {}, () => {
        assert.ok(error instanceof VerifierError);
        const reason = error.message.slice(error.message.indexOf(want.text) + want.text.length);
        assert.match(reason, want.reason, `message: ${error.message}`);
      });
    });
  }

  test("the program named in the message is the rejected one (second-program.bpf.ts: the second of two)", () => {
    // Relies on the fixture's order: `fine` loads, `egress` is rejected.
    return load(join(DIR, "second-program.bpf.ts")).then(
      () => assert.fail("expected a rejection"),
      (e: unknown) => {
        assert.ok(e instanceof VerifierError);
        assert.match(e.message, /^load program "egress": verifier rejected it at second-program\.bpf\.ts:\d+: /);
      },
    );
  });

  test("the rest of the object loads when the rejected program is left out", async () => {
    await using coll = await load(join(DIR, "second-program.bpf.ts"), { programs: ["fine"] });
    assert.deepEqual([...coll.programs.keys()], ["fine"]);
  });
});
