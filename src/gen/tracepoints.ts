// Tracepoint contexts from kernel BTF: which `trace_event_raw_<class>` struct is the context of each
// tracepoint event, matched through the raw-tracepoint prototypes and, when given, tracefs format files.

import { readdirSync } from "node:fs";
import { join } from "node:path";
import { readUserFile } from "../sys/user-file.js";
import type { Btf } from "../btf/btf.js";

/** Prefix of the struct that holds a trace event class's record (the tracepoint program's context). */
export const RAW_STRUCT_PREFIX = "trace_event_raw_";
const EVENT_TYPEDEF_PREFIX = "btf_trace_";
const CLASS_FUNC_PREFIXES = ["trace_event_raw_event_", "__bpf_trace_"] as const;
/** Where tracefs is usually mounted. */
export const TRACEFS_DIRS = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"] as const;

/** One field of a tracefs event format (`field:pid_t pid; offset:12; size:4; signed:1;`). */
export interface TraceField { readonly name: string; readonly offset: number; readonly size: number }
/** A tracefs event format: the event's system, name and record fields (the `common_*` ones dropped). */
export interface TraceFormat { readonly system: string; readonly event: string; readonly fields: readonly TraceField[] }

/**
 * Parse the text of a tracefs `events/<system>/<event>/format` file. Returns undefined when it holds no
 * `name:` line. `__data_loc char[] filename` gives the field `filename`; array suffixes are dropped.
 */
export function parseTraceFormat(system: string, text: string): TraceFormat | undefined {
  const name = /^name:\s*(\S+)/m.exec(text);
  if (!name) return undefined;
  const fields: TraceField[] = [];
  for (const m of text.matchAll(/field:([^;]*);\s*offset:(\d+);\s*size:(\d+);/g)) {
    const decl = m[1].trim().replace(/\[[^\]]*\]\s*$/, "");
    const fieldName = decl.split(/[\s*]+/).pop() ?? "";
    if (fieldName === "" || fieldName.startsWith("common_")) continue;
    fields.push({ name: fieldName, offset: Number(m[2]), size: Number(m[3]) });
  }
  return { system, event: name[1], fields };
}

/**
 * Read every event format under a tracefs mount (`<dir>/events/<system>/<event>/format`), keyed by event
 * name (the first system wins on a clash, systems in sorted order). Unreadable entries are skipped; a
 * missing or unreadable tracefs gives an empty map.
 */
export function readTracefsFormats(dir?: string): Map<string, TraceFormat> {
  const out = new Map<string, TraceFormat>();
  const dirs = dir === undefined ? TRACEFS_DIRS : [dir];
  for (const base of dirs) {
    let systems: string[];
    try {
      systems = readdirSync(join(base, "events"), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
    } catch {
      continue;
    }
    for (const system of systems) {
      let events: string[];
      try {
        events = readdirSync(join(base, "events", system)).sort();
      } catch {
        continue;
      }
      for (const event of events) {
        if (out.has(event)) continue;
        let text: string;
        try {
          // --tracefs may name any directory: a "format" that is a FIFO or device is skipped, not read.
          text = readUserFile(join(base, "events", system, event, "format"), "tracepoint format", 1024 * 1024).toString("utf8");
        } catch {
          continue;
        }
        const f = parseTraceFormat(system, text);
        if (f && !out.has(f.event)) out.set(f.event, f);
      }
    }
    if (out.size > 0) break;
  }
  return out;
}

/** Ids of every `trace_event_raw_*` struct, by class name (the part after the prefix), sorted by name. */
export function traceEventClasses(btf: Btf): Map<string, number> {
  const found: [string, number][] = [];
  for (const id of btf.ids()) {
    if (btf.kindOf(id) !== "struct") continue;
    const name = btf.nameOf(id);
    if (name.startsWith(RAW_STRUCT_PREFIX) && name.length > RAW_STRUCT_PREFIX.length) {
      found.push([name.slice(RAW_STRUCT_PREFIX.length), id]);
    }
  }
  found.sort((a, b) => cmp(a[0], b[0]) || a[1] - b[1]);
  const out = new Map<string, number>();
  for (const [name, id] of found) if (!out.has(name)) out.set(name, id);
  return out;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The prototype's parameter type ids after the leading `void *__data`, as a key; undefined if not a proto. */
export function signature(btf: Btf, protoId: number): string | undefined {
  const t = btf.type(btf.skipQualifiers(protoId));
  if (t.kind !== "func_proto" || t.params.length === 0) return undefined;
  return t.params.slice(1).map((p) => p.type).join(",");
}

/** Length of the common prefix of two strings. */
export function commonPrefix(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

/** Does the struct lay out exactly the fields of a tracefs format (beside `ent` and `__data`)? */
function layoutMatches(btf: Btf, structId: number, format: TraceFormat): boolean {
  const t = btf.type(structId);
  if (t.kind !== "struct") return false;
  const byName = new Map<string, number>();
  for (const m of t.members) {
    if (m.name === "ent" || m.name === "__data" || m.name === "") continue;
    byName.set(m.name.replace(/^__(?:data|rel)_loc_/, ""), m.bitOffset);
  }
  if (byName.size !== format.fields.length) return false;
  return format.fields.every((f) => byName.get(f.name) === f.offset * 8);
}

/** Options of {@link tracepointContexts}. */
export interface TracepointContextOptions {
  /**
   * tracefs formats of the same kernel (see {@link readTracefsFormats}). With them every event's class is
   * checked field by field and events are found even when the prototype match is ambiguous.
   */
  readonly formats?: ReadonlyMap<string, TraceFormat>;
}

/**
 * Map every tracepoint event that has a trace event class to its context struct id, sorted by event name.
 *
 * BTF does not record which class an event belongs to, so it is inferred. Candidates, in order: the class
 * named like the event (`sched_process_exec`); the classes whose probe prototype
 * (`trace_event_raw_event_<class>`) takes the same argument types as the event's raw tracepoint prototype
 * (`btf_trace_<event>`), longest common name prefix first (`sched_wakeup` → `sched_wakeup_template`).
 * Without tracefs formats the first candidate is taken when it is the event's own class or the only one
 * with the longest prefix; events with a tie or no candidate are left out. With formats the first
 * candidate whose members match the event's fields is taken (every class is tried last).
 */
export function tracepointContexts(btf: Btf, opts: TracepointContextOptions = {}): Map<string, number> {
  const classes = traceEventClasses(btf);
  const formats = opts.formats;
  const bySignature = new Map<string, string[]>();
  for (const cls of classes.keys()) {
    let sig: string | undefined;
    for (const prefix of CLASS_FUNC_PREFIXES) {
      for (const f of btf.find(prefix + cls, "func")) {
        const fn = btf.type(f);
        if (fn.kind === "func") sig = signature(btf, fn.type);
        if (sig !== undefined) break;
      }
      if (sig !== undefined) break;
    }
    if (sig === undefined) continue;
    const list = bySignature.get(sig);
    if (list) list.push(cls);
    else bySignature.set(sig, [cls]);
  }

  /** Event name → its raw tracepoint typedef id (undefined: only known from tracefs). */
  const events = new Map<string, number | undefined>();
  for (const id of btf.ids()) {
    if (btf.kindOf(id) !== "typedef") continue;
    const name = btf.nameOf(id);
    if (name.startsWith(EVENT_TYPEDEF_PREFIX) && name.length > EVENT_TYPEDEF_PREFIX.length) {
      const event = name.slice(EVENT_TYPEDEF_PREFIX.length);
      if (!events.has(event)) events.set(event, id);
    }
  }
  if (formats) for (const event of formats.keys()) if (!events.has(event)) events.set(event, undefined);

  const out = new Map<string, number>();
  for (const event of [...events.keys()].sort(cmp)) {
    const typedefId = events.get(event);
    const candidates: string[] = [];
    if (classes.has(event)) candidates.push(event);
    let tied = false;
    if (typedefId !== undefined) {
      const td = btf.type(typedefId);
      const ptr = td.kind === "typedef" ? btf.type(btf.skipQualifiers(td.type)) : undefined;
      const sig = ptr?.kind === "ptr" ? signature(btf, ptr.type) : undefined;
      const same = (sig === undefined ? undefined : bySignature.get(sig)) ?? [];
      const ranked = same
        .filter((c) => c !== event)
        .map((c) => [c, commonPrefix(c, event)] as const)
        .sort((a, b) => b[1] - a[1] || cmp(a[0], b[0]));
      if (ranked.length > 1 && ranked[0][1] === ranked[1][1]) tied = true;
      for (const [c, n] of ranked) if (n > 0) candidates.push(c);
    }
    const format = formats?.get(event);
    if (format) {
      const pick = candidates.find((c) => layoutMatches(btf, classes.get(c)!, format))
        ?? [...classes.keys()].find((c) => layoutMatches(btf, classes.get(c)!, format));
      if (pick !== undefined) out.set(event, classes.get(pick)!);
      continue;
    }
    if (candidates.length === 0) continue;
    if (candidates[0] === event || (candidates.length === 1 && !tied)) out.set(event, classes.get(candidates[0])!);
  }
  return out;
}
