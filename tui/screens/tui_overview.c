/* tui_overview.c - screen 1, the queues overview: one row per queue with
 * rates, indices and latency, like top or kvm_stat.  Columns drop from
 * the right end of the priority list as the terminal narrows
 * (columns_fit); the sort column is underlined and < > change it. */
#include <string.h>

#include "tui_app.h"

static size_t shown_rows(struct tui *t, unsigned *slots)
{
	size_t n = overview_rows(t->m, t->sort, slots, MODEL_QUEUES), k = 0;

	for (size_t i = 0; i < n; i++)
		if (!t->queue_filter[0] || strcasestr(t->m->queues[slots[i]].name, t->queue_filter))
			slots[k++] = slots[i];
	return k;
}

/* The session's notes: why there is no data, the device view's trouble,
 * the last protocol violation. */
static int draw_notes(struct tui *t, int y, int last)
{
	const struct source *s = t->src;
	char producer[160], anomaly[sizeof(t->m->last_anomaly) + 32] = "";
	const char *notes[5] = {s->region_status, s->device_status, producer,
				t->m->violations ? t->m->last_violation : "", anomaly};
	const char *labels[5] = {"region", "device view", "trace", "last violation", "anomalies"};

	model_producer_stopped_text(t->m, producer, sizeof(producer));
	if (t->m->anomalies)
		snprintf(anomaly, sizeof(anomaly), "%llu, latest: %s",
			 (unsigned long long)t->m->anomalies, t->m->last_anomaly);
	for (int i = 0; i < 5 && y < last; i++)
		if (notes[i][0])
			tui_printf(y++, 0, -1, tui_attr(t, i == 3 ? STYLE_ERROR : STYLE_NORMAL),
				   "%s: %s", labels[i], notes[i]);
	return y;
}

void tui_overview_draw(struct tui *t, int top, int rows)
{
	const struct vq_model *m = t->m;
	struct column_layout l;
	unsigned slots[MODEL_QUEUES], sort_x, sort_w, selected = 0;
	char line[512];
	int y = top, last = top + rows;
	size_t n = shown_rows(t, slots), first = 0, fit;
	bool have_selected = tui_selected_queue(t, &selected), rx_line;
	int bottom;

	y = draw_notes(t, y, last - 2);
	columns_fit(&l, (unsigned)COLS, m, slots, n);
	columns_titles(line, sizeof(line), &l, t->sort, &sort_x, &sort_w);
	move(y, 0);
	attron(tui_attr(t, STYLE_TITLE));
	hline(' ', COLS);
	attroff(tui_attr(t, STYLE_TITLE));
	tui_put(y, 0, -1, tui_attr(t, STYLE_TITLE), line);
	if (sort_w)
		tui_put(y, (int)sort_x, (int)sort_w,
			tui_attr(t, STYLE_TITLE) | A_UNDERLINE | A_BOLD, line + sort_x);
	y++;

	/* The selected receive queue's fills and starvation, and the last
	 * stall, go at the bottom under a blank line. */
	rx_line = have_selected && model_queue_receives(&m->queues[selected]);
	bottom = (m->have_last_stall ? 1 : 0) + (rx_line ? 1 : 0);
	/* Keep the selected row on screen. */
	fit = (size_t)(last - y - (bottom ? bottom + 1 : 0));
	for (size_t i = 0; i < n; i++)
		if (have_selected && slots[i] == selected && i >= fit)
			first = i - fit + 1;
	for (size_t i = first; i < n && y < last; i++) {
		columns_row(line, sizeof(line), &l, m, slots[i]);
		tui_put(y++, 0, -1,
			tui_attr(t, have_selected && slots[i] == selected ? STYLE_SELECTED
									  : STYLE_NORMAL),
			line);
	}
	for (size_t i = 0; i < m->ndevice_only && y < last; i++) {
		overview_device_row(line, sizeof(line), m, i);
		tui_put(y++, 0, -1, tui_attr(t, STYLE_FREE), line);
	}
	if (n == 0 && m->ndevice_only == 0 && y < last)
		tui_put(y++, 0, -1, A_NORMAL,
			t->queue_filter[0] ? "(no queue matches the filter: / changes it)"
					   : "(no queues yet)");
	if (m->have_last_stall && last - 1 > y) {
		tui_printf(last - 1, 0, -1, tui_attr(t, STYLE_STALL), "last stall: %s",
			   m->last_stall.text);
	}
	if (rx_line && last - bottom > y) {
		struct receive_summary r;

		model_receive_summary(m, &m->queues[selected], &r);
		receive_text(line, sizeof(line), &r,
			     m->queues[selected].rates.per_s[MC_COMPLETIONS]);
		tui_printf(last - bottom, 0, -1, A_NORMAL, "receive %s: %s",
			   m->queues[selected].name, line);
	}
}

int tui_overview_key(struct tui *t, int key)
{
	unsigned slots[MODEL_QUEUES], selected;
	size_t n = shown_rows(t, slots), at = 0;

	if (!tui_selected_queue(t, &selected) && key != '<' && key != '>')
		return TUI_IGNORED;
	for (size_t i = 0; i < n; i++)
		if (slots[i] == selected)
			at = i;
	switch (key) {
	case KEY_UP:
	case 'k':
		at = at ? at - 1 : 0;
		break;
	case KEY_DOWN:
	case 'j':
		at = at + 1 < n ? at + 1 : at;
		break;
	case KEY_HOME:
		at = 0;
		break;
	case KEY_END:
		at = n ? n - 1 : 0;
		break;
	case '<':
		t->sort = (enum overview_sort)((t->sort + SORT_COUNT - 1) % SORT_COUNT);
		tui_message(t, false, "sorted by %s", overview_sort_name(t->sort));
		return TUI_REDRAW;
	case '>':
		t->sort = (enum overview_sort)((t->sort + 1) % SORT_COUNT);
		tui_message(t, false, "sorted by %s", overview_sort_name(t->sort));
		return TUI_REDRAW;
	case '\n':
	case '\r':
	case KEY_ENTER:
		t->screen = SCREEN_RING;
		return TUI_REDRAW;
	default:
		return TUI_IGNORED;
	}
	if (n) {
		t->queue_slot = slots[at];
		t->have_queue = true;
	}
	return TUI_REDRAW;
}
