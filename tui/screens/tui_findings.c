/* tui_findings.c - screen 6, what vqscope doctor would say now: the
 * findings of the session, worst first, and the selected one in full
 * (its evidence with where each value was read, the virtio section, what
 * it means).  Enter takes the selected finding to the ring view of its
 * queue at the moment it was first seen. */
#include <stdio.h>
#include <string.h>

#include "core/report.h"
#include "tui_app.h"

/* The findings of t->m, worst first, into order; how many. */
static size_t ordered(const struct tui *t, size_t order[FINDINGS_MAX])
{
	size_t n = t->m->nfindings < FINDINGS_MAX ? t->m->nfindings : FINDINGS_MAX;

	return findings_order(t->m->findings, n, order);
}

/* The selection, kept by code and queue (the list grows and reorders). */
static size_t selected(const struct tui *t, const size_t *order, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct finding *f = &t->m->findings[order[i]];

		if ((int)f->code == t->finding_code && f->queue == t->finding_queue)
			return i;
	}
	return 0;
}

static void select_at(struct tui *t, const size_t *order, size_t n, size_t i)
{
	if (!n)
		return;
	t->finding_code = (int)t->m->findings[order[i]].code;
	t->finding_queue = t->m->findings[order[i]].queue;
}

/* text from column x on, wrapped at word boundaries; the next free row. */
static int wrapped(int y, int last, int x, attr_t attr, const char *text)
{
	int width = COLS - x;

	if (width < 20)
		width = 20;
	while (*text && y < last) {
		int len = (int)strlen(text), cut = len;

		if (len > width) {
			cut = width;
			while (cut > 0 && text[cut] != ' ')
				cut--;
			if (cut == 0)
				cut = width;
		}
		tui_printf(y++, x, width, attr, "%.*s", cut, text);
		text += cut;
		while (*text == ' ')
			text++;
	}
	return y;
}

static void draw_detail(struct tui *t, const struct finding *f, int y, int last)
{
	const struct finding_info *info = finding_info(f->code);
	char first[48], line[256];

	if (y >= last)
		return;
	tui_printf(y++, 0, -1, tui_attr(t, STYLE_BOLD), "%s %s on %s  (virtio 1.2 %s)",
		   severity_name(f->severity), info->name,
		   f->queue >= 0 ? f->queue_name : "the session", info->spec);
	snprintf(first, sizeof(first), "%.6f s", (double)f->first_ns / 1e9);
	snprintf(line, sizeof(line), "%s; first seen at %s", info->summary, first);
	if (f->first_seq)
		snprintf(line + strlen(line), sizeof(line) - strlen(line), " (event %u:%llu)",
			 f->first_generation, (unsigned long long)f->first_seq);
	if (f->count > 1)
		snprintf(line + strlen(line), sizeof(line) - strlen(line),
			 ", %llu times (%.1f/s), last at %.6f s", (unsigned long long)f->count,
			 finding_rate(f), (double)f->last_ns / 1e9);
	if (!f->active)
		snprintf(line + strlen(line), sizeof(line) - strlen(line), "; not so any more");
	y = wrapped(y, last, 2, A_NORMAL, line);
	if (f->nevidence && y < last)
		tui_printf(y++, 2, -1, tui_attr(t, STYLE_TITLE), "%-26s %-20s %s", "evidence",
			   "value", "read from");
	for (size_t e = 0; e < f->nevidence && y < last; e++)
		tui_printf(y++, 2, -1, A_NORMAL, "%-26s %-20s %s", f->ev[e].what, f->ev[e].value,
			   f->ev[e].from);
	y = wrapped(y, last, 2, A_NORMAL, f->text);
	if (f->queue >= 0 && y < last)
		tui_printf(y, 2, -1, tui_attr(t, STYLE_HINT),
			   " Enter: the ring of %s at %.6f s (docs/diagnosis.md: %s) ",
			   f->queue_name, (double)f->first_ns / 1e9, info->name);
}

void tui_findings_draw(struct tui *t, int top, int rows)
{
	size_t order[FINDINGS_MAX], n = ordered(t, order), sel, first = 0;
	int y = top, last = top + rows, list_rows;
	char sum[128];

	findings_summary(sum, sizeof(sum), t->m->findings, n);
	tui_printf(y++, 0, -1, tui_attr(t, STYLE_BOLD), "%s%s", sum,
		   t->m->findings_dropped ? " (more were seen than are kept)" : "");
	if (!n) {
		y++;
		y = wrapped(y, last, 0, A_NORMAL,
			    "Nothing wrong seen so far.  vqscope checks each notification "
			    "decision, each completion, the rings in guest RAM and QEMU's device "
			    "state as they come, and says here (and in the status line) when the "
			    "driver or the device breaks a rule of the virtio spec, a queue gets "
			    "stuck, or the log takes the frame time.  vqscope doctor prints the "
			    "same; docs/diagnosis.md explains each code.");
		return;
	}
	sel = selected(t, order, n);
	select_at(t, order, n, sel);
	/* The list takes at most half of the rows; the selected one in full
	 * below it. */
	list_rows = (int)n < rows / 2 - 1 ? (int)n : rows / 2 - 1;
	if (list_rows < 1)
		list_rows = 1;
	if (sel >= (size_t)list_rows)
		first = sel - (size_t)list_rows + 1;
	/* 78 columns: it fits 80x24. */
	tui_printf(y++, 0, -1, tui_attr(t, STYLE_TITLE), "%-7s %-24s %-14s %9s %9s %6s %s", "SEV",
		   "CODE", "QUEUE", "FIRST", "LAST", "COUNT", "NOW");
	for (size_t i = first; i < n && y < top + 2 + list_rows; i++) {
		const struct finding *f = &t->m->findings[order[i]];
		attr_t a = i == sel		      ? tui_attr(t, STYLE_SELECTED)
			   : f->severity == SEV_ERROR ? tui_attr(t, STYLE_ERROR)
						      : A_NORMAL;

		char since[16], until[16], queue[16];

		shorten_middle(queue, sizeof(queue), f->queue >= 0 ? f->queue_name : "(session)",
			       14);
		snprintf(since, sizeof(since), "%.3fs", (double)f->first_ns / 1e9);
		snprintf(until, sizeof(until), "%.3fs", (double)f->last_ns / 1e9);
		tui_printf(y++, 0, -1, a, "%-7s %-24s %-14s %9s %9s %6llu %s",
			   severity_name(f->severity), finding_info(f->code)->name, queue, since,
			   until, (unsigned long long)f->count, f->active ? "yes" : "no");
	}
	y++;
	draw_detail(t, &t->m->findings[order[sel]], y, last);
}

/* The evidence's head, when the finding names one (LEAK,
 * DOUBLE-COMPLETE, ...): the ring view selects it. */
static bool evidence_head(const struct finding *f, uint16_t *head)
{
	for (size_t e = 0; e < f->nevidence; e++) {
		unsigned v;

		if (strcmp(f->ev[e].what, "head") == 0 && sscanf(f->ev[e].value, "%u", &v) == 1 &&
		    v <= UINT16_MAX) {
			*head = (uint16_t)v;
			return true;
		}
	}
	return false;
}

int tui_findings_key(struct tui *t, int key)
{
	size_t order[FINDINGS_MAX], n = ordered(t, order), sel = selected(t, order, n);
	const struct finding *f;

	if (!n)
		return TUI_IGNORED;
	switch (key) {
	case KEY_UP:
	case 'k':
		select_at(t, order, n, sel ? sel - 1 : 0);
		return TUI_REDRAW;
	case KEY_DOWN:
	case 'j':
		select_at(t, order, n, sel + 1 < n ? sel + 1 : sel);
		return TUI_REDRAW;
	case KEY_HOME:
		select_at(t, order, n, 0);
		return TUI_REDRAW;
	case KEY_END:
		select_at(t, order, n, n - 1);
		return TUI_REDRAW;
	case '\n':
	case '\r':
	case KEY_ENTER:
		f = &t->m->findings[order[sel]];
		if (f->queue < 0) {
			tui_message(t, true, "%s is about the session, not one queue",
				    finding_info(f->code)->name);
			return TUI_REDRAW;
		}
		t->queue_slot = (unsigned)f->queue;
		t->have_queue = true;
		evidence_head(f, &t->ring_head);
		t->screen = SCREEN_RING;
		return tui_go_to_time(t, f->first_ns);
	default:
		return TUI_IGNORED;
	}
}
