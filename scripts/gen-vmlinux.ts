// Regenerates src/kernel/vmlinux.ts, the kernel-type declarations shipped with tsbpf/kernel, from this
// machine's BTF: `node --import tsx scripts/gen-vmlinux.ts [--btf <path>] [--check]`.

import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { runGenVmlinux } from "../src/cli/commands/gen.js";

/** Root types of the shipped subset (their closure to SHIPPED_DEPTH pointer hops comes along). */
export const SHIPPED_ROOTS = [
  "task_struct", "mm_struct", "cred", "file", "path", "dentry", "inode", "super_block", "vfsmount",
  "sock", "sock_common", "socket", "sk_buff", "net_device", "iphdr", "ipv6hdr", "tcphdr", "udphdr",
  "ethhdr", "pt_regs", "linux_binprm", "qstr", "ns_common", "pid", "nsproxy", "cgroup", "css_set",
  "bpf_map",
] as const;
/** Pointer depth of the shipped subset (the closure of these roots is nearly complete at 3). */
export const SHIPPED_DEPTH = 3;
/** Where the shipped declarations live. */
export const SHIPPED_PATH = fileURLToPath(new URL("../src/kernel/vmlinux.ts", import.meta.url));

/** The text of the shipped file for a BTF file (default: the running kernel's). */
export function shippedVmlinux(btf?: string): string {
  return runGenVmlinux({
    ...(btf !== undefined ? { btf } : {}),
    types: SHIPPED_ROOTS,
    depth: SHIPPED_DEPTH,
    tracepoints: true,
    importFrom: "./index.js",
    generator: "scripts/gen-vmlinux.ts (tsbpf gen vmlinux --tracepoints --depth 3 --types <roots in the script>)",
  }).text;
}

function main(argv: readonly string[]): void {
  const at = argv.indexOf("--btf");
  const text = shippedVmlinux(at >= 0 ? argv[at + 1] : undefined);
  if (argv.includes("--check")) {
    let current = "";
    try {
      current = readFileSync(SHIPPED_PATH, "utf8");
    } catch {
      // missing: differs
    }
    if (current !== text) {
      process.stderr.write(`${SHIPPED_PATH} is out of date; run scripts/gen-vmlinux.ts\n`);
      process.exitCode = 1;
    }
    return;
  }
  writeFileSync(SHIPPED_PATH, text);
  process.stderr.write(`${SHIPPED_PATH}: ${text.length} bytes\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main(process.argv.slice(2));
