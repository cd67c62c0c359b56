/* tui_ring.c - screen 2, the ring view of the selected queue: what each
 * side published, every number labelled by where it came from (trace
 * events, guest RAM, QMP with the sample's age); one cell per descriptor
 * head (split) or buffer id (packed) drawn by its state; on a packed ring
 * each ring position with its AVAIL and USED bits (virtio 1.2, 2.8.1); the
 * avail and used rings near their indices (packed: the buffers in
 * flight); and the descriptor chain of the selected head.  Live it shows
 * the queue now; frozen, paused or in a replay it shows the queue just
 * after the cursor's event, so n/N walk through the queue's states one
 * operation at a time.  Render only: tui_app.c's prepare() gathered it. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tui_app.h"

static const enum tui_style state_style[RING_STATES] = {STYLE_FREE, STYLE_AVAIL, STYLE_DEVICE,
							STYLE_USED};
static const enum tui_style position_style[PACKED_POSITIONS] = {STYLE_FREE, STYLE_AVAIL, STYLE_USED,
								STYLE_ERROR};

#define LABEL_WIDTH 15 /* the source column of the numbers */

/* Cells per grid row: a power of two that fits, 8 to 64. */
static unsigned cells_per_row(uint16_t size)
{
	unsigned n = 64;

	while (n > 8 && (int)n + 8 > COLS)
		n /= 2;
	return n < size ? n : size;
}

static int draw_title(struct tui *t, const struct ring_view *v, int y)
{
	const struct model_queue *q = &t->m->queues[v->slot];
	char where[96];

	if (v->live)
		snprintf(where, sizeof(where), "live");
	else
		snprintf(where, sizeof(where), "after event #%llu (%.6f s)",
			 (unsigned long long)t->cursor - 1,
			 (double)model_history_at(t->m, v->at)->at_ns / 1e9);
	tui_printf(y++, 0, -1, tui_attr(t, STYLE_BOLD), "%s  slot %u  size %u  %s  %s ring%s%s",
		   q->name, v->slot, v->size, where, v->packed ? "packed" : "split",
		   v->event_idx ? ", event idx" : "", v->indirect ? ", indirect" : "");
	return y;
}

static void index_text(char *buf, size_t len, bool known, uint16_t v)
{
	if (known)
		snprintf(buf, len, "%u", v);
	else
		snprintf(buf, len, "?");
}

/* One line of numbers from one source: the source, then the text. */
static int source_line(struct tui *t, int y, int last, const char *source, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int source_line(struct tui *t, int y, int last, const char *source, const char *fmt, ...)
{
	char text[256];
	va_list ap;

	if (y >= last)
		return y;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	tui_printf(y, 0, LABEL_WIDTH, tui_attr(t, STYLE_BOLD), "%s", source);
	tui_put(y, LABEL_WIDTH, -1, A_NORMAL, text);
	return y + 1;
}

/* avail.flags (2.7.6) and used.flags (2.7.8) by name. */
static const char *split_flags_text(char *buf, size_t len, uint16_t flags, const char *name)
{
	if (flags == 0)
		snprintf(buf, len, "0");
	else if (flags == 1)
		snprintf(buf, len, "%s", name);
	else
		snprintf(buf, len, "0x%x", flags);
	return buf;
}

/* A packed event suppression structure (2.8.10, 2.8.14). */
static const char *event_text(char *buf, size_t len, uint16_t flags, uint16_t off_wrap)
{
	if (flags == RING_EVENT_FLAGS_ENABLE)
		snprintf(buf, len, "ENABLE");
	else if (flags == RING_EVENT_FLAGS_DISABLE)
		snprintf(buf, len, "DISABLE");
	else if (flags == RING_EVENT_FLAGS_DESC)
		snprintf(buf, len, "DESC at %u wrap %u", off_wrap & 0x7fffu, off_wrap >> 15);
	else
		snprintf(buf, len, "flags 0x%x (reserved)", flags);
	return buf;
}

static void qmp_label(char *buf, size_t len, const struct ring_view *v)
{
	snprintf(buf, len, "QMP %.1f s ago", (double)v->qmp_age_ns / 1e9);
}

static int draw_sources(struct tui *t, const struct ring_view *v, int y, int last)
{
	const struct ring_indices *r = &v->ram;
	char da[8], du[8], fa[16], fu[16], de[40], ev[40], qmp[32];

	index_text(da, sizeof(da), v->driver_avail_known, v->driver_avail_idx);
	index_text(du, sizeof(du), v->driver_used_known, v->driver_used_idx);
	if (v->packed)
		y = source_line(t, y, last, ring_source_name(v->driver_from),
				"driver avail %s used %s (buffers), %u in flight in %u descs", da,
				du, v->in_flight, v->in_flight_descs);
	else
		y = source_line(t, y, last, ring_source_name(v->driver_from),
				"driver avail %s used %s, %u in flight", da, du, v->in_flight);
	if (!v->live) {
		if (y < last)
			tui_put(y++, LABEL_WIDTH, -1, A_NORMAL,
				"the device: not known at a past event");
		return y;
	}
	if (v->packed) {
		const struct packed_layout *l = &v->layout;

		if (l->valid)
			y = source_line(t, y, last, "guest RAM",
					"driver at %u wrap %u (AVAIL bits), device used to %u wrap "
					"%u",
					l->driver_off, l->driver_wrap, l->device_off,
					l->device_wrap);
		if (v->ram_valid)
			y = source_line(
			    t, y, last, "guest RAM", "driver event %s | device event %s",
			    event_text(de, sizeof(de), r->driver_flags, r->driver_off_wrap),
			    event_text(ev, sizeof(ev), r->device_flags, r->device_off_wrap));
	} else if (v->ram_valid) {
		if (v->event_idx) {
			snprintf(de, sizeof(de), " used_event %u", r->used_event);
			snprintf(ev, sizeof(ev), " avail_event %u", r->avail_event);
		} else {
			de[0] = ev[0] = 0;
		}
		y = source_line(
		    t, y, last, "guest RAM", "avail ring: idx %u flags %s%s", r->avail_idx,
		    split_flags_text(fa, sizeof(fa), r->avail_flags, "NO_INTERRUPT"), de);
		y = source_line(t, y, last, "guest RAM", "used ring:  idx %u flags %s%s",
				r->used_idx,
				split_flags_text(fu, sizeof(fu), r->used_flags, "NO_NOTIFY"), ev);
	}
	if (!v->qmp_known)
		return y;
	qmp_label(qmp, sizeof(qmp), v);
	if (v->packed)
		return source_line(t, y, last, qmp,
				   "device last_avail %u used %u in use %u (offsets)",
				   v->qmp_last_avail_idx, v->qmp_used_idx, v->qmp_inuse);
	if (v->qmp_behind)
		return source_line(
		    t, y, last, qmp, "device last_avail %u used %u in use %u, %u behind RAM",
		    v->qmp_last_avail_idx, v->qmp_used_idx, v->qmp_inuse, v->qmp_behind);
	return source_line(t, y, last, qmp, "device last_avail %u used %u in use %u",
			   v->qmp_last_avail_idx, v->qmp_used_idx, v->qmp_inuse);
}

/* The cell legend with the count of each state. */
static int draw_legend(struct tui *t, const struct ring_view *v, int y, int last)
{
	int x = 0;

	if (y >= last)
		return y;
	tui_put(y, x, -1, tui_attr(t, STYLE_BOLD), v->packed ? "ids" : "heads");
	x = 6;
	for (int s = 0; s < RING_STATES; s++) {
		char cell[2] = {ring_state_char((enum ring_slot_state)s), 0};
		char text[40];

		snprintf(text, sizeof(text), "%s %u",
			 s == RING_USED ? "used, not reaped"
					: ring_state_name((enum ring_slot_state)s),
			 v->count[s]);
		tui_put(y, x, -1, tui_attr(t, state_style[s]), cell);
		tui_put(y, x + 2, -1, A_NORMAL, text);
		x += (int)strlen(text) + 4;
	}
	return y + 1;
}

/* Rows of cells per row of the grid, from row `first`. */
static int draw_grid(struct tui *t, const struct ring_view *v, int y, int max_rows)
{
	unsigned per_row = cells_per_row(v->size);
	unsigned nrows = (v->size + per_row - 1) / per_row, first = 0;
	unsigned sel_row = t->ring_head / per_row;

	if (max_rows < 1)
		max_rows = 1;
	if (nrows > (unsigned)max_rows && sel_row >= (unsigned)max_rows)
		first = sel_row - (unsigned)max_rows + 1;
	for (unsigned r = first; r < nrows && r < first + (unsigned)max_rows; r++, y++) {
		tui_printf(y, 0, 6, A_NORMAL, "%5u", r * per_row);
		for (unsigned c = 0; c < per_row && r * per_row + c < v->size; c++) {
			unsigned head = r * per_row + c;
			uint8_t s = v->state[head] < RING_STATES ? v->state[head] : RING_FREE;
			char cell[2] = {ring_state_char((enum ring_slot_state)s), 0};
			attr_t a = tui_attr(t, state_style[s]);

			if (head == t->ring_head)
				a = tui_attr(t, STYLE_SELECTED);
			tui_put(y, 6 + (int)c, 1, a, cell);
		}
	}
	return y;
}

/* Packed: rows of positions, each with its state and its AVAIL and USED
 * bits as read (2.8.1), from the group that holds the reap position. */
static int draw_positions(struct tui *t, const struct ring_view *v, int y, int last, int groups)
{
	const struct packed_layout *l = &v->layout;
	unsigned per_row = cells_per_row(l->size);
	unsigned ngroups = (l->size + per_row - 1) / per_row, first = l->reap_off / per_row;
	static const char legend[] = "positions  . free  a available  U used, not taken  "
				     "? stale  > driver's next";

	if (y + 4 > last)
		return y;
	tui_put(y++, 0, -1, tui_attr(t, STYLE_BOLD), legend);
	if (groups > (last - y) / 3)
		groups = (last - y) / 3;
	if (groups > (int)ngroups)
		groups = (int)ngroups;
	if (first + (unsigned)groups > ngroups)
		first = ngroups - (unsigned)groups;
	for (unsigned g = first; g < first + (unsigned)groups; g++) {
		tui_printf(y, 0, 6, A_NORMAL, "%5u", g * per_row);
		tui_put(y + 1, 0, 6, A_NORMAL, "A bit");
		tui_put(y + 2, 0, 6, A_NORMAL, "U bit");
		for (unsigned c = 0; c < per_row && g * per_row + c < l->size; c++) {
			unsigned p = g * per_row + c;
			unsigned s = l->state[p] & (unsigned)~PACKED_POS_START;
			char cell[2] = {packed_position_char((enum packed_position)s), 0};
			attr_t a = tui_attr(t, position_style[s < PACKED_POSITIONS ? s : 0]);

			if (p == l->driver_off && s == PACKED_POS_FREE)
				cell[0] = '>';
			if (l->state[p] & PACKED_POS_START)
				a |= A_UNDERLINE;
			tui_put(y, 6 + (int)c, 1, a, cell);
			tui_put(y + 1, 6 + (int)c, 1, A_NORMAL,
				l->flags[p] & VRING_PACKED_F_AVAIL ? "1" : "0");
			tui_put(y + 2, 6 + (int)c, 1, A_NORMAL,
				l->flags[p] & VRING_PACKED_F_USED ? "1" : "0");
		}
		y += 3;
	}
	return y;
}

/* "avail  ... 17:3 |18:4 19:5 >": the newest entries that fit.  mark is
 * the index where the other side stands ('|' before that entry). */
static int draw_ring_line(struct tui *t, int y, int last, const char *label,
			  const struct ring_entry *e, size_t n, bool with_len, bool mark_known,
			  uint16_t mark, const char *empty)
{
	char cells[RING_VIEW_ENTRIES][32];
	int widths = 0, x = 10;
	size_t first = n;

	if (y >= last)
		return y;
	tui_put(y, 0, 10, tui_attr(t, STYLE_BOLD), label);
	for (size_t k = n; k-- > 0;) {
		if (with_len)
			snprintf(cells[k], sizeof(cells[k]), "%s%u:%u/%u",
				 mark_known && e[k].idx == mark ? "|" : "", e[k].idx, e[k].id,
				 e[k].len);
		else
			snprintf(cells[k], sizeof(cells[k]), "%s%u:%u",
				 mark_known && e[k].idx == mark ? "|" : "", e[k].idx, e[k].id);
		if (widths + (int)strlen(cells[k]) + 1 > COLS - 12)
			break;
		widths += (int)strlen(cells[k]) + 1;
		first = k;
	}
	for (size_t k = first; k < n; k++) {
		tui_put(y, x, -1, A_NORMAL, cells[k]);
		x += (int)strlen(cells[k]) + 1;
	}
	if (n == 0)
		tui_put(y, x, -1, A_NORMAL, empty);
	else
		tui_put(y, x, -1, tui_attr(t, STYLE_BOLD), ">");
	return y + 1;
}

static int draw_rings(struct tui *t, const struct ring_view *v, int y, int last)
{
	if (v->packed && v->from_ram) {
		/* The buffers in flight in ring order: position:id/descriptors
		 * available, position:id/length used and not taken. */
		y = draw_ring_line(t, y, last, "avail", v->avail, v->navail, true, false, 0,
				   "(none available)");
		return draw_ring_line(t, y, last, "used", v->used, v->nused, true, false, 0,
				      "(none used, not taken)");
	}
	/* Avail: '|' where the device will read next (QMP, when its sample
	 * is not older than the guest RAM read); '>' the driver's idx.
	 * Used: '|' where the driver reaps next; '>' the device's idx. */
	y = draw_ring_line(t, y, last, "avail", v->avail, v->navail, false,
			   v->live && v->qmp_known && !v->qmp_behind, v->qmp_last_avail_idx,
			   "(no entries seen)");
	return draw_ring_line(t, y, last, "used", v->used, v->nused, true, v->driver_used_known,
			      v->driver_used_idx, "(no entries seen)");
}

/* Descriptor flags by name (2.7.5; AVAIL and USED 2.8.1). */
static void flags_text(char *buf, size_t len, uint16_t flags, bool packed)
{
	uint16_t known = packed ? 7u | VRING_PACKED_F_AVAIL | VRING_PACKED_F_USED : 7u;

	snprintf(buf, len, "%s%s%s%s%s%s", flags & VRING_DESC_F_NEXT ? "NEXT " : "",
		 flags & VRING_DESC_F_WRITE ? "WRITE " : "",
		 flags & VRING_DESC_F_INDIRECT ? "INDIRECT " : "",
		 packed && flags & VRING_PACKED_F_AVAIL ? "A " : "",
		 packed && flags & VRING_PACKED_F_USED ? "U " : "", flags & ~known ? "other " : "");
	if (!buf[0])
		snprintf(buf, len, "-");
}

static int draw_chain_title(struct tui *t, const struct ring_view *v, int y)
{
	const struct chain_view *c = &t->chain;
	uint8_t s = v->state[t->ring_head];
	char at[40] = "";

	if (c->packed && c->have_index && (c->valid || c->used))
		snprintf(at, sizeof(at), " at position %u", c->position);
	tui_printf(y, 0, -1, tui_attr(t, STYLE_BOLD), "chain of %s %u%s (%s)%s%s%s",
		   v->packed ? "id" : "head", t->ring_head, at,
		   ring_state_name((enum ring_slot_state)s), c->from ? " from " : "",
		   c->from ? c->from : "", c->from && !v->live ? ", as it is now" : "");
	return y + 1;
}

static int draw_chain(struct tui *t, const struct ring_view *v, int y, int last)
{
	const struct chain_view *c = &t->chain;

	if (y >= last)
		return y;
	y = draw_chain_title(t, v, y);
	if (c->valid && y < last) {
		tui_put(y++, 0, -1, tui_attr(t, STYLE_TITLE),
			c->packed ? "    pos  addr                    len  flags            id"
				  : "   desc  addr                    len  flags            next");
		for (size_t k = 0; k < c->n && y < last; k++) {
			const struct chain_desc *d = &c->desc[k];
			char flags[48], index[12], next[8];

			flags_text(flags, sizeof(flags), d->flags, c->packed);
			index_text(index, sizeof(index), c->have_index, d->index);
			if (d->in_indirect) /* an entry of an indirect table (2.7.5.3) */
				snprintf(index, sizeof(index), "i%u", d->index);
			index_text(next, sizeof(next), c->have_index, d->next);
			if (!c->packed && !(d->flags & VRING_DESC_F_NEXT))
				snprintf(next, sizeof(next), "-");
			tui_printf(y++, 0, -1, A_NORMAL, "  %5s  0x%016llx %8u  %-15s  %s", index,
				   (unsigned long long)d->addr, d->len, flags, next);
		}
		if (c->more && y < last)
			tui_put(y++, 0, -1, A_NORMAL, "  ... more descriptors");
	}
	if (c->note[0] && y < last)
		tui_put(y++, 0, -1,
			tui_attr(t, c->problem != CHAIN_OK ? STYLE_ERROR
				    : c->valid		   ? STYLE_NORMAL
							   : STYLE_FREE),
			c->note);
	return y;
}

void tui_ring_draw(struct tui *t, int top, int rows)
{
	const struct ring_view *v = t->ring;
	bool strip = v->valid && v->live && v->packed && v->layout.valid;
	int y = top, last = top + rows, left, groups = 0, notes;

	if (!v->valid) {
		tui_put(y, 0, -1, A_NORMAL, v->why);
		return;
	}
	y = draw_title(t, v, y);
	y = draw_sources(t, v, y, last);
	y = draw_legend(t, v, y, last);
	/* What is left goes to the grid and the positions, after the two
	 * ring lines, the notes and at least four lines of chain. */
	notes = (v->note[0] != 0) + (strip && v->layout.note[0]);
	left = last - y - 2 - notes - 4;
	if (strip) {
		unsigned per_row = cells_per_row(v->size);
		int ngroups = (int)((v->size + per_row - 1) / per_row);

		groups = (left - 2) / 3; /* one grid row, the legend */
		groups = groups < 1 ? 1 : groups > ngroups ? ngroups : groups;
		left -= 1 + 3 * groups;
	}
	if (left < 1)
		left = 1;
	if (left > last - y)
		left = last - y;
	if (left > 0)
		y = draw_grid(t, v, y, left);
	if (strip)
		y = draw_positions(t, v, y, last, groups);
	y = draw_rings(t, v, y, last);
	if (v->note[0] && y < last)
		tui_put(y++, 0, -1, tui_attr(t, STYLE_FREE), v->note);
	if (strip && v->layout.note[0] && y < last)
		tui_put(y++, 0, -1, tui_attr(t, STYLE_ERROR), v->layout.note);
	draw_chain(t, v, y, last);
}

int tui_ring_key(struct tui *t, int key)
{
	const struct ring_view *v = t->ring;
	unsigned per_row, head = t->ring_head;

	if (!v->valid || !v->size)
		return TUI_IGNORED;
	per_row = cells_per_row(v->size);
	switch (key) {
	case KEY_LEFT:
	case 'h':
		head = head ? head - 1 : v->size - 1u;
		break;
	case KEY_RIGHT:
	case 'l':
		head = (head + 1) % v->size;
		break;
	case KEY_UP:
	case 'k':
		head = head >= per_row ? head - per_row : head;
		break;
	case KEY_DOWN:
	case 'j':
		head = head + per_row < v->size ? head + per_row : head;
		break;
	case KEY_HOME:
		head = 0;
		break;
	case KEY_END:
		head = v->size - 1u;
		break;
	case 'f':
		/* The next head in flight. */
		for (unsigned k = 1; k <= v->size; k++)
			if (v->state[(head + k) % v->size] != RING_FREE) {
				head = (head + k) % v->size;
				break;
			}
		break;
	default:
		return TUI_IGNORED;
	}
	t->ring_head = (uint16_t)head;
	return TUI_REDRAW;
}
