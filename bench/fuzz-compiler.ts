// Mutation fuzzer for the compiler: token-level mutants of valid kernel programs (the examples'
// *.bpf.ts and the complete programs of docs/language.md) must each compile to an object or to
// diagnostics — never throw, report an internal error (TSBPF1999) or hang.
//
// Usage: node --import tsx bench/fuzz-compiler.ts [--iterations 200] [--seed 1] [--from 0]
//          [--budget-ms N] [--json] [--show]
// Mutant i is drawn from a PRNG seeded from (seed, i), so `--from i --iterations 1 --show` replays and
// prints one case. With --json, one line per case is printed as it finishes (a hang is attributable).

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import ts from "typescript";
import { compile, DiagnosticCode, formatDiagnostic } from "../src/compiler/index.js";
import { prng } from "./fuzz-objects.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** One valid program: where it lives (its relative imports resolve from there) and its text. */
export interface CompilerFuzzBase {
  readonly path: string;
  readonly text: string;
}

/** The examples' kernel programs and the complete programs of docs/language.md. */
export function compilerBases(): CompilerFuzzBase[] {
  const out: CompilerFuzzBase[] = [];
  const examples = join(ROOT, "examples");
  for (const dir of readdirSync(examples, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort()) {
    for (const f of readdirSync(join(examples, dir)).filter((n) => n.endsWith(".bpf.ts")).sort()) {
      const path = join(examples, dir, f);
      out.push({ path, text: readFileSync(path, "utf8") });
    }
  }
  const doc = readFileSync(join(ROOT, "docs", "language.md"), "utf8");
  [...doc.matchAll(/```ts\n(\/\/ kernel program\n[\s\S]*?)```/g)].forEach((m, i) => out.push({ path: join(ROOT, "docs", `language-${i}.bpf.ts`), text: m[1]! }));
  return out;
}

const OPERATORS = ["+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>", ">>>", "<", "<=", ">", ">=", "===", "!==", "&&", "||", "??", "=", "+=", "!", "~", "?", ":", ".", ",", ";"];
const INTERESTING = ["0", "1", "-1", "255", "256", "65536", "4294967295", "4294967296", "0x7fffffff", "2147483648", "1.5", "0n", "-1n", "18446744073709551615n", "18446744073709551616n", "1e400", "NaN", "undefined", "null", "true", "\"\"", "\"x\"", "[]", "{}", "ctx", "this"];

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

/** Mutant `i` of `seed`: 1-3 token mutations of one base. */
export function compilerMutant(bases: readonly CompilerFuzzBase[], seed: number, i: number): { base: CompilerFuzzBase; what: string; source: string } {
  const rnd = prng((seed * 0x9e3779b1) ^ (i * 0x85ebca6b) ^ 0x27d4eb2f);
  const ri = (n: number) => Math.floor(rnd() * n);
  const base = bases[ri(bases.length)]!;
  let src = base.text;
  const what: string[] = [];
  const n = 1 + (rnd() < 0.3 ? ri(3) : 0);
  for (let m = 0; m < n; m++) {
    const toks = tokens(src);
    if (toks.length === 0) break;
    const [s, e] = toks[ri(toks.length)]!;
    const tok = src.slice(s, e);
    let rep: string;
    switch (ri(5)) {
      case 0: rep = ""; what.push(`delete "${tok}"@${s}`); break;
      case 1: rep = `${tok} ${tok}`; what.push(`duplicate "${tok}"@${s}`); break;
      case 2: rep = OPERATORS[ri(OPERATORS.length)]!; what.push(`"${tok}"@${s} -> "${rep}"`); break;
      case 3: rep = INTERESTING[ri(INTERESTING.length)]!; what.push(`"${tok}"@${s} -> ${rep}`); break;
      default: { // another token of the same program
        const [a, z] = toks[ri(toks.length)]!;
        rep = src.slice(a, z);
        what.push(`"${tok}"@${s} -> "${rep}"`);
      }
    }
    src = src.slice(0, s) + rep + src.slice(e);
  }
  return { base, what: `${base.path.slice(ROOT.length)}: ${what.join(", ")}`, source: src };
}

/** Compiles one mutant; returns a problem description, or "" when the outcome is acceptable. */
export function checkMutant(path: string, source: string): string {
  try {
    const { object, diagnostics } = compile(path, { sources: new Map([[path, source]]) });
    const internal = diagnostics.filter((d) => d.code === DiagnosticCode.Internal);
    if (internal.length > 0) return `internal error: ${internal.map(formatDiagnostic).join("\n")}`;
    if (!object && diagnostics.length === 0) return "no object and no diagnostics";
    if (object && diagnostics.length > 0) return "an object despite diagnostics";
    return "";
  } catch (e) {
    return `threw: ${(e as Error)?.stack ?? e}`;
  }
}

/** One finished case, as printed with --json. */
export interface CompilerFuzzResult {
  i: number;
  what: string;
  problem: string;
  ms: number;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? undefined : process.argv[i + 1];
}

function main(): void {
  const iterations = Number(arg("iterations") ?? 200);
  const seed = Number(arg("seed") ?? 1);
  const from = Number(arg("from") ?? 0);
  const budgetMs = arg("budget-ms") === undefined ? Infinity : Number(arg("budget-ms"));
  const json = process.argv.includes("--json");
  const bases = compilerBases();
  const start = performance.now();
  let ran = 0, problems = 0;
  for (let i = from; i < from + iterations; i++) {
    if (i > from && performance.now() - start > budgetMs) break;
    const m = compilerMutant(bases, seed, i);
    if (process.argv.includes("--show")) console.log(m.source);
    const t0 = performance.now();
    const problem = checkMutant(m.base.path, m.source);
    ran++;
    if (problem) problems++;
    const r: CompilerFuzzResult = { i, what: m.what, problem, ms: Math.round(performance.now() - t0) };
    if (json) process.stdout.write(JSON.stringify(r) + "\n");
    else if (problem) console.log(`#${i} (replay: --seed ${seed} --from ${i} --iterations 1 --show) ${m.what}\n  ${problem.split("\n").slice(0, 4).join("\n  ")}`);
  }
  if (!json) console.log(`fuzz-compiler: ${ran} mutants (seed ${seed}, from ${from}) of ${bases.length} programs in ${Math.round(performance.now() - start)} ms, ${problems} problems`);
  process.exitCode = problems ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) main();
