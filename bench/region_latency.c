/* region_latency.c - how long events take to reach the trace region, seen
 * from inside the Linux test guest (bench/tracer-net.sh): maps the trace
 * region vqscope-trace writes (the ivshmem-plain BAR, read-only), drains
 * it with libvqproto every millisecond until SIGINT or SIGTERM, and for
 * each record compares the kernel's timestamp of the operation
 * (bpf_ktime_get_ns, which is CLOCK_MONOTONIC) with CLOCK_MONOTONIC when
 * the record could be read.  Polling adds up to a millisecond.
 *
 *   region_latency REGION-FILE
 *
 * Prints records, lost, and the delays' median, p99 and max in ns.
 * Linked statically so it runs in the busybox initramfs.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loop_timing.h"
#include "vqproto.h"

#define MAX_SAMPLES (4u << 20)

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	static struct vqt_event batch[4096];
	struct timespec tick = {0, 1000000};
	struct vqp_region region;
	struct vqp_reader reader;
	char err[VQP_ERRLEN];
	uint64_t *delay;
	size_t n = 0;
	struct stat st;
	void *map;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: region_latency REGION-FILE\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY);
	if (fd < 0 || fstat(fd, &st) != 0) {
		fprintf(stderr, "region_latency: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	delay = calloc(MAX_SAMPLES, sizeof(*delay));
	if (map == MAP_FAILED || !delay) {
		fprintf(stderr, "region_latency: cannot map %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	vqp_region_init(&region, map, (size_t)st.st_size, NULL);
	if (vqp_region_sync(&region, err, sizeof(err)) != VQP_OK) {
		fprintf(stderr, "region_latency: %s\n", err);
		return 1;
	}
	vqp_reader_init(&reader, &region, false);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	while (!stop) {
		int got = vqp_reader_drain(&reader, batch, sizeof(batch) / sizeof(batch[0]), NULL);
		uint64_t now = now_ns();

		for (int i = 0; i < got && n < MAX_SAMPLES; i++)
			delay[n++] = now > batch[i].ts ? now - batch[i].ts : 0;
		if (got == 0)
			nanosleep(&tick, NULL);
	}
	if (n == 0) {
		printf("records=0 lost=%llu\n", (unsigned long long)reader.lost);
		return 0;
	}
	qsort(delay, n, sizeof(*delay), cmp_u64);
	printf("records=%zu lost=%llu median_ns=%llu p99_ns=%llu max_ns=%llu\n", n,
	       (unsigned long long)reader.lost, (unsigned long long)delay[n / 2],
	       (unsigned long long)delay[n * 99 / 100], (unsigned long long)delay[n - 1]);
	return 0;
}
