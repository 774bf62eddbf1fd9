// Regenerates src/kernel/vmlinux.ts, the kernel-type declarations shipped with tsbpf/kernel, from this
// machine's BTF: `node --import tsx scripts/gen-vmlinux.ts [--btf <path>] [--check] [--measure]`.

import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { runGenVmlinux } from "../src/cli/commands/gen.js";

/** Root types of the shipped subset (their closure to SHIPPED_DEPTH pointer hops comes along). */
export const SHIPPED_ROOTS = [
  "task_struct", "mm_struct", "cred", "file", "path", "dentry", "inode", "super_block", "vfsmount",
  "sock", "sock_common", "socket", "sk_buff", "net_device", "iphdr", "ipv6hdr", "tcphdr", "udphdr",
  "ethhdr", "pt_regs", "linux_binprm", "qstr", "ns_common", "pid", "nsproxy", "cgroup", "css_set",
  "bpf_map",
] as const;
/** Kernel functions whose prototypes are shipped (typed `ctx.args` for fentry/fexit on them). */
export const SHIPPED_FUNCTIONS = [
  "__netif_receive_skb", "__sys_bind", "__sys_connect", "__x64_sys_getpgid", "__x64_sys_getsid", "blk_account_io_done",
  "blk_mq_start_request", "bprm_execve", "consume_skb", "dev_queue_xmit", "do_exit", "do_filp_open", "do_group_exit",
  "do_mmap", "do_nanosleep", "do_sys_openat2", "do_unlinkat", "down_read", "filp_close", "finish_task_switch",
  "handle_mm_fault", "hrtimer_nanosleep", "icmp_rcv", "inet_bind", "inet_csk_accept", "inet_listen", "ip_output", "ip_rcv",
  "kfree", "ksys_read", "ksys_write", "mutex_lock", "mutex_unlock", "netif_receive_skb", "nf_hook_slow", "schedule",
  "security_bprm_check", "security_file_open", "security_socket_connect", "security_task_getsid", "sock_recvmsg",
  "sock_sendmsg", "submit_bio", "tcp_close", "tcp_connect", "tcp_rcv_established", "tcp_recvmsg", "tcp_retransmit_skb",
  "tcp_sendmsg", "tcp_set_state", "tcp_v4_connect", "tcp_v4_rcv", "tcp_v6_connect", "try_to_wake_up", "udp_rcv",
  "udp_recvmsg", "udp_sendmsg", "up_read", "vfs_fsync", "vfs_mkdir", "vfs_open", "vfs_read", "vfs_rename", "vfs_rmdir",
  "vfs_unlink", "vfs_write", "wake_up_new_task",
] as const;
/** Enumerator prefixes whose enums (anonymous ones included) are shipped as constants. */
export const SHIPPED_CONSTANTS = ["TCP_", "IPPROTO_", "BPF_F_", "BPF_ANY", "TASK_COMM_LEN", "SOCK_", "XDP_", "TC_ACT_", "BPF_SOCK_OPS_"] as const;
/** Syscalls whose tracepoint records (sys_enter_/sys_exit_, from tracefs) are shipped in SyscallTracepoints. */
export const SHIPPED_SYSCALLS = [
  "accept", "accept4", "bind", "bpf", "chdir", "clone", "clone3", "close", "connect", "dup", "dup2", "dup3", "execve",
  "execveat", "exit", "exit_group", "fchmodat", "fchownat", "fork", "fsync", "getdents64", "ioctl", "kill", "listen",
  "mkdirat", "mmap", "mount", "mprotect", "munmap", "nanosleep", "newfstatat", "open", "openat", "openat2", "pipe2",
  "pread64", "ptrace", "pwrite64", "read", "readv", "recvfrom", "recvmsg", "renameat2", "sendmsg", "sendto", "setns",
  "setuid", "socket", "statx", "tgkill", "umount", "unlink", "unlinkat", "unshare", "vfork", "wait4", "write", "writev",
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
    hooks: true,
    functions: SHIPPED_FUNCTIONS,
    constants: SHIPPED_CONSTANTS,
    syscalls: SHIPPED_SYSCALLS,
    importFrom: "./index.js",
    generator: "scripts/gen-vmlinux.ts (tsbpf gen vmlinux --tracepoints --hooks --depth 3 --types <roots> --functions <functions> --constants <prefixes in the script> --syscalls <syscalls in the script>)",
  }).text;
}

/** A tiny kernel program's worth of type-checking against the shipped declarations. */
const MEASURE_SOURCE = [
  'import type { task_struct, TracepointContexts } from "./index.js";',
  "declare const task: task_struct;",
  "export const ppid: number = task.real_parent.tgid;",
  'declare const ctx: TracepointContexts["sched_process_exec"];',
  "export const pid: number = ctx.pid;",
  "",
].join("\n");

/** Timings of {@link measureTypecheck}, in milliseconds (best of the rounds). */
export interface TypecheckTimes { cold: number; warm: number; full: number; diagnostics: number }

/**
 * Time type-checking a tiny file in src/kernel that imports `importFrom` ("./vmlinux.js": the shipped
 * declarations alone; "./index.js": all of tsbpf/kernel, with node types like the project's tsconfig):
 * cold (parse + bind + check the user file), warm (edit the user file, re-check with the old program)
 * and every file's diagnostics with parsed files cached (like `tsc --noEmit`).
 */
export function measureTypecheck(importFrom = "./vmlinux.js", rounds = 3): TypecheckTimes {
  const kernelDir = dirname(SHIPPED_PATH);
  const user = join(kernelDir, "__measure__.ts");
  const opts: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true, noEmit: true, skipLibCheck: true, verbatimModuleSyntax: true,
    types: importFrom === "./index.js" ? ["node"] : [], lib: ["lib.es2023.d.ts", "lib.esnext.disposable.d.ts"],
  };
  let best = { cold: Infinity, warm: Infinity, full: Infinity, diagnostics: 0 };
  for (let r = 0; r < rounds; r++) {
    let text = MEASURE_SOURCE.replace('"./index.js"', JSON.stringify(importFrom));
    const base = ts.createCompilerHost(opts);
    const cache = new Map<string, ts.SourceFile>();
    const host: ts.CompilerHost = {
      ...base,
      fileExists: (f) => f === user || base.fileExists(f),
      readFile: (f) => (f === user ? text : base.readFile(f)),
      getSourceFile: (f, lang, onError, create) => {
        if (f === user) return ts.createSourceFile(f, text, lang, true);
        let sf = cache.get(f);
        if (!sf) {
          sf = base.getSourceFile(f, lang, onError, create);
          if (sf) cache.set(f, sf);
        }
        return sf;
      },
    };
    let t0 = performance.now();
    const p1 = ts.createProgram([user], opts, host);
    const d1 = p1.getSemanticDiagnostics(p1.getSourceFile(user));
    const cold = performance.now() - t0;
    text += "export const again: number = task.tgid;\n";
    t0 = performance.now();
    const p2 = ts.createProgram([user], opts, host, p1);
    p2.getSemanticDiagnostics(p2.getSourceFile(user));
    const warm = performance.now() - t0;
    t0 = performance.now();
    const all = ts.getPreEmitDiagnostics(ts.createProgram([user], opts, host));
    const full = performance.now() - t0;
    best = { cold: Math.min(best.cold, cold), warm: Math.min(best.warm, warm), full: Math.min(best.full, full), diagnostics: d1.length };
  }
  return best;
}

function main(argv: readonly string[]): void {
  if (argv.includes("--measure")) {
    const size = readFileSync(SHIPPED_PATH).length;
    process.stdout.write(`${SHIPPED_PATH}: ${size} bytes\n`);
    const targets = ["./vmlinux.js"];
    if (existsSync(join(dirname(SHIPPED_PATH), "index.ts"))) targets.push("./index.js");
    for (const from of targets) {
      const m = measureTypecheck(from);
      process.stdout.write(
        `tiny file importing ${from}: cold ${m.cold.toFixed(0)} ms, warm ${m.warm.toFixed(0)} ms, ` +
          `all files (cached parse) ${m.full.toFixed(0)} ms, ${m.diagnostics} diagnostics in the tiny file\n`,
      );
    }
    return;
  }
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
