// SPDX-License-Identifier: GPL-2.0
/* events.bpf.c: producers for bench/events.ts, run through BPF_PROG_TEST_RUN by bench/c/events-producer.c.
 * Ring buffer: syscall programs write ctx->n 16- or 256-byte records (reserve/submit) in one bpf_loop;
 * perf buffer: XDP programs (run with repeat) write 32 samples each with bpf_perf_event_output. A test
 * run costs about 2 us outside the program on this VM, so one record per run would measure the test-run
 * machinery, not the consumers. The *_end programs write one end marker (seq 0xffffffff) and return 1
 * (syscall) / XDP_PASS only when it was written, so the producer retries them until it fits.
 * Ring buffer records ask for a wake-up only every 64th record (and for the end marker), as libbpf's
 * ringbuf benchmark does: otherwise the producer spends its time waking the consumer, and the figure
 * measures wake-ups instead of consumers. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define END 0xffffffffu

struct rec16 {
	__u32 seq;
	__u32 pad;
	__u64 value;
};

struct rec256 {
	__u32 seq;
	__u32 pad;
	__u64 value;
	__u8 payload[240];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} rb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} pb SEC(".maps");

__u32 seq;
__u64 drops;

static __always_inline int rb_emit(__u32 size, __u32 s)
{
	__u64 flags = (s & 63) == 63 ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;

	if (size == 16) {
		struct rec16 *r = bpf_ringbuf_reserve(&rb, sizeof(*r), 0);
		if (!r)
			goto drop;
		r->seq = s;
		r->value = s;
		bpf_ringbuf_submit(r, flags);
	} else {
		struct rec256 *r = bpf_ringbuf_reserve(&rb, sizeof(*r), 0);
		if (!r)
			goto drop;
		r->seq = s;
		r->value = s;
		bpf_ringbuf_submit(r, flags);
	}
	return XDP_PASS;
drop:
	__sync_fetch_and_add(&drops, 1);
	return XDP_DROP;
}

static __always_inline int pb_emit(struct xdp_md *ctx, __u32 size, __u32 s)
{
	struct rec256 r;

	r.seq = s;
	r.value = s;
	if (bpf_perf_event_output(ctx, &pb, BPF_F_CURRENT_CPU, &r, size)) {
		__sync_fetch_and_add(&drops, 1);
		return XDP_DROP;
	}
	return XDP_PASS;
}

struct loop_args {
	__u32 n;
};

static long rb16_one(__u64 i, void *data)
{
	rb_emit(16, seq++);
	return 0;
}

static long rb256_one(__u64 i, void *data)
{
	rb_emit(256, seq++);
	return 0;
}

SEC("syscall") int rb16(struct loop_args *a) { return bpf_loop(a->n, rb16_one, 0, 0); }
SEC("syscall") int rb256(struct loop_args *a) { return bpf_loop(a->n, rb256_one, 0, 0); }
SEC("syscall") int rb16_end(struct loop_args *a) { return rb_emit(16, END) == XDP_PASS; }
SEC("syscall") int rb256_end(struct loop_args *a) { return rb_emit(256, END) == XDP_PASS; }

#define PERF_BATCH 32

static __always_inline int pb_batch(struct xdp_md *ctx, __u32 size)
{
	int i;

	for (i = 0; i < PERF_BATCH; i++)
		pb_emit(ctx, size, seq++);
	return XDP_PASS;
}

SEC("xdp") int pb16(struct xdp_md *ctx) { return pb_batch(ctx, 16); }
SEC("xdp") int pb256(struct xdp_md *ctx) { return pb_batch(ctx, 256); }
SEC("xdp") int pb16_end(struct xdp_md *ctx) { return pb_emit(ctx, 16, END); }
SEC("xdp") int pb256_end(struct xdp_md *ctx) { return pb_emit(ctx, 256, END); }

char LICENSE[] SEC("license") = "GPL";
