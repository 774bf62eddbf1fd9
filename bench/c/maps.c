// Reference for bench/maps.ts: the same map operations through libbpf's low-level API, timed in C.
// For HASH, ARRAY, PERCPU_HASH and PERCPU_ARRAY maps (u32 -> u64, N entries) it times key-by-key
// iteration (get_next_key + lookup), the get_next_key walk alone, and bpf_map_lookup_batch of the whole
// map in one call and in 4096-element calls; for HASH also a single-key lookup and a batch lookup of the
// empty map (the cost of visiting every bucket).
//
// Build (bench/maps.ts does this into .cache/bench/): gcc -O2 -o maps maps.c -lbpf
// Usage: maps <entries> <lookups>
// Prints one JSON line: {"lookupNs":..,"iterateMs":..,"batchMs":..,"types":{"hash":{..},..}} (medians of 5).

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 5

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp);
	return v[n / 2];
}

static __u64 sink;

/* get_next_key (+ lookup when value != NULL) over the whole map; returns the element count. */
static int walk(int fd, void *value)
{
	__u32 k, next;
	void *prev = NULL;
	int n = 0;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		if (value) {
			bpf_map_lookup_elem(fd, &next, value);
			sink += *(__u64 *)value;
		}
		k = next;
		prev = &k;
		n++;
	}
	return n;
}

/* bpf_map_lookup_batch of everything, `chunk` elements per call; returns the element count (-1: error). */
static int batch(int fd, int entries, int chunk, __u32 *keys, char *vals, int vsize, int *calls)
{
	__u32 out_batch, count, total = 0;
	void *in = NULL;

	*calls = 0;
	for (;;) {
		/* one slot more than the map holds, so that an array ends with ENOENT in the same call */
		count = entries + 1 - total;
		if ((int)count > chunk)
			count = chunk;
		int err = bpf_map_lookup_batch(fd, in, &out_batch, keys + total, vals + (size_t)total * vsize, &count, NULL);
		++*calls;
		total += count;
		if (err) {
			if (errno == ENOENT)
				return total;
			fprintf(stderr, "batch: %s\n", strerror(errno));
			return -1;
		}
		in = &out_batch;
	}
}

/* Times one map type; prints its JSON object. */
static int measure(const char *name, enum bpf_map_type type, int entries, int lookups, int ncpu, const char *sep)
{
	int vsize = (type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_ARRAY) ? 8 * ncpu : 8;
	double it[ROUNDS], nk[ROUNDS], ba[ROUNDS], bc[ROUNDS], lk[ROUNDS], em[ROUNDS];
	int calls_whole = 0, calls_chunk = 0, r, n;
	__u32 k, *keys = malloc(sizeof(*keys) * (entries + 1));
	char *vals = calloc(entries + 1, vsize), *v = calloc(1, vsize);
	int fd = bpf_map_create(type, name, 4, 8, entries, NULL);

	if (fd < 0) {
		fprintf(stderr, "map create %s: %s\n", name, strerror(errno));
		return 1;
	}
	if (type == BPF_MAP_TYPE_HASH) {
		/* the empty map first: a batch read then only visits the buckets */
		for (r = 0; r < ROUNDS; r++) {
			double t0 = now_ns();
			n = batch(fd, entries, entries + 1, keys, vals, vsize, &calls_whole);
			em[r] = (now_ns() - t0) / 1e6;
			if (n != 0)
				return 1;
		}
	}
	for (k = 0; k < (__u32)entries; k++) {
		*(__u64 *)v = k * 3ULL;
		if (bpf_map_update_elem(fd, &k, v, BPF_ANY)) {
			fprintf(stderr, "update: %s\n", strerror(errno));
			return 1;
		}
	}
	for (r = 0; r < ROUNDS; r++) {
		double t0 = now_ns();
		if (type == BPF_MAP_TYPE_HASH) {
			for (int i = 0; i < lookups; i++) {
				k = i % entries;
				bpf_map_lookup_elem(fd, &k, v);
				sink += *(__u64 *)v;
			}
			lk[r] = (now_ns() - t0) / lookups;
		}
		t0 = now_ns();
		n = walk(fd, v);
		it[r] = (now_ns() - t0) / 1e6;
		if (n != entries)
			return 1;
		t0 = now_ns();
		n = walk(fd, NULL);
		nk[r] = (now_ns() - t0) / 1e6;
		t0 = now_ns();
		n = batch(fd, entries, entries + 1, keys, vals, vsize, &calls_whole);
		ba[r] = (now_ns() - t0) / 1e6;
		if (n != entries)
			return 1;
		t0 = now_ns();
		n = batch(fd, entries, 4096, keys, vals, vsize, &calls_chunk);
		bc[r] = (now_ns() - t0) / 1e6;
		if (n != entries)
			return 1;
	}
	printf("%s\"%s\":{\"iterateMs\":%.3f,\"nextKeyMs\":%.3f,\"batchMs\":%.3f,\"batchCalls\":%d,"
	       "\"batchChunkMs\":%.3f,\"batchChunkCalls\":%d",
	       sep, name, median(it, ROUNDS), median(nk, ROUNDS), median(ba, ROUNDS), calls_whole,
	       median(bc, ROUNDS), calls_chunk);
	if (type == BPF_MAP_TYPE_HASH)
		printf(",\"lookupNs\":%.1f,\"emptyBatchMs\":%.3f", median(lk, ROUNDS), median(em, ROUNDS));
	printf("}");
	close(fd);
	free(keys);
	free(vals);
	free(v);
	return 0;
}

int main(int argc, char **argv)
{
	int entries = argc > 1 ? atoi(argv[1]) : 100000;
	int lookups = argc > 2 ? atoi(argv[2]) : 200000;
	int ncpu = libbpf_num_possible_cpus();

	printf("{\"entries\":%d,\"cpus\":%d,\"types\":{", entries, ncpu);
	if (measure("hash", BPF_MAP_TYPE_HASH, entries, lookups, ncpu, "") ||
	    measure("array", BPF_MAP_TYPE_ARRAY, entries, lookups, ncpu, ",") ||
	    measure("percpu_hash", BPF_MAP_TYPE_PERCPU_HASH, entries, lookups, ncpu, ",") ||
	    measure("percpu_array", BPF_MAP_TYPE_PERCPU_ARRAY, entries, lookups, ncpu, ","))
		return 1;
	printf("},\"sink\":%llu}\n", (unsigned long long)(sink & 1));
	return 0;
}
