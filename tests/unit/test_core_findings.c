/* test_core_findings.c - the diagnosis engine on synthetic streams: each
 * code from the events, queue tables, device samples and ring samples
 * that show it, with its evidence; and silence on a correct driver (event
 * idx decisions, completions in and out of order, loss that hides an ADD,
 * a paused VM, receive queues waiting for packets). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/model.h"
#include "core/ring_decode.h"
#include "vqproto.h"

#define MS 1000000ull
#define S  1000000000ull

/* ts_hz = 1 GHz: ticks are nanoseconds. */
struct stream {
	struct vq_model *m;
	uint64_t seq, now;
	uint16_t avail, used;
};

static struct stream *stream_new(uint16_t size, uint16_t flags)
{
	struct stream *s = calloc(1, sizeof(*s));
	struct vqt_queue t;

	assert_non_null(s);
	s->m = model_new(&(struct model_opts){.history = 4096});
	assert_non_null(s->m);
	model_set_producer(s->m, 1000000000, "test", 1);
	memset(&t, 0, sizeof(t));
	t.state = VQT_QS_ACTIVE;
	t.ring_size = size;
	t.flags = flags;
	snprintf(t.name, sizeof(t.name), "q0");
	model_queue_table(s->m, 0, &t);
	s->now = 1000;
	return s;
}

static void stream_free(struct stream *s)
{
	model_free(s->m);
	free(s);
}

static void put(struct stream *s, struct vqt_event e)
{
	e.ts = s->now;
	e.seq = (uint32_t)s->seq;
	model_feed(s->m, &e, 1, s->seq);
	s->seq++;
	s->now += 1000;
}

static void add(struct stream *s, uint16_t head, uint32_t bytes)
{
	put(s, (struct vqt_event){.type = VQT_EV_ADD,
				  .queue = 0,
				  .ndesc = 2,
				  .head = head,
				  .ring_idx = s->avail++,
				  .len = bytes,
				  .arg = 1});
}

static void decide(struct stream *s, bool notify, uint64_t state)
{
	put(s, (struct vqt_event){.type = notify ? VQT_EV_KICK : VQT_EV_KICK_SUPPRESSED,
				  .queue = 0,
				  .ring_idx = s->avail,
				  .len = 1,
				  .arg = state | VQT_KICK_STATE_PRESENT});
}

static void used(struct stream *s, uint16_t head, uint32_t written)
{
	put(s, (struct vqt_event){.type = VQT_EV_USED,
				  .queue = 0,
				  .ndesc = 2,
				  .head = head,
				  .ring_idx = s->used++,
				  .len = written});
}

static size_t count_above_info(const struct vq_model *m)
{
	size_t n = 0;

	for (size_t i = 0; i < m->nfindings; i++)
		if (m->findings[i].severity > SEV_INFO)
			n++;
	return n;
}

static bool has_evidence(const struct finding *f, const char *what, const char *value)
{
	for (size_t i = 0; i < f->nevidence; i++)
		if (strcmp(f->ev[i].what, what) == 0 && strstr(f->ev[i].value, value))
			return true;
	return false;
}

/* ---- notifications ------------------------------------------------------------------ */

static void correct_event_idx_driver_is_silent(void **state)
{
	struct stream *s = stream_new(64, VQT_QF_EVENT_IDX);
	(void)state;

	/* The device asks for a kick at every index: avail_event = the new
	 * buffer's index.  Then it asks for none until 1000. */
	for (unsigned i = 0; i < 200; i++) {
		add(s, (uint16_t)(i % 64), 64);
		decide(s, true, (uint16_t)(s->avail - 1));
		used(s, (uint16_t)(i % 64), 24);
	}
	for (unsigned i = 0; i < 50; i++) {
		add(s, (uint16_t)(i % 64), 64);
		decide(s, false, 1000);
		used(s, (uint16_t)(i % 64), 24);
	}
	model_check(s->m);
	assert_int_equal(s->m->nfindings, 0);
	stream_free(s);
}

static void missed_notify_split_and_event_idx(void **state)
{
	struct stream *s = stream_new(64, VQT_QF_EVENT_IDX);
	const struct finding *f;
	(void)state;

	add(s, 0, 64);
	decide(s, true, 0); /* avail_event 0: notified, right */
	add(s, 1, 64);
	decide(s, false, 1); /* avail_event 1, moving 1 -> 2: must notify */
	f = model_finding(s->m, FC_MISSED_NOTIFY, 0);
	assert_non_null(f);
	assert_int_equal(f->severity, SEV_ERROR);
	assert_true(has_evidence(f, "avail_event", "1"));
	assert_true(has_evidence(f, "avail index before", "1"));
	assert_true(has_evidence(f, "avail index after", "2"));
	assert_non_null(strstr(f->ev[0].from, "KICK_SUPPRESSED 1:3"));
	stream_free(s);

	/* Without event idx: used.flags NO_NOTIFY clear means notify. */
	s = stream_new(64, 0);
	add(s, 0, 64);
	decide(s, false, (uint64_t)0 << 16);
	assert_non_null(model_finding(s->m, FC_MISSED_NOTIFY, 0));
	assert_null(model_finding(s->m, FC_SPURIOUS_NOTIFY, 0));
	/* NO_NOTIFY set and a kick anyway: spurious, info. */
	add(s, 1, 64);
	decide(s, true, (uint64_t)VRING_USED_F_NO_NOTIFY << 16);
	f = model_finding(s->m, FC_SPURIOUS_NOTIFY, 0);
	assert_non_null(f);
	assert_int_equal(f->severity, SEV_INFO);
	stream_free(s);
}

static void missed_notify_packed(void **state)
{
	struct stream *s = stream_new(6, VQT_QF_PACKED | VQT_QF_EVENT_IDX);
	(void)state;

	/* DESC mode: the device wants an event at offset 5 of lap 0; the
	 * driver's two descriptors move it from 4 (wrap 0) to 0 (wrap 1),
	 * crossing it. */
	add(s, 0, 64);
	decide(s, true, (uint64_t)4 << 32 | (uint64_t)RING_EVENT_FLAGS_ENABLE << 16);
	add(s, 1, 64);
	decide(s, false, (uint64_t)(1u << 15) << 32 | (uint64_t)RING_EVENT_FLAGS_DESC << 16 | 5);
	assert_non_null(model_finding(s->m, FC_MISSED_NOTIFY, 0));
	assert_null(model_finding(s->m, FC_PACKED_WRAP, 0));
	stream_free(s);

	/* The same decision when the event is at offset 1 of lap 1: right. */
	s = stream_new(6, VQT_QF_PACKED | VQT_QF_EVENT_IDX);
	add(s, 0, 64);
	decide(s, true, (uint64_t)4 << 32 | (uint64_t)RING_EVENT_FLAGS_ENABLE << 16);
	add(s, 1, 64);
	decide(s, false,
	       (uint64_t)(1u << 15) << 32 | (uint64_t)RING_EVENT_FLAGS_DESC << 16 | (1 | 1u << 15));
	assert_int_equal(s->m->nfindings, 0);

	/* A position whose wrap counter did not flip at the ring's end. */
	add(s, 2, 64);
	add(s, 3, 64);
	add(s, 4, 64); /* 6 descriptors: a whole lap, from 0 (wrap 1) to 0 (wrap 0) */
	decide(s, true, (uint64_t)(1u << 15) << 32 | (uint64_t)RING_EVENT_FLAGS_ENABLE << 16);
	const struct finding *f = model_finding(s->m, FC_PACKED_WRAP, 0);
	assert_non_null(f);
	assert_true(has_evidence(f, "position expected", "offset 0, wrap 0"));
	assert_true(has_evidence(f, "position reported", "offset 0, wrap 1"));
	stream_free(s);

	/* Records lost between two decisions may be adds: the position is
	 * not compared (a clean packed guest at 100k events/s, read late). */
	s = stream_new(64, VQT_QF_PACKED | VQT_QF_EVENT_IDX);
	add(s, 0, 64);
	decide(s, true, (uint64_t)2 << 32 | (uint64_t)RING_EVENT_FLAGS_ENABLE << 16);
	add(s, 1, 64);
	model_note_loss(s->m, 6); /* three ADDs of 2 descriptors */
	decide(s, true, (uint64_t)10 << 32 | (uint64_t)RING_EVENT_FLAGS_ENABLE << 16);
	assert_int_equal(s->m->nfindings, 0);
	stream_free(s);
}

/* ---- completions ---------------------------------------------------------------------- */

static void double_complete_and_not_in_flight(void **state)
{
	struct stream *s = stream_new(64, 0);
	const struct finding *f;
	(void)state;

	add(s, 3, 64);
	add(s, 4, 64);
	used(s, 3, 24);
	s->used--; /* the driver takes used element 0 again */
	used(s, 3, 24);
	f = model_finding(s->m, FC_DOUBLE_COMPLETE, 0);
	assert_non_null(f);
	assert_true(has_evidence(f, "used index taken", "0"));
	assert_true(has_evidence(f, "driver's next used index", "1"));
	assert_null(model_finding(s->m, FC_USED_NOT_IN_FLIGHT, 0));
	/* Head 3 comes back in the next used element though it was freed. */
	used(s, 3, 24);
	f = model_finding(s->m, FC_USED_NOT_IN_FLIGHT, 0);
	assert_non_null(f);
	assert_true(has_evidence(f, "head", "3"));
	/* Guest RAM says the device wrote id 4 there: the driver misread. */
	{
		struct vqr_ring_queue r;

		memset(&r, 0, sizeof(r));
		r.size = 64;
		r.flags = VQR_RQ_VALID | VQR_RQ_USED_ELEM;
		r.elem_index = 5; /* another element first: not the one asked about */
		r.elem_id = 3;
		model_ring_sample(s->m, S, &r, 1);
		assert_false(has_evidence(f, "id the device wrote", "3"));
		r.elem_index = 1;
		r.elem_id = 4;
		r.elem_len = 24;
		model_ring_sample(s->m, S + 200 * MS, &r, 1);
		assert_true(has_evidence(f, "id the device wrote", "4 (len 24)"));
		assert_non_null(strstr(f->text, "the driver's side read the element wrong"));
	}
	stream_free(s);

	/* After lost records a USED without its ADD is expected. */
	s = stream_new(64, 0);
	add(s, 5, 64);
	used(s, 5, 24);
	model_note_loss(s->m, 2);
	used(s, 5, 24);
	assert_null(model_finding(s->m, FC_USED_NOT_IN_FLIGHT, 0));
	/* And a head seen first as USED (added before tracing): nothing. */
	used(s, 9, 24);
	assert_int_equal(count_above_info(s->m), 0);
	stream_free(s);
}

static void written_more_than_the_chain(void **state)
{
	struct stream *s = stream_new(64, 0);
	const struct finding *f;
	(void)state;

	add(s, 1, 48);
	used(s, 1, 48); /* all of it: fine */
	assert_int_equal(s->m->nfindings, 0);
	add(s, 2, 48);
	used(s, 2, 408);
	f = model_finding(s->m, FC_USED_LEN_OVERFLOW, 0);
	assert_non_null(f);
	assert_true(has_evidence(f, "written", "408"));
	assert_true(has_evidence(f, "chain bytes", "48"));
	stream_free(s);
}

static void accounting(void **state)
{
	struct stream *s = stream_new(8, 0);
	struct vqt_queue t = s->m->queues[0].table;
	(void)state;

	add(s, 0, 64);
	add(s, 2, 64); /* 4 descriptors in flight */
	t.counters[VQT_C_ADDS] = 2;
	t.num_free = 4;
	model_queue_table(s->m, 0, &t);
	assert_int_equal(s->m->nfindings, 0);
	t.num_free = 5; /* one descriptor too many */
	model_queue_table(s->m, 0, &t);
	assert_non_null(model_finding(s->m, FC_ACCOUNTING, 0));
	stream_free(s);
}

/* ---- stuck queues, from QMP and guest RAM ------------------------------------------------- */

static struct vqr_device_queue device_of(const struct stream *s, uint16_t last_avail,
					 uint16_t used_idx, uint16_t inuse)
{
	struct vqr_device_queue d;

	(void)s;
	memset(&d, 0, sizeof(d));
	snprintf(d.path, sizeof(d.path), "/machine/peripheral/gpu/virtio-backend");
	snprintf(d.name, sizeof(d.name), "virtio-gpu");
	d.device_id = 16;
	d.vring_num = 64;
	d.last_avail_idx = last_avail;
	d.used_idx = used_idx;
	d.inuse = inuse;
	return d;
}

static struct vqr_ring_queue ring_of(uint16_t avail_idx, uint16_t used_idx, uint16_t avail_event,
				     uint16_t used_event)
{
	struct vqr_ring_queue r;

	memset(&r, 0, sizeof(r));
	r.slot = 0;
	r.size = 64;
	r.flags = VQR_RQ_VALID | VQR_RQ_EVENT_IDX;
	r.avail_idx = avail_idx;
	r.used_idx = used_idx;
	r.avail_event = avail_event;
	r.used_event = used_event;
	return r;
}

/* Samples every 200 ms of host time for `seconds`. */
static void samples(struct stream *s, uint64_t *host, double seconds, struct vqr_device_queue d,
		    struct vqr_ring_queue r)
{
	s->m->queues[0].device_type = 16;
	s->m->queues[0].queue_index = 0;
	for (double t = 0; t < seconds; t += 0.2) {
		*host += 200 * MS;
		model_device_sample(s->m, *host, &d, 1);
		model_ring_sample(s->m, *host, &r, 1);
	}
}

static void stuck_not_notified_then_moving(void **state)
{
	struct stream *s = stream_new(64, VQT_QF_EVENT_IDX);
	uint64_t host = S;
	const struct finding *f;
	(void)state;

	add(s, 0, 64);
	decide(s, true, 0);
	used(s, 0, 24);
	add(s, 1, 64);
	decide(s, false, 0); /* avail_event 0 is stale: a lost kick */
	/* The device: took index 0, waits at avail_event 1 for a kick. */
	samples(s, &host, 0.6, device_of(s, 1, 1, 0), ring_of(2, 1, 1, 0));
	assert_null(model_finding(s->m, FC_STUCK_NOT_NOTIFIED, 0)); /* not 1 s yet */
	samples(s, &host, 1.0, device_of(s, 1, 1, 0), ring_of(2, 1, 1, 0));
	f = model_finding(s->m, FC_STUCK_NOT_NOTIFIED, 0);
	assert_non_null(f);
	assert_true(f->active);
	assert_true(has_evidence(f, "avail.idx", "2"));
	assert_true(has_evidence(f, "device's last_avail_idx", "1"));
	assert_true(has_evidence(f, "avail_event", "1"));
	assert_true(has_evidence(f, "last kick decision", "suppressed"));
	assert_non_null(strstr(f->ev[0].from, "guest RAM"));
	/* The queue moves again: no longer active, still reported. */
	used(s, 1, 24);
	samples(s, &host, 0.4, device_of(s, 2, 2, 0), ring_of(2, 2, 2, 1));
	assert_false(model_finding(s->m, FC_STUCK_NOT_NOTIFIED, 0)->active);
	stream_free(s);
}

/* Without guest RAM (--no-ram) the device's suppression state comes from
 * what the driver read at its last decision: a kick it skipped although
 * avail_event asked for one is a lost kick, not a device that does not
 * fetch; one the device declined leaves the device's side to look at. */
static void stuck_without_ring_samples(void **state)
{
	static const struct {
		uint16_t avail_event;
		enum finding_code code;
	} cases[] = {
	    {1, FC_STUCK_NOT_NOTIFIED},		/* vring_need_event(1, 2, 1): asked */
	    {100, FC_STUCK_DEVICE_NOT_FETCHED}, /* not asked: the device said it polls */
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct stream *s = stream_new(64, VQT_QF_EVENT_IDX);
		struct vqr_device_queue d = device_of(s, 1, 1, 0);
		uint64_t host = S;

		add(s, 0, 64);
		decide(s, true, 0);
		used(s, 0, 24);
		add(s, 1, 64);
		decide(s, false, cases[i].avail_event);
		s->m->queues[0].device_type = 16;
		for (double t = 0; t < 1.6; t += 0.2) {
			host += 200 * MS;
			model_device_sample(s->m, host, &d, 1);
		}
		assert_int_equal(count_above_info(s->m),
				 cases[i].code == FC_STUCK_NOT_NOTIFIED ? 2 : 1);
		assert_non_null(model_finding(s->m, cases[i].code, 0));
		stream_free(s);
	}
}

/* Without guest RAM, whether the driver asked for an interrupt comes
 * from its CB events: notifications on with used_event passed and no
 * interrupt is a lost interrupt (bug=stale-used-event), notifications
 * off is a driver that waits for one it disabled (bug=no-irq-rearm). */
static void lost_interrupt_without_ring_samples(void **state)
{
	(void)state;

	for (int enabled = 0; enabled <= 1; enabled++) {
		struct stream *s = stream_new(64, VQT_QF_EVENT_IDX);
		struct vqr_device_queue d = device_of(s, 1, 1, 0);
		const struct finding *f;
		uint64_t host = S;

		put(s,
		    (struct vqt_event){
			.type = VQT_EV_CB, .queue = 0, .ndesc = (uint16_t)enabled, .ring_idx = 0});
		add(s, 0, 64);
		decide(s, true, 0);
		s->m->queues[0].device_type = 16;
		for (double t = 0; t < 1.6; t += 0.2) {
			host += 200 * MS;
			model_device_sample(s->m, host, &d, 1);
		}
		assert_int_equal(count_above_info(s->m), 1);
		f = model_finding(s->m, enabled ? FC_STUCK_NO_INTERRUPT : FC_STUCK_NOT_REAPED, 0);
		assert_non_null(f);
		assert_true(has_evidence(
		    f, "used_event", enabled ? "0 (notifications on)" : "0 (notifications off)"));
		stream_free(s);
	}
}

static void stuck_device_sides(void **state)
{
	struct stream *s = stream_new(64, VQT_QF_EVENT_IDX);
	const struct finding *f;
	uint64_t host = S;
	(void)state;

	/* Notified, never fetched. */
	add(s, 0, 64);
	decide(s, true, 0);
	samples(s, &host, 1.6, device_of(s, 0, 0, 0), ring_of(1, 0, 0, 0));
	assert_non_null(model_finding(s->m, FC_STUCK_DEVICE_NOT_FETCHED, 0));
	assert_null(model_finding(s->m, FC_STUCK_NOT_NOTIFIED, 0));
	stream_free(s);

	/* Fetched, never completed. */
	s = stream_new(64, VQT_QF_EVENT_IDX);
	host = S;
	add(s, 0, 64);
	decide(s, true, 0);
	samples(s, &host, 1.6, device_of(s, 1, 0, 1), ring_of(1, 0, 1, 0));
	assert_non_null(model_finding(s->m, FC_STUCK_DEVICE_BUSY, 0));
	stream_free(s);

	/* Completed, the driver asked for an interrupt (used_event 0), none came. */
	s = stream_new(64, VQT_QF_EVENT_IDX);
	host = S;
	add(s, 0, 64);
	decide(s, true, 0);
	samples(s, &host, 1.6, device_of(s, 1, 1, 0), ring_of(1, 1, 1, 0));
	assert_non_null(model_finding(s->m, FC_STUCK_NO_INTERRUPT, 0));
	stream_free(s);

	/* Completed, the driver asked for no interrupt (used_event far
	 * ahead) and does not poll: it does not reap. */
	s = stream_new(64, VQT_QF_EVENT_IDX);
	host = S;
	add(s, 0, 64);
	decide(s, true, 0);
	samples(s, &host, 1.6, device_of(s, 1, 1, 0), ring_of(1, 1, 1, 500));
	f = model_finding(s->m, FC_STUCK_NOT_REAPED, 0);
	assert_non_null(f);
	assert_non_null(strstr(f->text, "waits for an interrupt it disabled"));
	stream_free(s);

	/* The same, from a driver that polled (notifications off all
	 * along) and stopped after an error of its own: it waits for no
	 * interrupt, it gave up (bug=leak, once the ring ran dry). */
	s = stream_new(64, VQT_QF_EVENT_IDX);
	host = S;
	add(s, 0, 64);
	decide(s, true, 0);
	put(s, (struct vqt_event){.type = VQT_EV_POLL, .queue = 0, .len = 3, .barriers = 1});
	used(s, 0, 24);
	add(s, 0, 64);
	decide(s, true, 1);
	put(s, (struct vqt_event){.type = VQT_EV_ERROR, .queue = 0, .arg = 1});
	samples(s, &host, 1.6, device_of(s, 2, 2, 0), ring_of(2, 2, 2, 500));
	f = model_finding(s->m, FC_STUCK_NOT_REAPED, 0);
	assert_non_null(f);
	assert_null(strstr(f->text, "interrupt"));
	assert_non_null(strstr(f->text, "stopped polling"));
	assert_non_null(strstr(f->text, "trace: ERROR"));
	stream_free(s);
}

/* Samples as samples() does, each after a read of the producer's state:
 * heartbeats move at each one when `beating`. */
static void producer_samples(struct stream *s, uint64_t *host, double seconds,
			     struct vqr_device_queue d, struct vqr_ring_queue r, uint32_t state,
			     bool beating, uint64_t *beats)
{
	s->m->queues[0].device_type = 16;
	s->m->queues[0].queue_index = 0;
	for (double t = 0; t < seconds; t += 0.2) {
		*host += 200 * MS;
		if (beating)
			++*beats;
		model_producer_sample(s->m, *host, state, state == VQT_PRODUCER_RUNNING ? 250 : 0,
				      s->now, *beats);
		model_device_sample(s->m, *host, &d, 1);
		model_ring_sample(s->m, *host, &r, 1);
	}
}

/* A producer that stopped (it said so, or its heartbeat stood still)
 * leaves the trace behind the device: the completed buffer it never saw
 * reaped is no STUCK-NOT-REAPED and no disagreement, and the model says
 * when the producer stopped.  With its heartbeat going, it is one. */
static void a_stopped_producer_is_not_stuck(void **state)
{
	static const struct {
		uint32_t state;
		bool beating;
		const char *says;
	} cases[] = {
	    {VQT_PRODUCER_RUNNING, true, NULL},
	    {VQT_PRODUCER_STOPPED, false, "producer stopped at "},
	    {VQT_PRODUCER_RUNNING, false, "producer silent since "},
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct stream *s = stream_new(64, VQT_QF_EVENT_IDX);
		uint64_t host = S, beats = 1;
		char text[160];

		add(s, 0, 64);
		decide(s, true, 0);
		model_producer_sample(s->m, host, VQT_PRODUCER_RUNNING, 250, s->now, beats);
		producer_samples(s, &host, 3.0, device_of(s, 1, 1, 0), ring_of(1, 1, 1, 500),
				 cases[i].state, cases[i].beating, &beats);
		if (!cases[i].says) {
			assert_non_null(model_finding(s->m, FC_STUCK_NOT_REAPED, 0));
			assert_true(s->m->queues[0].disagree);
			assert_false(model_producer_stopped_text(s->m, text, sizeof(text)));
			assert_string_equal(text, "");
		} else {
			assert_int_equal(s->m->nfindings, 0);
			assert_false(s->m->queues[0].disagree);
			assert_true(model_producer_stopped_text(s->m, text, sizeof(text)));
			assert_non_null(strstr(text, cases[i].says));
		}
		stream_free(s);
	}
}

static void paused_and_receive_queues_are_not_stuck(void **state)
{
	struct stream *s = stream_new(64, VQT_QF_EVENT_IDX);
	uint64_t host = S;
	(void)state;

	add(s, 0, 64);
	decide(s, true, 0);
	model_vm_paused(s->m, true);
	samples(s, &host, 3.0, device_of(s, 0, 0, 0), ring_of(1, 0, 0, 0));
	assert_int_equal(s->m->nfindings, 0);
	stream_free(s);

	s = stream_new(64, VQT_QF_EVENT_IDX | VQT_QF_RECEIVE);
	host = S;
	add(s, 0, 1514);
	decide(s, true, 0);
	samples(s, &host, 3.0, device_of(s, 0, 0, 0), ring_of(1, 0, 0, 0));
	assert_int_equal(s->m->nfindings, 0);
	stream_free(s);

	/* virtio-net rx as the tracer first sees it: 16 buffers posted
	 * before tracing began (the queue table's avail shadow), no ADD yet,
	 * so not yet known to receive; the device filled one, the driver
	 * took it, and no packet came since. */
	for (int traced_add = 0; traced_add <= 1; traced_add++) {
		struct vqt_queue t;

		s = stream_new(64, VQT_QF_EVENT_IDX);
		memset(&t, 0, sizeof(t));
		t.state = VQT_QS_ACTIVE;
		t.ring_size = 64;
		t.flags = VQT_QF_EVENT_IDX;
		t.avail_idx = 16;
		snprintf(t.name, sizeof(t.name), "q0");
		model_queue_table(s->m, 0, &t);
		s->avail = 16;
		used(s, 0, 60);
		if (traced_add) { /* one the trace saw: the trace may judge */
			add(s, 1, 64);
			decide(s, true, 0);
		}
		host = S;
		samples(s, &host, 3.0, device_of(s, 1, 1, 0),
			ring_of((uint16_t)(16 + traced_add), 1, 1, 0));
		if (traced_add)
			assert_non_null(model_finding(s->m, FC_STUCK_DEVICE_NOT_FETCHED, 0));
		else
			assert_int_equal(s->m->nfindings, 0);
		stream_free(s);
	}
}

/* A loaded host that did not run QEMU for 2 of 3 seconds: the queue stood
 * still for 1 s of the time QEMU could run, which is not stuck (1 s
 * needed, more than 1 s seen only at the end). */
static void time_qemu_waited_for_a_cpu_is_not_stuck(void **state)
{
	struct stream *s = stream_new(64, VQT_QF_EVENT_IDX);
	uint64_t host = S, waited = 0;
	struct vqr_device_queue d;
	struct vqr_ring_queue r = ring_of(1, 0, 0, 0);
	const struct finding *f;
	(void)state;

	add(s, 0, 64);
	decide(s, true, 0);
	d = device_of(s, 0, 0, 0);
	s->m->queues[0].device_type = 16;
	for (int i = 0; i < 15; i++) { /* 3 s, 200 ms apart, 2/3 of it waiting */
		host += 200 * MS;
		waited += 133 * MS;
		model_note_cpu_wait(s->m, waited);
		model_device_sample(s->m, host, &d, 1);
		model_ring_sample(s->m, host, &r, 1);
	}
	assert_int_equal(s->m->nfindings, 0);
	/* Then QEMU runs, and the queue still stands: stuck. */
	for (int i = 0; i < 6; i++) {
		host += 200 * MS;
		model_device_sample(s->m, host, &d, 1);
		model_ring_sample(s->m, host, &r, 1);
	}
	f = model_finding(s->m, FC_STUCK_DEVICE_NOT_FETCHED, 0);
	assert_non_null(f);
	assert_true(has_evidence(f, "QEMU waited for a CPU", "not counted"));
	stream_free(s);
}

/* ---- structure and the device ---------------------------------------------------------------- */

static void bad_chain_needs_two_samples(void **state)
{
	struct stream *s = stream_new(64, 0);
	struct vqr_ring_queue r = ring_of(1, 0, 0, 0);
	const struct finding *f;
	(void)state;

	add(s, 7, 64);
	r.flags |= VQR_RQ_BAD_CHAIN;
	r.chain_head = 7;
	r.chain_problem = CHAIN_LOOP;
	r.chain_bad_index = 9;
	r.chain_bad_value = 7;
	model_ring_sample(s->m, S, &r, 1);
	assert_null(model_finding(s->m, FC_BAD_CHAIN, 0));
	/* An ADD in between: the first sight does not count. */
	add(s, 8, 64);
	model_ring_sample(s->m, S + 200 * MS, &r, 1);
	assert_null(model_finding(s->m, FC_BAD_CHAIN, 0));
	model_ring_sample(s->m, S + 400 * MS, &r, 1);
	f = model_finding(s->m, FC_BAD_CHAIN, 0);
	assert_non_null(f);
	assert_true(has_evidence(f, "problem", "loop"));
	assert_true(has_evidence(f, "descriptor", "9"));
	stream_free(s);
}

static void packed_wrap_and_broken_device(void **state)
{
	struct stream *s = stream_new(64, VQT_QF_PACKED);
	struct vqr_ring_queue r = ring_of(0, 0, 0, 0);
	struct vqr_device_queue d = device_of(s, 0, 0, 0);
	const struct finding *f;
	(void)state;

	r.flags = VQR_RQ_VALID | VQR_RQ_PACKED | VQR_RQ_BAD_WRAP;
	r.wrap_position = 2;
	r.wrap_flags = VRING_PACKED_F_AVAIL | VRING_DESC_F_NEXT;
	r.wrap_driver_pos = 3; /* offset 3 of lap 0: position 2 wants AVAIL 0 */
	model_ring_sample(s->m, S, &r, 1);
	model_ring_sample(s->m, S + 200 * MS, &r, 1);
	f = model_finding(s->m, FC_PACKED_WRAP, 0);
	assert_non_null(f);
	assert_true(has_evidence(f, "flags", "AVAIL 1, USED 0"));
	assert_true(has_evidence(f, "wrap counter for it", "0"));

	s->m->queues[0].device_type = 16;
	d.flags = VQR_DQ_BROKEN;
	model_device_sample(s->m, S, &d, 1);
	f = model_finding(s->m, FC_DEVICE_BROKEN, 0);
	assert_non_null(f);
	assert_true(has_evidence(f, "broken", "true"));
	stream_free(s);
}

/* ---- totals -------------------------------------------------------------------------------- */

static void leak_log_and_fences(void **state)
{
	struct stream *s = stream_new(64, 0);
	const struct finding *f;
	(void)state;

	/* Head 63 never comes back while 200 others complete over 2 s. */
	add(s, 63, 64);
	for (unsigned i = 0; i < 200; i++) {
		add(s, (uint16_t)(i % 60), 64);
		s->now += 10 * MS;
		used(s, (uint16_t)(i % 60), 24);
	}
	model_check(s->m);
	f = model_finding(s->m, FC_LEAK, 0);
	assert_non_null(f);
	assert_true(has_evidence(f, "head", "63"));
	assert_true(has_evidence(f, "completed since", "200"));
	stream_free(s);

	/* Frames that are mostly log, polls with a fence per spin. */
	s = stream_new(64, 0);
	for (uint64_t fr = 1; fr <= 12; fr++) {
		put(s, (struct vqt_event){
			   .type = VQT_EV_FRAME_BEGIN, .queue = VQT_QUEUE_NONE, .arg = fr});
		for (int c = 0; c < 2; c++) {
			add(s, 0, 64);
			put(s, (struct vqt_event){.type = VQT_EV_POLL,
						  .queue = 0,
						  .len = 40,
						  .barriers = 40,
						  .arg = 1000});
			used(s, 0, 24);
		}
		s->now += 4 * MS;
		put(s, (struct vqt_event){
			   .type = VQT_EV_LOG, .queue = VQT_QUEUE_NONE, .len = 60, .arg = 4 * MS});
	}
	put(s, (struct vqt_event){.type = VQT_EV_FRAME_BEGIN, .queue = VQT_QUEUE_NONE, .arg = 13});
	model_check(s->m);
	f = model_finding(s->m, FC_LOG_DOMINATES, -1);
	assert_non_null(f);
	assert_int_equal(f->severity, SEV_WARNING);
	assert_true(f->active);
	/* The log line goes: 30 frames of 10 ms without it bring the share
	 * below half, and the finding says it is not so any more. */
	for (uint64_t fr = 13; fr <= 43; fr++) {
		s->now += 10 * MS;
		put(s, (struct vqt_event){
			   .type = VQT_EV_FRAME_BEGIN, .queue = VQT_QUEUE_NONE, .arg = fr + 1});
	}
	model_check(s->m);
	assert_false(model_finding(s->m, FC_LOG_DOMINATES, -1)->active);
	f = model_finding(s->m, FC_FENCE_PER_SPIN, 0);
	assert_non_null(f);
	assert_int_equal(f->severity, SEV_INFO);
	assert_int_equal(strcmp(finding_info(FC_FENCE_PER_SPIN)->spec, "2.7.13"), 0);
	assert_int_equal(finding_code_from_name("stuck-no-interrupt"), FC_STUCK_NO_INTERRUPT);
	stream_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(correct_event_idx_driver_is_silent),
	    cmocka_unit_test(missed_notify_split_and_event_idx),
	    cmocka_unit_test(missed_notify_packed),
	    cmocka_unit_test(double_complete_and_not_in_flight),
	    cmocka_unit_test(written_more_than_the_chain),
	    cmocka_unit_test(accounting),
	    cmocka_unit_test(stuck_not_notified_then_moving),
	    cmocka_unit_test(stuck_device_sides),
	    cmocka_unit_test(stuck_without_ring_samples),
	    cmocka_unit_test(lost_interrupt_without_ring_samples),
	    cmocka_unit_test(paused_and_receive_queues_are_not_stuck),
	    cmocka_unit_test(a_stopped_producer_is_not_stuck),
	    cmocka_unit_test(time_qemu_waited_for_a_cpu_is_not_stuck),
	    cmocka_unit_test(bad_chain_needs_two_samples),
	    cmocka_unit_test(packed_wrap_and_broken_device),
	    cmocka_unit_test(leak_log_and_fences),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
