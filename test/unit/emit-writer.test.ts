// Object writer (src/compiler/emit): structure of the ELF it writes (sections, symbols, relocations as
// clang lays them out), its .BTF and .BTF.ext, determinism, and the round trip through our own loader.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { decode } from "../../src/asm/decode.js";
import { Btf } from "../../src/btf/btf.js";
import { parseBtfExt } from "../../src/btf/ext.js";
import type { BtfType } from "../../src/btf/types.js";
import { readElf } from "../../src/elf/reader.js";
import {
  EM_BPF, R_BPF_64_32, R_BPF_64_64, SHF_ALLOC, SHF_EXECINSTR, SHF_WRITE, SHN_UNDEF, SHT_NOBITS, SHT_PROGBITS, SHT_REL,
  STB_GLOBAL, STB_LOCAL, STB_WEAK, STT_FUNC, STT_NOTYPE, STT_OBJECT, STT_SECTION,
} from "../../src/elf/types.js";
import { writeObject } from "../../src/compiler/emit/index.js";
import { readCollectionSpec } from "../../src/object/reader.js";
import { DEMO_SOURCE, coreModule, demoModule, kfuncModule, sharedModule } from "../helpers/emit-modules.js";
import { ldBtfId } from "../../src/asm/load-store.js";
import { R1 } from "../../src/asm/register.js";

function parse(bytes: Uint8Array) {
  const elf = readElf(bytes, { machine: EM_BPF });
  const btf = Btf.parse(elf.section(".BTF")!.data);
  const ext = parseBtfExt(elf.section(".BTF.ext")!.data, btf);
  return { elf, btf, ext };
}

/** A symbol's name; section symbols are unnamed (as clang writes them) and go by their section's. */
function symName(elf: ReturnType<typeof readElf>, index: number): string {
  const y = elf.symbols[index]!;
  return y.type === STT_SECTION ? elf.sections[y.shndx]!.name : y.name;
}

function named(btf: Btf, name: string, kind: BtfType["kind"]): BtfType {
  const id = btf.find(name, kind)[0];
  assert.ok(id !== undefined, `BTF has ${kind} ${name}`);
  return btf.type(id);
}

describe("emit: ELF layout", () => {
  const { elf } = parse(writeObject(demoModule()));

  test("sections in clang's order with clang's types and flags", () => {
    assert.deepEqual(elf.sections.map((s) => s.name), [
      "", ".text", "xdp", ".relxdp", ".data", ".rodata", ".maps", ".bss", "license", ".BTF", ".BTF.ext", ".symtab", ".strtab",
    ]);
    const s = (n: string) => elf.section(n)!;
    assert.equal(s(".text").flags, SHF_ALLOC | SHF_EXECINSTR);
    assert.equal(s("xdp").type, SHT_PROGBITS);
    assert.equal(s(".relxdp").type, SHT_REL);
    assert.equal(s(".relxdp").info, s("xdp").index);
    assert.equal(s(".bss").type, SHT_NOBITS);
    assert.equal(s(".bss").size, 16);
    assert.equal(s(".rodata").flags, SHF_ALLOC);
    assert.equal(s(".data").flags, SHF_ALLOC | SHF_WRITE);
    assert.equal(s(".maps").size, 48);
    assert.deepEqual([...s(".data").data], [5, 0, 0, 0, 0, 0, 0, 0]);
    assert.equal(new TextDecoder().decode(s("license").data), "GPL\0");
    // subprograms: gmul (4 insns) then add3 (3 insns); the program: 49 slots.
    assert.equal(s(".text").size, 7 * 8);
    assert.equal(s("xdp").size % 8, 0);
  });

  test("symbols: locals first (section symbols, static function and variable), then globals", () => {
    assert.ok(elf.symbols.filter((x) => x.type === STT_SECTION).every((x) => x.name === ""), "section symbols are unnamed");
    const syms = elf.symbols.slice(1).map((x) => [symName(elf, x.index), x.type, x.bind, elf.sections[x.shndx]?.name ?? x.shndx, x.value, x.size]);
    assert.deepEqual(syms, [
      [".text", STT_SECTION, STB_LOCAL, ".text", 0, 0],
      ["xdp", STT_SECTION, STB_LOCAL, "xdp", 0, 0],
      [".bss", STT_SECTION, STB_LOCAL, ".bss", 0, 0], // only data sections a relocation names
      ["add3", STT_FUNC, STB_LOCAL, ".text", 32, 24],
      ["hits", STT_OBJECT, STB_LOCAL, ".bss", 8, 8],
      ["gmul", STT_FUNC, STB_GLOBAL, ".text", 0, 32],
      ["prog", STT_FUNC, STB_GLOBAL, "xdp", 0, elf.section("xdp")!.size],
      ["counts", STT_OBJECT, STB_GLOBAL, ".maps", 0, 32],
      ["events", STT_OBJECT, STB_GLOBAL, ".maps", 32, 16],
      ["total", STT_OBJECT, STB_GLOBAL, ".data", 0, 8],
      ["cfg", STT_OBJECT, STB_GLOBAL, ".rodata", 0, 4],
      ["pad", STT_OBJECT, STB_GLOBAL, ".bss", 0, 8],
      ["LICENSE", STT_OBJECT, STB_GLOBAL, "license", 0, 4],
    ]);
    assert.equal(elf.section(".symtab")!.info, 6, "sh_info = first global");
  });

  test("relocations: maps and global variables by symbol, static data by section + offset, static calls against .text with imm = slot - 1, global calls with imm -1", () => {
    const xdp = elf.section("xdp")!;
    const insns = decode(xdp.data);
    const bySlot = new Map<number, (typeof insns)[number]>();
    let slot = 0;
    for (const i of insns) { bySlot.set(slot, i); slot += i.slots; }
    const rel = elf.relocations(xdp.index).map((r) => {
      const insn = bySlot.get(r.offset / 8)!;
      return [symName(elf, r.symbol), r.type, insn.opcode, insn.src, insn.imm];
    });
    assert.deepEqual(rel, [
      ["counts", R_BPF_64_64, 0x18, 0, 0],
      ["counts", R_BPF_64_64, 0x18, 0, 0],
      ["cfg", R_BPF_64_64, 0x18, 0, 0], // global variables through their own symbol, as clang
      [".text", R_BPF_64_32, 0x85, 1, 3], // add3 at slot 4 of .text
      ["total", R_BPF_64_64, 0x18, 0, 0],
      ["gmul", R_BPF_64_32, 0x85, 1, -1],
      [".bss", R_BPF_64_64, 0x18, 0, 8], // static `hits` at .bss+8
      ["events", R_BPF_64_64, 0x18, 0, 0],
    ]);
  });

  test("kfunc calls and callbacks: pseudo call -1 against the undefined extern, ld_imm64 against .text with a byte offset", () => {
    const { elf: k, btf } = parse(writeObject(kfuncModule()));
    const prog = k.section("tp_btf/task_newtask")!;
    const rels = k.relocations(prog.index).map((r) => [symName(k, r.symbol), r.type]);
    assert.deepEqual(rels, [["bpf_task_acquire", R_BPF_64_32], ["bpf_task_release", R_BPF_64_32], [".text", R_BPF_64_64], ["loops", R_BPF_64_64]]);
    const ext = k.symbols.filter((s) => s.shndx === SHN_UNDEF && s.name);
    assert.deepEqual(ext.map((s) => [s.name, s.type, s.bind]), [["bpf_task_acquire", STT_NOTYPE, STB_GLOBAL], ["bpf_task_release", STT_NOTYPE, STB_GLOBAL]]);
    const f = named(btf, "bpf_task_acquire", "func");
    assert.equal(f.kind === "func" && f.linkage, 2);
    const ksyms = named(btf, ".ksyms", "datasec");
    assert.equal(ksyms.kind === "datasec" && ksyms.vars.length, 2);
  });

  test("several programs in one section; a call inside .text is pc-relative with no relocation", () => {
    const { elf: e, ext, btf } = parse(writeObject(sharedModule()));
    const tc = e.section("tc")!;
    const funcs = e.symbols.filter((x) => x.type === STT_FUNC).map((x) => [x.name, e.sections[x.shndx]!.name, x.value, x.size, x.bind]);
    assert.deepEqual(funcs, [
      ["twice", ".text", 0, 24, STB_LOCAL],
      ["first", "tc", 0, 56, STB_GLOBAL],
      ["outer", ".text", 24, 24, STB_GLOBAL],
      ["second", "tc", 56, 48, STB_GLOBAL],
    ]);
    assert.equal(tc.size, 104);
    assert.deepEqual(ext.funcInfo.get("tc")!.map((r) => [r.insnOff, btf.nameOf(r.typeId)]), [[0, "first"], [56, "second"]]);
    assert.equal(e.relocations(e.section(".text")!.index).length, 0, "outer -> twice needs no relocation");
    const text = decode(e.section(".text")!.data);
    assert.equal(text[3]!.imm, -4, "call from slot 3 back to slot 0");
    const rel = e.relocations(tc.index).map((r) => [r.offset, symName(e, r.symbol), r.type]);
    assert.deepEqual(rel, [[8, ".text", R_BPF_64_32], [32, "outer", R_BPF_64_32], [56, "LINUX_KERNEL_VERSION", R_BPF_64_64], [88, ".text", R_BPF_64_32]]);
    assert.equal(new TextDecoder().decode(e.section("license")!.data), "Dual BSD/GPL\0");
    const kc = named(btf, ".kconfig", "datasec");
    assert.ok(kc.kind === "datasec");
    assert.deepEqual(kc.vars.map((v) => [btf.nameOf(v.type), v.size]), [["LINUX_KERNEL_VERSION", 4]]);
    const spec = readCollectionSpec(writeObject(sharedModule()), { name: "shared" });
    assert.deepEqual([...spec.programs.keys()], ["first", "second"]);
    assert.deepEqual(spec.kconfig.map((k) => k.name), ["LINUX_KERNEL_VERSION"]);
  });

  test("ksym variables: ld_imm64 against the undefined symbol, VAR with extern linkage in .ksyms", () => {
    const m = sharedModule();
    const first = m.functions.find((f) => f.name === "first")!;
    const mod = {
      ...m,
      externs: [...m.externs, { name: "bpf_prog_active", section: ".ksyms" as const, type: { kind: "int" as const, name: "int", size: 4 as const, signed: true } }],
      functions: m.functions.map((f) => (f === first ? { ...f, instructions: [ldBtfId(R1, "bpf_prog_active"), ...f.instructions] } : f)),
    };
    const { elf: e, btf } = parse(writeObject(mod));
    const rel = e.relocations(e.section("tc")!.index)[0]!;
    assert.equal(e.symbols[rel.symbol]!.name, "bpf_prog_active");
    assert.equal(rel.type, R_BPF_64_64);
    const insn = decode(e.section("tc")!.data)[0]!;
    assert.deepEqual([insn.opcode, insn.src, insn.constant], [0x18, 0, 0n]);
    const v = named(btf, "bpf_prog_active", "var");
    assert.equal(v.kind === "var" && v.linkage, 2);
    const spec = readCollectionSpec(writeObject(mod), { name: "shared" });
    assert.deepEqual(spec.ksyms.map((k) => [k.name, k.kind]), [["bpf_prog_active", "var"]]);
  });

  test("weak externs are STB_WEAK", () => {
    const m = kfuncModule();
    const bytes = writeObject({ ...m, externs: m.externs.map((x, i) => (i === 1 ? { ...x, weak: true } : x)) });
    const { elf: k } = parse(bytes);
    assert.equal(k.symbols.find((s) => s.name === "bpf_task_release")!.bind, STB_WEAK);
  });
});

describe("emit: BTF", () => {
  const { btf } = parse(writeObject(demoModule()));

  test("map definitions follow libbpf's __uint / __type convention", () => {
    const v = named(btf, "counts", "var");
    assert.ok(v.kind === "var");
    const def = btf.type(v.type);
    assert.ok(def.kind === "struct" && def.name === "");
    assert.deepEqual(def.members.map((m) => [m.name, m.bitOffset]), [["type", 0], ["key", 64], ["value", 128], ["max_entries", 192]]);
    const nelems = (id: number) => {
      const p = btf.type(id);
      assert.ok(p.kind === "ptr");
      const a = btf.type(p.type);
      assert.ok(a.kind === "array");
      return a.nelems;
    };
    assert.equal(nelems(def.members[0]!.type), 1, "BPF_MAP_TYPE_HASH");
    assert.equal(nelems(def.members[3]!.type), 16);
    const key = btf.type(def.members[1]!.type);
    assert.ok(key.kind === "ptr");
    assert.equal(btf.nameOf(key.type), "unsigned int");
    const rb = btf.type((named(btf, "events", "var") as { type: number }).type);
    assert.ok(rb.kind === "struct");
    assert.deepEqual(rb.members.map((m) => m.name), ["type", "max_entries"]);
    assert.equal(nelems(rb.members[0]!.type), 27, "BPF_MAP_TYPE_RINGBUF");
  });

  test("functions: FUNC with linkage and a prototype with named parameters", () => {
    const link = (n: string) => (named(btf, n, "func") as { linkage: number }).linkage;
    assert.equal(link("prog"), 1);
    assert.equal(link("gmul"), 1);
    assert.equal(link("add3"), 0);
    const proto = btf.type((named(btf, "gmul", "func") as { type: number }).type);
    assert.ok(proto.kind === "func_proto");
    assert.deepEqual(proto.params.map((p) => [p.name, btf.nameOf(p.type)]), [["a", "int"], ["b", "int"]]);
  });

  test("DATASECs carry sizes, offsets and linkage; the license is not in BTF", () => {
    const ds = (n: string) => {
      const t = named(btf, n, "datasec");
      assert.ok(t.kind === "datasec");
      return [t.size, t.vars.map((v) => [btf.nameOf(v.type), v.offset, v.size, (btf.type(v.type) as { linkage: number }).linkage])];
    };
    assert.deepEqual(ds(".bss"), [16, [["pad", 0, 8, 1], ["hits", 8, 8, 0]]]);
    assert.deepEqual(ds(".data"), [8, [["total", 0, 8, 1]]]);
    assert.deepEqual(ds(".rodata"), [4, [["cfg", 0, 4, 1]]]);
    assert.deepEqual(ds(".maps"), [48, [["counts", 0, 32, 1], ["events", 32, 16, 1]]]);
    assert.equal(btf.find("license", "datasec").length, 0);
    assert.equal(btf.find("LICENSE", "var").length, 0);
  });

  test("each type appears once", () => {
    const seen = new Set<string>();
    for (const id of btf.ids()) {
      const t = btf.type(id);
      if (t.kind === "func" || t.kind === "var" || t.kind === "datasec") continue;
      const key = JSON.stringify({ ...t, id: 0 }, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v));
      assert.ok(!seen.has(key), `duplicate BTF type ${key}`);
      seen.add(key);
    }
  });
});

describe("emit: .BTF.ext", () => {
  test("func_info per function at its byte offset in the section", () => {
    const { ext, btf } = parse(writeObject(demoModule()));
    const fi = (s: string) => ext.funcInfo.get(s)!.map((r) => [r.insnOff, btf.nameOf(r.typeId)]);
    assert.deepEqual(fi(".text"), [[0, "gmul"], [32, "add3"]]);
    assert.deepEqual(fi("xdp"), [[0, "prog"]]);
  });

  test("line_info: one record per change of line, with file name and source text", () => {
    const { ext } = parse(writeObject(demoModule()));
    const text = DEMO_SOURCE.split("\n");
    const li = ext.lineInfo.get("xdp")!;
    assert.deepEqual(li.map((r) => r.lineNum), [5, 6, 7, 8, 9, 10, 11, 12]);
    for (const r of li) {
      assert.equal(r.fileName, "demo.bpf.ts");
      assert.equal(r.line, text[r.lineNum - 1]);
      assert.equal(r.lineCol, 3);
      assert.equal(r.insnOff % 8, 0);
    }
    assert.equal(li[0]!.insnOff, 0);
    assert.deepEqual(ext.lineInfo.get(".text")!.map((r) => [r.insnOff, r.lineNum]), [[0, 3], [32, 2]]);
  });

  test("a function without locations still starts with a line record (its declaration site)", () => {
    const m = demoModule();
    const prog = m.functions.find((f) => f.name === "prog")!;
    const stripped = prog.instructions.map((i, n) => (n < 3 ? i.clone().withSource(undefined) : i));
    const { ext } = parse(writeObject({ ...m, functions: m.functions.map((f) => (f === prog ? { ...f, instructions: stripped } : f)) }));
    const li = ext.lineInfo.get("xdp")!;
    assert.deepEqual([li[0]!.insnOff, li[0]!.lineNum], [0, 4]);
  });

  test("CO-RE relocation: instruction byte offset, local root type, access string, kind", () => {
    const { ext, btf } = parse(writeObject(coreModule()));
    const cr = ext.coreRelos.get("tracepoint/syscalls/sys_enter_getpid")!;
    assert.equal(cr.length, 1);
    assert.equal(cr[0]!.insnOff, 2 * 8);
    assert.equal(cr[0]!.accessStr, "0:1");
    assert.equal(cr[0]!.kind, 0);
    const root = btf.type(cr[0]!.typeId);
    assert.ok(root.kind === "struct" && root.name === "task_struct");
    assert.deepEqual(root.members.map((m) => m.name), ["pid", "tgid"]);
  });
});

describe("emit: determinism and loader round trip", () => {
  test("same module, same bytes (also when rebuilt from scratch)", () => {
    const a = writeObject(demoModule());
    const b = writeObject(demoModule());
    assert.deepEqual(a, b);
    const m = demoModule();
    assert.deepEqual(writeObject(m), writeObject(m));
  });

  test("the input module is not modified", () => {
    const m = demoModule();
    const before = m.functions.map((f) => f.instructions.map((i) => [i.opcode, i.src, i.constant, i.reference]));
    writeObject(m);
    assert.deepEqual(m.functions.map((f) => f.instructions.map((i) => [i.opcode, i.src, i.constant, i.reference])), before);
  });

  test("readCollectionSpec reads programs, maps, variables and references back", () => {
    const spec = readCollectionSpec(writeObject(demoModule()), { name: "demo" });
    assert.deepEqual([...spec.programs.keys()], ["prog"]);
    const prog = spec.programs.get("prog")!;
    assert.equal(prog.type, "XDP");
    assert.equal(prog.license, "GPL");
    const counts = spec.maps.get("counts")!;
    assert.deepEqual([counts.type, counts.keySize, counts.valueSize, counts.maxEntries], ["HASH", 4, 8, 16]);
    const events = spec.maps.get("events")!;
    assert.deepEqual([events.type, events.maxEntries], ["RINGBUF", 4096]);
    assert.deepEqual([...spec.variables.keys()], ["total", "cfg", "pad", "hits"]);
    assert.equal(spec.variables.get("hits")!.offset, 8);
    const refs = prog.metas.map((m) => m.reference).filter((r) => r !== undefined);
    assert.deepEqual(refs, [
      { kind: "map", map: "counts" }, { kind: "map", map: "counts" },
      { kind: "mapValue", map: ".rodata", offset: 0 }, { kind: "mapValue", map: ".data", offset: 0 },
      { kind: "mapValue", map: ".bss", offset: 8 }, { kind: "map", map: "events" },
    ]);
    // The linked program holds prog, then add3 and gmul appended as subprograms.
    assert.ok(prog.instructions.length > 49);
    assert.ok(prog.metas.some((m) => m.lineInfo?.lineNum === 8));
  });

  test("map variants: sizes only, flags, pinning, numa node, map of maps with an inner template", () => {
    const m = demoModule();
    const inner = { name: "inner", type: "array" as const, key: { kind: "int" as const, name: "int", size: 4 as const, signed: true }, value: { kind: "int" as const, name: "int", size: 4 as const, signed: true }, maxEntries: 2 };
    const mod = {
      ...m,
      maps: [
        ...m.maps,
        { name: "perf", type: "perf_event_array" as const, keySize: 4, valueSize: 4 },
        { name: "pinned", type: "lru_hash" as const, keySize: 8, valueSize: 16, maxEntries: 64, flags: 2, pinning: "by_name" as const, numaNode: 0 },
        { name: "outer", type: "array_of_maps" as const, keySize: 4, maxEntries: 3, inner },
        { name: "bloom", type: "bloom_filter" as const, valueSize: 8, maxEntries: 100, mapExtra: 3n },
      ],
    };
    const bytes = writeObject(mod);
    const { btf } = parse(bytes);
    const members = (n: string) => (btf.type((named(btf, n, "var") as { type: number }).type) as unknown as { members: { name: string }[] }).members.map((x) => x.name);
    assert.deepEqual(members("perf"), ["type", "key_size", "value_size"]);
    assert.deepEqual(members("pinned"), ["type", "key_size", "value_size", "max_entries", "map_flags", "numa_node", "pinning"]);
    assert.deepEqual(members("outer"), ["type", "key_size", "max_entries", "values"]);
    assert.deepEqual(members("bloom"), ["type", "value_size", "max_entries", "map_extra"]);
    const spec = readCollectionSpec(bytes, { name: "demo" });
    const p = spec.maps.get("pinned")!;
    assert.deepEqual([p.type, p.keySize, p.valueSize, p.maxEntries, p.flags, p.pinning], ["LRU_HASH", 8, 16, 64, 2, "by_name"]);
    const o = spec.maps.get("outer")!;
    assert.equal(o.type, "ARRAY_OF_MAPS");
    assert.deepEqual([o.innerMap?.type, o.innerMap?.keySize, o.innerMap?.valueSize, o.innerMap?.maxEntries], ["ARRAY", 4, 4, 2]);
    assert.equal(spec.maps.get("bloom")!.mapExtra, 3n);
  });
});
