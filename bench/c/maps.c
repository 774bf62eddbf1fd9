// Reference for bench/maps.ts: the same map operations through libbpf's low-level API, timed in C.
// Creates a HASH map (u32 -> u64) with N entries, then measures a single-key lookup (ns/op), key-by-key
// iteration of all entries (get_next_key + lookup) and one full read with bpf_map_lookup_batch.
//
// Build (bench/maps.ts does this into .cache/bench/): gcc -O2 -o maps maps.c -lbpf
// Usage: maps <entries> <lookups>
// Prints {"lookupNs":..,"iterateMs":..,"batchMs":..,"entries":n} (medians of 5 rounds).

#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

int main(int argc, char **argv)
{
	int entries = argc > 1 ? atoi(argv[1]) : 100000;
	int lookups = argc > 2 ? atoi(argv[2]) : 200000;
	double lk[5], it[5], ba[5];
	__u32 k, next, *keys;
	__u64 v, *vals, sink = 0;
	int fd, r, i;

	fd = bpf_map_create(BPF_MAP_TYPE_HASH, "bench_c", 4, 8, entries, NULL);
	if (fd < 0) {
		fprintf(stderr, "map create: %s\n", strerror(errno));
		return 1;
	}
	for (k = 0; k < (__u32)entries; k++) {
		v = k * 3ULL;
		if (bpf_map_update_elem(fd, &k, &v, BPF_ANY)) {
			fprintf(stderr, "update: %s\n", strerror(errno));
			return 1;
		}
	}
	keys = malloc(sizeof(*keys) * entries);
	vals = malloc(sizeof(*vals) * entries);
	for (r = 0; r < 5; r++) {
		double t0 = now_ns();
		for (i = 0; i < lookups; i++) {
			k = i % entries;
			bpf_map_lookup_elem(fd, &k, &v);
			sink += v;
		}
		lk[r] = (now_ns() - t0) / lookups;

		t0 = now_ns();
		int n = 0;
		void *prev = NULL;
		while (bpf_map_get_next_key(fd, prev, &next) == 0) {
			bpf_map_lookup_elem(fd, &next, &v);
			sink += v;
			k = next;
			prev = &k;
			n++;
		}
		it[r] = (now_ns() - t0) / 1e6;

		t0 = now_ns();
		__u32 out_batch, count, total = 0;
		void *in = NULL;
		for (;;) {
			count = entries - total;
			int err = bpf_map_lookup_batch(fd, in, &out_batch, keys + total, vals + total, &count, NULL);
			total += count;
			if (err) {
				if (errno == ENOENT)
					break;
				fprintf(stderr, "batch: %s\n", strerror(errno));
				return 1;
			}
			in = &out_batch;
		}
		ba[r] = (now_ns() - t0) / 1e6;
		if (n != entries || (int)total != entries) {
			fprintf(stderr, "iterated %d, batch %u, want %d\n", n, total, entries);
			return 1;
		}
	}
	printf("{\"lookupNs\":%.1f,\"iterateMs\":%.3f,\"batchMs\":%.3f,\"entries\":%d,\"sink\":%llu}\n",
	       median(lk, 5), median(it, 5), median(ba, 5), entries, (unsigned long long)(sink & 1));
	return 0;
}
