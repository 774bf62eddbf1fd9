// Benchmark: compile time and peak memory of large generated kernel programs, to catch passes that
// grow worse than linearly. Each size compiles cold in its own child process (wall time of compile(),
// peak RSS of the child). Results: bench/README.md, "Compiler scaling".
//
// Usage: node --import tsx bench/compiler-scale.ts [--shape programs|function|branches] [--lines 50000,...]
//   programs: many programs of 50 lines each (straight-line arithmetic and one branch each)
//   function: one function of N straight-line statements (def chains N long), called by one program
//   branches: one function of N statements, every third an if/else (a dominator tree N/3 deep)

import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { compile } from "../src/compiler/index.js";

const HEAD = `import { bpf, rawTracepoint, type u32 } from "tsbpf/kernel";\nlet last: u32 = 0;\n`;

/** A generated program of about `lines` lines. */
export function scaleSource(shape: string, lines: number): string {
  const stmt = (i: number, branches: boolean) =>
    branches && i % 3 === 0 ? `  if (x > ${i}) x = x - y; else y = y + 1;\n` : i % 2 ? `  x = (x * ${(i % 7) + 3}) ^ y;\n` : `  y = (y >> 1) + (x & ${(i % 255) + 1});\n`;
  if (shape === "programs") {
    const per = 50;
    let out = HEAD;
    for (let p = 0; p * per < lines; p++) {
      out += `export const p${p} = rawTracepoint("sys_enter", (ctx) => {\n  let x = last;\n  let y = bpf.random();\n`;
      for (let i = 0; i < per - 6; i++) out += stmt(i + p, true);
      out += `  last = x;\n  return 0;\n});\n`;
    }
    return out;
  }
  const body = Array.from({ length: lines }, (_, i) => stmt(i, shape === "branches")).join("");
  return `${HEAD}function f(x: u32, y: u32): u32 {\n${body}  return x;\n}\nexport const p = rawTracepoint("sys_enter", (ctx) => {\n  last = f(last, bpf.random());\n  return 0;\n});\n`;
}

interface ScaleRow {
  shape: string;
  lines: number;
  ms: number;
  rssMb: number;
  object: number;
  diagnostics: string[];
}

function child(shape: string, lines: number): void {
  const dir = mkdtempSync(join(tmpdir(), "tsbpf-scale-"));
  try {
    const file = join(dir, `scale.bpf.ts`);
    const text = scaleSource(shape, lines);
    writeFileSync(file, text);
    const t0 = performance.now();
    const r = compile(file);
    const row: ScaleRow = {
      shape,
      lines: text.split("\n").length,
      ms: Math.round(performance.now() - t0),
      rssMb: Math.round(process.resourceUsage().maxRSS / 1024),
      object: r.object?.length ?? 0,
      diagnostics: r.diagnostics.slice(0, 3).map((d) => `${d.code} ${d.line}:${d.column} ${d.message.slice(0, 120)}`),
    };
    process.stdout.write(JSON.stringify(row) + "\n");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? undefined : process.argv[i + 1];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const shape = arg("shape") ?? "programs";
  if (process.env.TSBPF_SCALE_CHILD) child(shape, Number(process.env.TSBPF_SCALE_CHILD));
  else {
    const sizes = (arg("lines") ?? "5000,10000,20000,50000").split(",").map(Number);
    console.log(`shape ${shape}`);
    console.log("lines".padStart(8), "compile ms".padStart(11), "ms/kline".padStart(9), "peak RSS MB".padStart(12), "object B".padStart(10), " diagnostics");
    for (const lines of sizes) {
      const out = execFileSync(process.execPath, ["--max-old-space-size=4096", "--import", "tsx", fileURLToPath(import.meta.url), "--shape", shape], {
        env: { ...process.env, TSBPF_SCALE_CHILD: String(lines) },
        encoding: "utf8",
        maxBuffer: 16 << 20,
      });
      const r = JSON.parse(out.trim().split("\n").pop()!) as ScaleRow;
      console.log(String(r.lines).padStart(8), String(r.ms).padStart(11), (r.ms / (r.lines / 1000)).toFixed(0).padStart(9), String(r.rssMb).padStart(12), String(r.object).padStart(10), ` ${r.diagnostics.join("; ")}`);
    }
  }
}
