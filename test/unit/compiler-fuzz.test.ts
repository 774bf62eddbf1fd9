// Robustness of the compiler front end: ~200 token-level mutants (deletions, duplications, operator
// swaps) of valid kernel programs must each compile to an object or to diagnostics, never throw, hang
// or report an internal error (TSBPF1999).

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { compile, DiagnosticCode, formatDiagnostic } from "../../src/compiler/index.js";

const MUTANTS = 200;
const OPERATORS = ["+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>", ">>>", "<", "<=", ">", ">=", "===", "!==", "&&", "||", "??"];

/** The complete kernel programs of docs/language.md plus the execsnoop example. */
function bases(): string[] {
  const doc = readFileSync(new URL("../../docs/language.md", import.meta.url), "utf8");
  const out = [...doc.matchAll(/```ts\n(\/\/ kernel program\n[\s\S]*?)```/g)].map((m) => m[1]!);
  out.push(readFileSync(new URL("../../examples/execsnoop/execsnoop.bpf.ts", import.meta.url), "utf8"));
  return out;
}

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Token ranges [start, end) of `text`, skipping comments and the import lines. */
function tokens(text: string): [number, number][] {
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, true, ts.LanguageVariant.Standard, text);
  const body = text.search(/^(?!import|\/\/).*\S/m);
  const out: [number, number][] = [];
  for (let k = scanner.scan(); k !== ts.SyntaxKind.EndOfFileToken; k = scanner.scan()) {
    if (scanner.getTokenStart() >= body) out.push([scanner.getTokenStart(), scanner.getTokenEnd()]);
  }
  return out;
}

/** The deterministic list of mutants: [description, source]. */
function mutants(): [string, string][] {
  const rand = rng(0x7eb9f);
  const srcs = bases();
  const out: [string, string][] = [];
  while (out.length < MUTANTS) {
    const b = Math.floor(rand() * srcs.length);
    const src = srcs[b]!;
    const toks = tokens(src);
    const [s, e] = toks[Math.floor(rand() * toks.length)]!;
    const tok = src.slice(s, e);
    const kind = Math.floor(rand() * 3);
    if (kind === 0) out.push([`base ${b}: delete "${tok}" at ${s}`, src.slice(0, s) + src.slice(e)]);
    else if (kind === 1) out.push([`base ${b}: duplicate "${tok}" at ${s}`, src.slice(0, e) + " " + tok + src.slice(e)]);
    else {
      const ops = toks.filter(([a, z]) => OPERATORS.includes(src.slice(a, z)));
      if (ops.length === 0) continue;
      const [os, oe] = ops[Math.floor(rand() * ops.length)]!;
      const op = OPERATORS[Math.floor(rand() * OPERATORS.length)]!;
      out.push([`base ${b}: "${src.slice(os, oe)}" -> "${op}" at ${os}`, src.slice(0, os) + op + src.slice(oe)]);
    }
  }
  return out;
}

/** Compiles one mutant; returns a problem description or "" when the outcome is acceptable. */
function check(source: string, i: number): string {
  const path = join(tmpdir(), `tsbpf-fuzz-${process.pid}`, `m${i}.bpf.ts`);
  try {
    const { object, diagnostics } = compile(path, { sources: new Map([[path, source]]) });
    const internal = diagnostics.filter((d) => d.code === DiagnosticCode.Internal);
    if (internal.length > 0) return `internal error: ${internal.map(formatDiagnostic).join("\n")}`;
    if (!object && diagnostics.length === 0) return "no object and no diagnostics";
    if (object && diagnostics.length > 0) return "an object despite diagnostics";
    return "";
  } catch (e) {
    return `threw: ${(e as Error).stack ?? e}`;
  }
}

// Child mode: compile every mutant, printing one JSON line per result, so that the parent can
// attribute a hang to the mutant that was running.
if (process.env.TSBPF_FUZZ_CHILD === "1") {
  for (const [i, [, src]] of mutants().entries()) {
    process.stdout.write(JSON.stringify({ i, problem: check(src, i) }) + "\n");
  }
} else {
  test(`${MUTANTS} mutants of valid programs compile to an object or diagnostics, never throw, hang or fail internally`, { timeout: 900_000 }, () => {
    const list = mutants();
    const child = spawnSync(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url)], {
      env: { ...process.env, TSBPF_FUZZ_CHILD: "1" },
      encoding: "utf8",
      timeout: 840_000,
      maxBuffer: 64 << 20,
    });
    const results = child.stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l) as { i: number; problem: string });
    const problems = results.filter((r) => r.problem).map((r) => `mutant ${r.i} (${list[r.i]![0]}):\n${list[r.i]![1]}\n=> ${r.problem}`);
    if (results.length < list.length) {
      const i = results.length;
      problems.push(`mutant ${i} (${list[i]![0]}) did not finish (${child.signal ?? child.status}; ${child.stderr.slice(-2000)}):\n${list[i]![1]}`);
    }
    assert.deepEqual(problems, []);
  });
}
