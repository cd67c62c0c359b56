/* test_tui_view.c - what the interactive screens show, without curses:
 * the frozen model and its trimming as the live one moves on, the
 * history cursor, event lines and filters, frame bars, the sparkline,
 * overview columns at 80 and 200 columns, the ring view reconstructed at
 * events and read live from a guest RAM image (including a guest that
 * wrote bad ids, bad next fields and a descriptor loop). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/view_data.h"
#include "core/ring_view.h"
#include "vqproto.h"

#define MS 1000000ull

/* ---- a synthetic session (ts_hz = 1 GHz: ticks are ns) ---------------------------------- */

struct stream {
	struct vqt_event ev[4096];
	size_t n;
	uint64_t seq, now;
	uint16_t avail, used;
};

static struct vqt_event *push(struct stream *s, uint8_t type, uint8_t queue)
{
	struct vqt_event *e = &s->ev[s->n++];

	assert_true(s->n <= 4096);
	memset(e, 0, sizeof(*e));
	e->ts = s->now;
	e->seq = (uint32_t)s->seq++;
	e->type = type;
	e->queue = queue;
	return e;
}

static void registered(struct stream *s, uint16_t size)
{
	struct vqt_event *e = push(s, VQT_EV_QUEUE, 0);

	e->ndesc = VQT_QS_ACTIVE;
	e->ring_idx = size;
}

/* A two-descriptor chain at the next index of the avail ring (ADD, 64
 * bytes) or of the used ring (USED, 24 bytes written). */
static void chain(struct stream *s, uint8_t type, uint16_t head)
{
	struct vqt_event *e = push(s, type, 0);
	uint16_t *idx = type == VQT_EV_ADD ? &s->avail : &s->used;

	e->head = head;
	e->ring_idx = (*idx)++;
	e->ndesc = 2;
	e->len = type == VQT_EV_ADD ? 64 : 24;
	s->now += 1000;
}

static void add(struct stream *s, uint16_t head)
{
	chain(s, VQT_EV_ADD, head);
}

static void used(struct stream *s, uint16_t head)
{
	chain(s, VQT_EV_USED, head);
}

static void kick(struct stream *s)
{
	push(s, VQT_EV_KICK, 0)->ring_idx = s->avail;
	s->now += 1000;
}

static void frame(struct stream *s, uint64_t number)
{
	push(s, VQT_EV_FRAME_BEGIN, VQT_QUEUE_NONE)->arg = number;
	s->now += 1000;
}

static struct vq_model *new_model(size_t history)
{
	struct vq_model *m = model_new(&(struct model_opts){.history = history});

	assert_non_null(m);
	model_set_producer(m, 1000000000, "test", 1);
	return m;
}

static void feed(struct vq_model *m, struct stream *s)
{
	model_feed(m, s->ev, s->n, s->seq - s->n);
	s->n = 0;
}

/* ---- frozen model and cursor -------------------------------------------------------------- */

static void freeze_keeps_what_live_did_not_overwrite(void **state)
{
	struct vq_model *live = new_model(16), *snap = malloc(sizeof(*snap));
	struct stream s = {0};
	(void)state;

	assert_non_null(snap);
	registered(&s, 8);
	for (int i = 0; i < 4; i++)
		add(&s, (uint16_t)i);
	feed(live, &s);
	view_freeze(snap, live);
	assert_int_equal(snap->history_len, 5);

	/* 10 more: the ring of 16 had 11 free slots, so all 5 survive. */
	for (int i = 0; i < 10; i++)
		kick(&s);
	feed(live, &s);
	view_freeze_trim(snap, live);
	assert_int_equal(snap->history_len, 5);
	assert_int_equal(model_history_at(snap, 4)->ev.type, VQT_EV_ADD);
	assert_int_equal(model_history_at(snap, 0)->seq, 0);

	/* 3 more overwrite the 2 oldest of the snapshot. */
	for (int i = 0; i < 3; i++)
		kick(&s);
	feed(live, &s);
	view_freeze_trim(snap, live);
	assert_int_equal(snap->history_len, 3);
	assert_int_equal(model_history_at(snap, 0)->seq, 2);
	assert_int_equal(model_history_at(snap, 2)->seq, 4);
	assert_int_equal(snap->events, 5);

	/* A full lap leaves nothing. */
	for (int i = 0; i < 16; i++)
		kick(&s);
	feed(live, &s);
	view_freeze_trim(snap, live);
	assert_int_equal(snap->history_len, 0);
	free(snap);
	model_free(live);
}

static void cursor_maps_to_history(void **state)
{
	struct vq_model *m = new_model(8);
	struct stream s = {0};
	uint64_t cursor;
	size_t i;
	(void)state;

	registered(&s, 8);
	frame(&s, 41);
	add(&s, 0);
	frame(&s, 42);
	for (int k = 0; k < 6; k++)
		kick(&s);
	feed(m, &s);
	/* 10 events, the last 8 kept: numbers 2..9. */
	assert_int_equal(history_first(m), 2);
	assert_false(history_index(m, 2, &i)); /* after event 1: gone */
	assert_true(history_index(m, 3, &i));
	assert_int_equal(i, 0);
	assert_true(history_index(m, 10, &i));
	assert_int_equal(i, 7);
	assert_false(history_index(m, 11, &i));
	assert_false(history_index(m, 0, &i));

	/* Events 0 and 1 at ns 0, then event k at (k - 1) * 1000. */
	assert_int_equal(history_cursor_at_time(m, 4999), 6);
	assert_int_equal(history_cursor_at_time(m, 5000), 7);
	assert_int_equal(history_cursor_at_time(m, 5500), 7);
	assert_int_equal(history_cursor_at_time(m, 0), 2);
	assert_int_equal(history_cursor_at_time(m, UINT64_MAX), 10);
	assert_true(history_cursor_at_frame(m, 42, &cursor));
	assert_int_equal(cursor, 4);
	assert_false(history_cursor_at_frame(m, 41, &cursor)); /* no longer kept */
	model_free(m);
}

/* ---- text ---------------------------------------------------------------------------------------
 */

static void event_lines_and_filters(void **state)
{
	struct vq_model *m = new_model(64);
	struct stream s = {0};
	struct event_filter f = {.queue = -1};
	char line[320];
	(void)state;

	registered(&s, 8);
	add(&s, 3);
	kick(&s);
	used(&s, 3);
	feed(m, &s);
	snprintf(m->queues[0].name, sizeof(m->queues[0].name), "gpu0.control");

	event_line(line, sizeof(line), m, model_history_at(m, 1));
	assert_non_null(strstr(line, "gpu0.control"));
	assert_non_null(strstr(line, "ADD"));
	assert_non_null(strstr(line, "head=3 idx=0 ndesc=2 bytes=64 writable=0  seq 1"));
	event_line(line, sizeof(line), m, model_history_at(m, 3));
	assert_non_null(strstr(line, "USED            head=3 idx=0 ndesc=2 written=24"));

	assert_true(event_filter_match(&f, m, model_history_at(m, 2), line, sizeof(line)));
	f.types = 1u << VQT_EV_USED;
	assert_false(event_filter_match(&f, m, model_history_at(m, 2), line, sizeof(line)));
	assert_true(event_filter_match(&f, m, model_history_at(m, 3), line, sizeof(line)));
	f.types = 0;
	snprintf(f.text, sizeof(f.text), "HEAD=3");
	assert_true(event_filter_match(&f, m, model_history_at(m, 1), line, sizeof(line)));
	assert_false(event_filter_match(&f, m, model_history_at(m, 2), line, sizeof(line)));
	f.text[0] = 0;
	f.queue = 1;
	assert_false(event_filter_match(&f, m, model_history_at(m, 1), line, sizeof(line)));

	model_free(m);
}

static void frame_bar_splits_the_period(void **state)
{
	struct model_frame f = {.period_ns = 10 * MS};
	char bar[21];
	(void)state;

	f.attr.ns[ATTR_DEVICE] = 5 * MS;
	f.attr.ns[ATTR_POLL] = 1 * MS;
	f.attr.ns[ATTR_OTHER] = 2 * MS;
	f.attr.ns[ATTR_LOG] = 2 * MS;
	f.attr.total_ns = 10 * MS;
	frame_bar(bar, 20, &f, 10 * MS);
	assert_string_equal(bar, "DDDDDDDDDDpp----LLLL");
	/* Half the scale: half the width, same proportions. */
	frame_bar(bar, 20, &f, 20 * MS);
	assert_string_equal(bar, "DDDDDp--LL          ");
	/* Longer than the scale: capped at the width. */
	frame_bar(bar, 10, &f, 5 * MS);
	assert_int_equal(strlen(bar), 10);
	assert_int_equal(frame_bar_category('L'), ATTR_LOG);
	assert_int_equal(frame_bar_category('x'), ATTR_COUNT);
}

static void sparkline_scales_to_the_maximum(void **state)
{
	struct rate_series s = {0};
	char buf[SERIES_LEN * 3 + 1];
	(void)state;

	sparkline(buf, sizeof(buf), &s, 4, false);
	assert_string_equal(buf, "    ");
	series_push(&s, 0);
	series_push(&s, 10);
	series_push(&s, 100);
	sparkline(buf, sizeof(buf), &s, 5, false);
	assert_string_equal(buf, "   :#"); /* 10% of the peak: 1 + round(0.6) */
	sparkline(buf, sizeof(buf), &s, 2, true);
	assert_string_equal(buf, "\u2582\u2588");
	for (int i = 0; i < SERIES_LEN + 3; i++)
		series_push(&s, i);
	assert_int_equal(s.len, SERIES_LEN);
	assert_true(series_at(&s, SERIES_LEN - 1) == SERIES_LEN + 2);
}

static void columns_fit_the_width(void **state)
{
	struct vq_model *m = new_model(64);
	struct column_layout l;
	char titles[512], row[512];
	unsigned x, w, slot0 = 0;
	(void)state;

	m->queues[0].active = true;
	m->queues[0].ring_size = 64;
	snprintf(m->queues[0].name, sizeof(m->queues[0].name), "gpu0.control");
	m->queues[0].rates.spins_per_completion = 178.6;
	hist_add(&m->queues[0].latency, 4 * MS);

	columns_fit(&l, 80, m, &slot0, 1);
	assert_true(l.width <= 80);
	columns_titles(titles, sizeof(titles), &l, SORT_P99, &x, &w);
	assert_int_equal(strlen(titles), l.width);
	assert_null(strstr(titles, "SLOT"));
	assert_null(strstr(titles, "KICK/s"));
	assert_non_null(strstr(titles, "SPIN/C"));
	assert_non_null(strstr(titles, "P99"));
	assert_true(w > 0);
	assert_memory_equal(titles + x + w - 3, "P99", 3);
	columns_row(row, sizeof(row), &l, m, 0);
	assert_int_equal(strlen(row), l.width);
	assert_non_null(strstr(row, "gpu0.control"));
	assert_non_null(strstr(row, "178.6"));
	assert_non_null(strstr(row, "4.0ms"));

	columns_fit(&l, 200, m, &slot0, 1);
	assert_int_equal(l.n, COL_COUNT);
	columns_titles(titles, sizeof(titles), &l, SORT_COUNT, &x, &w);
	assert_int_equal(w, 0);
	assert_non_null(strstr(titles, "SLOT"));
	assert_non_null(strstr(titles, "DEV A/U"));

	columns_fit(&l, 10, m, &slot0, 1); /* the name always stays */
	assert_int_equal(l.n, 1);
	assert_int_equal(l.col[0], COL_NAME);

	/* A number wider than its column widens it; a long name is cut in
	 * the middle, never a number. */
	snprintf(m->queues[0].name, sizeof(m->queues[0].name), "virtio0.output.0-with-a-tail");
	m->queues[0].count[MC_STALLS] = 379072;
	columns_fit(&l, 120, m, &slot0, 1);
	columns_row(row, sizeof(row), &l, m, 0);
	assert_true(strlen(row) <= 120);
	assert_non_null(strstr(row, " 379072"));
	assert_non_null(strstr(row, "~"));
	columns_fit(&l, 200, m, &slot0, 1);
	columns_row(row, sizeof(row), &l, m, 0);
	assert_non_null(strstr(row, "virtio0.output.0-with-a-tail "));
	shorten_middle(row, sizeof(row), "virtio0.output.0", 12);
	assert_string_equal(row, "virtio~put.0");
	shorten_middle(row, sizeof(row), "gpu0.control", 12);
	assert_string_equal(row, "gpu0.control");
	model_free(m);
}

/* ---- ring view -------------------------------------------------------------------------- */

static void ring_at_events_walks_the_states(void **state)
{
	struct vq_model *m = new_model(64);
	struct ring_view *v = malloc(sizeof(*v));
	struct stream s = {0};
	(void)state;

	assert_non_null(v);
	registered(&s, 8); /* 0 */
	add(&s, 5);	   /* 1 */
	kick(&s);	   /* 2 */
	add(&s, 6);	   /* 3 */
	used(&s, 5);	   /* 4 */
	feed(m, &s);

	assert_true(ring_view_at(v, m, 0, 1));
	assert_false(v->live);
	assert_int_equal(v->state[5], RING_AVAIL);
	assert_int_equal(v->count[RING_AVAIL], 1);
	assert_int_equal(v->navail, 1);
	assert_int_equal(v->avail[0].idx, 0);
	assert_int_equal(v->avail[0].id, 5);

	assert_true(ring_view_at(v, m, 0, 2));
	assert_int_equal(v->state[5], RING_DEVICE);
	assert_true(ring_view_at(v, m, 0, 3));
	assert_int_equal(v->state[6], RING_AVAIL);
	assert_true(ring_view_at(v, m, 0, 4));
	assert_int_equal(v->state[5], RING_FREE);
	assert_int_equal(v->state[6], RING_AVAIL);
	assert_int_equal(v->count[RING_FREE], 7);
	assert_true(v->driver_used_known);
	assert_int_equal(v->driver_used_idx, 1);
	assert_int_equal(v->nused, 1);
	assert_int_equal(v->used[0].id, 5);
	/* The same index gives the same states (replay forward and back). */
	assert_true(ring_view_at(v, m, 0, 2));
	assert_int_equal(v->state[5], RING_DEVICE);
	assert_int_equal(v->state[6], RING_FREE);

	assert_false(ring_view_at(v, m, 0, 99));
	assert_false(ring_view_at(v, m, 7, 2)); /* no such queue */
	assert_int_equal(ring_state_char(RING_USED), 'U');
	free(v);
	model_free(m);
}

/* Guest RAM image: descriptor table at 0x1000, avail at 0x2000, used at
 * 0x3000, for a ring of 8 (virtio 1.2, 2.7.5, 2.7.6, 2.7.8). */
#define RAM_SIZE 0x10000

static void put16(uint8_t *ram, uint64_t at, uint16_t v)
{
	memcpy(ram + at, &v, 2);
}

static void put32(uint8_t *ram, uint64_t at, uint32_t v)
{
	memcpy(ram + at, &v, 4);
}

static void put_desc(uint8_t *ram, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	memcpy(ram + 0x1000 + 16 * i, &addr, 8);
	put32(ram, 0x1000 + 16 * i + 8, len);
	put16(ram, 0x1000 + 16 * i + 12, flags);
	put16(ram, 0x1000 + 16 * i + 14, next);
}

/* A flat guest RAM image of RAM_SIZE bytes at guest-physical 0. */
static bool read_image(void *ctx, uint64_t gpa, void *buf, size_t len)
{
	if (gpa > RAM_SIZE || len > RAM_SIZE - gpa)
		return false;
	memcpy(buf, (const uint8_t *)ctx + gpa, len);
	return true;
}

static void ring_live_reads_guest_ram(void **state)
{
	struct vq_model *m = new_model(64);
	struct ring_view *v = malloc(sizeof(*v));
	struct chain_view c;
	uint8_t *ram = calloc(1, RAM_SIZE);
	struct guest_mem map = {.read = read_image, .ctx = ram};
	struct stream s = {0};
	struct model_queue *q;
	(void)state;

	assert_non_null(v);
	assert_non_null(ram);
	registered(&s, 8);
	add(&s, 2);
	kick(&s);
	add(&s, 4);
	kick(&s);
	feed(m, &s);
	q = &m->queues[0];
	q->desc_addr = 0x1000;
	q->avail_addr = 0x2000;
	q->used_addr = 0x3000;

	/* avail: idx 2, ring [2, 4]; used: the device finished head 2. */
	put16(ram, 0x2002, 2);
	put16(ram, 0x2004, 2);
	put16(ram, 0x2006, 4);
	put16(ram, 0x3002, 1);
	put32(ram, 0x3004, 2);
	put32(ram, 0x3008, 24);
	assert_true(ring_view_live(v, m, &map, 0, 0));
	assert_true(v->live);
	assert_true(v->from_ram);
	assert_int_equal(v->state[2], RING_USED);
	assert_int_equal(v->state[4], RING_DEVICE);
	assert_int_equal(v->count[RING_USED], 1);
	assert_true(v->ram_valid);
	assert_int_equal(v->ram.used_idx, 1);
	assert_int_equal(v->ram.avail_idx, 2);
	assert_int_equal(v->avail[v->navail - 1].idx, 1);
	assert_int_equal(v->avail[v->navail - 1].id, 4);
	assert_int_equal(v->used[v->nused - 1].id, 2);
	assert_int_equal(v->used[v->nused - 1].len, 24);
	assert_string_equal(v->note, "");

	/* A bad id in the used ring is named, never indexed. */
	put32(ram, 0x3004, 4000);
	assert_true(ring_view_live(v, m, &map, 0, 0));
	assert_int_equal(v->count[RING_USED], 0);
	assert_non_null(strstr(v->note, "id 4000, outside the ring of 8"));
	/* A used index far ahead of the events. */
	put16(ram, 0x3002, 100);
	assert_true(ring_view_live(v, m, &map, 0, 0));
	assert_non_null(strstr(v->note, "used.idx 100 is 100 past"));
	/* Rings outside guest RAM. */
	q->used_addr = RAM_SIZE - 8;
	assert_true(ring_view_live(v, m, &map, 0, 0));
	assert_false(v->from_ram);
	assert_non_null(strstr(v->note, "outside guest RAM"));
	/* No RAM: states from events only, entries from the history. */
	assert_true(ring_view_live(v, m, NULL, 0, 0));
	assert_int_equal(v->state[2], RING_DEVICE);
	assert_int_equal(v->navail, 2);
	assert_non_null(strstr(v->note, "not mapped"));

	/* Chains: 2 -> 3 -> end. */
	put_desc(ram, 2, 0x8000, 48, 1, 3);
	put_desc(ram, 3, 0x9000, 24, 2, 0);
	assert_true(chain_view_ram(&c, &map, q, NULL, 2));
	assert_int_equal(c.n, 2);
	assert_int_equal(c.desc[0].index, 2);
	assert_int_equal(c.desc[0].addr, 0x8000);
	assert_int_equal(c.desc[1].index, 3);
	assert_int_equal(c.desc[1].flags, 2);
	assert_string_equal(c.note, "");
	/* next outside the ring. */
	put_desc(ram, 3, 0x9000, 24, 1, 77);
	assert_true(chain_view_ram(&c, &map, q, NULL, 2));
	assert_non_null(strstr(c.note, "next 77 is outside the table of 8"));
	/* A loop is named where it closes, never followed. */
	put_desc(ram, 3, 0x9000, 24, 1, 2);
	assert_true(chain_view_ram(&c, &map, q, NULL, 2));
	assert_int_equal(c.n, 2);
	assert_int_equal(c.problem, CHAIN_LOOP);
	assert_non_null(strstr(c.note, "loop: descriptor 3: next 2 leads back"));
	/* Head out of range; table outside RAM. */
	assert_false(chain_view_ram(&c, &map, q, NULL, 8));
	q->desc_addr = RAM_SIZE - 16 * 2;
	assert_true(chain_view_ram(&c, &map, q, NULL, 1));
	assert_false(chain_view_ram(&c, &map, q, NULL, 2));
	assert_non_null(strstr(c.note, "outside guest RAM"));
	assert_false(chain_view_ram(&c, NULL, q, NULL, 1));

	free(ram);
	free(v);
	model_free(m);
}

static void resync_is_not_a_count(void **state)
{
	(void)state;
	/* vqp_reader_drain returns a count or VQP_RESYNC: they must not
	 * overlap, or a drain of that many events reads as a restart. */
	assert_true(VQP_RESYNC < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(freeze_keeps_what_live_did_not_overwrite),
	    cmocka_unit_test(cursor_maps_to_history),
	    cmocka_unit_test(event_lines_and_filters),
	    cmocka_unit_test(frame_bar_splits_the_period),
	    cmocka_unit_test(sparkline_scales_to_the_maximum),
	    cmocka_unit_test(columns_fit_the_width),
	    cmocka_unit_test(ring_at_events_walks_the_states),
	    cmocka_unit_test(ring_live_reads_guest_ram),
	    cmocka_unit_test(resync_is_not_a_count),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
