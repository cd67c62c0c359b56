/* view_data.h - what the interactive screens show, prepared without
 * curses: a frozen copy of the model, a cursor into the event history,
 * event lines and filters, frame bars, the sparkline, and the overview's
 * columns fitted to a width.  The tui_*.c screens only draw these; the
 * ring view's data is in view_ring.h. */
#ifndef VQ_VIEW_DATA_H
#define VQ_VIEW_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "overview.h"

/* ---- frozen model ------------------------------------------------------------- */

/* Make snap a display copy of live: every counter, rate, histogram and
 * stall is copied; the history and frame rings are shared with live (no
 * copy of megabytes) and view_freeze_trim() cuts them to the entries live
 * has not overwritten since.  Only read snap with the model's read
 * functions (model_history_at, model_frame_at, model_ring_at, overview_*);
 * never feed or free it, and never use its per-head arrays. */
void view_freeze(struct vq_model *snap, const struct vq_model *live);
/* Call before each use of snap while live keeps being fed. */
void view_freeze_trim(struct vq_model *snap, const struct vq_model *live);

/* ---- history cursor ------------------------------------------------------------------- */

/* A cursor is a count of events: "the state just after event number
 * cursor - 1" (numbered from 0 over the whole session), so it stays put
 * while the history ring moves.  The history keeps events
 * [history_first(m), m->events). */
uint64_t history_first(const struct vq_model *m);
/* History index of the event before cursor; false when it is no longer
 * (or not yet) kept. */
bool history_index(const struct vq_model *m, uint64_t cursor, size_t *index);
/* Cursor just after the last kept event at or before session time ns. */
uint64_t history_cursor_at_time(const struct vq_model *m, uint64_t ns);
/* Cursor just after the FRAME_BEGIN of frame number `frame`; false when
 * that event is not kept. */
bool history_cursor_at_frame(const struct vq_model *m, uint64_t frame, uint64_t *cursor);

/* ---- events ---------------------------------------------------------------------------- */

/* "   12.345678 gpu0.control   ADD             head=3 idx=17 ndesc=2 bytes=48
 *  writable=1  seq 4711": the fields are vqp_event_fields'. */
void event_line(char *buf, size_t len, const struct vq_model *m,
		const struct model_history_entry *h);

struct event_filter {
	int queue;	/* queue slot, or -1 for all */
	uint32_t types; /* 1 << type for the types shown; 0 = all */
	char text[64];	/* substring of the line (case-insensitive), "" = any */
};

/* Whether h passes f; the event's line is left in buf (len bytes). */
bool event_filter_match(const struct event_filter *f, const struct vq_model *m,
			const struct model_history_entry *h, char *buf, size_t len);

/* ---- frames ------------------------------------------------------------------------------ */

/* Frame bar: width characters for f's period at full_ns per full width,
 * split by where the time went: 'D' device, 'p' polling, '-' other, 'L'
 * writing log output; blanks after.  buf has width + 1 bytes. */
void frame_bar(char *buf, size_t width, const struct model_frame *f, uint64_t full_ns);
/* The category a frame bar character stands for, or ATTR_COUNT. */
enum attr_cat frame_bar_category(char c);

/* ---- sparkline -------------------------------------------------------------------------- */

#define SERIES_LEN 256

/* Samples of one rate, the newest last. */
struct rate_series {
	double v[SERIES_LEN];
	size_t len, head;
};
void series_push(struct rate_series *s, double v);
/* Sample i, oldest first (i < len). */
double series_at(const struct rate_series *s, size_t i);
/* The last n samples as a sparkline of n cells scaled to their maximum:
 * UTF-8 block elements, or the ASCII ramp " .:-=+*#" without utf8.  buf
 * needs n * 3 + 1 bytes for UTF-8. */
void sparkline(char *buf, size_t len, const struct rate_series *s, size_t n, bool utf8);

/* ---- overview columns -------------------------------------------------------------------- */

enum column_id {
	COL_SLOT,
	COL_NAME,
	COL_SIZE,
	COL_INFL,
	COL_DRIVER_IDX,
	COL_DEVICE_IDX,
	COL_ADDS,
	COL_KICKS,
	COL_IRQS,
	COL_CMPL,
	COL_SPINS,
	COL_BARRIERS,
	COL_P50,
	COL_P99,
	COL_MAX,
	COL_STALLS,
	COL_COUNT
};

struct column_layout {
	unsigned n;
	enum column_id col[COL_COUNT]; /* in display order */
	unsigned widths[COL_COUNT];    /* by column id */
	unsigned name_width;
	unsigned width; /* characters a line takes */
};

/* The columns that fit in width for the rows slots[0..n) of m, dropping
 * the least needed first (slot, size, kicks/s, IRQ/s, barriers per
 * completion, device indices, p50, max, ...).  A column is as wide as its
 * widest cell, so a number is never cut; only names are, in the middle
 * ("virtio0.ou~put.0"), and the ring screen shows them whole. */
void columns_fit(struct column_layout *l, unsigned width, const struct vq_model *m,
		 const unsigned *slots, size_t n);
/* name shortened to at most width characters by cutting its middle:
 * "virtio0.output.0" in 12 gives "virtio~put.0". */
void shorten_middle(char *buf, size_t len, const char *name, unsigned width);
/* Titles; sort_x and sort_w get the position of the sort key's column
 * (width 0 when that column is not shown). */
void columns_titles(char *buf, size_t len, const struct column_layout *l, enum overview_sort sort,
		    unsigned *sort_x, unsigned *sort_w);
void columns_row(char *buf, size_t len, const struct column_layout *l, const struct vq_model *m,
		 unsigned slot);

#endif /* VQ_VIEW_DATA_H */
