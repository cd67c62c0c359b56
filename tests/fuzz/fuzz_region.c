/* fuzz_region.c - libFuzzer harness for the trace-region reader: header
 * validation, the ring drain, queue-table snapshots and the producer state
 * must never crash, hang or read outside the mapping, whatever the guest
 * wrote.
 *
 * Input byte 0 picks the mode:
 *   even: the input is the start of a raw 64 KiB region image;
 *   odd:  a valid header is built here, bytes 1..8 become the ring head,
 *         and the rest overwrites the queue table and the event ring, so
 *         the fuzzer spends its time on record and queue validation. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vqproto.h"
#include "vqscope_guest.h"

#define REGION (64u * 1024u)

static uint64_t zero_clock(void)
{
	return 0;
}

static void build_valid_header(uint8_t *mem)
{
	static struct vq_trace tr;
	struct vq_trace_config cfg = {.producer = "fuzz", .ts_hz = 1000, .now = zero_clock};

	vq_trace_init(&tr, mem, REGION, &cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *mem;
	struct vqp_region r;
	struct vqp_reader rd;
	struct vqt_event ev[256];
	char err[VQP_ERRLEN];

	if (!mem && posix_memalign((void **)&mem, 4096, REGION) != 0)
		abort();
	memset(mem, 0, REGION);
	if (size == 0)
		return 0;
	if ((data[0] & 1) == 0) {
		size_t n = size - 1 < REGION ? size - 1 : REGION;
		memcpy(mem, data + 1, n);
	} else {
		build_valid_header(mem);
		if (size >= 9)
			memcpy(mem + offsetof(struct vqt_header, ring_head), data + 1, 8);
		if (size > 9) {
			size_t room = REGION - VQT_QUEUE_OFFSET;
			size_t n = size - 9 < room ? size - 9 : room;
			/* Queue table first, the rest wraps into the ring. */
			memcpy(mem + VQT_QUEUE_OFFSET, data + 9, n < 4096 ? n : 4096);
			if (n > 4096)
				memcpy(mem + REGION / 2, data + 9 + 4096,
				       n - 4096 < REGION / 2 ? n - 4096 : REGION / 2);
		}
	}

	vqp_region_init(&r, mem, REGION, NULL);
	if (vqp_region_sync(&r, err, sizeof(err)) != VQP_OK)
		return 0;
	vqp_reader_init(&rd, &r, true);
	/* The drain is bounded by the ring size each call; a few calls cover
	 * every path (lapped, jumped, behind). */
	for (int i = 0; i < 8; i++) {
		int n = vqp_reader_drain(&rd, ev, 256, NULL);
		if (n <= 0)
			break;
		for (int k = 0; k < n; k++)
			if (ev[k].type == 0 || ev[k].type >= VQT_EV_TYPE_COUNT)
				abort(); /* the reader must never deliver these */
	}
	for (unsigned slot = 0; slot < r.layout.queue_slots; slot++) {
		struct vqt_queue q;
		if (vqp_queue_snapshot(&r, slot, &q, err, sizeof(err)) == VQP_OK &&
		    q.name[VQT_QUEUE_NAME_LEN - 1] != 0)
			abort(); /* names are always terminated */
	}
	struct vqp_control_state cs;
	vqp_control_read(&r, &cs);
	struct vqp_producer p;
	if (vqp_region_producer(&r, &p, err, sizeof(err)) == VQP_OK &&
	    p.state > VQT_PRODUCER_STOPPED)
		abort(); /* a state it accepts is one it knows */
	return 0;
}
