// Producer for bench/events.ts: runs a pinned program of bench/c/events.bpf.c through BPF_PROG_TEST_RUN
// until `total` records were attempted, then its end-marker program until the marker fits.
// Mode "loop" (ring buffer, syscall programs): each run writes `batch` records (ctx->n);
// mode "xdp" (perf buffer): each run with repeat r writes 32*r samples.
//
// Build (bench/events.ts does this into .cache/bench/): gcc -O2 -o events-producer events-producer.c -lbpf
// Usage: events-producer loop|xdp <prog pin> <end prog pin> <total> <batch>

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int run(int fd, int loop, int n)
{
	char pkt[64] = {0}, out[64 + 256];
	unsigned int args = n;
	LIBBPF_OPTS(bpf_test_run_opts, o);

	if (loop) {
		o.ctx_in = &args;
		o.ctx_size_in = sizeof(args);
	} else {
		o.data_in = pkt;
		o.data_size_in = sizeof(pkt);
		o.data_out = out;
		o.data_size_out = sizeof(out);
		o.repeat = n;
	}
	if (bpf_prog_test_run_opts(fd, &o)) {
		perror("bpf_prog_test_run_opts");
		exit(1);
	}
	return o.retval;
}

int main(int argc, char **argv)
{
	long total, batch, done = 0;
	int prog, end, loop;

	if (argc != 6) {
		fprintf(stderr, "usage: %s loop|xdp <prog pin> <end prog pin> <total> <batch>\n", argv[0]);
		return 2;
	}
	loop = argv[1][0] == 'l';
	prog = bpf_obj_get(argv[2]);
	end = bpf_obj_get(argv[3]);
	total = atol(argv[4]);
	batch = atol(argv[5]);
	if (prog < 0 || end < 0) {
		perror("bpf_obj_get");
		return 1;
	}
	while (done < total) {
		long left = loop ? total - done : (total - done + 31) / 32;
		int n = (int)(left < batch ? left : batch);

		run(prog, loop, n);
		done += loop ? n : 32L * n;
	}
	for (int tries = 0; tries < 100000; tries++) {
		int r = run(end, loop, 1);

		if ((loop && r == 1) || (!loop && r == XDP_PASS))
			return 0;
		usleep(100);
	}
	fprintf(stderr, "end marker never fit\n");
	return 1;
}
