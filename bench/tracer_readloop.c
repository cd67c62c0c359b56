/* tracer_readloop.c - the virtio-blk workload of bench/tracer.sh, run inside
 * the Linux test guest: COUNT reads of 4 KiB with O_DIRECT (so every read
 * is one virtio-blk request, no page cache), at consecutive offsets that
 * wrap at the end of the device, each timed with CLOCK_MONOTONIC.
 *
 *   tracer_readloop DEVICE COUNT
 *
 * Prints one line of key=value pairs: reads, total_ns (the whole loop),
 * and the per-read min, p10, median, mean and p90 in ns.  Linked statically so
 * it runs in the busybox initramfs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <linux/fs.h>

#include "loop_timing.h"

#define BLOCK 4096

int main(int argc, char **argv)
{
	uint64_t *lat, start, end, sum = 0, device_bytes = 0, blocks;
	char *end_arg;
	void *buf;
	long count;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: tracer_readloop DEVICE COUNT\n");
		return 2;
	}
	errno = 0;
	count = strtol(argv[2], &end_arg, 10);
	if (errno || end_arg == argv[2] || *end_arg != 0 || count <= 0 || count > 10000000) {
		fprintf(stderr, "tracer_readloop: COUNT %s: not a number from 1 to 10000000\n",
			argv[2]);
		return 2;
	}
	fd = open(argv[1], O_RDONLY | O_DIRECT);
	if (fd < 0) {
		fprintf(stderr, "tracer_readloop: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (ioctl(fd, BLKGETSIZE64, &device_bytes) != 0 || device_bytes < BLOCK) {
		fprintf(stderr, "tracer_readloop: %s: not a block device of at least %d bytes\n",
			argv[1], BLOCK);
		return 1;
	}
	blocks = device_bytes / BLOCK;
	lat = calloc((size_t)count, sizeof(*lat));
	if (!lat || posix_memalign(&buf, BLOCK, BLOCK) != 0) {
		fprintf(stderr, "tracer_readloop: out of memory\n");
		return 1;
	}
	start = now_ns();
	for (long i = 0; i < count; i++) {
		off_t offset = (off_t)(((uint64_t)i % blocks) * BLOCK);
		uint64_t t0 = now_ns();
		ssize_t n = pread(fd, buf, BLOCK, offset);

		lat[i] = now_ns() - t0;
		if (n != BLOCK) {
			fprintf(stderr, "tracer_readloop: %s: read %ld at %lld: %s\n", argv[1], i,
				(long long)offset, n < 0 ? strerror(errno) : "short read");
			return 1;
		}
	}
	end = now_ns();
	for (long i = 0; i < count; i++)
		sum += lat[i];
	qsort(lat, (size_t)count, sizeof(*lat), cmp_u64);
	printf("reads=%ld total_ns=%llu min_ns=%llu p10_ns=%llu median_ns=%llu mean_ns=%llu "
	       "p90_ns=%llu\n",
	       count, (unsigned long long)(end - start), (unsigned long long)lat[0],
	       (unsigned long long)lat[count / 10], (unsigned long long)lat[count / 2],
	       (unsigned long long)(sum / (uint64_t)count),
	       (unsigned long long)lat[count * 9 / 10]);
	free(lat);
	free(buf);
	close(fd);
	return 0;
}
