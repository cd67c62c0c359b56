/* test_model.c - the session model on synthetic event streams: latency
 * percentiles and histogram bucket bounds, where frame time goes (logging-dominated and
 * device-dominated streams), stalls and their cause, loss and anomalies,
 * generation resync, ring reconstruction, device-side disagreement. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/model.h"
#include "core/overview.h"
#include "core/report.h"
#include "vqproto.h"

#define US 1000ull
#define MS 1000000ull

/* A stream builder with ts_hz = 1 GHz so ticks are nanoseconds. */
struct stream {
	struct vqt_event ev[8192];
	size_t n;
	uint64_t seq;
	uint64_t now;
};

static struct vqt_event *push(struct stream *s, uint8_t type, uint8_t queue)
{
	struct vqt_event *e = &s->ev[s->n++];

	assert_true(s->n <= 8192);
	memset(e, 0, sizeof(*e));
	e->ts = s->now;
	e->seq = (uint32_t)s->seq++;
	e->type = type;
	e->queue = queue;
	return e;
}

static void reg(struct stream *s, uint8_t q, uint16_t size)
{
	struct vqt_event *e = push(s, VQT_EV_QUEUE, q);
	e->ndesc = VQT_QS_ACTIVE;
	e->ring_idx = size;
}

static uint16_t avail_idx, used_idx;

/* One command on queue 0: ADD, KICK, then a poll of `device` ns ending in
 * USED. */
static void command(struct stream *s, uint16_t head, uint64_t device, uint32_t spins)
{
	struct vqt_event *e = push(s, VQT_EV_ADD, 0);
	e->head = head;
	e->ring_idx = avail_idx++;
	e->ndesc = 2;
	e->len = 64;
	e = push(s, VQT_EV_KICK, 0);
	e->ring_idx = avail_idx;
	uint64_t poll_start = s->now;
	s->now += device;
	e = push(s, VQT_EV_POLL, 0);
	e->len = spins;
	e->barriers = spins;
	e->arg = s->now - poll_start;
	e = push(s, VQT_EV_USED, 0);
	e->head = head;
	e->ring_idx = used_idx++;
	e->ndesc = 2;
}

static void log_line(struct stream *s, uint64_t duration, uint32_t bytes)
{
	s->now += duration;
	struct vqt_event *e = push(s, VQT_EV_LOG, VQT_QUEUE_NONE);
	e->len = bytes;
	e->arg = duration;
}

static void frame_begin(struct stream *s, uint64_t n)
{
	push(s, VQT_EV_FRAME_BEGIN, VQT_QUEUE_NONE)->arg = n;
}

static void frame_end(struct stream *s, uint64_t n)
{
	push(s, VQT_EV_FRAME_END, VQT_QUEUE_NONE)->arg = n;
}

static struct vq_model *feed(struct stream *s)
{
	struct vq_model *m = model_new(NULL);

	assert_non_null(m);
	model_set_producer(m, 1000000000, "test", 1);
	model_feed(m, s->ev, s->n, 0);
	model_finish(m);
	return m;
}

static struct stream *stream_new(void)
{
	struct stream *s = calloc(1, sizeof(*s));
	s->now = 1000;
	avail_idx = used_idx = 0;
	reg(s, 0, 64);
	return s;
}

static void test_latency_percentiles(void **state)
{
	(void)state;
	struct stream *s = stream_new();

	/* 100 commands taking 1..100 us. */
	for (uint16_t i = 0; i < 100; i++)
		command(s, i % 64, (i + 1) * US, 10);
	struct vq_model *m = feed(s);
	const struct model_queue *q = &m->queues[0];

	assert_int_equal(q->latency.count, 100);
	assert_int_equal(q->latency.max_ns, 100 * US);
	assert_int_equal(q->latency.min_ns, 1 * US);
	/* Log-linear buckets: within 1/16 of the true value. */
	uint64_t p50 = hist_quantile(&q->latency, 0.5), p99 = hist_quantile(&q->latency, 0.99);
	assert_in_range(p50, 50 * US, 50 * US + 50 * US / 16);
	assert_in_range(p99, 99 * US, 100 * US);
	assert_int_equal(q->count[MC_ADDS], 100);
	assert_int_equal(q->count[MC_COMPLETIONS], 100);
	assert_int_equal(q->count[MC_SPINS], 1000);
	assert_int_equal(q->in_flight, 0);
	assert_int_equal(q->max_in_flight, 1);
	assert_int_equal(q->avail_idx, 100);
	assert_int_equal(q->last_used_idx, 100);
	assert_int_equal(m->anomalies, 0);

	uint64_t log2[64];
	unsigned top = hist_log2(&q->latency, log2);
	assert_int_equal(top, 17); /* 65..100 us land in [2^16, 2^17) ns */
	uint64_t total = 0;
	for (unsigned k = 0; k < top; k++)
		total += log2[k];
	assert_int_equal(total, 100);
	model_free(m);
	free(s);
}

/* The largest value sharing V's histogram bucket, from the bucket layout
 * in model.h: 0..31 one value each, then 16 sub-buckets per power of two.
 * Everything from 2^52 is in the last bucket, whose bound (2^52 - 1) is
 * below it, so the quantile is V itself, the minimum. */
static uint64_t bucket_top(uint64_t v)
{
	unsigned shift;

	if (v < 32 || v >= 1ull << 52)
		return v;
	shift = 63u - (unsigned)__builtin_clzll(v) - HIST_SUB_BITS;
	return ((v >> shift) << shift) + (1ull << shift) - 1;
}

/* Each bucket's bounds, read back through hist_quantile: with V and a far
 * larger value, the median is the upper bound of V's bucket. */
static void test_histogram_buckets(void **state)
{
	(void)state;
	const uint64_t far = UINT64_MAX;
	unsigned checked = 0;

	for (unsigned msb = 0; msb < 64; msb++) {
		for (uint64_t sub = 0; sub < 32; sub++) {
			uint64_t base = msb < 5 ? sub : (16 + sub % 16) << (msb - 4);
			uint64_t probes[3] = {base, base - 1, base + 1};

			for (unsigned k = 0; k < 3; k++) {
				uint64_t v = probes[k];
				struct latency_hist h;

				if (v >= far)
					continue;
				memset(&h, 0, sizeof(h));
				hist_add(&h, v);
				hist_add(&h, far);
				uint64_t top = bucket_top(v);
				if (hist_quantile(&h, 0.5) != top)
					fail_msg("value %llu: bucket ends at %llu, expected %llu",
						 (unsigned long long)v,
						 (unsigned long long)hist_quantile(&h, 0.5),
						 (unsigned long long)top);
				checked++;
			}
		}
	}
	assert_true(checked > 5000);

	/* The last bucket takes everything from 2^52 up: by its bound it is
	 * in [2^51, 2^52). */
	struct latency_hist h;
	uint64_t log2[64];
	memset(&h, 0, sizeof(h));
	hist_add(&h, 1ull << 52);
	hist_add(&h, UINT64_MAX);
	assert_int_equal(hist_log2(&h, log2), 52);
	assert_int_equal(log2[51], 2);
}

/* The motivating case: each frame does a little device work and then
 * writes a log line over a slow UART. */
static void test_logging_dominates(void **state)
{
	(void)state;
	struct stream *s = stream_new();

	for (uint64_t f = 0; f < 20; f++) {
		frame_begin(s, f);
		s->now += 300 * US; /* drawing */
		for (uint16_t c = 0; c < 4; c++)
			command(s, c, 200 * US, 500);
		frame_end(s, f);
		log_line(s, 5 * MS, 60);
	}
	frame_begin(s, 20); /* closes frame 19's period */
	struct vq_model *m = feed(s);

	assert_int_equal(m->frames_total, 21);
	const struct model_frame *fr = model_frame_at(m, 3);
	assert_int_equal(fr->number, 3);
	assert_int_equal(fr->period_ns, 300 * US + 800 * US + 5 * MS);
	assert_int_equal(fr->active_ns, 300 * US + 800 * US);
	assert_int_equal(fr->attr.ns[ATTR_LOG], 5 * MS);
	assert_int_equal(fr->attr.ns[ATTR_DEVICE], 800 * US);
	assert_int_equal(fr->attr.ns[ATTR_OTHER], 300 * US);
	assert_int_equal(fr->attr.ns[ATTR_POLL], 0);
	assert_int_equal(fr->commands, 4);
	assert_int_equal(fr->spins, 2000);
	/* The log line comes after FRAME_END but inside the period, which is
	 * what the frame rate feels. */
	assert_int_equal(fr->log_bytes, 60);
	assert_int_equal(attr_dominant(&m->frames_attr), ATTR_LOG);
	assert_true(m->frames_attr.ns[ATTR_LOG] * 100 / m->frames_attr.total_ns > 75);
	assert_int_equal(m->stalls_total, 0); /* every frame alike: no stall */
	model_free(m);
	free(s);
}

/* A share in whole percent rounds as the report's one-decimal share does:
 * 69.96% is "70%" beside "70.0%", never "69%". */
static void test_attr_percent_rounds(void **state)
{
	struct attribution a = {
	    .ns = {[ATTR_LOG] = 6996, [ATTR_DEVICE] = 1004, [ATTR_OTHER] = 2000},
	    .total_ns = 10000};
	struct attribution none = {0};
	(void)state;

	assert_int_equal(attr_percent(&a, ATTR_LOG), 70);
	assert_int_equal(attr_percent(&a, ATTR_DEVICE), 10);
	assert_int_equal(attr_percent(&a, ATTR_OTHER), 20);
	assert_int_equal(attr_percent(&a, ATTR_POLL), 0);
	a.ns[ATTR_LOG] = 6949;
	assert_int_equal(attr_percent(&a, ATTR_LOG), 69);
	a.ns[ATTR_LOG] = 6950;
	assert_int_equal(attr_percent(&a, ATTR_LOG), 70);
	a.ns[ATTR_LOG] = a.total_ns;
	assert_int_equal(attr_percent(&a, ATTR_LOG), 100);
	assert_int_equal(attr_percent(&none, ATTR_LOG), 0);
	/* Times near 2^64 ns do not wrap. */
	a.ns[ATTR_LOG] = UINT64_MAX / 4 * 3;
	a.total_ns = UINT64_MAX;
	assert_int_equal(attr_percent(&a, ATTR_LOG), 75);
}

/* Same shape, but the device is slow and nothing is logged. */
static void test_slow_device_dominates(void **state)
{
	(void)state;
	struct stream *s = stream_new();

	for (uint64_t f = 0; f < 10; f++) {
		frame_begin(s, f);
		s->now += 200 * US;
		command(s, 1, 4 * MS, 9000);
		frame_end(s, f);
	}
	struct vq_model *m = feed(s);

	assert_int_equal(attr_dominant(&m->frames_attr), ATTR_DEVICE);
	assert_int_equal(m->frames_attr.ns[ATTR_LOG], 0);
	assert_int_equal(m->frames_attr.ns[ATTR_DEVICE], 10 * 4 * MS);
	/* Intervals split the same way. */
	assert_int_equal(attr_dominant(&m->session_attr), ATTR_DEVICE);
	model_free(m);
	free(s);
}

/* One frame is slow; the stall names its cause in words. */
static void test_frame_stall_named(void **state)
{
	(void)state;
	struct stream *s = stream_new();

	for (uint64_t f = 0; f < 30; f++) {
		frame_begin(s, f);
		s->now += 500 * US;
		command(s, 0, 500 * US, 100);
		if (f == 20)
			log_line(s, 9 * MS, 80); /* the slow one, inside the frame */
		frame_end(s, f);
	}
	frame_begin(s, 30);
	struct vq_model *m = feed(s);

	assert_int_equal(m->frame_stalls, 1);
	assert_int_equal(m->stalls_total, 1);
	const struct model_stall *st = &m->worst[0];
	assert_int_equal(st->kind, STALL_FRAME);
	assert_int_equal(st->frame, 20);
	assert_int_equal(st->cause, ATTR_LOG);
	assert_int_equal(st->duration_ns, 10 * MS);
	if (!strstr(st->text, "frame 20 took 10.00 ms") ||
	    !strstr(st->text, "(90%) writing log output"))
		fail_msg("stall text: %s", st->text);
	model_free(m);
	free(s);
}

/* A command over the threshold: waiting on the device vs. reaped late
 * because the driver was logging. */
static void test_command_stall_cause(void **state)
{
	(void)state;
	struct stream *s = stream_new();

	command(s, 3, 15 * MS, 100000); /* polled the whole time: device */
	/* Added, then the driver logs for 20 ms before reaping. */
	struct vqt_event *e = push(s, VQT_EV_ADD, 0);
	e->head = 4;
	e->ndesc = 1;
	e->ring_idx = avail_idx++;
	push(s, VQT_EV_KICK, 0)->ring_idx = avail_idx;
	log_line(s, 20 * MS, 100);
	s->now += 100 * US;
	e = push(s, VQT_EV_USED, 0);
	e->head = 4;
	e->ring_idx = used_idx++;
	struct vq_model *m = feed(s);

	assert_int_equal(m->stalls_total, 2);
	assert_int_equal(m->queues[0].count[MC_STALLS], 2);
	const struct model_stall *a = &m->worst[0], *b = &m->worst[1];
	if (a->head != 3) {
		const struct model_stall *t = a;
		a = b;
		b = t;
	}
	assert_int_equal(a->kind, STALL_COMMAND);
	assert_int_equal(a->cause, ATTR_DEVICE);
	assert_int_equal(b->cause, ATTR_LOG);
	assert_non_null(strstr(b->text, "head 4 took 20.10 ms"));
	model_free(m);
	free(s);
}

/* Lost records show up as USED without ADD; they are counted as
 * anomalies, never crash or go negative. */
static void test_loss_and_anomalies(void **state)
{
	(void)state;
	struct stream *s = stream_new();

	command(s, 1, 10 * US, 1);
	struct vqt_event *e = push(s, VQT_EV_USED, 0); /* its ADD was lost */
	e->head = 9;
	e = push(s, VQT_EV_ADD, 0);
	e->head = 2;
	e->ndesc = 1;
	e = push(s, VQT_EV_ADD, 0); /* same head again: its USED was lost */
	e->head = 2;
	e->ndesc = 1;
	e = push(s, VQT_EV_ADD, 0); /* beyond the 64-entry ring */
	e->head = 100;
	e->ndesc = 1;
	struct vq_model *m = feed(s);
	model_note_loss(m, 7);

	assert_int_equal(m->lost, 7);
	assert_int_equal(m->anomalies, 3);
	/* Head 2 only: an ADD outside the ring is counted and ignored. */
	assert_int_equal(m->queues[0].in_flight, 1);
	assert_int_equal(m->queues[0].head_state[2], HEAD_AVAIL);
	assert_int_equal(m->queues[0].head_state[100], HEAD_FREE);
	assert_int_equal(m->in_flight_total, 1);
	assert_non_null(strstr(m->queues[0].last_anomaly, "head 100 outside the ring of 64"));
	model_free(m);
	free(s);
}

/* After records were lost, a head's state is not known: an ADD of a head
 * added before the loss (its USED may be lost) and a USED of a head freed
 * before it (its ADD may be lost) are no anomalies.  The same events with
 * no loss between are two. */
static void test_loss_forgives_head_state(void **state)
{
	(void)state;
	for (int lose = 0; lose <= 1; lose++) {
		struct stream *s = stream_new(), *t = calloc(1, sizeof(*t));
		struct vq_model *m = model_new(NULL);
		struct vqt_event *e;

		model_set_producer(m, 1000000000, "test", 1);
		command(s, 1, 10 * US, 1);
		e = push(s, VQT_EV_ADD, 0);
		e->head = 2;
		e->ndesc = 1;
		e->ring_idx = avail_idx++;
		model_feed(m, s->ev, s->n, 0);
		if (lose)
			model_note_loss(m, 3);
		t->seq = s->seq + (lose ? 3 : 0);
		t->now = s->now + 1 * MS;
		e = push(t, VQT_EV_ADD, 0); /* head 2 again */
		e->head = 2;
		e->ndesc = 1;
		e->ring_idx = avail_idx++;
		t->now += 20 * US;
		e = push(t, VQT_EV_USED, 0);
		e->head = 2;
		e->ring_idx = used_idx++;
		e = push(t, VQT_EV_USED, 0); /* head 1 again, not added since */
		e->head = 1;
		e->ring_idx = used_idx++;
		model_feed(m, t->ev, t->n, s->seq);
		model_finish(m);

		assert_int_equal(m->anomalies, lose ? 0 : 2);
		assert_int_equal(m->queues[0].in_flight, 0);
		assert_int_equal(m->in_flight_total, 0);
		if (lose) {
			/* Head 2's latency is from its second ADD. */
			assert_int_equal(m->queues[0].latency.count, 2);
			assert_int_equal(m->queues[0].latency.max_ns, 20 * US);
		}
		model_free(m);
		free(s);
		free(t);
	}
}

/* A frame inside which records were lost may have lost its end and the
 * frames after it: its period is neither a stall nor a frame period. */
static void test_loss_inside_frame_is_no_stall(void **state)
{
	(void)state;
	for (int lose = 0; lose <= 1; lose++) {
		struct stream *s = stream_new();
		struct vq_model *m = model_new(NULL);

		model_set_producer(m, 1000000000, "test", 1);
		for (uint64_t f = 0; f < 12; f++) {
			frame_begin(s, f);
			command(s, (uint16_t)(f % 8), 1 * MS, 1);
			s->now += 4 * MS;
		}
		frame_begin(s, 12);
		model_feed(m, s->ev, s->n, 0);
		if (lose)
			model_note_loss(m, 1000);
		s->n = 0;
		s->now += 90 * MS;
		frame_begin(s, 30);
		model_feed(m, s->ev, s->n, s->seq - 1);
		model_finish(m);

		assert_int_equal(m->frames_total, 14);
		assert_int_equal(m->frame_stalls, lose ? 0 : 1);
		assert_true(m->frame_period.max_ns < (lose ? 10 : 100) * MS);
		assert_true(m->frame_period.max_ns >= (lose ? 5 : 90) * MS);
		model_free(m);
		free(s);
	}
}

/* A guest reboot: in-flight state is dropped, time keeps going forward,
 * totals are kept. */
static void test_generation_resync(void **state)
{
	(void)state;
	struct stream *s = stream_new();
	struct vq_model *m = model_new(NULL);

	model_set_producer(m, 1000000000, "before", 1);
	frame_begin(s, 0);
	command(s, 1, 1 * MS, 5);
	struct vqt_event *e = push(s, VQT_EV_ADD, 0); /* in flight at reboot */
	e->head = 7;
	e->ndesc = 1;
	model_feed(m, s->ev, s->n, 0);
	uint64_t before_ns = m->now_ns;
	assert_int_equal(m->queues[0].in_flight, 1);

	model_resync(m, 2000000000, "after", 2);
	assert_int_equal(m->queues[0].in_flight, 0);
	assert_int_equal(m->frames_total, 1); /* the open frame was closed */
	assert_int_equal(m->resyncs, 1);
	assert_string_equal(m->producer, "after");

	/* The new producer's clock starts near zero at 2 GHz. */
	struct stream *t = calloc(1, sizeof(*t));
	t->now = 10;
	avail_idx = used_idx = 0;
	reg(t, 0, 32);
	t->now = 2010;
	command(t, 7, 2000, 1); /* 1 us at 2 GHz */
	model_feed(m, t->ev, t->n, 0);
	model_finish(m);
	assert_true(m->now_ns >= before_ns);
	assert_int_equal(m->queues[0].ring_size, 32);
	assert_int_equal(m->queues[0].count[MC_COMPLETIONS], 2);
	assert_int_equal(m->queues[0].latency.count, 2);
	assert_int_equal(m->queues[0].latency.max_ns, 1 * MS);
	assert_int_equal(m->queues[0].latency.min_ns, 1 * US);
	assert_int_equal(m->anomalies, 0);
	model_free(m);
	free(s);
	free(t);
}

/* Ring state at any point of the history, from events alone. */
static void test_ring_reconstruction(void **state)
{
	(void)state;
	struct stream *s = stream_new();
	struct ring_reconstruction *r = malloc(sizeof(*r));

	for (uint16_t h = 0; h < 3; h++) { /* three added, not kicked */
		struct vqt_event *e = push(s, VQT_EV_ADD, 0);
		e->head = h;
		e->ndesc = 1;
		e->ring_idx = h;
	}
	push(s, VQT_EV_KICK, 0)->ring_idx = 3;
	struct vqt_event *e = push(s, VQT_EV_ADD, 0);
	e->head = 3;
	e->ndesc = 1;
	e->ring_idx = 3;
	e = push(s, VQT_EV_USED, 0);
	e->head = 1;
	e->ring_idx = 0;
	struct vq_model *m = feed(s);

	/* History: [0] QUEUE [1..3] ADD [4] KICK [5] ADD [6] USED */
	assert_true(model_ring_at(m, 0, 2, r));
	assert_int_equal(r->states[0], HEAD_AVAIL);
	assert_int_equal(r->states[1], HEAD_AVAIL);
	assert_int_equal(r->states[2], HEAD_FREE);
	assert_int_equal(r->in_flight, 2);
	assert_int_equal(r->avail_idx, 2);
	assert_true(model_ring_at(m, 0, 6, r));
	assert_int_equal(r->states[0], HEAD_DEVICE);
	assert_int_equal(r->states[1], HEAD_FREE);
	assert_int_equal(r->states[2], HEAD_DEVICE);
	assert_int_equal(r->states[3], HEAD_AVAIL);
	assert_int_equal(r->in_flight, 3);
	assert_int_equal(r->avail_idx, 4);
	assert_int_equal(r->last_used_idx, 1);
	assert_true(r->used_known);
	/* The live state agrees with the reconstruction at the end. */
	assert_int_equal(m->queues[0].in_flight, 3);
	assert_int_equal(model_head_state(&m->queues[0], 3), HEAD_AVAIL);
	assert_int_equal(model_head_state(&m->queues[0], 0), HEAD_DEVICE);
	assert_int_equal(model_head_state(&m->queues[0], 1), HEAD_FREE);
	assert_false(model_ring_at(m, 5, 6, r)); /* unknown queue */
	model_free(m);
	free(s);
	free(r);
}

/* Device-side samples matched by ring address; a device ahead of the
 * driver for longer than the threshold is flagged. */
static void test_device_disagreement(void **state)
{
	(void)state;
	struct vq_model *m = model_new(&(struct model_opts){.disagree_ns = 100 * MS});
	struct vqt_queue t;
	struct vqr_device_queue d;

	memset(&t, 0, sizeof(t));
	t.state = VQT_QS_ACTIVE;
	t.ring_size = 64;
	t.device_type = 16;
	t.desc_addr = 0x200000;
	t.last_used_idx = 10;
	strcpy(t.name, "gpu0.control");
	model_queue_table(m, 4, &t);

	memset(&d, 0, sizeof(d));
	d.desc_addr = 0x200000;
	d.device_id = 16;
	d.vring_num = 64;
	d.used_idx = 10;
	/* Sampled before the guest registered the queue: device-only at
	 * first, matched (and no longer device-only) once it is known. */
	struct vq_model *early = model_new(NULL);
	model_device_sample(early, 1 * MS, &d, 1);
	assert_int_equal(early->ndevice_only, 1);
	model_queue_table(early, 4, &t);
	model_device_sample(early, 2 * MS, &d, 1);
	assert_int_equal(early->ndevice_only, 0);
	assert_true(early->queues[4].have_device);
	model_free(early);

	model_device_sample(m, 1 * MS, &d, 1);
	assert_true(m->queues[4].have_device);
	assert_false(m->queues[4].disagree);

	d.used_idx = 12; /* device finished two the driver has not reaped */
	model_device_sample(m, 50 * MS, &d, 1);
	assert_false(m->queues[4].disagree); /* not for long enough yet */
	model_device_sample(m, 200 * MS, &d, 1);
	assert_true(m->queues[4].disagree);
	assert_non_null(strstr(m->queues[4].disagree_text, "completed 2 buffers"));
	t.last_used_idx = 12; /* driver caught up */
	model_queue_table(m, 4, &t);
	model_device_sample(m, 210 * MS, &d, 1);
	assert_false(m->queues[4].disagree);

	/* Steady flow: the device is always a little ahead of the driver's
	 * last report, but the driver keeps reaching what the device had
	 * finished a sample ago: never flagged. */
	for (int i = 0; i < 40; i++) {
		d.used_idx = (uint16_t)(20 + 4 * i);
		t.last_used_idx = (uint16_t)(18 + 4 * i);
		model_queue_table(m, 4, &t);
		model_device_sample(m, (300 + 50 * (uint64_t)i) * MS, &d, 1);
		assert_false(m->queues[4].disagree);
	}

	/* A fast guest: the driver's last report is more than a ring behind
	 * the device's sample (they are not taken at the same moment), and
	 * it has caught up by the next one: never flagged. */
	for (int i = 0; i < 10; i++) {
		d.used_idx = (uint16_t)(1000 + 200 * i);
		t.last_used_idx = (uint16_t)(d.used_idx - 120);
		model_queue_table(m, 4, &t);
		model_device_sample(m, (3000 + 50 * (uint64_t)i) * MS, &d, 1);
		assert_false(m->queues[4].disagree);
	}

	/* A queue nobody traces: kept as device-only with a rate. */
	struct vqr_device_queue other = d;
	strcpy(other.path, "/machine/peripheral-anon/device[1]/virtio-backend");
	other.desc_addr = 0x900000;
	other.device_id = 4;
	other.used_idx = 100;
	model_device_sample(m, 1000 * MS, &other, 1);
	other.used_idx = 150;
	model_device_sample(m, 1500 * MS, &other, 1);
	assert_int_equal(m->ndevice_only, 1);
	assert_true(m->device_only[0].used_per_s > 99.0 && m->device_only[0].used_per_s < 101.0);
	model_free(m);
}

static void test_rates(void **state)
{
	(void)state;
	struct stream *s = stream_new();
	for (uint16_t i = 0; i < 50; i++)
		command(s, i % 8, 10 * US, 4);
	struct vq_model *m = feed(s);
	model_tick(m, 500 * MS);
	assert_true(m->queues[0].rates.per_s[MC_COMPLETIONS] > 99.9);
	assert_true(m->queues[0].rates.per_s[MC_COMPLETIONS] < 100.1);
	assert_true(m->queues[0].rates.spins_per_completion > 3.99);
	model_tick(m, 500 * MS); /* nothing new */
	assert_true(m->queues[0].rates.per_s[MC_COMPLETIONS] < 0.001);
	model_free(m);
	free(s);
}

/* A replay stopped at an event: rates over the last window of recorded
 * time, from the history (one command every 100 us: 10 000/s). */
static void test_rates_over_history(void **state)
{
	(void)state;
	struct stream *s = stream_new();
	for (uint16_t i = 0; i < 200; i++) {
		command(s, i % 8, 10 * US, 4);
		s->now += 90 * US;
	}
	struct vq_model *m = feed(s);
	struct model_queue *q = &m->queues[0];

	/* Nothing played: model_tick never ran. */
	assert_true(q->rates.per_s[MC_COMPLETIONS] == 0);
	assert_true(model_rates_over_history(m, m->now_ns, 5 * MS));
	assert_true(q->rates.per_s[MC_COMPLETIONS] > 9999.9 &&
		    q->rates.per_s[MC_COMPLETIONS] < 10000.1);
	assert_true(q->rates.per_s[MC_ADDS] > 9999.9 && q->rates.per_s[MC_ADDS] < 10000.1);
	assert_true(q->rates.per_s[MC_BYTES] > 639999 && q->rates.per_s[MC_BYTES] < 640001);
	assert_true(q->rates.spins_per_completion > 3.99 && q->rates.spins_per_completion < 4.01);
	assert_true(m->events_per_s > 39999 && m->events_per_s < 40001);
	/* Before the first event's time: no span, rates 0. */
	assert_false(model_rates_over_history(m, 0, 5 * MS));
	assert_true(q->rates.per_s[MC_COMPLETIONS] == 0);
	model_free(m);

	/* A history of 40 events (10 commands) covers the 910 us after its
	 * oldest entry, an ADD: 9 ADDs and 10 USEDs in it. */
	m = model_new(&(struct model_opts){.history = 40});
	assert_non_null(m);
	model_set_producer(m, 1000000000, "test", 1);
	model_feed(m, s->ev, s->n, 0);
	q = &m->queues[0];
	assert_true(model_rates_over_history(m, m->now_ns, 5 * MS));
	assert_true(q->rates.per_s[MC_COMPLETIONS] > 10 / 910e-6 - 0.1 &&
		    q->rates.per_s[MC_COMPLETIONS] < 10 / 910e-6 + 0.1);
	assert_true(q->rates.per_s[MC_ADDS] > 9 / 910e-6 - 0.1 &&
		    q->rates.per_s[MC_ADDS] < 9 / 910e-6 + 0.1);
	model_free(m);
	free(s);
}

/* ---- receive queues -------------------------------------------------------------------- */

/* A receive queue the tracer found with 8 buffers posted before it began
 * (table: avail 8, used 0), as a Linux tracer attaching to a running
 * virtio-net rx queue does: no QUEUE event, USEDs first. */
static struct vq_model *receive_model(void)
{
	struct vq_model *m = model_new(NULL);
	struct vqt_queue t = {.state = VQT_QS_ACTIVE,
			      .flags = VQT_QF_RECEIVE,
			      .device_type = 1,
			      .ring_size = 8,
			      .avail_idx = 8,
			      .last_used_idx = 0,
			      .num_free = 0};

	assert_non_null(m);
	snprintf(t.name, sizeof(t.name), "net0.rx");
	model_set_producer(m, 1000000000, "test", 1);
	model_queue_table(m, 0, &t);
	return m;
}

/* Events after that: the driver's indices go on from the table's. */
static struct stream *receive_stream(void)
{
	struct stream *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	s->now = 1000;
	avail_idx = 8;
	used_idx = 0;
	return s;
}

static void rx_used(struct stream *s, uint16_t head, uint32_t len)
{
	struct vqt_event *e = push(s, VQT_EV_USED, 0);

	e->head = head;
	e->ring_idx = used_idx++;
	e->ndesc = 1;
	e->len = len;
}

static void rx_add(struct stream *s, uint16_t head)
{
	struct vqt_event *e = push(s, VQT_EV_ADD, 0);

	e->head = head;
	e->ring_idx = avail_idx++;
	e->ndesc = 1;
	e->len = 1526;
	e->arg = 1;
}

/* Receive buffers wait for packets: a fill after seconds is time to fill,
 * never command latency, a stall or time waiting for the device; buffers
 * posted before tracing are counted as such, not as anomalies. */
static void test_receive_queue_is_not_commands(void **state)
{
	struct stream *s = receive_stream();
	struct vq_model *m = receive_model();
	const struct model_queue *q = &m->queues[0];
	uint32_t depth = 0;
	(void)state;

	/* Four packets fill buffers posted before tracing; each is refilled. */
	for (uint16_t h = 0; h < 4; h++) {
		s->now += 50 * MS;
		rx_used(s, h, 98);
		rx_add(s, h);
	}
	/* Three seconds without a packet, then one fills a buffer posted
	 * before tracing, and one the buffer refilled first, 3.151 s ago. */
	s->now += 3000 * MS;
	rx_used(s, 4, 98);
	model_feed(m, s->ev, s->n, 0);
	s->n = 0;
	s->now += 1 * MS;
	rx_used(s, 0, 1514);
	model_feed(m, s->ev, s->n, 4 * 2 + 1);
	model_finish(m);

	assert_int_equal(m->anomalies, 0);
	assert_int_equal(q->posted_before_tracing, 5);
	assert_int_equal(q->count[MC_COMPLETIONS], 6);
	assert_int_equal(q->count[MC_USED_BYTES], 5 * 98 + 1514);
	assert_int_equal(q->latency.count, 0);
	assert_int_equal(q->fill_time.count, 1);
	assert_int_equal(q->fill_time.max_ns, 3151 * MS);
	assert_int_equal(q->count[MC_STALLS], 0);
	assert_int_equal(m->stalls_total, 0);
	assert_int_equal(m->session_attr.ns[ATTR_DEVICE], 0);
	assert_int_equal(m->in_flight_total, 0);
	/* Posted: avail 12 - used 6, the 3 buffers posted before tracing
	 * that are left and 3 of the 4 refills; the trace saw only those. */
	assert_true(model_posted_depth(q, &depth));
	assert_int_equal(depth, 6);
	assert_int_equal(q->in_flight, 3);
	assert_int_equal(q->starvations, 0);
	assert_int_equal(model_starved_ns(m, q), 0);
	model_free(m);
	free(s);
}

/* A receive queue left with no buffer posted starves until the driver
 * posts one; the time is counted, and the episode. */
static void test_receive_queue_starvation(void **state)
{
	struct stream *s = receive_stream();
	struct vq_model *m = receive_model();
	const struct model_queue *q = &m->queues[0];
	uint32_t depth = 1;
	(void)state;

	for (uint16_t h = 0; h < 8; h++) { /* a burst fills every buffer */
		s->now += 1 * MS;
		rx_used(s, h, 60);
	}
	model_feed(m, s->ev, s->n, 0);
	assert_true(model_posted_depth(q, &depth));
	assert_int_equal(depth, 0);
	assert_true(q->starving);
	s->n = 0;
	s->now += 400 * MS;
	rx_add(s, 0); /* the driver posts again 400 ms later */
	s->now += 100 * MS;
	rx_used(s, 0, 60); /* and that one fills: starving again */
	s->now += 200 * MS;
	rx_add(s, 1);
	model_feed(m, s->ev, s->n, 8);
	model_finish(m);

	assert_int_equal(q->starvations, 2);
	assert_int_equal(model_starved_ns(m, q), 600 * MS);
	assert_false(q->starving);
	assert_int_equal(q->fill_time.count, 1);
	assert_int_equal(q->fill_time.max_ns, 100 * MS);
	assert_int_equal(m->anomalies, 0);
	assert_int_equal(q->posted_before_tracing, 8);
	assert_int_equal(m->session_attr.ns[ATTR_DEVICE], 0);
	model_free(m);
	free(s);
}

/* Only a head never seen before can have been posted before tracing: a
 * second USED of a head not posted again is an anomaly, and the model
 * keeps the latest one's text with its queue's name.  (A queue traced
 * from its first buffer has no room for any: test_loss_and_anomalies.) */
static void test_receive_queue_anomaly_text(void **state)
{
	struct stream *s = receive_stream();
	struct vq_model *m = receive_model();
	(void)state;

	rx_used(s, 3, 60); /* posted before tracing */
	rx_add(s, 5);
	rx_used(s, 3, 60); /* head 3 again, not posted since: an anomaly */
	model_feed(m, s->ev, s->n, 0);

	assert_int_equal(m->queues[0].posted_before_tracing, 1);
	assert_int_equal(m->anomalies, 1);
	assert_non_null(strstr(m->last_anomaly, "net0.rx: "));
	assert_non_null(strstr(m->last_anomaly, "USED of head 3 which is not in flight"));
	model_free(m);
	free(s);
}

/* A request queue recorded from mid-run (record --only-new): the
 * command in flight when the recording began completes first.  The
 * report counts it in a line under the queue's row, in the singular for
 * one. */
static void test_report_posted_before_tracing(void **state)
{
	struct vq_model *m = model_new(NULL);
	struct stream *s = calloc(1, sizeof(*s));
	struct report *r = calloc(1, sizeof(*r));
	struct vqt_queue t = {
	    .state = VQT_QS_ACTIVE, .device_type = 16, .ring_size = 64, .avail_idx = 1};
	struct text out = {0};
	struct vqt_event *e;
	(void)state;

	assert_non_null(m);
	assert_non_null(s);
	assert_non_null(r);
	snprintf(t.name, sizeof(t.name), "gpu0.control");
	model_set_producer(m, 1000000000, "test", 1);
	model_queue_table(m, 0, &t);
	s->now = 1000;
	avail_idx = 1;
	used_idx = 0;
	e = push(s, VQT_EV_USED, 0);
	e->head = 0;
	e->ring_idx = used_idx++;
	e->ndesc = 2;
	for (int i = 0; i < 4; i++)
		command(s, 2, 20 * US, 3);
	model_feed(m, s->ev, s->n, 0);
	model_finish(m);
	assert_int_equal(m->queues[0].posted_before_tracing, 1);
	assert_int_equal(m->anomalies, 0);

	report_build(r, m, "mid-run", "end");
	report_text(&out, r);
	assert_non_null(
	    strstr(text_str(&out), "\n       1 completed buffer was posted before tracing\n"));
	text_free(&out);
	free(r);
	free(s);
	model_free(m);
}

/* What top and report say of a receive queue: its posted buffers in the
 * row, fill rate and size, time to fill and starvation in a line of its
 * own, "-" for latency, no stall, and the device is not the cause. */
static void test_receive_queue_in_views(void **state)
{
	struct stream *s = receive_stream();
	struct vq_model *m = receive_model();
	struct report *r = calloc(1, sizeof(*r));
	struct text out = {0};
	char row[512], verdict[160];
	unsigned slot = 0;
	(void)state;

	assert_non_null(r);
	for (uint16_t h = 0; h < 4; h++) {
		s->now += 250 * MS;
		rx_used(s, h, 100);
		rx_add(s, h);
	}
	s->now += 2000 * MS;
	rx_used(s, 0, 60);
	model_feed(m, s->ev, s->n, 0);
	model_finish(m);
	model_tick(m, 1000 * MS);

	overview_row(row, sizeof(row), m, 0);
	/* SLOT NAME SIZE INFL: the 7 posted (avail 12, used 5). */
	assert_non_null(strstr(row, "net0.rx              8    7 "));
	overview_notes(&out, m, &slot, 1);
	assert_non_null(strstr(text_str(&out),
			       "receive net0.rx: posted 7, fills 5.0/s of 92 bytes, "
			       "time to fill p50 2.75s p99 2.75s max 2.75s, "
			       "starved - (0 times), 4 posted before tracing\n"));
	assert_null(strstr(text_str(&out), "anomalies"));
	text_free(&out);

	report_build(r, m, "rx", "end");
	report_text(&out, r);
	assert_non_null(strstr(text_str(&out), "       receive: posted 7, fills "));
	assert_non_null(
	    strstr(text_str(&out), "      -          -          -          -      0\n"));
	assert_non_null(strstr(text_str(&out), "No stalls."));
	report_verdict(r, verdict, sizeof(verdict));
	assert_null(strstr(verdict, "device"));
	text_free(&out);
	free(r);
	model_free(m);
	free(s);
}

/* A clone fed the rest of a stream ends where the original fed all of it
 * does, and the original, changed after the cloning, leaves it alone. */
static void test_clone(void **state)
{
	struct stream *s = stream_new();
	struct vq_model *all, *m, *c;
	size_t half;
	(void)state;

	for (uint64_t f = 0; f < 40; f++) {
		frame_begin(s, f);
		for (uint16_t k = 0; k < 5; k++)
			command(s, k, 20 * US + f * US, 3);
		log_line(s, 100 * US, 40);
		frame_end(s, f);
		s->now += 16 * MS;
	}
	half = s->n / 2;
	all = feed(s);
	m = model_new(NULL);
	assert_non_null(m);
	model_set_producer(m, 1000000000, "test", 1);
	model_feed(m, s->ev, half, 0);
	c = model_clone(m);
	assert_non_null(c);
	assert_ptr_not_equal(c->history, m->history);
	assert_ptr_not_equal(c->queues[0].heads, m->queues[0].heads);
	model_feed(c, s->ev + half, s->n - half, half);
	model_finish(c);
	assert_int_equal(c->events, all->events);
	assert_int_equal(c->frames_total, all->frames_total);
	assert_int_equal(c->queues[0].count[MC_COMPLETIONS], all->queues[0].count[MC_COMPLETIONS]);
	assert_int_equal(c->queues[0].latency.count, all->queues[0].latency.count);
	assert_int_equal(c->queues[0].in_flight, 0);
	assert_int_equal(c->stalls_total, all->stalls_total);
	assert_int_equal(c->nfindings, all->nfindings);
	assert_memory_equal(model_history_at(c, c->history_len - 1),
			    model_history_at(all, all->history_len - 1),
			    sizeof(struct model_history_entry));
	/* The original still stands where it was cloned. */
	assert_int_equal(m->events, half);
	model_free(m);
	model_free(c);
	model_free(all);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_latency_percentiles),
	    cmocka_unit_test(test_attr_percent_rounds),
	    cmocka_unit_test(test_histogram_buckets),
	    cmocka_unit_test(test_logging_dominates),
	    cmocka_unit_test(test_slow_device_dominates),
	    cmocka_unit_test(test_frame_stall_named),
	    cmocka_unit_test(test_command_stall_cause),
	    cmocka_unit_test(test_loss_and_anomalies),
	    cmocka_unit_test(test_loss_forgives_head_state),
	    cmocka_unit_test(test_loss_inside_frame_is_no_stall),
	    cmocka_unit_test(test_generation_resync),
	    cmocka_unit_test(test_ring_reconstruction),
	    cmocka_unit_test(test_device_disagreement),
	    cmocka_unit_test(test_rates),
	    cmocka_unit_test(test_rates_over_history),
	    cmocka_unit_test(test_receive_queue_is_not_commands),
	    cmocka_unit_test(test_receive_queue_starvation),
	    cmocka_unit_test(test_receive_queue_anomaly_text),
	    cmocka_unit_test(test_receive_queue_in_views),
	    cmocka_unit_test(test_report_posted_before_tracing),
	    cmocka_unit_test(test_clone),
	};
	return cmocka_run_group_tests_name("model", tests, NULL, NULL);
}
