/* synth_producer.c - writes a trace region file at a chosen event rate,
 * with the guest library itself (hosted), for benchmarks that need a known
 * load on the host side (recording, the live view).  The file is the
 * memory backend of a QEMU ivshmem-plain device, so vqscope finds it
 * through QMP as it would a guest's.
 *
 *   synth_producer FILE RATE|max SECONDS [--frames-per-s N] [--pace-us N]
 *
 * RATE is events per second (commands of ADD, KICK, POLL, USED: four
 * events each), or "max": as fast as it can, with no schedule (its
 * maximum, the peer of bench/record.sh).  It spins between commands
 * unless --pace-us N, which sleeps N microseconds whenever it is on
 * schedule (several producers on few cores).  Prints what it produced as
 * one JSON line on stdout.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vqscope_guest.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t clock_now(void)
{
	return now_ns();
}

int main(int argc, char **argv)
{
	struct vq_trace_config cfg = {.producer = "synth_producer (bench)",
				      .ts_hz = 1000000000,
				      .ts_source = VQT_TS_MONOTONIC,
				      .now = clock_now,
				      .flags = VQT_HDR_F_HOSTED};
	static struct vq_trace tr;
	uint64_t frames_per_s = 0, pace_us = 0, start, end, commands = 0, frame = 0;
	double rate, seconds;
	struct stat st;
	void *mem;
	int fd, q;

	if (argc < 4 || argc % 2 != 0) {
		fprintf(stderr, "usage: synth_producer FILE RATE|max SECONDS [--frames-per-s N] "
				"[--pace-us N]\n");
		return 2;
	}
	/* rate 0: "max", no schedule */
	rate = strcmp(argv[2], "max") == 0 ? 0 : atof(argv[2]);
	seconds = atof(argv[3]);
	for (int i = 4; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--frames-per-s") == 0) {
			frames_per_s = strtoull(argv[i + 1], NULL, 10);
		} else if (strcmp(argv[i], "--pace-us") == 0) {
			pace_us = strtoull(argv[i + 1], NULL, 10);
		} else {
			fprintf(stderr, "synth_producer: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	if ((rate <= 0 && strcmp(argv[2], "max") != 0) || seconds <= 0) {
		fprintf(stderr, "synth_producer: RATE (or max) and SECONDS must be positive\n");
		return 2;
	}
	fd = open(argv[1], O_RDWR);
	if (fd < 0 || fstat(fd, &st) != 0) {
		fprintf(stderr, "synth_producer: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	mem = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED ||
	    vq_trace_init(&tr, mem, (uint64_t)st.st_size, &cfg) != VQ_TRACE_OK) {
		fprintf(stderr, "synth_producer: cannot initialise a region in %s\n", argv[1]);
		return 1;
	}
	q = vq_trace_register_queue(
	    &tr, &(struct vq_queue_info){.device_type = 16, .ring_size = 256, .name = "synth.q0"});

	/* Pace by absolute schedule: command k is due at start + k * period.
	 * Unpaced ("max"), 256 commands are due at each look at the clock. */
	double period_ns = rate > 0 ? 4e9 / rate : 0;
	start = now_ns();
	end = start + (uint64_t)(seconds * 1e9);
	uint64_t next_frame = start;
	for (uint64_t now = start; now < end; now = now_ns()) {
		uint64_t due =
		    period_ns > 0 ? (uint64_t)((double)(now - start) / period_ns) : commands + 255;

		if (frames_per_s && now >= next_frame) {
			if (frame)
				vq_trace_frame_end(&tr, frame - 1, 0);
			vq_trace_frame_begin(&tr, frame++);
			next_frame += 1000000000ull / frames_per_s;
		}
		for (; commands <= due; commands++) {
			struct vq_poll_stats ps = {.spins = 7, .rmb = 1, .start = now};
			uint16_t i = (uint16_t)commands;

			vq_trace_add(&tr, q, i & 255, i, 2, 4096, 1);
			vq_trace_kick(&tr, q, (uint16_t)(i + 1));
			vq_trace_poll(&tr, q, &ps, VQT_POLL_PROGRESS);
			vq_trace_used(&tr, q, i & 255, i, 24, 2);
		}
		if (pace_us) {
			struct timespec nap = {0, (long)pace_us * 1000};

			nanosleep(&nap, NULL);
		}
	}
	printf("{\"events\": %llu, \"seconds\": %.3f, \"rate\": %.0f}\n",
	       (unsigned long long)commands * 4, (double)(now_ns() - start) / 1e9,
	       (double)commands * 4e9 / (double)(now_ns() - start));
	munmap(mem, (size_t)st.st_size);
	close(fd);
	return 0;
}
