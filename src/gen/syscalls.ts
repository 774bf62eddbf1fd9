// Syscall tracepoint records from tracefs: the per-syscall `events/syscalls/sys_{enter,exit}_<name>/format`
// files have no BTF struct (the kernel records them through trace_event_raw_sys_enter's args[6]), so the
// format file is the ABI. Each field becomes a property tagged `@tracefs <offset> <size> <C declaration>`;
// the compiler reads the field at that offset, as wide as its TypeScript type (docs/gen.md).

import { readdirSync } from "node:fs";
import { join } from "node:path";
import type { Btf } from "../btf/btf.js";
import { readUserFile } from "../sys/user-file.js";
import { SYSCALL_TRACEPOINTS } from "./names.js";
import { TRACEFS_DIRS } from "./tracepoints.js";

/** One field of a format file with everything the file says about it. */
export interface FormatField {
  readonly name: string;
  /** The C type as written (`const char *`, `int`, `umode_t`); `__data_loc char[]` for data-loc fields. */
  readonly type: string;
  readonly offset: number;
  readonly size: number;
  readonly signed: boolean;
}

/** A syscall event's format: its name and fields after the common header (`__syscall_nr` included). */
export interface SyscallFormat { readonly event: string; readonly fields: readonly FormatField[] }

/** Parses a format file's text, keeping each field's C type and signedness; undefined without `name:`. */
export function parseFormatFields(text: string): SyscallFormat | undefined {
  const name = /^name:\s*(\S+)/m.exec(text);
  if (!name) return undefined;
  const fields: FormatField[] = [];
  for (const m of text.matchAll(/field:([^;]*);\s*offset:(\d+);\s*size:(\d+);(?:\s*signed:(\d+);)?/g)) {
    const decl = m[1]!.trim().replace(/\[[^\]]*\]\s*$/, "");
    const fieldName = /([A-Za-z_$][\w$]*)\s*$/.exec(decl)?.[1];
    if (!fieldName || fieldName.startsWith("common_")) continue;
    const type = decl.slice(0, decl.length - fieldName.length).trim();
    fields.push({ name: fieldName, type, offset: Number(m[2]), size: Number(m[3]), signed: m[4] === "1" });
  }
  return { event: name[1]!, fields };
}

/**
 * Reads `events/syscalls/<event>/format` of every syscall event under a tracefs mount (default: the usual
 * mounts), keyed by event name. Unreadable entries are skipped; no tracefs gives an empty map.
 */
export function readSyscallFormats(dir?: string): Map<string, SyscallFormat> {
  const out = new Map<string, SyscallFormat>();
  for (const base of dir === undefined ? TRACEFS_DIRS : [dir]) {
    let events: string[];
    try {
      events = readdirSync(join(base, "events", "syscalls")).sort();
    } catch {
      continue;
    }
    for (const event of events) {
      if (!event.startsWith("sys_enter_") && !event.startsWith("sys_exit_")) continue;
      try {
        const f = parseFormatFields(readUserFile(join(base, "events", "syscalls", event, "format"), "tracepoint format", 1024 * 1024).toString("utf8"));
        if (f) out.set(f.event, f);
      } catch {
        continue;
      }
    }
    if (out.size > 0) break;
  }
  return out;
}

const SCALARS: Readonly<Record<string, readonly [number, boolean]>> = {
  char: [1, false], "signed char": [1, true], "unsigned char": [1, false],
  short: [2, true], "unsigned short": [2, false],
  int: [4, true], "signed int": [4, true], unsigned: [4, false], "unsigned int": [4, false],
  long: [8, true], "long int": [8, true], "unsigned long": [8, false], "long long": [8, true], "unsigned long long": [8, false],
  size_t: [8, false], ssize_t: [8, true],
};

function alias(size: number, signed: boolean): string {
  const bytes = size <= 1 ? 1 : size <= 2 ? 2 : size <= 4 ? 4 : 8;
  return `${signed ? "i" : "u"}${bytes * 8}`;
}

/**
 * The TypeScript type of a syscall field's C type: pointers are user addresses (`UserPtr<pointee>`),
 * integers and integer typedefs (resolved through BTF when it has them) their sized alias; anything else
 * falls back to the format's size and signedness.
 */
export function syscallFieldType(field: FormatField, btf: Btf | undefined, used: Set<string>): string {
  const scalar = (size: number, signed: boolean): string => {
    const a = alias(size, signed);
    used.add(a);
    return a;
  };
  const cType = (text: string): string => {
    const t = text.replace(/\b(const|volatile|__user|restrict)\b/g, " ").replace(/\s+/g, " ").trim();
    if (t.endsWith("*")) {
      used.add("UserPtr");
      const inner = t.slice(0, -1).trim();
      const pointee = inner === "void" || inner.startsWith("struct ") || inner.startsWith("union ") ? "void" : cType(inner);
      return `UserPtr<${pointee}>`;
    }
    const known = SCALARS[t];
    if (known) return scalar(known[0], known[1]);
    if (btf) {
      for (const id of btf.find(t, "typedef")) {
        const r = btf.type(btf.resolve(id));
        if (r.kind === "int" || r.kind === "enum") return scalar(r.size, r.signed);
        if (r.kind === "ptr") {
          used.add("UserPtr");
          return "UserPtr<void>";
        }
      }
    }
    return scalar(Math.min(field.size, 8), field.signed);
  };
  return cType(field.type);
}

/**
 * The `SyscallTracepoints` interface for the given syscall names (`openat`: both `sys_enter_openat` and
 * `sys_exit_openat`; none: every syscall in `formats`): enter events hold `args`, exit events `ret`,
 * both `__syscall_nr`. Events missing from `formats` are skipped; returns the block and its entry count.
 */
export function syscallTracepointsBlock(formats: ReadonlyMap<string, SyscallFormat>, names: readonly string[] | undefined, btf: Btf | undefined, used: Set<string>): { text: string; entries: number } {
  const events = names === undefined
    ? [...formats.keys()]
    : names.flatMap((n) => [`sys_enter_${n}`, `sys_exit_${n}`]).filter((e) => formats.has(e));
  events.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const prop = (f: FormatField, indent: string): string =>
    `${indent}/** @tracefs ${f.offset} ${f.size} ${`${f.type} ${f.name}`.replace(/\*\//g, "*\\/")} */\n${indent}readonly ${f.name}: ${syscallFieldType(f, btf, used)};\n`;
  const lines: string[] = [];
  for (const event of [...new Set(events)]) {
    const f = formats.get(event)!;
    const nr = f.fields.filter((x) => x.name === "__syscall_nr");
    const rest = f.fields.filter((x) => x.name !== "__syscall_nr");
    const body = nr.map((x) => prop(x, "    "));
    if (event.startsWith("sys_enter_")) {
      body.push(`    /** @tracefs args */\n    readonly args: {\n${rest.map((x) => prop(x, "      ")).join("")}    };\n`);
    } else {
      body.push(...rest.map((x) => prop(x, "    ")));
    }
    lines.push(`  ${JSON.stringify(event)}: {\n${body.join("")}  };\n`);
  }
  const text = "/**\n * Syscall tracepoint event → its record, from tracefs `events/syscalls/<event>/format` (the format file is\n" +
    " * the ABI: `@tracefs <offset> <size>` places each field). `sys_enter_*`: `ctx.args`; `sys_exit_*`: `ctx.ret`.\n */\n" +
    `export interface ${SYSCALL_TRACEPOINTS} {\n${lines.join("")}}\n`;
  return { text, entries: lines.length };
}
