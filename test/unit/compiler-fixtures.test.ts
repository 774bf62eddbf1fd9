// Compiler fixture tests: each test/fixtures/ts/asm/<name>.bpf.ts must compile to exactly the listing in
// <name>.expected.asm (maps, globals, per program: section, instructions, CO-RE relocations, line info).
// Regenerate with TSBPF_UPDATE_FIXTURES=1 after a deliberate codegen change and review the diff.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { disassemble } from "../../src/asm/disasm.js";
import type { Instruction } from "../../src/asm/instruction.js";
import { Class, JumpOp } from "../../src/asm/opcode.js";
import { Btf } from "../../src/btf/btf.js";
import type { BtfCoreRelo, BtfMember, BtfType } from "../../src/btf/types.js";
import { compile, formatDiagnostic } from "../../src/compiler/index.js";
import { readCollectionSpec } from "../../src/object/reader.js";
import type { CollectionSpec, InstructionMeta, ProgramSpec } from "../../src/object/spec.js";

const DIR = fileURLToPath(new URL("../fixtures/ts/asm/", import.meta.url));
const UPDATE = process.env.TSBPF_UPDATE_FIXTURES === "1" || process.env.UPDATE_FIXTURES === "1";
const REGENERATE = "TSBPF_UPDATE_FIXTURES=1 node --import tsx --test test/unit/compiler-fixtures.test.ts";
const FIXTURES = readdirSync(DIR).filter((f) => f.endsWith(".bpf.ts")).sort();

// ---------------------------------------------------------------------------------------------------
// A fixed kernel BTF (test/fixtures/ts/asm/kernel-btf.json), so listings do not depend on the host.

interface KernelBtfJson {
  readonly typedefs: Record<string, string>;
  readonly structs: Record<string, { readonly size: number; readonly members: [string, string, number][] }>;
}

const BASE_INTS: [name: string, size: number, signed: boolean][] = [
  ["int", 4, true], ["unsigned int", 4, false], ["long int", 8, true], ["long unsigned int", 8, false],
  ["long long int", 8, true], ["long long unsigned int", 8, false], ["short int", 2, true],
  ["short unsigned int", 2, false], ["char", 1, false], ["unsigned char", 1, false], ["signed char", 1, true],
  ["_Bool", 1, false],
];

let fixedBtf: Btf | undefined;
/** The fixture kernel BTF: base integers, the JSON's typedefs and structs, pointers and arrays as needed. */
function fixtureBtf(): Btf {
  if (fixedBtf) return fixedBtf;
  const json = JSON.parse(readFileSync(join(DIR, "kernel-btf.json"), "utf8")) as KernelBtfJson;
  const types: BtfType[] = [];
  const byName = new Map<string, number>();
  const add = (t: Omit<BtfType, "id">): number => {
    const id = types.length + 1;
    types.push({ ...t, id } as BtfType);
    return id;
  };
  for (const [name, size, signed] of BASE_INTS) {
    byName.set(name, add({ kind: "int", name, size, signed, char: false, bool: name === "_Bool", bitOffset: 0, bits: size * 8 } as Omit<BtfType, "id">));
  }
  for (const [name, target] of Object.entries(json.typedefs)) {
    const type = byName.get(target);
    if (type === undefined) throw new Error(`kernel-btf.json: typedef ${name} names unknown type "${target}"`);
    byName.set(name, add({ kind: "typedef", name, type } as Omit<BtfType, "id">));
  }
  // Structs first as placeholders (pointers may refer to any of them), members filled in afterwards.
  const structIds = new Map<string, number>();
  for (const [name, s] of Object.entries(json.structs)) {
    const id = add({ kind: "struct", name, size: s.size, members: [] } as Omit<BtfType, "id">);
    structIds.set(name, id);
    byName.set(`struct ${name}`, id);
  }
  const resolveType = (spelling: string): number => {
    const known = byName.get(spelling);
    if (known !== undefined) return known;
    let id: number;
    const arr = /^(.+)\[(\d+)\]$/.exec(spelling);
    if (spelling.endsWith(" *")) id = add({ kind: "ptr", name: "", type: resolveType(spelling.slice(0, -2)) } as Omit<BtfType, "id">);
    else if (arr) id = add({ kind: "array", name: "", elemType: resolveType(arr[1]!), indexType: byName.get("int")!, nelems: Number(arr[2]) } as Omit<BtfType, "id">);
    else throw new Error(`kernel-btf.json: unknown type "${spelling}"`);
    byName.set(spelling, id);
    return id;
  };
  for (const [name, s] of Object.entries(json.structs)) {
    const members: BtfMember[] = s.members.map(([m, type, offset]) => ({ name: m, type: resolveType(type), bitOffset: offset * 8, bitfieldSize: 0 }));
    const id = structIds.get(name)!;
    types[id - 1] = { ...types[id - 1]!, members } as BtfType;
  }
  return (fixedBtf = Btf.fromTypes(types));
}

// ---------------------------------------------------------------------------------------------------
// Listing of a compiled object, read back through tsbpf's own ELF reader and disassembler.

const CORE_KIND = ["byte_off", "byte_sz", "field_exists", "signed", "lshift_u64", "rshift_u64", "local_type_id", "target_type_id", "type_exists", "type_size", "enumval_exists", "enumval_value", "type_matches"];

/** `task_struct.real_parent` for a CO-RE access string, using the object's BTF. */
function coreAccess(btf: Btf | undefined, relo: BtfCoreRelo): string {
  if (!btf) return `type ${relo.typeId} ${relo.accessStr}`;
  const root = btf.type(btf.resolve(relo.typeId));
  let text = root.name || `type ${relo.typeId}`;
  let cur: BtfType = root;
  const idx = relo.accessStr.split(":").map(Number);
  if (idx[0] !== 0) text += `[${idx[0]}]`;
  for (const i of idx.slice(1)) {
    if (cur.kind === "struct" || cur.kind === "union") {
      const m = cur.members[i];
      if (!m) return `${text}.<member ${i}?>`;
      text += m.name ? `.${m.name}` : `.<anon ${i}>`;
      cur = btf.type(btf.resolve(m.type));
    } else if (cur.kind === "array") {
      text += `[${i}]`;
      cur = btf.type(btf.resolve(cur.elemType));
    } else return `${text}.<${i}?>`;
  }
  return `${text} (${relo.accessStr})`;
}

function jumpTarget(insn: Instruction, slot: number): number | undefined {
  const cls = insn.opcode & 0x07;
  if (cls !== Class.JMP && cls !== Class.JMP32) return undefined;
  const op = insn.opcode & 0xf0;
  if (op === JumpOp.CALL || op === JumpOp.EXIT) return undefined;
  if (cls === Class.JMP32 && op === JumpOp.JA) return slot + 1 + insn.imm;
  return slot + 1 + insn.offset;
}

function renderProgram(spec: CollectionSpec, p: ProgramSpec, fixture: string): string[] {
  const metaOf = new Map<Instruction, InstructionMeta>();
  p.instructions.forEach((insn, i) => metaOf.set(insn, p.metas[i]!));
  const varAt = (map: string, offset: number) => [...spec.variables.values()].find((v) => v.map === map && v.offset === offset)?.name;
  const text = disassemble(p.instructions, {
    immName(insn, value) {
      const ref = metaOf.get(insn)?.reference;
      if (ref?.kind === "map") return `map[${ref.map}]`;
      if (ref?.kind === "mapValue") {
        const v = varAt(ref.map, ref.offset);
        return `map[${ref.map}]+${ref.offset}${v ? ` (&${v})` : ""}`;
      }
      if (ref) return `${ref.kind}[${ref.name}]`;
      return `0x${value.toString(16)}`;
    },
  });
  const slots = p.instructions.reduce((n, i) => n + i.slots, 0);
  const out = [`program ${p.name}: section ${p.sectionName}, type ${p.type}${p.expectedAttachType ? `, attach ${p.expectedAttachType}` : ""}, ${slots} insns`];
  if (p.functions.length > 1) out.push(`; linked functions: ${p.functions.join(", ")}`);
  let slot = 0;
  let lastLine = "";
  p.instructions.forEach((insn, i) => {
    const meta = p.metas[i]!;
    if (meta.lineInfo) {
      const li = meta.lineInfo;
      const file = basename(li.fileName);
      const where = `${file === fixture ? "" : `${file}:`}${li.lineNum}`;
      const line = `; ${where}: ${li.line.trim()}`;
      if (line !== lastLine) out.push(line);
      lastLine = line;
    }
    const notes: string[] = [];
    const target = jumpTarget(insn, slot);
    if (target !== undefined) notes.push(`-> ${target}`);
    if (meta.coreRelo) notes.push(`CO-RE ${CORE_KIND[meta.coreRelo.kind] ?? meta.coreRelo.kind} ${coreAccess(spec.btf, meta.coreRelo)}`);
    out.push(`  ${text[i]}${notes.length ? `  ; ${notes.join("; ")}` : ""}`);
    slot += insn.slots;
  });
  return out;
}

/** The whole listing of a fixture's object. */
function render(file: string): { text: string; spec: CollectionSpec } {
  const path = join(DIR, file);
  const source = readFileSync(path, "utf8");
  const cpu = /^\/\/ @cpu (v3|v4)\b/m.exec(source)?.[1] as "v3" | "v4" | undefined;
  const r = compile(path, { btf: fixtureBtf, ...(cpu ? { cpu } : {}) });
  if (!r.object) throw new Error(`compile ${file}:\n${r.diagnostics.map(formatDiagnostic).join("\n")}`);
  const spec = readCollectionSpec(r.object, { name: file.replace(/\..*$/, "") });
  const out = [
    `; ${file}: generated by test/unit/compiler-fixtures.test.ts, do not edit.`,
    `; Regenerate with ${REGENERATE} and review the diff.`,
    "",
    `license ${JSON.stringify(spec.license)}${cpu ? `, cpu ${cpu}` : ""}`,
  ];
  for (const m of spec.maps.values()) {
    out.push(`map ${m.name}: ${m.type} key ${m.keySize} value ${m.valueSize} max_entries ${m.maxEntries}${m.flags ? ` flags 0x${m.flags.toString(16)}` : ""}${m.pinning !== "none" ? ` pinning ${m.pinning}` : ""}`);
    if (m.data && m.data.some((b) => b !== 0)) out.push(`  data ${Buffer.from(m.data).toString("hex")}`);
    for (const v of spec.variables.values()) if (v.map === m.name) out.push(`  var ${v.name}: offset ${v.offset} size ${v.size}`);
  }
  for (const p of spec.programs.values()) out.push("", ...renderProgram(spec, p, file));
  return { text: out.join("\n") + "\n", spec };
}

const renders = new Map<string, { text: string; spec: CollectionSpec }>();
/** {@link render}, once per fixture per run. */
function rendered(file: string): { text: string; spec: CollectionSpec } {
  let r = renders.get(file);
  if (!r) renders.set(file, (r = render(file)));
  return r;
}

// ---------------------------------------------------------------------------------------------------
// A line diff (longest common subsequence) for readable failures.

function lineDiff(expected: string, actual: string): string {
  const a = expected.split("\n"), b = actual.split("\n");
  const n = a.length, m = b.length;
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const rows: { tag: " " | "-" | "+"; text: string }[] = [];
  let i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) { rows.push({ tag: " ", text: a[i]! }); i++; j++; }
    else if (i < n && (j === m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) { rows.push({ tag: "-", text: a[i]! }); i++; }
    else { rows.push({ tag: "+", text: b[j]! }); j++; }
  }
  // Changed rows with two lines of context; elided runs marked with "...".
  const keep = rows.map((r, k) => rows.slice(Math.max(0, k - 2), k + 3).some((x) => x.tag !== " "));
  const out: string[] = [];
  rows.forEach((r, k) => {
    if (keep[k]) out.push(`${r.tag} ${r.text}`);
    else if (keep[k - 1]) out.push("  ...");
  });
  return out.join("\n");
}

// ---------------------------------------------------------------------------------------------------

describe("compiler asm fixtures (TypeScript in, eBPF listing out)", () => {
  test("there are enough fixtures, each with its expected listing", () => {
    assert.ok(FIXTURES.length >= 15, `found ${FIXTURES.length} fixtures`);
    const stale = readdirSync(DIR).filter((f) => f.endsWith(".expected.asm") && !FIXTURES.includes(f.replace(/\.expected\.asm$/, ".bpf.ts")));
    if (UPDATE) for (const f of stale) rmSync(join(DIR, f));
    else assert.deepEqual(stale, [], "expected listings without a fixture (remove them or regenerate)");
  });

  for (const file of FIXTURES) {
    test(file, () => {
      const { text } = rendered(file);
      const expectedPath = join(DIR, file.replace(/\.bpf\.ts$/, ".expected.asm"));
      if (UPDATE) {
        if (!existsSync(expectedPath) || readFileSync(expectedPath, "utf8") !== text) writeFileSync(expectedPath, text);
        return;
      }
      if (!existsSync(expectedPath)) assert.fail(`${basename(expectedPath)} is missing; create it with ${REGENERATE}`);
      const expected = readFileSync(expectedPath, "utf8");
      if (text !== expected) assert.fail(`${file}: the compiler's output changed (- expected, + actual). If the change is intended, run ${REGENERATE} and review the diff.\n${lineDiff(expected, text)}`);
    });
  }

  test("every line-info record quotes its source line exactly", () => {
    for (const file of FIXTURES) {
      const { spec } = rendered(file);
      for (const p of spec.programs.values()) {
        for (const meta of p.metas) {
          const li = meta.lineInfo;
          if (!li) continue;
          const lines = readFileSync(li.fileName, "utf8").split("\n");
          const at = `${file} program ${p.name}: line info ${basename(li.fileName)}:${li.lineNum}`;
          assert.ok(li.lineNum >= 1 && li.lineNum <= lines.length, `${at} is outside the file`);
          assert.equal(li.line.trim(), lines[li.lineNum - 1]!.trim(), at);
          const col = li.lineCol & 0x3ff;
          assert.ok(col >= 1 && col <= lines[li.lineNum - 1]!.length + 1, `${at}: column ${col} is outside the line`);
        }
      }
    }
  });

  test("listings are deterministic (two compiles give the same text)", () => {
    for (const file of FIXTURES.slice(0, 4)) assert.equal(render(file).text, rendered(file).text, file);
  });

  test("the fixtures cover every program kind's entry point", () => {
    const sections = new Set<string>();
    for (const file of FIXTURES) for (const p of rendered(file).spec.programs.values()) sections.add(p.sectionName.split("/")[0]!);
    for (const s of ["tracepoint", "raw_tp", "tp_btf", "kprobe", "kretprobe", "uprobe", "uretprobe", "fentry", "fexit", "lsm", "xdp", "tc", "socket", "cgroup_skb", "perf_event"]) {
      assert.ok(sections.has(s), `a fixture has a ${s} program (have ${[...sections].sort().join(", ")})`);
    }
  });
});
