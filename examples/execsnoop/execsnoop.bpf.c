// SPDX-License-Identifier: GPL-2.0
/*
 * execsnoop.bpf.c: kernel half of the execsnoop example (C version, built with clang).
 *
 * On every successful execve (tracepoint sched/sched_process_exec) it reserves one event in
 * the ring buffer map `events` and submits it. Event layout (little-endian, 4-byte aligned,
 * 284 bytes; userspace decodes it with the same layout):
 *
 *   offset  size  field
 *        0     4  pid       u32  process id (tgid) after exec
 *        4     4  ppid      u32  parent's process id, read via CO-RE: task->real_parent->tgid
 *        8     4  uid       u32  real uid
 *       12    16  comm      char[16], NUL-padded: the new command name
 *       28   256  filename  char[256], NUL-terminated: the path passed to execve
 *
 * `struct task_struct` and the tracepoint's context struct are declared here with only the
 * fields used, marked preserve_access_index, so no generated vmlinux.h is needed: the loader
 * relocates the offsets against the running kernel's BTF (CO-RE).
 * Build: bash scripts/build-bpf.sh examples/execsnoop/execsnoop.bpf.c <out.o>
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#define TASK_COMM_LEN 16
#define FILENAME_LEN 256

struct task_struct {
	int tgid;
	struct task_struct *real_parent;
} __attribute__((preserve_access_index));

/* The tracepoint's raw record, as in /sys/kernel/tracing/events/sched/sched_process_exec/format. */
struct trace_event_raw_sched_process_exec {
	__u32 __data_loc_filename;
	int pid;
	int old_pid;
} __attribute__((preserve_access_index));

struct exec_event {
	__u32 pid;
	__u32 ppid;
	__u32 uid;
	char comm[TASK_COMM_LEN];
	char filename[FILENAME_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

SEC("tracepoint/sched/sched_process_exec")
int handle_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct exec_event *ev;
	__u32 fname_off;

	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev)
		return 0;
	ev->pid = bpf_get_current_pid_tgid() >> 32;
	ev->ppid = BPF_CORE_READ(task, real_parent, tgid);
	ev->uid = (__u32)bpf_get_current_uid_gid();
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	/* __data_loc: low 16 bits are the offset of the string from the start of the record. */
	fname_off = ctx->__data_loc_filename & 0xFFFF;
	bpf_probe_read_kernel_str(ev->filename, sizeof(ev->filename), (void *)ctx + fname_off);
	bpf_ringbuf_submit(ev, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
