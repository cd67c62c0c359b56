/* tui_events.c - screen 4, the event log: the kept history as lines,
 * newest at the bottom while following; otherwise around the cursor,
 * which the arrows move from match to match.  Filters: f cycles the
 * queue, t the event type, / searches the text. */
#include <stdio.h>
#include <string.h>

#include "tui_app.h"

#define LINES_MAX 256
#define LINE_LEN  320
#define SCAN_MAX  (1u << 16) /* events looked at per direction and redraw */

static char lines[LINES_MAX][LINE_LEN];
static size_t line_index[LINES_MAX];

/* The cursor's history index, or the newest when following. */
static bool cursor_at(const struct tui *t, size_t *i)
{
	if (t->follow && t->m->history_len) {
		*i = t->m->history_len - 1;
		return true;
	}
	return tui_cursor_index(t, i);
}

/* Up to max matching events before (dir < 0) or after index from,
 * nearest first, into lines[slot..]; returns how many. */
static size_t collect(const struct tui *t, size_t from, int dir, size_t max, size_t slot)
{
	const struct vq_model *m = t->m;
	size_t n = 0, scanned = 0;

	for (size_t i = from; n < max && scanned < SCAN_MAX && i < m->history_len;
	     i = dir < 0 ? i - 1 : i + 1, scanned++) {
		if (event_filter_match(&t->events, m, model_history_at(m, i), lines[slot + n],
				       LINE_LEN))
			line_index[slot + n++] = i;
		if (dir < 0 && i == 0)
			break;
	}
	return n;
}

static void filter_text(const struct tui *t, char *buf, size_t len)
{
	char types[96] = "";
	size_t used = 0;

	for (unsigned ty = 1; ty < VQT_EV_TYPE_COUNT && t->events.types; ty++)
		if (t->events.types & (1u << ty))
			used += (size_t)snprintf(types + used, sizeof(types) - used, "%s%s",
						 used ? "," : "", vqp_event_type_name(ty));
	snprintf(buf, len, "queue %s | type %s | text '%s'",
		 t->events.queue < 0 ? "all" : t->m->queues[t->events.queue].name,
		 types[0] ? types : "all", t->events.text);
}

void tui_events_draw(struct tui *t, int top, int rows)
{
	const struct vq_model *m = t->m;
	char filter[256];
	int y = top, body = rows - 2;
	size_t cur, before, after = 0, total;
	bool have_cursor = cursor_at(t, &cur);

	if (body > LINES_MAX)
		body = LINES_MAX;
	filter_text(t, filter, sizeof(filter));
	tui_printf(y++, 0, -1, tui_attr(t, STYLE_BOLD), "%zu kept of %llu events | %s",
		   m->history_len, (unsigned long long)m->events, filter);
	move(y, 0);
	attron(tui_attr(t, STYLE_TITLE));
	hline(' ', COLS);
	attroff(tui_attr(t, STYLE_TITLE));
	tui_put(y++, 0, -1, tui_attr(t, STYLE_TITLE),
		"      TIME s QUEUE          TYPE            FIELDS");
	if (!have_cursor || body < 1) {
		tui_put(y, 0, -1, A_NORMAL, "(no events kept)");
		return;
	}
	/* Lines at or before the cursor fill the upper part, newest lowest;
	 * away from the live end, the rest shows what comes after. */
	before = collect(t, cur, -1, t->follow ? (size_t)body : (size_t)body * 2 / 3 + 1, 0);
	if (!t->follow && cur + 1 < m->history_len)
		after = collect(t, cur + 1, 1, (size_t)body - before, before);
	total = before + after;
	for (size_t k = 0; k < before; k++) {
		size_t src = before - 1 - k;
		bool at_cursor = !t->follow && line_index[src] == cur;

		tui_put(y++, 0, -1, at_cursor ? tui_attr(t, STYLE_SELECTED) : A_NORMAL, lines[src]);
	}
	for (size_t k = before; k < total; k++)
		tui_put(y++, 0, -1, tui_attr(t, STYLE_FREE), lines[k]);
	if (total == 0)
		tui_put(y, 0, -1, A_NORMAL, "(no event matches the filters near the cursor)");
}

/* The history index of the next match from the cursor in direction dir. */
static bool next_match(const struct tui *t, int dir, size_t *out)
{
	size_t cur;

	if (!cursor_at(t, &cur))
		return false;
	if ((dir < 0 && cur == 0) || (dir > 0 && cur + 1 >= t->m->history_len))
		return false;
	if (collect(t, dir < 0 ? cur - 1 : cur + 1, dir, 1, 0) == 0)
		return false;
	*out = line_index[0];
	return true;
}

/* A replay has read up to its cursor: it reads on, one event at a
 * time, to the next match (SCAN_MAX events at most per key). */
static int replay_read_on(struct tui *t)
{
	for (unsigned k = 0; k < SCAN_MAX; k++) {
		uint64_t before = t->m->events;
		size_t i;

		tui_step_history(t, 1);
		if (t->m->events == before)
			return TUI_REDRAW; /* the end: the step said so */
		if (tui_cursor_index(t, &i) &&
		    event_filter_match(&t->events, t->m, model_history_at(t->m, i), lines[0],
				       LINE_LEN))
			return TUI_REDRAW;
	}
	tui_message(t, false, "no match in the next %u events (again reads on)", SCAN_MAX);
	return TUI_REDRAW;
}

static int move_matches(struct tui *t, int dir, int count)
{
	if (t->follow)
		tui_step_history(t, 0); /* pin the cursor (freezes a live display) */
	for (int k = 0; k < count; k++) {
		size_t next, cur;

		if (!next_match(t, dir, &next) || !tui_cursor_index(t, &cur)) {
			/* Past the last match: a replay reads on, live steps
			 * to the newest event and says so. */
			if (k == 0 && dir > 0)
				return t->replay ? replay_read_on(t) : tui_step_history(t, 1);
			break;
		}
		tui_step_history(t, (long)next - (long)cur);
	}
	return TUI_REDRAW;
}

static int cycle_queue(struct tui *t)
{
	int q = t->events.queue;

	for (int k = 0; k < (int)MODEL_QUEUES; k++) {
		q = q + 1 >= (int)MODEL_QUEUES ? -1 : q + 1;
		if (q < 0 || t->m->queues[q].active || t->m->queues[q].gone)
			break;
	}
	t->events.queue = q;
	return TUI_REDRAW;
}

/* Notifications both ways: kicks (sent or suppressed), interrupts and
 * the driver turning them on and off (2.7.7, 2.7.10). */
#define NOTIFICATION_TYPES                                                                         \
	((1u << VQT_EV_KICK) | (1u << VQT_EV_KICK_SUPPRESSED) | (1u << VQT_EV_IRQ) |               \
	 (1u << VQT_EV_CB))

static int cycle_type(struct tui *t)
{
	uint32_t types = t->events.types;

	/* all -> notifications -> ADD -> KICK -> ... -> CB -> all */
	if (!types)
		types = NOTIFICATION_TYPES;
	else if (types == NOTIFICATION_TYPES)
		types = 1u << VQT_EV_ADD;
	else if (types & (1u << (VQT_EV_TYPE_COUNT - 1)))
		types = 0;
	else
		types <<= 1;
	t->events.types = types;
	return TUI_REDRAW;
}

int tui_events_key(struct tui *t, int key)
{
	switch (key) {
	case KEY_UP:
	case 'k':
		return move_matches(t, -1, 1);
	case KEY_DOWN:
	case 'j':
		return move_matches(t, 1, 1);
	case KEY_PPAGE:
		return move_matches(t, -1, LINES / 2);
	case KEY_NPAGE:
		return move_matches(t, 1, LINES / 2);
	case 'f':
		return cycle_queue(t);
	case 't':
		return cycle_type(t);
	case 'x':
		t->events.queue = -1;
		t->events.types = 0;
		t->events.text[0] = 0;
		return TUI_REDRAW;
	default:
		return TUI_IGNORED;
	}
}
