/* test_producer_state.c - the producer state and heartbeat of the region
 * header (minor version 1) and the receive-queue flag, written by the guest
 * library (compiled hosted) and read back through libvqproto: unknown until
 * the producer says, running with its heartbeat period, heartbeats that
 * count and move the time, stopped, a 1.0 region read as unknown, and
 * garbage states and times refused with the offset and value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vqproto.h"
#include "vqscope_guest.h"

#define REGION_SIZE (64u * 1024u)

static uint64_t fake_clock;
static uint64_t fake_now(void)
{
	return fake_clock += 10;
}

struct fixture {
	void *mem;
	struct vq_trace tr;
	struct vqp_region region;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct vq_trace_config cfg = {
	    .producer = "unit test", .ts_hz = 1000000000, .now = fake_now};
	char err[VQP_ERRLEN];

	assert_non_null(f);
	assert_int_equal(posix_memalign(&f->mem, 4096, REGION_SIZE), 0);
	memset(f->mem, 0, REGION_SIZE);
	fake_clock = 1000;
	assert_int_equal(vq_trace_init(&f->tr, f->mem, REGION_SIZE, &cfg), VQ_TRACE_OK);
	vqp_region_init(&f->region, f->mem, REGION_SIZE, NULL);
	assert_int_equal(vqp_region_sync(&f->region, err, sizeof(err)), VQP_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	free(f->mem);
	free(f);
	return 0;
}

static struct vqp_producer read_ok(struct fixture *f)
{
	struct vqp_producer p;
	char err[VQP_ERRLEN] = "";

	assert_int_equal(vqp_region_producer(&f->region, &p, err, sizeof(err)), VQP_OK);
	return p;
}

static void test_layout(void **state)
{
	(void)state;
	assert_int_equal(VQT_VERSION_MINOR, 1);
	assert_int_equal(offsetof(struct vqt_header, producer_state), 0x90);
	assert_int_equal(offsetof(struct vqt_header, heartbeat_ms), 0x94);
	assert_int_equal(offsetof(struct vqt_header, heartbeat_ts), 0x98);
	assert_int_equal(offsetof(struct vqt_header, heartbeats), 0xa0);
}

static void test_unknown_until_told(void **state)
{
	struct fixture *f = *state;
	struct vqp_producer p = read_ok(f);

	assert_int_equal(f->region.layout.version_minor, 1);
	assert_int_equal(p.state, VQT_PRODUCER_UNKNOWN);
	assert_int_equal(p.heartbeats, 0);
	assert_int_equal(p.heartbeat_ms, 0);
}

static void test_running_heartbeats_stopped(void **state)
{
	struct fixture *f = *state;
	struct vqp_producer p;
	uint64_t t0;

	vq_trace_set_state(&f->tr, VQT_PRODUCER_RUNNING, 100);
	p = read_ok(f);
	assert_int_equal(p.state, VQT_PRODUCER_RUNNING);
	assert_int_equal(p.heartbeat_ms, 100);
	assert_int_equal(p.heartbeats, 1);
	t0 = p.heartbeat_ts;
	assert_true(t0 >= f->region.layout.ts_base);

	vq_trace_heartbeat(&f->tr);
	vq_trace_heartbeat(&f->tr);
	p = read_ok(f);
	assert_int_equal(p.state, VQT_PRODUCER_RUNNING);
	assert_int_equal(p.heartbeats, 3);
	assert_true(p.heartbeat_ts > t0);

	/* Stopping withdraws the heartbeat promise and stamps the stop. */
	vq_trace_set_state(&f->tr, VQT_PRODUCER_STOPPED, 100);
	p = read_ok(f);
	assert_int_equal(p.state, VQT_PRODUCER_STOPPED);
	assert_int_equal(p.heartbeat_ms, 0);
	assert_int_equal(p.heartbeats, 4);
	assert_int_equal(p.heartbeat_ts, fake_clock);
}

static void test_no_events_written(void **state)
{
	struct fixture *f = *state;

	vq_trace_set_state(&f->tr, VQT_PRODUCER_RUNNING, 50);
	vq_trace_heartbeat(&f->tr);
	assert_int_equal(vqp_region_head(&f->region), 0);
}

static void test_old_minor_reads_unknown(void **state)
{
	struct fixture *f = *state;
	struct vqt_header *h = f->mem;
	char err[VQP_ERRLEN];

	vq_trace_set_state(&f->tr, VQT_PRODUCER_RUNNING, 100);
	/* A 1.0 reader's view: those bytes are reserved; a 1.0 producer
	 * keeps them zero, and a reader ignores them whatever they hold. */
	h->version_minor = 0;
	assert_int_equal(vqp_region_sync(&f->region, err, sizeof(err)), VQP_OK);
	assert_int_equal(read_ok(f).state, VQT_PRODUCER_UNKNOWN);
}

static void test_garbage_refused(void **state)
{
	struct fixture *f = *state;
	struct vqt_header *h = f->mem;
	struct vqp_producer p;
	char err[VQP_ERRLEN] = "";

	vq_trace_set_state(&f->tr, VQT_PRODUCER_RUNNING, 100);
	h->producer_state = 7;
	assert_int_equal(vqp_region_producer(&f->region, &p, err, sizeof(err)), VQP_INVALID);
	assert_non_null(strstr(err, "producer_state 7 (offset 0x90)"));
	assert_int_equal(p.state, VQT_PRODUCER_UNKNOWN);

	h->producer_state = VQT_PRODUCER_RUNNING;
	h->heartbeat_ts = f->region.layout.ts_base - 1;
	assert_int_equal(vqp_region_producer(&f->region, &p, err, sizeof(err)), VQP_INVALID);
	assert_non_null(strstr(err, "(offset 0x98)"));
	assert_int_equal(p.heartbeats, 0);
}

static void test_unsynced_refused(void **state)
{
	struct vqp_region r;
	struct vqp_producer p;
	char err[VQP_ERRLEN] = "";

	(void)state;
	memset(&r, 0, sizeof(r));
	assert_int_equal(vqp_region_producer(&r, &p, err, sizeof(err)), VQP_INVALID);
	assert_string_equal(err, "trace region not synced");
}

static void test_receive_flag(void **state)
{
	struct fixture *f = *state;
	struct vqt_queue q;
	char err[VQP_ERRLEN];
	int rx = vq_trace_register_queue(&f->tr, &(struct vq_queue_info){.device_type = 1,
									 .queue_index = 0,
									 .ring_size = 256,
									 .flags = VQT_QF_RECEIVE,
									 .name = "net0.rx"});
	int tx = vq_trace_register_queue(
	    &f->tr, &(struct vq_queue_info){
			.device_type = 1, .queue_index = 1, .ring_size = 256, .name = "net0.tx"});

	assert_true(rx >= 0 && tx >= 0);
	assert_int_equal(vqp_queue_snapshot(&f->region, (unsigned)rx, &q, err, sizeof(err)),
			 VQP_OK);
	assert_true(q.flags & VQT_QF_RECEIVE);
	assert_int_equal(vqp_queue_snapshot(&f->region, (unsigned)tx, &q, err, sizeof(err)),
			 VQP_OK);
	assert_false(q.flags & VQT_QF_RECEIVE);

	/* A producer that learns the kind later (the tracer). */
	vq_trace_set_receive(&f->tr, tx, 1);
	assert_int_equal(vqp_queue_snapshot(&f->region, (unsigned)tx, &q, err, sizeof(err)),
			 VQP_OK);
	assert_true(q.flags & VQT_QF_RECEIVE);
	vq_trace_set_receive(&f->tr, rx, 0);
	assert_int_equal(vqp_queue_snapshot(&f->region, (unsigned)rx, &q, err, sizeof(err)),
			 VQP_OK);
	assert_false(q.flags & VQT_QF_RECEIVE);
	/* Callbacks off and on leave the kind alone. */
	vq_trace_callbacks(&f->tr, tx, 0, 5);
	vq_trace_callbacks(&f->tr, tx, 1, 6);
	assert_int_equal(vqp_queue_snapshot(&f->region, (unsigned)tx, &q, err, sizeof(err)),
			 VQP_OK);
	assert_int_equal(q.flags & (VQT_QF_RECEIVE | VQT_QF_CB_DISABLED), VQT_QF_RECEIVE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_layout),
	    cmocka_unit_test_setup_teardown(test_unknown_until_told, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_running_heartbeats_stopped, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_events_written, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_old_minor_reads_unknown, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_garbage_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unsynced_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_receive_flag, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
