/* test_ring.c - the trace region end to end: the guest library (compiled
 * hosted) as producer, libvqproto as consumer.  Fill, wrap of the
 * free-running sequence at 2^16 and 2^32, overwrite with exact loss
 * counting, concurrent producer and consumer threads, generation resync,
 * header validation, seqcount snapshots, step mode, event mask and
 * counter reset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>

#include "vqproto.h"
#include "vqscope_guest.h"

#define REGION_SIZE (64u * 1024u) /* smallest region: 1024 records */

static uint64_t fake_clock;
static uint64_t fake_now(void)
{
	return __atomic_add_fetch(&fake_clock, 1, __ATOMIC_RELAXED);
}

struct fixture {
	void *mem;
	size_t size;
	struct vq_trace tr;
	struct vqp_region region;
	struct vqp_reader reader;
	int q;
};

static struct fixture *fixture_new(size_t size)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct vq_trace_config cfg = {
	    .producer = "unit test", .ts_hz = 1000000000, .now = fake_now};
	char err[VQP_ERRLEN];

	assert_non_null(f);
	f->size = size;
	assert_int_equal(posix_memalign(&f->mem, 4096, size), 0);
	memset(f->mem, 0, size);
	assert_int_equal(vq_trace_init(&f->tr, f->mem, size, &cfg), VQ_TRACE_OK);
	f->q = vq_trace_register_queue(&f->tr, &(struct vq_queue_info){.device_type = 16,
								       .queue_index = 0,
								       .ring_size = 64,
								       .name = "gpu0.control"});
	assert_true(f->q >= 0);
	vqp_region_init(&f->region, f->mem, size, (uint8_t *)f->mem + VQT_CONTROL_OFFSET);
	assert_int_equal(vqp_region_sync(&f->region, err, sizeof(err)), VQP_OK);
	vqp_reader_init(&f->reader, &f->region, true);
	return f;
}

static void fixture_free(struct fixture *f)
{
	free(f->mem);
	free(f);
}

/* Drain everything available, keeping the first cap records in out (may
 * be NULL); returns records delivered. */
static size_t drain_all(struct fixture *f, struct vqt_event *out, size_t cap)
{
	struct vqt_event scratch[256];
	size_t total = 0;

	for (;;) {
		bool room = out && total < cap;
		int n = vqp_reader_drain(&f->reader, room ? out + total : scratch,
					 room ? cap - total : 256, NULL);
		assert_true(n >= 0);
		if (n == 0)
			break;
		total += (size_t)n;
	}
	return total;
}

static void emit_marks(struct fixture *f, uint64_t first, uint64_t count)
{
	for (uint64_t i = 0; i < count; i++)
		vq_trace_mark(&f->tr, first + i);
}

static void test_fill_and_read_back(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(REGION_SIZE);
	uint32_t records = f->region.layout.ring_records;
	struct vqt_event *ev = calloc(records, sizeof(*ev));

	assert_int_equal(records, 1024);
	/* One QUEUE event from registration is already there. */
	emit_marks(f, 100, records - 1);
	size_t n = drain_all(f, ev, records);
	assert_int_equal(n, records);
	assert_int_equal(ev[0].type, VQT_EV_QUEUE);
	for (size_t i = 1; i < n; i++) {
		assert_int_equal(ev[i].type, VQT_EV_MARK);
		assert_int_equal(ev[i].arg, 100 + i - 1);
		assert_int_equal(ev[i].seq, i);
		assert_true(ev[i].ts > ev[i - 1].ts);
	}
	assert_int_equal(f->reader.lost, 0);
	assert_int_equal(f->reader.delivered, records);
	free(ev);
	fixture_free(f);
}

/* The drain says when a batch holds QUEUE records (the queue table
 * changed), so its reader need not look through every record for them. */
static void test_drain_counts_queue_records(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(REGION_SIZE);
	struct vqt_event ev[64];
	struct vqp_drain_info info;

	emit_marks(f, 0, 5);
	assert_int_equal(vqp_reader_drain(&f->reader, ev, 64, &info), 6);
	assert_int_equal(info.queue_records, 1); /* the registration */
	emit_marks(f, 5, 5);
	assert_int_equal(vqp_reader_drain(&f->reader, ev, 64, &info), 5);
	assert_int_equal(info.queue_records, 0);
	vq_trace_unregister_queue(&f->tr, f->q);
	emit_marks(f, 10, 3);
	f->q = vq_trace_register_queue(
	    &f->tr, &(struct vq_queue_info){.device_type = 16, .ring_size = 64, .name = "again"});
	assert_int_equal(vqp_reader_drain(&f->reader, ev, 64, &info), 5);
	assert_int_equal(info.queue_records, 2);
	fixture_free(f);
}

/* Start the producer's sequence just below `start` and push records across
 * it; every record must come out once, in order, with the right payload. */
static void check_wrap_at(uint64_t start)
{
	struct fixture *f = fixture_new(REGION_SIZE);
	struct vqt_event ev[64];

	/* The library's own way to move its head: records declared lost. */
	vq_trace_lost(&f->tr, start - 20 - f->tr.head);
	vqp_reader_init(&f->reader, &f->region, false);
	assert_int_equal(f->reader.next, start - 20);

	uint64_t expect = start - 20;
	for (int round = 0; round < 4; round++) {
		emit_marks(f, expect, 10);
		int n = vqp_reader_drain(&f->reader, ev, 64, NULL);
		assert_int_equal(n, 10);
		for (int i = 0; i < n; i++, expect++) {
			assert_int_equal(ev[i].arg, expect);
			assert_int_equal(ev[i].seq, (uint32_t)expect);
		}
	}
	assert_int_equal(f->reader.next, start + 20);
	assert_int_equal(f->reader.lost, 0);
	fixture_free(f);
}

static void test_wrap_at_2_16(void **state)
{
	(void)state;
	check_wrap_at(1ull << 16);
}

static void test_wrap_at_2_32(void **state)
{
	(void)state;
	check_wrap_at(1ull << 32);
}

/* u16 ring indices in ADD/USED events keep their free-running values
 * across 65535 -> 0, and the queue table's indices follow them. */
static void test_ring_index_wrap(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(REGION_SIZE);
	struct vqt_event ev[16];
	struct vqt_queue q;
	char err[VQP_ERRLEN];
	uint16_t idx = 65534;

	drain_all(f, ev, 16);
	for (int i = 0; i < 4; i++, idx++) {
		vq_trace_add(&f->tr, f->q, (uint16_t)i, idx, 1, 4096, 0);
		vq_trace_used(&f->tr, f->q, (uint16_t)i, idx, 0, 1);
	}
	int n = vqp_reader_drain(&f->reader, ev, 16, NULL);
	assert_int_equal(n, 8);
	assert_int_equal(ev[0].ring_idx, 65534);
	assert_int_equal(ev[2].ring_idx, 65535);
	assert_int_equal(ev[4].ring_idx, 0);
	assert_int_equal(ev[6].ring_idx, 1);
	assert_int_equal(vqp_queue_snapshot(&f->region, (unsigned)f->q, &q, err, sizeof(err)),
			 VQP_OK);
	assert_int_equal(q.avail_idx, 2);
	assert_int_equal(q.last_used_idx, 2);
	assert_int_equal((uint16_t)(q.avail_idx - q.last_used_idx), 0);
	assert_int_equal(q.num_free, 64);
	fixture_free(f);
}

static void test_overwrite_counts_loss_exactly(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(REGION_SIZE);
	uint32_t records = f->region.layout.ring_records;
	struct vqt_event *ev = calloc(records, sizeof(*ev));
	uint64_t produced = 1; /* the QUEUE event */

	/* Three and a bit laps without reading. */
	emit_marks(f, 0, 3 * records + 17);
	produced += 3 * records + 17;
	size_t n = drain_all(f, ev, records);
	assert_int_equal(n, records);
	assert_int_equal(f->reader.lost, produced - records);
	/* The survivors are the newest records, in order. */
	assert_int_equal(ev[records - 1].arg, 3 * records + 16);
	assert_int_equal(ev[0].arg, 3 * records + 16 - (records - 1));

	/* Partial reads interleaved with writes: the books always balance. */
	for (int round = 0; round < 50; round++) {
		uint64_t burst = (uint64_t)(round * 97 % 1500);
		emit_marks(f, 0, burst);
		produced += burst;
		vqp_reader_drain(&f->reader, ev, (size_t)(round % 7) * 40, NULL);
		assert_int_equal(f->reader.delivered + f->reader.lost + f->reader.violations,
				 f->reader.next);
	}
	drain_all(f, ev, records);
	assert_int_equal(f->reader.delivered + f->reader.lost, produced);
	assert_int_equal(f->reader.violations, 0);
	free(ev);
	fixture_free(f);
}

/* Records a producer could not write are counted lost by the reader. */
static void test_producer_reported_loss(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(REGION_SIZE);
	struct vqt_event ev[64];
	uint32_t records = f->region.layout.ring_records;

	drain_all(f, ev, 64);
	emit_marks(f, 0, 3);
	vq_trace_lost(&f->tr, 5);
	emit_marks(f, 10, 2);
	assert_int_equal(vqp_reader_drain(&f->reader, ev, 64, NULL), 5);
	assert_int_equal(f->reader.lost, 5);
	assert_int_equal(ev[3].arg, 10);
	/* More than a whole ring at once. */
	vq_trace_lost(&f->tr, 3 * records + 1);
	emit_marks(f, 99, 1);
	assert_int_equal(vqp_reader_drain(&f->reader, ev, 64, NULL), 1);
	assert_int_equal(ev[0].arg, 99);
	assert_int_equal(f->reader.lost, 5 + 3 * records + 1);
	fixture_free(f);
}

/* A ring head overwritten with garbage (a wild guest store) is counted
 * once and ignored: reading goes on where it was as soon as the producer
 * stores its real head again, and nothing is lost. */
static void test_garbage_head_is_ignored(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(REGION_SIZE);
	struct vqt_event ev[64];
	volatile struct vqt_header *h = f->mem;

	drain_all(f, ev, 64);
	emit_marks(f, 0, 3);
	assert_int_equal(vqp_reader_drain(&f->reader, ev, 64, NULL), 3);
	h->ring_head = 0x5a5a5a5a5a5a5a5aull;
	assert_int_equal(vqp_reader_drain(&f->reader, ev, 64, NULL), 0);
	assert_int_equal(vqp_reader_drain(&f->reader, ev, 64, NULL), 0);
	assert_int_equal(f->reader.violations, 1);
	assert_non_null(strstr(f->reader.last_violation, "ring head jumped"));
	emit_marks(f, 10, 2);
	assert_int_equal(vqp_reader_drain(&f->reader, ev, 64, NULL), 2);
	assert_int_equal(ev[0].arg, 10);
	assert_int_equal(ev[1].arg, 11);
	assert_int_equal(f->reader.lost, 0);
	assert_int_equal(f->reader.violations, 1);
	fixture_free(f);
}

/* A garbage head when the reader attaches is not trusted (it would put the
 * reader beyond every real head for ever): it reads from the start of the
 * ring, counts the head once, and goes on when the real head is back. */
static void test_garbage_head_at_attach(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(REGION_SIZE);
	struct vqt_event ev[64];
	volatile struct vqt_header *h = f->mem;
	uint64_t real;

	emit_marks(f, 0, 5);
	real = h->ring_head;
	h->ring_head = (1ull << 41) + 12345;
	vqp_reader_init(&f->reader, &f->region, true);
	assert_int_equal(f->reader.next, 0);
	assert_int_equal(f->reader.violations, 1);
	assert_non_null(strstr(f->reader.last_violation, "ring head 2199023267897 at attach"));
	assert_int_equal(vqp_reader_drain(&f->reader, ev, 64, NULL), 0);
	assert_int_equal(f->reader.violations, 1); /* the same head, counted once */
	h->ring_head = real;
	assert_int_equal(vqp_reader_drain(&f->reader, ev, 64, NULL), 6);
	assert_int_equal(ev[1].arg, 0);
	assert_int_equal(f->reader.lost, 0);
	/* A head just past records declared lost is a real one. */
	vq_trace_lost(&f->tr, 3);
	vqp_reader_init(&f->reader, &f->region, false);
	assert_int_equal(f->reader.next, real + 3);
	assert_int_equal(f->reader.violations, 0);
	fixture_free(f);
}

/* ---- threads -------------------------------------------------------------- */

struct thread_run {
	struct fixture *f;
	volatile int stop;
	uint64_t produced;
};

static void *producer_thread(void *arg)
{
	struct thread_run *run = arg;
	uint64_t i = 0;

	while (!__atomic_load_n(&run->stop, __ATOMIC_RELAXED)) {
		/* arg carries the record's own sequence number (the QUEUE
		 * event took sequence 0) so the consumer can detect a
		 * record that was torn or attributed to the wrong slot. */
		vq_trace_mark(&run->f->tr, i + 1);
		i++;
	}
	run->produced = i;
	return NULL;
}

static void test_concurrent_producer_consumer(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(REGION_SIZE);
	struct thread_run run = {.f = f};
	struct vqt_event ev[512];
	struct timespec start, now;
	pthread_t tid;
	uint64_t delivered = 0, last_ts = 0;

	drain_all(f, ev, 512); /* the QUEUE event */
	assert_int_equal(pthread_create(&tid, NULL, producer_thread, &run), 0);
	clock_gettime(CLOCK_MONOTONIC, &start);
	do {
		struct vqp_drain_info info;
		int n = vqp_reader_drain(&f->reader, ev, 512, &info);

		assert_true(n >= 0);
		for (int i = 0; i < n; i++) {
			uint64_t seq =
			    info.first_seq + (uint32_t)(ev[i].seq - (uint32_t)info.first_seq);
			assert_int_equal(ev[i].type, VQT_EV_MARK);
			assert_int_equal(ev[i].arg, seq);
			assert_true(ev[i].ts > last_ts);
			last_ts = ev[i].ts;
		}
		delivered += (uint64_t)n;
		if (n == 0)
			sched_yield();
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec - start.tv_sec < 2);
	__atomic_store_n(&run.stop, 1, __ATOMIC_RELAXED);
	pthread_join(tid, NULL);
	drain_all(f, ev, 512);

	print_message("concurrent: produced %llu, delivered %llu, lost %llu\n",
		      (unsigned long long)run.produced, (unsigned long long)f->reader.delivered - 1,
		      (unsigned long long)f->reader.lost);
	assert_true(delivered > 0);
	assert_int_equal(f->reader.delivered + f->reader.lost, run.produced + 1);
	assert_int_equal(f->reader.violations, 0);
	fixture_free(f);
}

static void *queue_hammer_thread(void *arg)
{
	struct thread_run *run = arg;
	uint16_t idx = 0;

	while (!__atomic_load_n(&run->stop, __ATOMIC_RELAXED)) {
		vq_trace_add(&run->f->tr, run->f->q, idx % 64, idx, 2, 100, 1);
		vq_trace_used(&run->f->tr, run->f->q, idx % 64, idx, 50, 2);
		idx++;
	}
	return NULL;
}

/* Snapshots taken while the producer rewrites the slot are consistent:
 * adds and completions move together, and so do the indices. */
static void test_seqcount_snapshots_are_consistent(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(REGION_SIZE);
	struct thread_run run = {.f = f};
	pthread_t tid;
	char err[VQP_ERRLEN];
	int good = 0;

	assert_int_equal(pthread_create(&tid, NULL, queue_hammer_thread, &run), 0);
	for (int i = 0; i < 200000; i++) {
		struct vqt_queue q;
		int rc = vqp_queue_snapshot(&f->region, (unsigned)f->q, &q, err, sizeof(err));

		if (rc == VQP_BUSY)
			continue;
		assert_int_equal(rc, VQP_OK);
		uint64_t adds = q.counters[VQT_C_ADDS], done = q.counters[VQT_C_COMPLETIONS];
		assert_true(adds == done || adds == done + 1);
		assert_int_equal(q.counters[VQT_C_DESCS], 2 * adds);
		assert_int_equal(q.counters[VQT_C_BYTES], 100 * adds);
		assert_int_equal(q.num_free, adds == done ? 64 : 62);
		assert_int_equal((uint16_t)(q.avail_idx - q.last_used_idx), adds - done);
		assert_string_equal(q.name, "gpu0.control");
		good++;
	}
	__atomic_store_n(&run.stop, 1, __ATOMIC_RELAXED);
	pthread_join(tid, NULL);
	assert_true(good > 0);
	fixture_free(f);
}

/* ---- generation, validation ----------------------------------------------------- */

static void test_generation_resync(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(REGION_SIZE);
	struct vq_trace_config cfg = {.producer = "rebooted", .ts_hz = 1000, .now = fake_now};
	struct vqt_event ev[64];
	char err[VQP_ERRLEN];

	emit_marks(f, 0, 10);
	assert_int_equal(vqp_reader_drain(&f->reader, ev, 64, NULL), 11);
	uint32_t gen = f->region.layout.generation;

	/* Guest reboots: the producer initialises the same region again. */
	assert_int_equal(vq_trace_init(&f->tr, f->mem, f->size, &cfg), VQ_TRACE_OK);
	emit_marks(f, 500, 5);
	assert_true(vqp_region_changed(&f->region));
	assert_int_equal(vqp_reader_drain(&f->reader, ev, 64, NULL), VQP_RESYNC);
	assert_int_equal(vqp_region_sync(&f->region, err, sizeof(err)), VQP_OK);
	assert_int_equal(f->region.layout.generation, gen + 1);
	assert_string_equal(f->region.layout.producer, "rebooted");
	assert_int_equal(f->region.layout.ts_hz, 1000);
	vqp_reader_init(&f->reader, &f->region, true);
	assert_int_equal(vqp_reader_drain(&f->reader, ev, 64, NULL), 5);
	assert_int_equal(ev[0].arg, 500);
	/* The queue table was cleared: nothing registered in gen + 1. */
	struct vqt_queue q;
	assert_int_equal(vqp_queue_snapshot(&f->region, 0, &q, err, sizeof(err)), VQP_OK);
	assert_int_equal(q.state, VQT_QS_FREE);
	fixture_free(f);
}

static void expect_invalid(struct fixture *f, size_t offset, const void *bytes, size_t n,
			   const char *needle)
{
	uint8_t saved[16];
	char err[VQP_ERRLEN] = "";

	memcpy(saved, (uint8_t *)f->mem + offset, n);
	memcpy((uint8_t *)f->mem + offset, bytes, n);
	assert_int_equal(vqp_region_sync(&f->region, err, sizeof(err)), VQP_INVALID);
	if (!strstr(err, needle))
		fail_msg("error \"%s\" does not mention \"%s\"", err, needle);
	memcpy((uint8_t *)f->mem + offset, saved, n);
	assert_int_equal(vqp_region_sync(&f->region, err, sizeof(err)), VQP_OK);
}

static void test_header_validation(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(REGION_SIZE);
	char err[VQP_ERRLEN];
	uint32_t u32;
	uint16_t u16;
	uint64_t u64;

	u32 = 0xdeadbeef;
	expect_invalid(f, 0x00, &u32, 4, "magic 0xdeadbeef");
	u16 = 2;
	expect_invalid(f, 0x04, &u16, 2, "version 2.");
	u64 = 3 * 65536;
	expect_invalid(f, 0x08, &u64, 8, "region_size 196608");
	u64 = 1ull << 20;
	expect_invalid(f, 0x08, &u64, 8, "exceeds the 65536 bytes mapped");
	u16 = 0;
	expect_invalid(f, 0x3c, &u16, 2, "0 slots");
	u32 = 1000;
	expect_invalid(f, 0x48, &u32, 4, "1000 records");
	u32 = 1u << 20;
	expect_invalid(f, 0x48, &u32, 4, "does not fit");
	u64 = 0x100;
	expect_invalid(f, 0x40, &u64, 8, "event ring at 0x100");
	u64 = 0;
	expect_invalid(f, 0x20, &u64, 8, "timestamp frequency 0");

	/* A zeroed region is "not ready", not an error. */
	memset(f->mem, 0, 8);
	assert_int_equal(vqp_region_sync(&f->region, err, sizeof(err)), VQP_NOT_READY);
	fixture_free(f);
}

/* Records with impossible contents are dropped and counted, never
 * delivered, and the books still balance. */
static void test_bad_records_are_violations(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(REGION_SIZE);
	struct vqt_event ev[64];
	volatile struct vqt_event *ring =
	    (volatile struct vqt_event *)((uint8_t *)f->mem + f->region.layout.ring_offset);

	drain_all(f, ev, 64);
	emit_marks(f, 0, 4);
	ring[1].type = VQT_EV_ADD; /* sequence 1: a chain longer than any ring */
	ring[1].queue = 0;
	ring[1].ndesc = 40000;
	ring[2].type = 200; /* sequence 2: unknown type */
	ring[3].type = VQT_EV_ADD;
	ring[3].queue = 250; /* beyond the table */
	int n = vqp_reader_drain(&f->reader, ev, 64, NULL);
	assert_int_equal(n, 1);
	assert_int_equal(f->reader.violations, 3);
	assert_non_null(strstr(f->reader.last_violation, "queue slot 250"));
	assert_int_equal(f->reader.delivered + f->reader.lost + f->reader.violations, 5);
	assert_int_equal(f->reader.dropped, 3);
	fixture_free(f);
}

/* ---- control block ------------------------------------------------------------------ */

static void test_event_mask_and_reset(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(REGION_SIZE);
	struct vqt_event ev[64];
	struct vqt_queue q;
	struct vqp_control_state cs;
	char err[VQP_ERRLEN];

	drain_all(f, ev, 64);
	vqp_control_event_mask(&f->region, 1u << VQT_EV_KICK);
	vq_trace_add(&f->tr, f->q, 0, 0, 1, 64, 0);
	vq_trace_kick(&f->tr, f->q, 1);
	assert_int_equal(vqp_reader_drain(&f->reader, ev, 64, NULL), 1);
	assert_int_equal(ev[0].type, VQT_EV_ADD);
	vqp_control_read(&f->region, &cs);
	assert_int_equal(cs.mask_ack, 1u << VQT_EV_KICK);
	assert_int_equal(vqp_queue_snapshot(&f->region, (unsigned)f->q, &q, err, sizeof(err)),
			 VQP_OK);
	assert_int_equal(q.counters[VQT_C_KICKS], 1); /* counted though masked */
	assert_int_equal(f->tr.hdr->events_masked, 1);

	vqp_control_reset_counters(&f->region);
	vq_trace_mark(&f->tr, 1);
	vqp_control_read(&f->region, &cs);
	assert_int_equal(cs.reset_ack, cs.reset_request);
	assert_int_equal(vqp_queue_snapshot(&f->region, (unsigned)f->q, &q, err, sizeof(err)),
			 VQP_OK);
	assert_int_equal(q.counters[VQT_C_KICKS], 0);
	assert_int_equal(q.counters[VQT_C_ADDS], 0);
	fixture_free(f);
}

/* Record e has these fields (word: head | ring_idx << 16, or barriers). */
static void expect_record(const struct vqt_event *e, uint8_t type, uint8_t queue, uint16_t ndesc,
			  uint32_t word, uint32_t len, uint64_t arg)
{
	if (e->type != type || e->queue != queue || e->ndesc != ndesc || e->barriers != word ||
	    e->len != len || e->arg != arg)
		fail_msg("record %u: type %u queue %u ndesc %u word 0x%x len %u arg %llu; expected "
			 "%u %u %u 0x%x %u %llu",
			 e->seq, e->type, e->queue, e->ndesc, e->barriers, e->len,
			 (unsigned long long)e->arg, type, queue, ndesc, word, len,
			 (unsigned long long)arg);
}

/* The same with the CPU's counter as the clock (no now hook): the event
 * functions' common case (control_quiet) writes whole records, counts
 * masked ones, and leaves for the full check when the host changes the
 * mask or asks for a reset. */
static void test_event_mask_and_reset_cpu_clock(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(REGION_SIZE);
	struct vq_trace_config cfg = {.producer = "cpu clock", .ts_hz = 1000000000};
	/* A start after any clock reading: the duration is 0. */
	struct vq_poll_stats st = {.spins = 3, .rmb = 1, .start = UINT64_MAX};
	struct vqt_event ev[8];
	struct vqt_queue q;
	char err[VQP_ERRLEN];

	assert_int_equal(vq_trace_init(&f->tr, f->mem, f->size, &cfg), VQ_TRACE_OK);
	f->q = vq_trace_register_queue(
	    &f->tr,
	    &(struct vq_queue_info){.device_type = 16, .ring_size = 64, .name = "gpu0.control"});
	assert_true(f->q >= 0);
	assert_int_equal(vqp_region_sync(&f->region, err, sizeof(err)), VQP_OK);
	vqp_reader_init(&f->reader, &f->region, true);
	vq_trace_add(&f->tr, f->q, 5, 9, 2, 76, 1);
	vq_trace_kick(&f->tr, f->q, 10);
	vq_trace_poll(&f->tr, f->q, &st, VQT_POLL_PROGRESS);
	vq_trace_used(&f->tr, f->q, 5, 9, 24, 2);
	assert_int_equal(vqp_reader_drain(&f->reader, ev, 8, NULL), 5);
	/* ev[0] is the QUEUE event of the registration; then type, queue,
	 * ndesc, head/ring_idx (or barriers), len and arg as written. */
	expect_record(&ev[1], VQT_EV_ADD, (uint8_t)f->q, 2, 5u | 9u << 16, 76, 1);
	expect_record(&ev[2], VQT_EV_KICK, (uint8_t)f->q, 0, 10u << 16, 1, 0);
	expect_record(&ev[3], VQT_EV_POLL, (uint8_t)f->q, VQT_POLL_PROGRESS, 1, 3, 0);
	expect_record(&ev[4], VQT_EV_USED, (uint8_t)f->q, 2, 5u | 9u << 16, 24, 0);
	for (int i = 1; i < 5; i++) {
		assert_int_equal(ev[i].seq, (uint32_t)i);
		assert_true(ev[i].ts >= ev[i - 1].ts);
	}

	/* The first event after the mask changes takes the full check; the
	 * masked ones after it are counted in the common case. */
	vqp_control_event_mask(&f->region, 1u << VQT_EV_KICK);
	vq_trace_add(&f->tr, f->q, 6, 10, 1, 64, 0);
	vq_trace_kick(&f->tr, f->q, 11);
	vq_trace_kick_suppressed(&f->tr, f->q, 11);
	vq_trace_kick(&f->tr, f->q, 11);
	assert_int_equal(vqp_reader_drain(&f->reader, ev, 8, NULL), 2);
	assert_int_equal(ev[0].type, VQT_EV_ADD);
	assert_int_equal(ev[1].type, VQT_EV_KICK_SUPPRESSED);
	assert_int_equal(f->tr.hdr->events_masked, 2);
	assert_int_equal(vqp_queue_snapshot(&f->region, (unsigned)f->q, &q, err, sizeof(err)),
			 VQP_OK);
	assert_int_equal(q.counters[VQT_C_KICKS], 3); /* counted though masked */
	assert_int_equal(q.counters[VQT_C_ADDS], 2);
	assert_int_equal(q.avail_idx, 11);
	assert_int_equal(q.num_free, 64 - 2 - 1 + 2);

	vqp_control_reset_counters(&f->region);
	vq_trace_used(&f->tr, f->q, 6, 10, 8, 1);
	assert_int_equal(vqp_queue_snapshot(&f->region, (unsigned)f->q, &q, err, sizeof(err)),
			 VQP_OK);
	assert_int_equal(q.counters[VQT_C_KICKS], 0);
	assert_int_equal(q.counters[VQT_C_COMPLETIONS], 1);
	assert_int_equal(q.last_used_idx, 11);
	assert_int_equal(vqp_reader_drain(&f->reader, ev, 8, NULL), 1);
	assert_int_equal(ev[0].type, VQT_EV_USED);
	fixture_free(f);
}

static void *step_producer(void *arg)
{
	struct thread_run *run = arg;

	for (int i = 0; i < 3; i++)
		vq_trace_mark(&run->f->tr, (uint64_t)i);
	run->produced = 3;
	return NULL;
}

static void wait_until_waiting(struct fixture *f, uint32_t want_taken)
{
	struct vqp_control_state cs;

	for (int spin = 0; spin < 2000000; spin++) {
		vqp_control_read(&f->region, &cs);
		if (cs.step_waiting && cs.step_taken == want_taken)
			return;
		sched_yield();
	}
	fail_msg("producer never waited for a step token");
}

/* Step mode: the producer writes exactly one event per granted token. */
static void test_step_mode_one_event_per_token(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(REGION_SIZE);
	struct thread_run run = {.f = f};
	struct vqt_event ev[8];
	struct vqp_control_state cs;
	pthread_t tid;

	drain_all(f, ev, 8);
	vqp_control_step_mode(&f->region, true);
	assert_int_equal(pthread_create(&tid, NULL, step_producer, &run), 0);

	for (uint32_t step = 0; step < 3; step++) {
		wait_until_waiting(f, step);
		vqp_control_read(&f->region, &cs);
		assert_int_equal(cs.step_event_type, VQT_EV_MARK);
		/* Nothing new until the token. */
		assert_int_equal(vqp_reader_drain(&f->reader, ev, 8, NULL), 0);
		vqp_control_grant(&f->region, 1);
		/* Wait for exactly one record. */
		int got = 0;
		for (int spin = 0; spin < 2000000 && got == 0; spin++) {
			got = vqp_reader_drain(&f->reader, ev, 8, NULL);
			if (got == 0)
				sched_yield();
		}
		assert_int_equal(got, 1);
		assert_int_equal(ev[0].arg, step);
	}
	pthread_join(tid, NULL);
	vqp_control_read(&f->region, &cs);
	assert_int_equal(cs.step_taken, 3);
	assert_int_equal(cs.step_waiting, 0);
	vqp_control_step_mode(&f->region, false);
	fixture_free(f);
}

/* A producer that opted out of step mode never waits. */
static void test_no_step_producer_never_waits(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(REGION_SIZE);
	struct vq_trace_config cfg = {
	    .producer = "tracer", .ts_hz = 1000, .now = fake_now, .no_step = 1};
	char err[VQP_ERRLEN];
	struct vqt_event ev[8];

	vqp_control_step_mode(&f->region, true);
	assert_int_equal(vq_trace_init(&f->tr, f->mem, f->size, &cfg), VQ_TRACE_OK);
	assert_int_equal(vqp_region_sync(&f->region, err, sizeof(err)), VQP_OK);
	assert_int_equal(f->region.layout.flags & VQT_HDR_F_STEP_CAPABLE, 0);
	vqp_reader_init(&f->reader, &f->region, true);
	vq_trace_mark(&f->tr, 7);
	assert_int_equal(vqp_reader_drain(&f->reader, ev, 8, NULL), 1);
	fixture_free(f);
}

/* Re-registering a queue after teardown gets its old slot back. */
static void test_reregistration_reuses_slot(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(REGION_SIZE);
	struct vq_queue_info cursor = {
	    .device_type = 16, .queue_index = 1, .ring_size = 16, .name = "gpu0.cursor"};
	int c = vq_trace_register_queue(&f->tr, &cursor);

	assert_int_equal(c, f->q + 1);
	vq_trace_unregister_queue(&f->tr, f->q);
	int again = vq_trace_register_queue(
	    &f->tr,
	    &(struct vq_queue_info){
		.device_type = 16, .queue_index = 0, .ring_size = 64, .name = "gpu0.control"});
	assert_int_equal(again, f->q);
	/* Events for a slot that is not registered become ERROR events. */
	vq_trace_add(&f->tr, 77, 0, 0, 1, 1, 0);
	assert_int_equal(f->tr.hdr->errors, 1);
	fixture_free(f);
}

/* A kick decision carries the suppression state the driver read, with
 * the present bit; the older calls leave arg 0 ("not known").  Both count
 * in the kick counters and report the adds since the last decision. */
static void test_kick_decision_carries_state(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(REGION_SIZE);
	struct vqt_event ev[8];
	struct vqt_queue snap;
	char err[VQP_ERRLEN];
	/* avail_event 0xfffe, used.flags 1, and bits 32..47 as packed uses them. */
	uint64_t word = 0xfffeu | 1u << 16 | (uint64_t)0x8003u << 32;

	vq_trace_add(&f->tr, f->q, 0, 0, 2, 80, 1);
	vq_trace_kick_decision(&f->tr, f->q, 1, 1, word);
	vq_trace_add(&f->tr, f->q, 2, 1, 2, 80, 1);
	vq_trace_add(&f->tr, f->q, 4, 2, 2, 80, 1);
	vq_trace_kick_decision(&f->tr, f->q, 3, 0, 0);
	vq_trace_kick(&f->tr, f->q, 3);
	assert_int_equal(drain_all(f, ev, 8), 7);
	assert_int_equal(ev[2].type, VQT_EV_KICK);
	assert_int_equal(ev[2].arg, word | VQT_KICK_STATE_PRESENT);
	assert_int_equal(VQT_KICK_STATE_EVENT(ev[2].arg), 0xfffe);
	assert_int_equal(VQT_KICK_STATE_FLAGS(ev[2].arg), 1);
	assert_int_equal(VQT_KICK_STATE_DRIVER(ev[2].arg), 0x8003);
	assert_int_equal(ev[2].len, 1);
	assert_int_equal(ev[5].type, VQT_EV_KICK_SUPPRESSED);
	assert_int_equal(ev[5].arg, VQT_KICK_STATE_PRESENT);
	assert_int_equal(ev[5].ring_idx, 3);
	assert_int_equal(ev[5].len, 2);
	assert_int_equal(ev[6].type, VQT_EV_KICK);
	assert_int_equal(ev[6].arg, 0);
	assert_int_equal(ev[6].len, 0);
	assert_int_equal(vqp_queue_snapshot(&f->region, (unsigned)f->q, &snap, err, sizeof(err)),
			 VQP_OK);
	assert_int_equal(snap.counters[VQT_C_KICKS], 2);
	assert_int_equal(snap.counters[VQT_C_KICKS_SUPPRESSED], 1);
	assert_int_equal(snap.avail_idx, 3);
	fixture_free(f);
}

/* Every power-of-two region size gives a valid layout. */
static void test_all_region_sizes(void **state)
{
	(void)state;
	for (size_t size = VQT_REGION_MIN; size <= 64u * 1024 * 1024; size *= 2) {
		struct fixture *f = fixture_new(size);
		struct vqt_event ev[4];

		assert_int_equal(f->region.layout.ring_records, size / 64);
		assert_true(f->region.layout.queue_slots >= VQT_QUEUE_SLOTS_MIN);
		assert_int_equal(vqp_reader_drain(&f->reader, ev, 4, NULL), 1);
		fixture_free(f);
	}
	/* Sizes that are not powers of two, or out of range, are refused. */
	struct vq_trace tr;
	struct vq_trace_config cfg = {.ts_hz = 1};
	static uint8_t buf[VQT_REGION_MIN * 2];
	assert_int_equal(vq_trace_init(&tr, buf, VQT_REGION_MIN + 4096, &cfg), VQ_TRACE_EINVAL);
	assert_int_equal(vq_trace_init(&tr, buf, VQT_REGION_MIN / 2, &cfg), VQ_TRACE_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fill_and_read_back),
	    cmocka_unit_test(test_drain_counts_queue_records),
	    cmocka_unit_test(test_wrap_at_2_16),
	    cmocka_unit_test(test_wrap_at_2_32),
	    cmocka_unit_test(test_ring_index_wrap),
	    cmocka_unit_test(test_overwrite_counts_loss_exactly),
	    cmocka_unit_test(test_producer_reported_loss),
	    cmocka_unit_test(test_garbage_head_is_ignored),
	    cmocka_unit_test(test_garbage_head_at_attach),
	    cmocka_unit_test(test_concurrent_producer_consumer),
	    cmocka_unit_test(test_seqcount_snapshots_are_consistent),
	    cmocka_unit_test(test_generation_resync),
	    cmocka_unit_test(test_header_validation),
	    cmocka_unit_test(test_bad_records_are_violations),
	    cmocka_unit_test(test_event_mask_and_reset),
	    cmocka_unit_test(test_event_mask_and_reset_cpu_clock),
	    cmocka_unit_test(test_step_mode_one_event_per_token),
	    cmocka_unit_test(test_no_step_producer_never_waits),
	    cmocka_unit_test(test_reregistration_reuses_slot),
	    cmocka_unit_test(test_kick_decision_carries_state),
	    cmocka_unit_test(test_all_region_sizes),
	};
	return cmocka_run_group_tests_name("ring", tests, NULL, NULL);
}
