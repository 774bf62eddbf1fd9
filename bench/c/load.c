// Reference loader for bench/load.ts: times libbpf open + load (+ attach of the first program), then
// destroy, of one BPF object N times, and prints per-iteration statistics in microseconds as JSON.
//
// Build (bench/load.ts does this into .cache/bench/): gcc -O2 -o load load.c -lbpf -lelf -lz
// Usage: load <object.o> <iterations> <warmup> <attach: 0|1>
// Prints {"ready":{...},"cycle":{...},"iterations":n,"program":"name","libbpf":"v1.x"} where "ready" times
// open+load+attach (until the program is live) and "cycle" adds the destroy (detach + close); each
// has first (the process's very first iteration: feature probes, cold caches), then mean, median,
// min and every sample ("samples", in run order) of the `iterations` runs that follow `warmup`
// discarded ones.

#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct stats {
	double first, sum, *times;
};

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Only warnings and errors reach stderr; libbpf's debug output would distort the timing. */
static int print_warnings(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG || level == LIBBPF_INFO)
		return 0;
	return vfprintf(stderr, fmt, args);
}

/*
 * One iteration: open, load, optionally attach the first program (ready time), then destroy the
 * link and the object (cycle time). Returns 0 or a negative errno.
 */
static int run_once(const char *path, int attach, char *prog_name, size_t name_size, double *ready, double *cycle)
{
	double t0 = now_us();
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct bpf_link *link = NULL;
	int err;

	obj = bpf_object__open_file(path, NULL);
	if (!obj)
		return -errno;
	err = bpf_object__load(obj);
	if (err)
		goto out;
	prog = bpf_object__next_program(obj, NULL);
	if (!prog) {
		err = -ENOENT;
		goto out;
	}
	if (attach) {
		link = bpf_program__attach(prog);
		if (!link) {
			err = -errno;
			goto out;
		}
	}
	*ready = now_us() - t0;
	snprintf(prog_name, name_size, "%s", bpf_program__name(prog));
	bpf_link__destroy(link);
out:
	bpf_object__close(obj);
	*cycle = now_us() - t0;
	return err;
}

static void record(struct stats *s, int i, int warmup, double dt)
{
	if (i == -1) {
		s->first = dt;
	} else if (i >= warmup) {
		s->times[i - warmup] = dt;
		s->sum += dt;
	}
}

static void print_stats(const char *name, struct stats *s, int n)
{
	printf("\"%s\":{\"samples\":[", name);
	for (int i = 0; i < n; i++)
		printf("%s%.1f", i ? "," : "", s->times[i]);
	qsort(s->times, n, sizeof(*s->times), cmp_double);
	printf("],\"first\":%.1f,\"mean\":%.1f,\"median\":%.1f,\"min\":%.1f}", s->first, s->sum / n,
	       s->times[n / 2], s->times[0]);
}

int main(int argc, char **argv)
{
	struct stats ready = { 0 }, cycle = { 0 };
	char prog_name[64] = "";
	const char *path;
	int n, warmup, attach, err;

	if (argc != 5) {
		fprintf(stderr, "usage: %s <object.o> <iterations> <warmup> <attach: 0|1>\n", argv[0]);
		return 2;
	}
	path = argv[1];
	n = atoi(argv[2]);
	warmup = atoi(argv[3]);
	attach = atoi(argv[4]);
	if (n < 1 || warmup < 0) {
		fprintf(stderr, "iterations must be >= 1 and warmup >= 0\n");
		return 2;
	}
	libbpf_set_print(print_warnings);
	ready.times = calloc(n, sizeof(double));
	cycle.times = calloc(n, sizeof(double));
	if (!ready.times || !cycle.times)
		return 1;

	/* i == -1 is the first iteration of the process, reported on its own. */
	for (int i = -1; i < warmup + n; i++) {
		double r = 0, c = 0;

		err = run_once(path, attach, prog_name, sizeof(prog_name), &r, &c);
		if (err) {
			fprintf(stderr, "%s: open/load/attach failed: %s\n", path, strerror(-err));
			return 1;
		}
		record(&ready, i, warmup, r);
		record(&cycle, i, warmup, c);
	}
	printf("{");
	print_stats("ready", &ready, n);
	printf(",");
	print_stats("cycle", &cycle, n);
	printf(",\"iterations\":%d,\"program\":\"%s\",\"libbpf\":\"%s\"}\n", n, prog_name, libbpf_version_string());
	free(ready.times);
	free(cycle.times);
	return 0;
}
