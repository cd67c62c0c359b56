/* tui_ring.c - screen 2, the ring view of the selected queue: one cell
 * per descriptor head drawn by its state, the avail and used rings near
 * the driver's and the device's indices, and the descriptor chain of the
 * selected head.  Live it shows the queue now; frozen, paused or in a
 * replay it shows the queue just after the cursor's event, so n/N walk
 * through the queue's states one operation at a time. */
#include <stdio.h>
#include <string.h>

#include "tui_app.h"

static const enum tui_style state_style[RING_STATES] = {STYLE_FREE, STYLE_AVAIL, STYLE_DEVICE,
							STYLE_USED};

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
	tui_printf(y++, 0, -1, tui_attr(t, STYLE_BOLD), "%s  slot %u  size %u  %s", q->name,
		   v->slot, v->size, where);
	tui_printf(y++, 0, -1, A_NORMAL, "free %u  available %u  in device %u  used, not reaped %u",
		   v->count[RING_FREE], v->count[RING_AVAIL], v->count[RING_DEVICE],
		   v->count[RING_USED]);
	return y;
}

static void index_text(char *buf, size_t len, bool known, uint16_t v)
{
	if (known)
		snprintf(buf, len, "%u", v);
	else
		snprintf(buf, len, "?");
}

static int draw_indices(const struct ring_view *v, int y)
{
	char da[8], du[8], ea[8], eu[8];

	index_text(da, sizeof(da), v->driver_avail_known, v->driver_avail_idx);
	index_text(du, sizeof(du), v->driver_used_known, v->driver_used_idx);
	index_text(ea, sizeof(ea), v->device_avail_known, v->device_avail_idx);
	index_text(eu, sizeof(eu), v->device_used_known, v->device_used_idx);
	if (!v->live) {
		tui_printf(y++, 0, -1, A_NORMAL,
			   "driver avail %s used %s | device: not known at a past event", da, du);
		return y;
	}
	/* The device's avail index is QMP's last_avail_idx; its used index
	 * comes from guest RAM when mapped, else from QMP. */
	tui_printf(y++, 0, -1, A_NORMAL, "driver avail %s used %s | device avail %s used %s (%s)",
		   da, du, ea, eu, v->device_used_from ? v->device_used_from : "no device view");
	return y;
}

static int draw_legend(struct tui *t, int y)
{
	int x = 0;

	for (int s = 0; s < RING_STATES; s++) {
		char cell[2] = {ring_state_char((enum ring_slot_state)s), 0};

		tui_put(y, x, -1, tui_attr(t, state_style[s]), cell);
		tui_printf(y, x + 2, -1, A_NORMAL, "%s",
			   s == RING_USED ? "used, not reaped"
					  : ring_state_name((enum ring_slot_state)s));
		x +=
		    s == RING_USED ? 20 : (int)strlen(ring_state_name((enum ring_slot_state)s)) + 4;
	}
	tui_put(y, x, -1, A_NORMAL, "arrows select a head");
	return y + 1;
}

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

/* "avail  ... 17:3 |18:4 19:5 >": the newest entries that fit.  mark is
 * the index where the other side stands ('|' before that entry). */
static int draw_ring_line(struct tui *t, int y, const char *label, const struct ring_entry *e,
			  size_t n, bool with_len, bool mark_known, uint16_t mark)
{
	char cells[RING_VIEW_ENTRIES][32];
	int widths = 0, x = 10;
	size_t first = n;

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
		tui_put(y, x, -1, A_NORMAL, "(no entries seen)");
	else
		tui_put(y, x, -1, tui_attr(t, STYLE_BOLD), ">");
	return y + 1;
}

static int draw_rings(struct tui *t, const struct ring_view *v, int y)
{
	/* Avail: '|' where the device will read next; '>' the driver's idx.
	 * Used: '|' where the driver reaps next; '>' the device's idx. */
	y = draw_ring_line(t, y, "avail", v->avail, v->navail, false,
			   v->live && v->device_avail_known, v->device_avail_idx);
	y = draw_ring_line(t, y, "used", v->used, v->nused, true, v->driver_used_known,
			   v->driver_used_idx);
	return y;
}

static void flags_text(char *buf, size_t len, uint16_t flags)
{
	snprintf(buf, len, "%s%s%s%s", flags & 1 ? "NEXT " : "", flags & 2 ? "WRITE " : "",
		 flags & 4 ? "INDIRECT " : "", flags & ~7u ? "other " : "");
	if (!buf[0])
		snprintf(buf, len, "-");
}

static int draw_chain(struct tui *t, const struct ring_view *v, int y, int last)
{
	const struct chain_view *c = &t->chain;
	uint8_t s = v->state[t->ring_head];

	if (y >= last)
		return y;
	tui_printf(y++, 0, -1, tui_attr(t, STYLE_BOLD), "chain of head %u (%s)%s%s%s", t->ring_head,
		   ring_state_name((enum ring_slot_state)s), c->from ? " from " : "",
		   c->from ? c->from : "", c->from && !v->live ? ", as it is now" : "");
	if (c->valid && y < last) {
		tui_put(y++, 0, -1, tui_attr(t, STYLE_TITLE),
			"   desc  addr                    len  flags            next");
		for (size_t k = 0; k < c->n && y < last; k++) {
			char flags[48], index[8], next[8];

			flags_text(flags, sizeof(flags), c->desc[k].flags);
			index_text(index, sizeof(index), c->have_index, c->desc[k].index);
			index_text(next, sizeof(next), c->have_index, c->desc[k].next);
			if (!(c->desc[k].flags & 1)) /* VIRTQ_DESC_F_NEXT (2.7.5) */
				snprintf(next, sizeof(next), "-");
			tui_printf(y++, 0, -1, A_NORMAL, "  %5s  0x%016llx %8u  %-15s  %s", index,
				   (unsigned long long)c->desc[k].addr, c->desc[k].len, flags,
				   next);
		}
		if (c->more && y < last)
			tui_put(y++, 0, -1, A_NORMAL, "  ... more descriptors");
	}
	if (c->note[0] && y < last)
		tui_put(y++, 0, -1, tui_attr(t, c->valid ? STYLE_NORMAL : STYLE_FREE), c->note);
	return y;
}

void tui_ring_draw(struct tui *t, int top, int rows)
{
	const struct ring_view *v = t->ring;
	int y = top, last = top + rows, grid_rows;

	if (!v->valid) {
		tui_put(y, 0, -1, A_NORMAL, v->why);
		return;
	}
	y = draw_title(t, v, y);
	y = draw_indices(v, y);
	y = draw_legend(t, y);
	/* The grid gets what the rings, the chain and the note leave. */
	grid_rows = last - y - 9;
	y = draw_grid(t, v, y, grid_rows);
	y = draw_rings(t, v, y);
	if (v->note[0] && y < last)
		tui_put(y++, 0, -1, tui_attr(t, STYLE_FREE), v->note);
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
