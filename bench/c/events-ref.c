// Reference consumer for bench/events.ts: libbpf's ring_buffer__poll or perf_buffer__poll on a pinned
// map, counting records until the end marker (seq 0xffffffff); prints JSON with the count, the time
// from the first record to the marker, and perf's lost-sample count.
//
// Build (bench/events.ts does this into .cache/bench/): gcc -O2 -o events-ref events-ref.c -lbpf -lelf -lz
// Usage: events-ref rb|pb <map pin> <perf pages>   (prints "ready" once polling, then the JSON line)

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long count;
static unsigned long long sum, lost;
static double t_first, t_end;
static int done;

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void record(const void *data)
{
	unsigned int seq = *(const unsigned int *)data;

	if (seq == 0xffffffffu) {
		t_end = now_s();
		done = 1;
		return;
	}
	if (count++ == 0)
		t_first = now_s();
	sum += seq;
}

static int on_rb(void *ctx, void *data, size_t size)
{
	record(data);
	return 0;
}

static void on_pb(void *ctx, int cpu, void *data, __u32 size)
{
	record(data);
}

static void on_lost(void *ctx, int cpu, __u64 n)
{
	lost += n;
}

int main(int argc, char **argv)
{
	int fd;

	if (argc != 4) {
		fprintf(stderr, "usage: %s rb|pb <map pin> <perf pages>\n", argv[0]);
		return 2;
	}
	fd = bpf_obj_get(argv[2]);
	if (fd < 0) {
		perror("bpf_obj_get");
		return 1;
	}
	if (!strcmp(argv[1], "rb")) {
		struct ring_buffer *rb = ring_buffer__new(fd, on_rb, NULL, NULL);

		if (!rb)
			return 1;
		printf("ready\n");
		fflush(stdout);
		while (!done)
			if (ring_buffer__poll(rb, 1000) < 0)
				return 1;
		ring_buffer__free(rb);
	} else {
		struct perf_buffer *pb = perf_buffer__new(fd, atoi(argv[3]), on_pb, on_lost, NULL, NULL);

		if (!pb)
			return 1;
		printf("ready\n");
		fflush(stdout);
		while (!done)
			if (perf_buffer__poll(pb, 1000) < 0)
				return 1;
		perf_buffer__free(pb);
	}
	printf("{\"events\":%ld,\"seconds\":%.6f,\"lost\":%llu,\"sum\":%llu}\n", count, t_end - t_first, lost, sum);
	return 0;
}
