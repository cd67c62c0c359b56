/* hostile_producer.c - a producer that breaks the trace region's contract
 * in every way the host must count, for tests/host/test-host-accounting.sh.
 *
 *   hostile_producer FILE SECONDS SEED
 *
 * FILE is the memory backend of a QEMU ivshmem-plain device (so vqscope
 * finds it through QMP).  It starts with a garbage ring head for 400 ms
 * (a reader attaching then must not trust it).  For SECONDS it writes
 * commands (ADD, KICK, USED) with the hosted guest library at a few
 * thousand events a second, and now and then, in an order fixed by SEED:
 *   - publishes a ring head 2^41 records ahead (garbage), then the real one;
 *   - publishes a ring head that went backwards, then the real one;
 *   - skips records it then declares lost (vq_trace_lost);
 *   - overwrites a committed record with an unknown type;
 *   - writes events with timestamps near 2^63, or an hour back;
 *   - laps the ring: a burst larger than the ring while the reader sleeps.
 * SEED 0 is a calm producer: commands only, nothing hostile.
 * Prints what it did as one JSON line on stdout.
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

/* The producer's clock: the real one, or a hostile value for one event. */
static uint64_t clock_override;

static uint64_t clock_now(void)
{
	uint64_t v = clock_override ? clock_override : now_ns();

	clock_override = 0;
	return v;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

static struct vq_trace tr;
static int queue_slot;
static uint16_t avail_idx, used_idx;

/* One command: ADD, KICK, USED. */
static void command(void)
{
	uint16_t head = (uint16_t)(avail_idx % 64);

	vq_trace_add(&tr, queue_slot, head, avail_idx, 2, 4096, 1);
	avail_idx++;
	vq_trace_kick(&tr, queue_slot, avail_idx);
	vq_trace_used(&tr, queue_slot, head, used_idx, 4096, 2);
	used_idx++;
}

static void publish(uint64_t head)
{
	__atomic_store_n(&tr.hdr->ring_head, head, __ATOMIC_RELEASE);
}

int main(int argc, char **argv)
{
	struct vq_trace_config cfg = {.producer = "hostile_producer (test)",
				      .ts_hz = 1000000000,
				      .ts_source = VQT_TS_MONOTONIC,
				      .now = clock_now,
				      .flags = VQT_HDR_F_HOSTED,
				      .no_step = 1};
	uint64_t jumps = 0, backwards = 0, declared_lost = 0, unknown = 0, huge_ts = 0, back_ts = 0,
		 laps = 0, commands = 0, end;
	struct stat st;
	unsigned seed;
	double seconds;
	void *mem;
	int fd;

	if (argc != 4) {
		fprintf(stderr, "usage: hostile_producer FILE SECONDS SEED\n");
		return 2;
	}
	seconds = atof(argv[2]);
	seed = (unsigned)strtoul(argv[3], NULL, 10);
	srand(seed);
	fd = open(argv[1], O_RDWR);
	if (fd < 0 || fstat(fd, &st) != 0) {
		fprintf(stderr, "hostile_producer: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	mem = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED ||
	    vq_trace_init(&tr, mem, (uint64_t)st.st_size, &cfg) != VQ_TRACE_OK) {
		fprintf(stderr, "hostile_producer: cannot initialise a region in %s\n", argv[1]);
		return 1;
	}
	queue_slot = vq_trace_register_queue(
	    &tr, &(struct vq_queue_info){.device_type = 2, .ring_size = 64, .name = "hostile.q0"});

	/* A garbage head first, while a reader is likely attaching. */
	for (int i = 0; i < 30; i++, commands++)
		command();
	if (seed) {
		publish(tr.head + (1ull << 41) + 12345);
		jumps++;
		sleep_ms(400);
		publish(tr.head);
	}

	end = now_ns() + (uint64_t)(seconds * 1e9);
	while (now_ns() < end) {
		for (int i = 0; i < 30; i++, commands++)
			command();
		switch (seed ? rand() % 12 : 12) {
		case 0: /* garbage head, seen for a while, then the real one */
			publish(tr.head + (1ull << 41) + (uint64_t)rand());
			jumps++;
			sleep_ms(60);
			publish(tr.head);
			break;
		case 1: /* a head that went backwards */
			publish(tr.head > 1000 ? tr.head - 1000 : 0);
			backwards++;
			sleep_ms(60);
			publish(tr.head);
			break;
		case 2: /* records declared lost */
			vq_trace_lost(&tr, 7);
			declared_lost += 7;
			break;
		case 3: { /* a committed record turned into an unknown type */
			volatile struct vqt_event *e = &tr.ring[(tr.head - 1) & tr.ring_mask];

			e->type = 200;
			unknown++;
			break;
		}
		case 4: /* a timestamp near 2^63 */
			clock_override = (1ull << 63) - 12345;
			command();
			commands++;
			huge_ts++;
			break;
		case 5: /* a timestamp an hour and a second back */
			clock_override = now_ns() - 3601000000000ull;
			command();
			commands++;
			back_ts++;
			break;
		case 6: /* lap the ring while the reader sleeps */
			if (laps < 2) {
				for (uint32_t i = 0; i <= tr.ring_mask / 3 + 8; i++, commands++)
					command();
				laps++;
			}
			break;
		default:
			break;
		}
		sleep_ms(10);
	}
	printf("{\"commands\":%llu,\"records\":%llu,\"jumps\":%llu,\"backwards\":%llu,"
	       "\"declared_lost\":%llu,\"unknown\":%llu,\"huge_ts\":%llu,\"back_ts\":%llu,"
	       "\"laps\":%llu}\n",
	       (unsigned long long)commands, (unsigned long long)tr.head, (unsigned long long)jumps,
	       (unsigned long long)backwards, (unsigned long long)declared_lost,
	       (unsigned long long)unknown, (unsigned long long)huge_ts,
	       (unsigned long long)back_ts, (unsigned long long)laps);
	return 0;
}
