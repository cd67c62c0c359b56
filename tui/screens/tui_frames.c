/* tui_frames.c - screen 3, frames and the timeline: one bar per frame
 * splitting its period into device, polling, other and log time (stalls
 * marked), a sparkline of completions per second, and the worst stall's
 * cause in words.  Away from the live end (frozen, paused, replay) it
 * shows the frames up to the cursor. */
#include <stdio.h>
#include <string.h>

#include "tui_app.h"

static const enum tui_style part_style[ATTR_COUNT] = {[ATTR_LOG] = STYLE_LOG,
						      [ATTR_DEVICE] = STYLE_DEVICE,
						      [ATTR_POLL] = STYLE_POLL,
						      [ATTR_OTHER] = STYLE_OTHER};

/* Frames begun at or before the cursor's event (all when following). */
static size_t frames_visible(const struct tui *t)
{
	const struct vq_model *m = t->m;
	size_t i, n = m->frames_len;

	if (t->follow || !tui_cursor_index(t, &i))
		return n;
	uint64_t at = model_history_at(m, i)->at_ns;
	while (n > 0 && model_frame_at(m, n - 1)->begin_ns > at)
		n--;
	return n;
}

static void draw_bar(struct tui *t, int y, int x, const char *bar)
{
	for (int k = 0; bar[k]; k++) {
		enum attr_cat c = frame_bar_category(bar[k]);
		char cell[2] = {bar[k], 0};

		tui_put(y, x + k, 1, c < ATTR_COUNT ? tui_attr(t, part_style[c]) : A_NORMAL, cell);
	}
}

static const struct model_stall *worst_stall(const struct vq_model *m)
{
	const struct model_stall *w = NULL;

	for (size_t i = 0; i < m->nworst; i++)
		if (!w || m->worst[i].duration_ns > w->duration_ns)
			w = &m->worst[i];
	return w;
}

void tui_frames_draw(struct tui *t, int top, int rows)
{
	const struct vq_model *m = t->m;
	size_t n = frames_visible(t), shown, first;
	int y = top, last = top + rows, bar_width = COLS - 20, frame_rows;
	uint64_t scale = 1;
	char bar[512], d[32], p50[16], p99[16], spark[SERIES_LEN * 3 + 1];
	const struct model_stall *w = worst_stall(m);

	if (bar_width > (int)sizeof(bar) - 1)
		bar_width = (int)sizeof(bar) - 1;
	format_short_duration(p50, sizeof(p50), hist_quantile(&m->frame_period, 0.5));
	format_short_duration(p99, sizeof(p99), hist_quantile(&m->frame_period, 0.99));
	tui_printf(
	    y++, 0, -1, tui_attr(t, STYLE_BOLD), "frames %llu  period p50 %s p99 %s  stalls %llu",
	    (unsigned long long)m->frames_total, p50, p99, (unsigned long long)m->frame_stalls);
	tui_put(y, 0, -1, A_NORMAL, "bar:");
	tui_put(y, 5, 1, tui_attr(t, STYLE_DEVICE), "D");
	tui_put(y, 7, -1, A_NORMAL, "device");
	tui_put(y, 14, 1, tui_attr(t, STYLE_POLL), "p");
	tui_put(y, 16, -1, A_NORMAL, "polling  - other");
	tui_put(y, 33, 1, tui_attr(t, STYLE_LOG), "L");
	tui_put(y, 35, -1, A_NORMAL, "writing log");
	tui_put(y, 47, 1, tui_attr(t, STYLE_STALL), "!");
	tui_put(y, 49, -1, A_NORMAL, "stall");
	y++;

	/* Frames get what the sparkline and the stall lines leave. */
	frame_rows = last - y - 4;
	if (frame_rows < 1)
		frame_rows = 1;
	if (t->frames_back > n)
		t->frames_back = n;
	shown = n - t->frames_back;
	first = shown > (size_t)frame_rows ? shown - (size_t)frame_rows : 0;
	for (size_t i = first; i < shown; i++)
		if (model_frame_at(m, i)->period_ns > scale)
			scale = model_frame_at(m, i)->period_ns;
	if (n == 0)
		tui_put(y++, 0, -1, A_NORMAL, "(no frames: the driver sends no FRAME events)");
	for (size_t i = first; i < shown; i++) {
		const struct model_frame *f = model_frame_at(m, i);

		format_short_duration(d, sizeof(d), f->period_ns);
		tui_printf(y, 0, 17, f->stall ? tui_attr(t, STYLE_STALL) : A_NORMAL, "%8llu %7s",
			   (unsigned long long)f->number, d);
		frame_bar(bar, (size_t)bar_width, f, scale);
		tui_put(y, 17, 1, A_NORMAL, "|");
		draw_bar(t, y, 18, bar);
		tui_put(y, 18 + bar_width, 2, tui_attr(t, STYLE_STALL), f->stall ? "!" : "|");
		y++;
	}
	format_short_duration(d, sizeof(d), scale);
	tui_printf(y++, 0, -1, A_NORMAL, "full bar = %s%s", d,
		   t->frames_back ? " (scrolled back: down arrow returns)" : "");

	y = last - 3 > y ? last - 3 : y;
	size_t cells = (size_t)(COLS - 34 > 8 ? COLS - 34 : 8);
	if (cells > SERIES_LEN)
		cells = SERIES_LEN;
	sparkline(spark, sizeof(spark), &t->completions, cells, t->utf8);
	tui_printf(y, 0, 24, tui_attr(t, STYLE_BOLD), "completions/s %8.0f",
		   t->completions.len ? series_at(&t->completions, t->completions.len - 1) : 0.0);
	tui_put(y, 24, 1, A_NORMAL, "[");
	tui_put(y, 25, (int)cells, tui_attr(t, STYLE_USED), spark);
	tui_put(y++, 25 + (int)cells, 1, A_NORMAL, "]");
	if (w)
		tui_printf(y++, 0, -1, tui_attr(t, STYLE_STALL), "worst stall: %s", w->text);
	else if (y < last)
		tui_put(y++, 0, -1, A_NORMAL, "no stall so far");
	if (m->have_last_stall && y < last && (!w || w->at_ns != m->last_stall.at_ns))
		tui_printf(y++, 0, -1, A_NORMAL, "last stall: %s", m->last_stall.text);
}

int tui_frames_key(struct tui *t, int key)
{
	switch (key) {
	case KEY_UP:
	case 'k':
		t->frames_back++;
		return TUI_REDRAW;
	case KEY_DOWN:
	case 'j':
		if (t->frames_back)
			t->frames_back--;
		return TUI_REDRAW;
	case KEY_PPAGE:
		t->frames_back += 10;
		return TUI_REDRAW;
	case KEY_NPAGE:
		t->frames_back = t->frames_back > 10 ? t->frames_back - 10 : 0;
		return TUI_REDRAW;
	case KEY_END:
		t->frames_back = 0;
		return TUI_REDRAW;
	default:
		return TUI_IGNORED;
	}
}
