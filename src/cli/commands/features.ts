// `tsbpf features`: ask the running kernel what it has (program, map, link and attach types, helpers,
// kfuncs, BTF kinds, instruction sets, iterators) with the probes of src/features.ts and print the
// answers, as text or as the Markdown table in docs/features.md (`--markdown`, `npm run features`).

import { release } from "node:os";
import { Command } from "commander";
import pc from "../colors.js";
import { TsbpfError } from "../../errors.js";
import { createToken } from "../../runtime/token.js";
import {
  haveAttachType, haveBtfKind, haveHelper, haveInstructionSet, haveIterTarget, haveKfunc, haveLinkType, haveMapType,
  haveProgramType, probeScope, type FeatureResult, type ProbeOptions,
} from "../../features.js";
import type { MapTypeName } from "../../object/spec.js";
import type { AttachTypeName, ProgramTypeName } from "../../object/sections.js";
import { LINK_TYPE, MAP_TYPE, PROG_TYPE } from "../../sys/constants.js";

/** One probe of the standard set: a group, what is asked, and the probe. */
export interface FeatureRow {
  readonly group: string;
  readonly feature: string;
  /** The answer, or the error when the probe could not decide. */
  readonly result: FeatureResult | TsbpfError;
}

const ATTACH_PAIRS: readonly [ProgramTypeName, AttachTypeName][] = [
  ["CGROUP_SOCK_ADDR", "CGROUP_UNIX_CONNECT"], ["SCHED_CLS", "TCX_INGRESS"], ["SCHED_CLS", "NETKIT_PRIMARY"],
  ["TRACING", "TRACE_RAW_TP"], ["TRACING", "TRACE_FENTRY"], ["TRACING", "TRACE_FEXIT"], ["TRACING", "MODIFY_RETURN"],
  ["TRACING", "TRACE_ITER"], ["LSM", "LSM_MAC"], ["LSM", "LSM_CGROUP"], ["KPROBE", "TRACE_KPROBE_MULTI"],
  ["KPROBE", "TRACE_KPROBE_SESSION"], ["KPROBE", "TRACE_UPROBE_MULTI"], ["KPROBE", "TRACE_UPROBE_SESSION"],
  ["NETFILTER", "NETFILTER"], ["SK_LOOKUP", "SK_LOOKUP"], ["SK_REUSEPORT", "SK_REUSEPORT_SELECT_OR_MIGRATE"],
];
const HELPERS: readonly [ProgramTypeName, string][] = [
  ["XDP", "map_lookup_elem"], ["TRACEPOINT", "ringbuf_output"], ["KPROBE", "probe_read_kernel"], ["TRACING", "get_func_ip"],
  ["SCHED_CLS", "skb_load_bytes"], ["TRACEPOINT", "skb_load_bytes"], ["KPROBE", "override_return"], ["SYSCALL", "sys_bpf"],
  ["TRACEPOINT", "loop"], ["XDP", "xdp_load_bytes"],
];
const KFUNCS: readonly [string, ProgramTypeName?][] = [
  ["bpf_task_acquire"], ["bpf_task_from_pid", "SYSCALL"], ["bpf_obj_new_impl"], ["bpf_dynptr_from_skb", "SCHED_CLS"],
  ["bpf_dynptr_from_skb", "XDP"], ["bpf_iter_num_new"], ["bpf_arena_alloc_pages"],
];
const ITERATORS = ["task", "task_file", "task_vma", "bpf_map", "bpf_prog", "bpf_link", "bpf_map_elem", "bpf_sk_storage_map", "sockmap", "tcp", "udp", "unix", "netlink", "ipv6_route", "cgroup", "ksym", "kmem_cache", "dmabuf"];
const BTF_KINDS = ["int", "ptr", "array", "struct", "union", "enum", "fwd", "typedef", "volatile", "const", "restrict", "func", "func_proto", "var", "datasec", "float", "decl_tag", "type_tag", "enum64"] as const;

function ask(group: string, feature: string, probe: () => FeatureResult): FeatureRow {
  try {
    return { group, feature, result: probe() };
  } catch (e) {
    if (e instanceof TsbpfError) return { group, feature, result: e };
    throw e;
  }
}

/** Runs the standard set of probes (everything `tsbpf features` prints), through `opts.token` as a load would. */
export function standardFeatureRows(opts: ProbeOptions = {}): FeatureRow[] {
  return probeScope(opts, standardRows);
}

function standardRows(): FeatureRow[] {
  const rows: FeatureRow[] = [];
  for (const t of Object.keys(PROG_TYPE) as (ProgramTypeName | "UNSPEC")[]) if (t !== "UNSPEC") rows.push(ask("program type", t, () => haveProgramType(t)));
  for (const t of Object.keys(MAP_TYPE) as MapTypeName[]) if (t !== "UNSPEC") rows.push(ask("map type", t, () => haveMapType(t)));
  for (const t of Object.keys(LINK_TYPE) as (keyof typeof LINK_TYPE)[]) if (t !== "UNSPEC") rows.push(ask("link type", t, () => haveLinkType(t)));
  for (const [p, a] of ATTACH_PAIRS) rows.push(ask("attach type", `${a} (${p})`, () => haveAttachType(p, a)));
  for (const [p, h] of HELPERS) rows.push(ask("helper", `bpf_${h} (${p})`, () => haveHelper(p, h)));
  for (const [k, p] of KFUNCS) rows.push(ask("kfunc", p ? `${k} (${p})` : k, () => haveKfunc(k, p)));
  for (const i of ITERATORS) rows.push(ask("iterator", i, () => haveIterTarget(i)));
  for (const k of BTF_KINDS) rows.push(ask("BTF kind", k.toUpperCase(), () => haveBtfKind(k)));
  for (const v of ["v2", "v3", "v4"] as const) rows.push(ask("instruction set", v, () => haveInstructionSet(v)));
  return rows;
}

function answer(r: FeatureRow["result"]): { status: string; detail: string } {
  if (r instanceof TsbpfError) return { status: "error", detail: r.message };
  if (r.status === "yes") return { status: "yes", detail: "" };
  return { status: r.status, detail: `${r.errnoCode}: ${r.reason}` };
}

/** The Markdown table of `rows` (docs/features.md). */
export function featuresMarkdown(rows: readonly FeatureRow[], kernel = release()): string[] {
  const out = [`Answers on Linux ${kernel} (\`npm run features -- --markdown\`):`, "", "| kind | feature | answer | why (errno: reason) |", "| --- | --- | --- | --- |"];
  for (const row of rows) {
    const a = answer(row.result);
    out.push(`| ${row.group} | ${row.feature} | ${a.status === "yes" ? "yes" : `**${a.status}**`} | ${a.detail.replace(/\|/g, "\\|")} |`);
  }
  return out;
}

export function featuresCommand(): Command {
  return new Command("features")
    .description("probe the running kernel for program, map, link and attach types, helpers, kfuncs, BTF kinds, instruction sets and iterators")
    .option("--markdown", "print a Markdown table (as in docs/features.md)")
    .option("--json", "print JSON")
    .option("--token <bpffs>", "probe through a BPF token from this delegated bpffs mount (in a user namespace; default as for tsbpf load; see docs/token.md)")
    .option("--no-token", "probe without a BPF token, whatever the environment says")
    .action((opts: { markdown?: boolean; json?: boolean; token?: string | false }) => {
      // A named token is made up front: a bad bpffs ends the command with its TokenError rather than
      // turning every row into that error.
      using token = typeof opts.token === "string" ? createToken(opts.token) : undefined;
      const rows = standardFeatureRows(token ? { token } : opts.token === false ? { token: false } : {});
      if (opts.json) {
        process.stdout.write(JSON.stringify(rows.map((r) => ({ group: r.group, feature: r.feature, ...answer(r.result) })), null, 2) + "\n");
      } else if (opts.markdown) {
        process.stdout.write(featuresMarkdown(rows).join("\n") + "\n");
      } else {
        const color = { yes: pc.green, no: pc.yellow, refused: pc.red, error: pc.magenta } as Record<string, (s: string) => string>;
        for (const row of rows) {
          const a = answer(row.result);
          process.stdout.write(`${row.group.padEnd(16)} ${row.feature.padEnd(44)} ${(color[a.status] ?? String)(a.status.padEnd(8))} ${pc.dim(a.detail)}\n`);
        }
      }
    });
}
