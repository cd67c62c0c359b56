/* loop_timing.h - the clock and the sort that the guest-side workload
 * loops of bench/tracer.sh and bench/tracer-net.sh share. */
#ifndef BENCH_LOOP_TIMING_H
#define BENCH_LOOP_TIMING_H

#include <stdint.h>
#include <time.h>

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* qsort comparator for uint64_t. */
static inline int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

#endif /* BENCH_LOOP_TIMING_H */
