/* test_core_ring_view.c - the ring view built live from crafted guest
 * RAM images (tui/core/ring_view.c): a split ring with event idx (both
 * rings' flags and event fields, QMP's sample with its age and how far
 * guest RAM is past it), a packed ring across a wrap (each position's
 * state against the wrap counter of its lap, the driver's, reap and
 * device positions, the event suppression structures, guest RAM ahead of
 * the trace, a stale wrap counter), chains that loop or never end, an
 * indirect table and one nested in it, and the view at a past event of a
 * packed queue.  Links the core and libvqproto only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/ring_view.h"
#include "guest_image.h"

#define DESC   0x1000u
#define DRIVER 0x3000u /* split: avail ring; packed: driver event suppression */
#define DEVICE 0x4000u /* split: used ring; packed: device event suppression */
#define TABLE  0x8000u /* indirect tables */
#define MS     1000000ull

/* A descriptor at index i of the table at `table`: split (2.7.5: flags
 * at 12, next at 14) or packed (2.8.13: id at 12, flags at 14). */
static void put_desc(uint64_t table, unsigned i, uint32_t len, uint16_t at12, uint16_t at14)
{
	uint64_t addr = 0x10000 + 0x100 * (uint64_t)i;

	memcpy(ram + table + 16 * i, &addr, 8);
	put32(table + 16 * i + 8, len);
	put16(table + 16 * i + 12, at12);
	put16(table + 16 * i + 14, at14);
}

/* Packed flags for a descriptor the driver wrote in a lap of wrap
 * counter w (2.8.1: AVAIL = w, USED = !w), or the device used (both w). */
static uint16_t driver_wrote(bool w, uint16_t other)
{
	return (uint16_t)(other | (w ? VRING_PACKED_F_AVAIL : VRING_PACKED_F_USED));
}

static uint16_t device_used(bool w)
{
	return w ? (uint16_t)(VRING_PACKED_F_AVAIL | VRING_PACKED_F_USED) : 0;
}

/* ---- a traced queue -------------------------------------------------------------------- */

struct trace {
	struct vq_model *m;
	struct vqt_event ev[64];
	size_t n;
	uint64_t seq, now;
	uint16_t avail, used;
};

static struct vqt_event *push(struct trace *t, uint8_t type)
{
	struct vqt_event *e = &t->ev[t->n++];

	assert_true(t->n <= 64);
	memset(e, 0, sizeof(*e));
	e->ts = t->now;
	e->seq = (uint32_t)t->seq++;
	e->type = type;
	e->queue = 0;
	t->now += 1000;
	return e;
}

static void flush(struct trace *t)
{
	model_feed(t->m, t->ev, t->n, t->seq - t->n);
	t->n = 0;
}

/* A queue of size registered in slot 0 with the given VQT_QF_* flags and
 * the test image's addresses. */
static struct model_queue *traced_queue(struct trace *t, uint16_t size, uint16_t flags)
{
	struct model_queue *q;
	struct vqt_event *e;

	memset(ram, 0, sizeof(ram));
	t->m = model_new(&(struct model_opts){.history = 1024});
	assert_non_null(t->m);
	model_set_producer(t->m, 1000000000, "test", 1);
	e = push(t, VQT_EV_QUEUE);
	e->ndesc = VQT_QS_ACTIVE;
	e->ring_idx = size;
	flush(t);
	q = &t->m->queues[0];
	q->flags = flags;
	q->desc_addr = DESC;
	q->avail_addr = DRIVER;
	q->used_addr = DEVICE;
	return q;
}

static void add(struct trace *t, uint16_t id, uint16_t ndesc)
{
	struct vqt_event *e = push(t, VQT_EV_ADD);

	e->head = id;
	e->ring_idx = t->avail++;
	e->ndesc = ndesc;
	e->len = 64;
}

static void reap(struct trace *t, uint16_t id)
{
	struct vqt_event *e = push(t, VQT_EV_USED);

	e->head = id;
	e->ring_idx = t->used++;
	e->len = 24;
}

/* A kick decision: packed, the driver's position after it (2.8.21). */
static void kick(struct trace *t, uint16_t adds, uint64_t state)
{
	struct vqt_event *e = push(t, VQT_EV_KICK);

	e->ring_idx = t->avail;
	e->len = adds;
	e->arg = state;
}

/* Each test's trace and view, freed after it. */
struct fixture {
	struct trace t;
	struct ring_view *v;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || !(f->v = malloc(sizeof(*f->v)))) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	model_free(f->t.m);
	free(f->v);
	free(f);
	return 0;
}

/* ---- split ------------------------------------------------------------------------------ */

static void split_event_idx_with_sources(void **state)
{
	struct fixture *f = *state;
	struct trace *t = &f->t;
	struct ring_view *v = f->v;
	struct vqr_device_queue dq = {.desc_addr = DESC, .queue_index = 0, .vring_num = 8};

	traced_queue(t, 8, VQT_QF_EVENT_IDX);
	/* Near the u16 wrap: the driver added heads 1, 3, 5 at 65534,
	 * 65535 and 0, the device used 1 and 3 and the driver reaped 1. */
	t->avail = t->used = 65534;
	add(t, 1, 2);
	add(t, 3, 2);
	add(t, 5, 1);
	kick(t, 3, 0);
	reap(t, 1);
	flush(t);
	/* 2.7.6: flags, idx, ring[8], used_event; 2.7.8: flags, idx,
	 * ring[8] of {id, len}, avail_event (2.7.7, 2.7.10). */
	put16(DRIVER, VRING_AVAIL_F_NO_INTERRUPT);
	put16(DRIVER + 2, 1);
	put16(DRIVER + 4 + 2 * 6, 1);
	put16(DRIVER + 4 + 2 * 7, 3);
	put16(DRIVER + 4 + 2 * 0, 5);
	put16(DRIVER + 4 + 2 * 8, 65535); /* used_event */
	put16(DEVICE, 0);
	put16(DEVICE + 2, 0); /* used.idx: 65534 + 2 */
	put32(DEVICE + 4 + 8 * 6, 1);
	put32(DEVICE + 4 + 8 * 6 + 4, 24);
	put32(DEVICE + 4 + 8 * 7, 3);
	put32(DEVICE + 4 + 8 * 7 + 4, 16);
	put16(DEVICE + 4 + 8 * 8, 1); /* avail_event */
	/* QEMU's sample, taken 250 ms before the view, when the device had
	 * used only 65535 and read up to 65535 (2 behind guest RAM's 0). */
	dq.last_avail_idx = 65535;
	dq.used_idx = 65535;
	dq.inuse = 0;
	model_device_sample(t->m, 1000 * MS, &dq, 1);

	assert_true(ring_view_live(v, t->m, &mem, 0, 1250 * MS));
	assert_false(v->packed);
	assert_true(v->event_idx);
	assert_int_equal(v->driver_from, RING_FROM_EVENTS);
	assert_string_equal(ring_source_name(v->driver_from), "trace events");
	assert_int_equal(v->driver_avail_idx, 1);
	assert_int_equal(v->driver_used_idx, 65535);
	assert_int_equal(v->in_flight, 2);
	assert_true(v->ram_valid);
	assert_int_equal(v->ram.avail_flags, VRING_AVAIL_F_NO_INTERRUPT);
	assert_int_equal(v->ram.avail_idx, 1);
	assert_int_equal(v->ram.used_event, 65535);
	assert_int_equal(v->ram.used_idx, 0);
	assert_int_equal(v->ram.avail_event, 1);
	assert_true(v->qmp_known);
	assert_int_equal(v->qmp_last_avail_idx, 65535);
	assert_int_equal(v->qmp_age_ns, 250 * MS);
	assert_int_equal(v->qmp_behind, 1); /* used.idx 0 is one past QMP's 65535 */
	/* Head 3 used (guest RAM) and not reaped (trace); 5 in the device. */
	assert_int_equal(v->state[3], RING_USED);
	assert_int_equal(v->state[5], RING_DEVICE);
	assert_int_equal(v->state[1], RING_FREE);
	assert_int_equal(v->avail[v->navail - 1].idx, 0);
	assert_int_equal(v->avail[v->navail - 1].id, 5);
	assert_int_equal(v->used[v->nused - 1].idx, 65535);
	assert_int_equal(v->used[v->nused - 1].id, 3);
	assert_int_equal(v->used[v->nused - 1].len, 16);
	assert_string_equal(v->note, "");

	/* A sample as new as guest RAM is not behind. */
	dq.used_idx = 0;
	model_device_sample(t->m, 1300 * MS, &dq, 1);
	assert_true(ring_view_live(v, t->m, &mem, 0, 1300 * MS));
	assert_int_equal(v->qmp_behind, 0);
	assert_int_equal(v->qmp_age_ns, 0);
}

static void split_chains_loop_and_indirect(void **state)
{
	struct fixture *f = *state;
	struct trace *t = &f->t;
	struct model_queue *q = traced_queue(t, 8, VQT_QF_INDIRECT);
	struct chain_view c;

	/* 2 -> 3 -> 2: a loop, named with the next that closes it. */
	put_desc(DESC, 2, 48, VRING_DESC_F_NEXT, 3);
	put_desc(DESC, 3, 24, VRING_DESC_F_NEXT, 2);
	assert_true(chain_view_ram(&c, &mem, q, NULL, 2));
	assert_int_equal(c.n, 2);
	assert_int_equal(c.problem, CHAIN_LOOP);
	assert_string_equal(c.note,
			    "loop: descriptor 3: next 2 leads back into the chain of head 2");

	/* Head 4: an indirect table of three (2.7.5.3), chained by next. */
	put_desc(DESC, 4, 48, VRING_DESC_F_INDIRECT, 0);
	memcpy(ram + DESC + 16 * 4, &(uint64_t){TABLE}, 8);
	put_desc(TABLE, 0, 56, VRING_DESC_F_NEXT, 2);
	put_desc(TABLE, 2, 8, VRING_DESC_F_NEXT, 1);
	put_desc(TABLE, 1, 24, VRING_DESC_F_WRITE, 0);
	assert_true(chain_view_ram(&c, &mem, q, NULL, 4));
	assert_int_equal(c.problem, CHAIN_OK);
	assert_int_equal(c.n, 3);
	assert_true(c.desc[0].in_indirect);
	assert_int_equal(c.desc[0].index, 0);
	assert_int_equal(c.desc[1].index, 2);
	assert_int_equal(c.desc[2].index, 1);
	assert_int_equal(c.desc[2].flags, VRING_DESC_F_WRITE);
	assert_string_equal(c.note, "");

	/* An indirect table in it: stopped there, with the flags read. */
	put_desc(TABLE, 1, 24, VRING_DESC_F_INDIRECT, 0);
	assert_true(chain_view_ram(&c, &mem, q, NULL, 4));
	assert_int_equal(c.problem, CHAIN_INDIRECT_NESTED);
	assert_int_equal(c.n, 2);
	assert_non_null(strstr(c.note, "indirect descriptor 1 (of head 4) is itself indirect"));

	/* Without the feature an indirect descriptor is a problem too. */
	q->flags = 0;
	assert_false(chain_view_ram(&c, &mem, q, NULL, 4));
	assert_int_equal(c.problem, CHAIN_INDIRECT_NOT_OFFERED);
	assert_non_null(strstr(c.note, "descriptor 4 is indirect, but the queue has no indirect"));
}

/* ---- packed ----------------------------------------------------------------------------- */

/* A ring of 8 in its second lap: chains of two descriptors at 0-1, 2-3
 * and 4-5 (lap wrap 1) were used and reaped; id 3 at 6-7 (lap 1) was
 * used by the device and not taken; id 0 at 0-1 (lap 0, after the wrap)
 * is available.  The driver stands at offset 2 with wrap 0. */
static struct model_queue *packed_across_wrap(struct trace *t)
{
	struct model_queue *q = traced_queue(t, 8, VQT_QF_PACKED | VQT_QF_EVENT_IDX);

	for (unsigned p = 2; p < 6; p += 2) {
		put_desc(DESC, p, 24, 7, device_used(1));
		put_desc(DESC, p + 1, 24, 7, driver_wrote(1, VRING_DESC_F_WRITE));
	}
	put_desc(DESC, 6, 16, 3, device_used(1)); /* id 3, 16 bytes written */
	put_desc(DESC, 7, 24, 3, driver_wrote(1, VRING_DESC_F_WRITE));
	put_desc(DESC, 0, 56, 0, driver_wrote(0, VRING_DESC_F_NEXT));
	put_desc(DESC, 1, 24, 0, driver_wrote(0, VRING_DESC_F_WRITE));
	/* 2.8.14: driver event DESC at offset 6 wrap 1; device ENABLE. */
	put16(DRIVER, (uint16_t)(6 | 1u << 15));
	put16(DRIVER + 2, RING_EVENT_FLAGS_DESC);
	put16(DEVICE, (uint16_t)(2 | 0u << 15));
	put16(DEVICE + 2, RING_EVENT_FLAGS_ENABLE);
	add(t, 3, 2);
	add(t, 0, 2);
	kick(t, 2, VQT_KICK_STATE_PRESENT | (uint64_t)(2 | 0u << 15) << 32);
	flush(t);
	assert_int_equal(q->in_flight_descs, 4);
	return q;
}

static void packed_positions_across_a_wrap(void **state)
{
	struct fixture *f = *state;
	struct model_queue *q = packed_across_wrap(&f->t);
	struct ring_view *v = f->v;
	const struct packed_layout *l = &v->layout;
	struct chain_view c;

	assert_true(ring_view_live(v, f->t.m, &mem, 0, 0));
	assert_true(v->packed);
	assert_true(l->valid);
	assert_int_equal(l->driver_off, 2);
	assert_false(l->driver_wrap);
	assert_true(l->trace_known);
	assert_int_equal(l->trace_off, 2);
	assert_false(l->trace_wrap);
	assert_int_equal(l->reap_off, 6);
	assert_true(l->reap_wrap);
	assert_int_equal(l->device_off, 0); /* past the used chain, after the wrap */
	assert_false(l->device_wrap);
	assert_int_equal(l->nused, 1);
	assert_int_equal(l->navail, 1);
	assert_int_equal(l->state[6], PACKED_POS_USED | PACKED_POS_START);
	assert_int_equal(l->state[7], PACKED_POS_USED);
	assert_int_equal(l->state[0], PACKED_POS_AVAIL | PACKED_POS_START);
	assert_int_equal(l->state[1], PACKED_POS_AVAIL);
	for (unsigned p = 2; p < 6; p++)
		assert_int_equal(l->state[p], PACKED_POS_FREE);
	assert_int_equal(l->id[6], 3);
	assert_int_equal(l->id[0], 0);
	assert_string_equal(l->note, "");
	/* The buffers in ring order, and the heads' states. */
	assert_int_equal(v->nused, 1);
	assert_int_equal(v->used[0].idx, 6);
	assert_int_equal(v->used[0].id, 3);
	assert_int_equal(v->used[0].len, 16);
	assert_int_equal(v->navail, 1);
	assert_int_equal(v->avail[0].idx, 0);
	assert_int_equal(v->avail[0].id, 0);
	assert_int_equal(v->avail[0].len, 2);
	assert_int_equal(v->state[3], RING_USED);
	assert_int_equal(v->state[0], RING_DEVICE);
	assert_int_equal(v->count[RING_USED], 1);
	/* The event suppression structures (2.8.14). */
	assert_true(v->ram_valid);
	assert_int_equal(v->ram.driver_flags, RING_EVENT_FLAGS_DESC);
	assert_int_equal(v->ram.driver_off_wrap, 6 | 1u << 15);
	assert_int_equal(v->ram.device_flags, RING_EVENT_FLAGS_ENABLE);

	/* Chains by buffer id: the available one walked, the used one as
	 * the device left it, a free one not in the ring. */
	assert_true(chain_view_ram(&c, &mem, q, l, 0));
	assert_true(c.packed);
	assert_int_equal(c.position, 0);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.desc[1].index, 1);
	assert_int_equal(c.desc[1].next, 0); /* the id */
	assert_true(chain_view_ram(&c, &mem, q, l, 3));
	assert_true(c.used);
	assert_int_equal(c.position, 6);
	assert_int_equal(c.n, 2);
	assert_non_null(
	    strstr(c.note, "the device wrote id 3, length 16, flags 0x8080 in the first"));
	assert_false(chain_view_ram(&c, &mem, q, l, 5));
	assert_string_equal(c.note, "buffer id 5 is not in the ring now");

	/* Guest RAM ahead of the trace: id 1 made available at 2-3 with no
	 * ADD event read yet is in flight too. */
	put_desc(DESC, 2, 56, 1, driver_wrote(0, VRING_DESC_F_NEXT));
	put_desc(DESC, 3, 24, 1, driver_wrote(0, VRING_DESC_F_WRITE));
	assert_true(ring_view_live(v, f->t.m, &mem, 0, 0));
	assert_int_equal(l->driver_off, 4);
	assert_int_equal(l->reap_off, 6);
	assert_int_equal(l->positions, 6);
	assert_int_equal(l->navail, 2);
	assert_int_equal(l->state[2], PACKED_POS_AVAIL | PACKED_POS_START);
	assert_int_equal(v->avail[1].id, 1);
}

static void packed_bad_chains_and_stale_wrap(void **state)
{
	struct fixture *f = *state;
	struct model_queue *q = packed_across_wrap(&f->t);
	struct ring_view *v = f->v;
	const struct packed_layout *l = &v->layout;
	struct chain_view c;

	/* NEXT (and no WRITE) on the chain's last descriptor and on every
	 * other one: the walk stops after the ring's size, never loops. */
	for (unsigned p = 0; p < 8; p++) {
		uint16_t flags;

		memcpy(&flags, ram + DESC + 16 * p + 14, 2);
		put16(DESC + 16 * p + 14,
		      (uint16_t)((flags & ~VRING_DESC_F_WRITE) | VRING_DESC_F_NEXT));
	}
	assert_true(chain_view_ram(&c, &mem, q, NULL, 0) == false);
	assert_true(ring_view_live(v, f->t.m, &mem, 0, 0));
	assert_true(chain_view_ram(&c, &mem, q, l, 0));
	assert_int_equal(c.problem, CHAIN_TOO_LONG);
	assert_int_equal(c.n, 8);
	assert_non_null(strstr(c.note, "has NEXT on all 8 descriptors"));
	assert_non_null(strstr(l->note, "position 0: the chain at position 0 has NEXT"));

	/* A stale wrap counter: the trace says the driver is at 2 wrap 1,
	 * its AVAIL bits say 2 wrap 0 (2.8.1). */
	q->decision_state = VQT_KICK_STATE_PRESENT | (uint64_t)(2 | 1u << 15) << 32;
	assert_true(ring_view_live(v, f->t.m, &mem, 0, 0));
	assert_non_null(strstr(l->note,
			       "the trace puts the driver at offset 2 wrap 1, its AVAIL bits at "
			       "offset 2 wrap 0"));

	/* AVAIL bits of two laps past the driver: named, with the flags. */
	q->decision_state = 0;
	put16(DESC + 16 * 5 + 14, driver_wrote(0, 0));
	assert_true(ring_view_live(v, f->t.m, &mem, 0, 0));
	assert_non_null(strstr(l->note, "position 5 has AVAIL 0 (flags 0x8000) past the driver's "
					"position 2"));
}

static void packed_outside_ram_and_at_an_event(void **state)
{
	struct fixture *f = *state;
	struct model_queue *q = packed_across_wrap(&f->t);
	struct ring_view *v = f->v;

	/* The view at a past event is the trace's: no positions. */
	assert_true(ring_view_at(v, f->t.m, 0, f->t.m->history_len - 1));
	assert_true(v->packed);
	assert_false(v->layout.valid);
	assert_int_equal(v->state[0], RING_DEVICE);
	assert_int_equal(v->state[3], RING_DEVICE);
	assert_int_equal(v->driver_from, RING_FROM_EVENTS);

	/* A descriptor ring that runs past guest RAM: named, not read. */
	q->desc_addr = RAM - 16 * 4;
	assert_true(ring_view_live(v, f->t.m, &mem, 0, 0));
	assert_false(v->layout.valid);
	assert_false(v->from_ram);
	assert_non_null(strstr(v->note, "descriptor 4 at 0x20000 is outside guest RAM"));
	/* No guest RAM at all. */
	assert_true(ring_view_live(v, f->t.m, NULL, 0, 0));
	assert_non_null(strstr(v->note, "guest RAM not mapped"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(split_event_idx_with_sources, setup, teardown),
	    cmocka_unit_test_setup_teardown(split_chains_loop_and_indirect, setup, teardown),
	    cmocka_unit_test_setup_teardown(packed_positions_across_a_wrap, setup, teardown),
	    cmocka_unit_test_setup_teardown(packed_bad_chains_and_stale_wrap, setup, teardown),
	    cmocka_unit_test_setup_teardown(packed_outside_ram_and_at_an_event, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
