/* view_data.c - what the interactive screens show, prepared without
 * curses (see view_data.h). */
#include <stdio.h>
#include <string.h>

#include "format.h"
#include "view_data.h"
#include "vqproto.h"

/* ---- frozen model ------------------------------------------------------------- */

void view_freeze(struct vq_model *snap, const struct vq_model *live)
{
	*snap = *live;
}

/* Entries of a ring of cap that survive `written` more pushes. */
static size_t surviving(size_t len, size_t cap, uint64_t written)
{
	size_t valid = written >= cap ? 0 : cap - (size_t)written;

	return len < valid ? len : valid;
}

void view_freeze_trim(struct vq_model *snap, const struct vq_model *live)
{
	/* Live pushes into the slots after snap's newest entry, which are
	 * snap's oldest (or empty ones while the ring was not full). */
	snap->history_len =
	    surviving(snap->history_len, snap->history_cap, live->events - snap->events);
	snap->frames_len =
	    surviving(snap->frames_len, snap->frames_cap, live->frames_total - snap->frames_total);
}

/* ---- history cursor ------------------------------------------------------------------- */

uint64_t history_first(const struct vq_model *m)
{
	return m->events - m->history_len;
}

bool history_index(const struct vq_model *m, uint64_t cursor, size_t *index)
{
	uint64_t first = history_first(m);

	if (cursor == 0 || cursor > m->events || cursor - 1 < first)
		return false;
	*index = (size_t)(cursor - 1 - first);
	return true;
}

uint64_t history_cursor_at_time(const struct vq_model *m, uint64_t ns)
{
	size_t lo = 0, hi = m->history_len;

	/* Session time never decreases along the history. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (model_history_at(m, mid)->at_ns <= ns)
			lo = mid + 1;
		else
			hi = mid;
	}
	return history_first(m) + lo;
}

bool history_cursor_at_frame(const struct vq_model *m, uint64_t frame, uint64_t *cursor)
{
	for (size_t i = m->history_len; i-- > 0;) {
		const struct model_history_entry *h = model_history_at(m, i);

		if (h->ev.type == VQT_EV_FRAME_BEGIN && h->ev.arg == frame) {
			*cursor = history_first(m) + i + 1;
			return true;
		}
	}
	return false;
}

/* ---- events ---------------------------------------------------------------------------- */

void event_line(char *buf, size_t len, const struct vq_model *m,
		const struct model_history_entry *h)
{
	const struct vqt_event *e = &h->ev;
	char queue[24], fields[160];

	if (e->queue < MODEL_QUEUES && m->queues[e->queue].name[0])
		snprintf(queue, sizeof(queue), "%s", m->queues[e->queue].name);
	else if (e->queue < MODEL_QUEUES)
		snprintf(queue, sizeof(queue), "q%u", e->queue);
	else
		snprintf(queue, sizeof(queue), "-");
	vqp_event_fields_text(fields, sizeof(fields), e, m->ts_hz);
	snprintf(buf, len, "%12.6f %-14.14s %-15s %s  seq %llu", (double)h->at_ns / 1e9, queue,
		 vqp_event_type_name(e->type), fields, (unsigned long long)h->seq);
}

bool event_filter_match(const struct event_filter *f, const struct vq_model *m,
			const struct model_history_entry *h, char *buf, size_t len)
{
	if (f->queue >= 0 && h->ev.queue != (unsigned)f->queue)
		return false;
	if (f->types && (h->ev.type >= 32 || !(f->types & (1u << h->ev.type))))
		return false;
	event_line(buf, len, m, h);
	return !f->text[0] || strcasestr(buf, f->text) != NULL;
}

/* ---- frames ------------------------------------------------------------------------------ */

/* Bar order, left to right: what the driver waited on first. */
static const struct {
	enum attr_cat cat;
	char c;
} bar_parts[ATTR_COUNT] = {
    {ATTR_DEVICE, 'D'}, {ATTR_POLL, 'p'}, {ATTR_OTHER, '-'}, {ATTR_LOG, 'L'}};

void frame_bar(char *buf, size_t width, const struct model_frame *f, uint64_t full_ns)
{
	size_t chars = 0, pos = 0;
	uint64_t cum = 0, total = f->attr.total_ns;

	if (full_ns) {
		uint64_t period = f->period_ns < full_ns ? f->period_ns : full_ns;

		chars = (size_t)(((unsigned __int128)period * width + full_ns / 2) / full_ns);
		if (chars == 0 && f->period_ns)
			chars = 1;
	}
	for (size_t k = 0; k < ATTR_COUNT && total; k++) {
		size_t end;

		cum += f->attr.ns[bar_parts[k].cat];
		end = (size_t)(((unsigned __int128)cum * chars + total / 2) / total);
		while (pos < end && pos < chars)
			buf[pos++] = bar_parts[k].c;
	}
	while (pos < chars)
		buf[pos++] = '-';
	while (pos < width)
		buf[pos++] = ' ';
	buf[width] = 0;
}

enum attr_cat frame_bar_category(char c)
{
	for (size_t k = 0; k < ATTR_COUNT; k++)
		if (bar_parts[k].c == c)
			return bar_parts[k].cat;
	return ATTR_COUNT;
}

/* ---- sparkline -------------------------------------------------------------------------- */

void series_push(struct rate_series *s, double v)
{
	s->v[s->head] = v;
	s->head = (s->head + 1) % SERIES_LEN;
	if (s->len < SERIES_LEN)
		s->len++;
}

double series_at(const struct rate_series *s, size_t i)
{
	return s->v[(s->head + SERIES_LEN - s->len + i) % SERIES_LEN];
}

void sparkline(char *buf, size_t len, const struct rate_series *s, size_t n, bool utf8)
{
	static const char *const blocks[] = {" ",      "\u2581", "\u2582", "\u2583", "\u2584",
					     "\u2585", "\u2586", "\u2587", "\u2588"};
	static const char *const ascii[] = {" ", ".", ":", "-", "=", "+", "*", "#"};
	const char *const *ramp = utf8 ? blocks : ascii;
	size_t levels = utf8 ? 9 : 8, used = 0, have = s->len < n ? s->len : n;
	double max = 0;

	for (size_t i = s->len - have; i < s->len; i++)
		if (series_at(s, i) > max)
			max = series_at(s, i);
	if (len)
		buf[0] = 0;
	for (size_t k = 0; k < n; k++) {
		size_t level = 0;

		if (k >= n - have && max > 0) {
			double v = series_at(s, s->len - n + k);

			/* Anything above zero shows at least the lowest mark. */
			level = v > 0 ? 1 + (size_t)(v / max * (double)(levels - 2) + 0.5) : 0;
			if (level >= levels)
				level = levels - 1;
		}
		size_t w = strlen(ramp[level]);
		if (used + w >= len)
			break;
		memcpy(buf + used, ramp[level], w + 1);
		used += w;
	}
}

/* ---- overview columns -------------------------------------------------------------------- */

#define COLUMN_NAME_MIN 12
#define COLUMN_NAME_MAX 32
#define CELL_MAX	64

static const struct {
	const char *title;
	unsigned width;		 /* at least */
	enum overview_sort sort; /* SORT_COUNT: not a sort key */
} columns[COL_COUNT] = {
    [COL_SLOT] = {"SLOT", 4, SORT_SLOT},
    [COL_NAME] = {"NAME", COLUMN_NAME_MIN, SORT_NAME},
    [COL_SIZE] = {"SIZE", 5, SORT_COUNT},
    [COL_INFL] = {"INFL", 4, SORT_IN_FLIGHT},
    [COL_DRIVER_IDX] = {"AVAIL/USED", 11, SORT_COUNT},
    [COL_DEVICE_IDX] = {"DEV A/U", 11, SORT_COUNT},
    [COL_ADDS] = {"ADD/s", 7, SORT_ADDS},
    [COL_KICKS] = {"KICK/s", 7, SORT_COUNT},
    [COL_IRQS] = {"IRQ/s", 7, SORT_COUNT},
    [COL_CMPL] = {"CMPL/s", 7, SORT_COMPLETIONS},
    [COL_SPINS] = {"SPIN/C", 7, SORT_SPINS},
    [COL_BARRIERS] = {"BARR/C", 7, SORT_COUNT},
    [COL_P50] = {"P50", 7, SORT_COUNT},
    [COL_P99] = {"P99", 7, SORT_P99},
    [COL_MAX] = {"MAX", 7, SORT_COUNT},
    [COL_STALLS] = {"STALL", 5, SORT_STALLS},
};

/* Dropped first to last as the width shrinks; NAME always stays. */
static const enum column_id drop_order[COL_COUNT - 1] = {
    COL_SLOT,	    COL_SIZE, COL_KICKS, COL_IRQS,   COL_BARRIERS, COL_DEVICE_IDX, COL_P50, COL_MAX,
    COL_DRIVER_IDX, COL_ADDS, COL_SPINS, COL_STALLS, COL_P99,	   COL_INFL,	   COL_CMPL};

static void cell_text(char *t, size_t len, enum column_id c, const struct vq_model *m,
		      unsigned slot);

void shorten_middle(char *buf, size_t len, const char *name, unsigned width)
{
	size_t n = strlen(name), head, tail;

	if (n <= width || width < 3) {
		snprintf(buf, len, "%.*s", (int)(width < n ? width : n), name);
		return;
	}
	/* Keep the end (the queue's own name) a little longer than the
	 * start (the device's): "virtio0.output.0" -> "virtio~put.0". */
	tail = (width - 1) / 2;
	head = width - 1 - tail;
	snprintf(buf, len, "%.*s~%s", (int)head, name, name + n - tail);
}

void columns_fit(struct column_layout *l, unsigned width, const struct vq_model *m,
		 const unsigned *slots, size_t n)
{
	bool shown[COL_COUNT];
	unsigned total = 0, name_want = COLUMN_NAME_MIN;
	size_t dropped = 0;
	char text[CELL_MAX];

	/* Every column as wide as its title and its widest cell. */
	for (int c = 0; c < COL_COUNT; c++) {
		l->widths[c] = columns[c].width;
		if (strlen(columns[c].title) > l->widths[c])
			l->widths[c] = (unsigned)strlen(columns[c].title);
	}
	for (size_t i = 0; i < n; i++)
		for (int c = 0; c < COL_COUNT; c++) {
			unsigned w;

			cell_text(text, sizeof(text), (enum column_id)c, m, slots[i]);
			w = (unsigned)strlen(text);
			if (c == COL_NAME) {
				if (w > name_want)
					name_want = w < COLUMN_NAME_MAX ? w : COLUMN_NAME_MAX;
			} else if (w > l->widths[c]) {
				l->widths[c] = w;
			}
		}
	for (int c = 0; c < COL_COUNT; c++) {
		shown[c] = true;
		total += l->widths[c] + (c ? 1 : 0);
	}
	while (total > width && dropped < COL_COUNT - 1) {
		enum column_id c = drop_order[dropped++];

		shown[c] = false;
		total -= l->widths[c] + 1;
	}
	l->n = 0;
	for (int c = 0; c < COL_COUNT; c++)
		if (shown[c])
			l->col[l->n++] = (enum column_id)c;
	/* Room to spare goes to the name, up to its longest. */
	l->name_width = COLUMN_NAME_MIN;
	if (width > total) {
		unsigned extra = width - total;

		l->name_width +=
		    extra < name_want - COLUMN_NAME_MIN ? extra : name_want - COLUMN_NAME_MIN;
	}
	l->widths[COL_NAME] = l->name_width;
	l->width = total + l->name_width - COLUMN_NAME_MIN;
}

static unsigned column_width(const struct column_layout *l, enum column_id c)
{
	return l->widths[c];
}

/* Append one cell: left-aligned for the name (shortened in the middle),
 * right-aligned otherwise (never cut: the column is as wide as it). */
static void put_cell(char *buf, size_t len, size_t *used, const struct column_layout *l, unsigned k,
		     const char *text)
{
	enum column_id c = l->col[k];
	int w = (int)column_width(l, c);
	char name[CELL_MAX];

	if (*used >= len)
		return;
	if (c == COL_NAME) {
		shorten_middle(name, sizeof(name), text, (unsigned)w);
		*used +=
		    (size_t)snprintf(buf + *used, len - *used, "%s%-*s", k ? " " : "", w, name);
	} else {
		*used += (size_t)snprintf(buf + *used, len - *used, "%s%*s", k ? " " : "", w, text);
	}
	if (*used > len)
		*used = len;
}

void columns_titles(char *buf, size_t len, const struct column_layout *l, enum overview_sort sort,
		    unsigned *sort_x, unsigned *sort_w)
{
	size_t used = 0;

	*sort_x = *sort_w = 0;
	if (len)
		buf[0] = 0;
	for (unsigned k = 0; k < l->n; k++) {
		enum column_id c = l->col[k];

		if (columns[c].sort == sort && sort != SORT_COUNT) {
			*sort_x = (unsigned)used + (k ? 1 : 0);
			*sort_w = column_width(l, c);
		}
		put_cell(buf, len, &used, l, k, columns[c].title);
	}
}

static void cell_text(char *t, size_t len, enum column_id c, const struct vq_model *m,
		      unsigned slot)
{
	uint16_t avail, used;
	const struct model_queue *q = &m->queues[slot];

	switch (c) {
	case COL_SLOT:
		snprintf(t, len, "%u", slot);
		return;
	case COL_NAME:
		snprintf(t, len, "%s%s", q->name[0] ? q->name : "?", q->gone ? " (gone)" : "");
		return;
	case COL_SIZE:
		snprintf(t, len, "%u", q->ring_size);
		return;
	case COL_INFL: {
		uint32_t in_flight = q->in_flight;

		/* A receive queue's buffers in flight are the ones posted to it. */
		if (model_queue_receives(q))
			model_posted_depth(q, &in_flight);
		snprintf(t, len, "%u", in_flight);
		return;
	}
	case COL_DRIVER_IDX:
		model_driver_indices(q, &avail, &used);
		snprintf(t, len, "%u/%u", avail, used);
		return;
	case COL_DEVICE_IDX:
		if (q->have_device)
			snprintf(t, len, "%u/%u", q->device.last_avail_idx, q->device.used_idx);
		else
			snprintf(t, len, "-");
		return;
	case COL_ADDS:
		format_rate(t, len, q->rates.per_s[MC_ADDS]);
		return;
	case COL_KICKS:
		format_rate(t, len, q->rates.per_s[MC_KICKS]);
		return;
	case COL_IRQS:
		format_rate(t, len, q->rates.per_s[MC_IRQS]);
		return;
	case COL_CMPL:
		format_rate(t, len, q->rates.per_s[MC_COMPLETIONS]);
		return;
	case COL_SPINS:
		format_rate(t, len, q->rates.spins_per_completion);
		return;
	case COL_BARRIERS:
		format_rate(t, len, q->rates.barriers_per_completion);
		return;
	case COL_P50:
		format_short_duration(t, len, hist_quantile(&q->latency, 0.5));
		return;
	case COL_P99:
		format_short_duration(t, len, hist_quantile(&q->latency, 0.99));
		return;
	case COL_MAX:
		format_short_duration(t, len, q->latency.max_ns);
		return;
	case COL_STALLS:
		snprintf(t, len, "%llu", (unsigned long long)q->count[MC_STALLS]);
		return;
	default:
		snprintf(t, len, "?");
	}
}

void columns_row(char *buf, size_t len, const struct column_layout *l, const struct vq_model *m,
		 unsigned slot)
{
	size_t used = 0;
	char text[CELL_MAX];

	if (len)
		buf[0] = 0;
	for (unsigned k = 0; k < l->n; k++) {
		cell_text(text, sizeof(text), l->col[k], m, slot);
		put_cell(buf, len, &used, l, k, text);
	}
}
