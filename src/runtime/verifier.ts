// Makes verifier rejections readable: finds the failing instruction in the log and names the source
// line it came from (from BTF line info), e.g. `execsnoop.bpf.c:42: if (e->pid) ...`.

import type { BtfLineInfo } from "../btf/types.js";

/**
 * True when a verifier log holds a verdict: some line besides the statistics line ("processed 0 insns
 * ..."), which some kernels print even when they refused the program before verifying it.
 */
export function hasVerifierVerdict(log: string): boolean {
  return log.split("\n").some((l) => l.trim() !== "" && !/^processed \d+ insns/.test(l));
}

/** Index of the instruction the verifier stopped at: the last `N: (xx) ...` line of the log. */
export function failingInstruction(log: string): number | undefined {
  const re = /^(\d+): \([0-9a-f]{2}\)/gm;
  let last: number | undefined;
  for (let m = re.exec(log); m; m = re.exec(log)) last = Number(m[1]);
  return last;
}

/** The last non-empty lines of the log that state the problem (after the final instruction line). */
export function verifierReason(log: string): string {
  const lines = log.split("\n").map((l) => l.trimEnd()).filter((l) => l.length > 0);
  const summaryAt = lines.findIndex((l) => l.startsWith("processed ") && l.includes(" insns"));
  const end = summaryAt === -1 ? lines.length : summaryAt;
  // Walk back from the end over lines that are not instruction dumps or register states.
  const out: string[] = [];
  for (let i = end - 1; i >= 0 && out.length < 3; i--) {
    const l = lines[i]!;
    // Register states ("R1_w=ctx() R10=fp0", "frame1: R1=..."), not errors that start with a register
    // ("R1 invalid mem access 'scalar'").
    if (/^\d+: /.test(l) || /^; /.test(l) || /^\s*(R\d+(_[a-z]+)?=|frame\d*:|from \d+ to)/.test(l)) {
      if (out.length) break;
      continue;
    }
    out.unshift(l);
  }
  return out.join("; ") || lines[end - 1] || "no verifier log";
}

/** The line info record covering instruction `insn` (the closest one at or before it). */
export function sourceLineFor(lines: ReadonlyMap<number, BtfLineInfo>, insn: number): BtfLineInfo | undefined {
  let best: BtfLineInfo | undefined;
  for (const [slot, li] of lines) {
    if (slot <= insn && (!best || slot >= best.insnOff)) best = li;
  }
  return best;
}

/** `file:line: source text` for a line info record. */
export function formatSourceLine(li: BtfLineInfo): string {
  const file = li.fileName.split("/").pop() ?? li.fileName;
  return `${file}:${li.lineNum}${li.line ? ": " + li.line.trim() : ""}`;
}
