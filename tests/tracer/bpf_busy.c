/* bpf_busy.c - keeps its CPU inside BPF map system calls for a while, so
 * that the kernel skips kprobe BPF programs that fire meanwhile: a map
 * lookup from user space holds the CPU's bpf_prog_active count, and an
 * interrupt landing then runs its kprobes without their programs (the
 * kprobe's hit is counted, its program's run is not).  The tracer tests
 * run it in the guest next to the I/O, so that a kprobe trace really
 * loses hook runs and the test can check every loss is counted.
 *
 *   bpf_busy SECONDS
 *
 * Static, for the tests' busybox initramfs.
 */
#include <errno.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	union bpf_attr attr;
	uint32_t key = 0;
	uint64_t value, calls = 0;
	double seconds, end;
	char *tail;
	int fd;

	if (argc != 2 || (seconds = strtod(argv[1], &tail)) <= 0 || *tail != 0) {
		fprintf(stderr, "usage: bpf_busy SECONDS\n");
		return 2;
	}
	memset(&attr, 0, sizeof(attr));
	attr.map_type = BPF_MAP_TYPE_ARRAY;
	attr.key_size = sizeof(key);
	attr.value_size = sizeof(value);
	attr.max_entries = 1;
	fd = (int)bpf(BPF_MAP_CREATE, &attr);
	if (fd < 0) {
		fprintf(stderr, "bpf_busy: BPF_MAP_CREATE: %s\n", strerror(errno));
		return 1;
	}
	end = now() + seconds;
	while (now() < end) {
		for (int i = 0; i < 1000; i++) {
			memset(&attr, 0, sizeof(attr));
			attr.map_fd = (uint32_t)fd;
			attr.key = (uint64_t)(uintptr_t)&key;
			attr.value = (uint64_t)(uintptr_t)&value;
			if (bpf(BPF_MAP_LOOKUP_ELEM, &attr) != 0) {
				fprintf(stderr, "bpf_busy: BPF_MAP_LOOKUP_ELEM: %s\n",
					strerror(errno));
				return 1;
			}
			calls++;
		}
	}
	printf("bpf_busy: %llu lookups\n", (unsigned long long)calls);
	close(fd);
	return 0;
}
