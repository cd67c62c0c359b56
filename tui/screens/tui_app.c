/* tui_app.c - the interactive view's main loop: set up the terminal,
 * sample the source into the model, redraw at the refresh tick, and turn
 * keys into actions (freeze, pause, step, record, replay controls).  The
 * screens themselves are in tui_overview.c, tui_ring.c, tui_frames.c,
 * tui_events.c, tui_latency.c and tui_help.c.
 *
 * The loop sleeps in poll() on the terminal and the source's monitor
 * (QMP answers come from its own thread, so a slow QEMU never holds the
 * screen) until a key, news from QEMU, the next drain of the trace region
 * (while events flow: before a quarter of the ring can fill, 10 to 50 ms
 * apart; 50 ms when idle) or the refresh tick.  It redraws only at the
 * tick, after a key, when an answer came, or (in step mode) when an event
 * arrived, so the refresh costs the same at any event rate.  Everything a
 * screen shows is gathered before drawing (prepare()); drawing does no I/O.
 */
#include <errno.h>
#include <langinfo.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/format.h"
#include "live/guard.h"
#include "tui_app.h"

#define MS		   1000000ull
#define REFRESH_MIN_NS	   (100 * MS)
#define REFRESH_MAX_NS	   (10000 * MS)
#define DRAIN_BUSY_NS	   (10 * MS)
#define DRAIN_IDLE_NS	   (50 * MS)
#define REPLAY_FRAME_NS	   (20 * MS)
#define REPLAY_REFRESH_MAX (250 * MS)
#define MESSAGE_NS	   (6000 * MS)
#define GREETING_NS	   (30000 * MS)
#define SPEED_MIN	   (1.0 / 64)
#define SPEED_MAX	   256.0
#define QUEUE_CHAIN_AGE_NS (1000 * MS)

/* ---- terminal restore on every exit path ------------------------------------------- */

static volatile sig_atomic_t curses_active;
/* SIGBUS belongs to the live layer's guard (a mapped file that shrank is
 * an error it handles); its fatal hook puts the terminal back for the
 * other cases. */
static struct sigaction crash_old[4];
static const int crash_signals[4] = {SIGSEGV, SIGFPE, SIGILL, SIGABRT};

static void restore_terminal(void)
{
	if (curses_active) {
		curses_active = 0;
		endwin();
	}
}

/* A crash while the terminal is in curses mode: put the terminal back,
 * then let the previous handler (or the default action) have the signal. */
static void on_crash(int sig)
{
	restore_terminal();
	for (size_t i = 0; i < sizeof(crash_signals) / sizeof(crash_signals[0]); i++)
		if (crash_signals[i] == sig)
			sigaction(sig, &crash_old[i], NULL);
	raise(sig);
}

static void catch_crashes(bool on)
{
	static bool registered;
	struct sigaction sa;

	if (!registered) {
		atexit(restore_terminal);
		registered = true;
	}
	guard_install();
	guard_set_fatal_hook(on ? restore_terminal : NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_crash;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(crash_signals) / sizeof(crash_signals[0]); i++) {
		if (on)
			sigaction(crash_signals[i], &sa, &crash_old[i]);
		else
			sigaction(crash_signals[i], &crash_old[i], NULL);
	}
}

/* ---- styles --------------------------------------------------------------------------- */

static attr_t style_attrs[STYLE_COUNT];

static void styles_init(struct tui *t)
{
	static const struct {
		short fg, bg;
		attr_t extra, mono;
	} def[STYLE_COUNT] = {
	    [STYLE_NORMAL] = {-1, -1, A_NORMAL, A_NORMAL},
	    [STYLE_BOLD] = {-1, -1, A_BOLD, A_BOLD},
	    [STYLE_TITLE] = {COLOR_BLACK, COLOR_CYAN, A_NORMAL, A_REVERSE},
	    [STYLE_SELECTED] = {COLOR_BLACK, COLOR_GREEN, A_NORMAL, A_REVERSE | A_BOLD},
	    [STYLE_HINT] = {COLOR_BLACK, COLOR_CYAN, A_NORMAL, A_REVERSE},
	    [STYLE_ERROR] = {COLOR_RED, -1, A_BOLD, A_BOLD},
	    [STYLE_MODE] = {COLOR_BLACK, COLOR_YELLOW, A_BOLD, A_REVERSE | A_BOLD},
	    [STYLE_FREE] = {-1, -1, A_DIM, A_DIM},
	    [STYLE_AVAIL] = {COLOR_YELLOW, -1, A_BOLD, A_BOLD},
	    [STYLE_DEVICE] = {COLOR_CYAN, -1, A_BOLD, A_BOLD},
	    [STYLE_USED] = {COLOR_GREEN, -1, A_BOLD, A_BOLD | A_UNDERLINE},
	    [STYLE_POLL] = {COLOR_YELLOW, -1, A_NORMAL, A_NORMAL},
	    [STYLE_OTHER] = {-1, -1, A_NORMAL, A_NORMAL},
	    [STYLE_LOG] = {COLOR_MAGENTA, -1, A_BOLD, A_BOLD},
	    [STYLE_STALL] = {COLOR_RED, -1, A_BOLD, A_BOLD},
	};
	const char *no_color = getenv("NO_COLOR");
	bool defaults = false;

	/* https://no-color.org: a NO_COLOR that is set and not empty. */
	t->color = has_colors() && !(no_color && *no_color);
	if (t->color) {
		start_color();
		defaults = use_default_colors() == OK;
	}
	for (int s = 0; s < STYLE_COUNT; s++) {
		if (!t->color || (def[s].fg < 0 && def[s].bg < 0)) {
			style_attrs[s] = t->color ? def[s].extra : def[s].mono;
			continue;
		}
		short fg = def[s].fg < 0 && !defaults ? COLOR_WHITE : def[s].fg;
		short bg = def[s].bg < 0 && !defaults ? COLOR_BLACK : def[s].bg;

		init_pair((short)s, fg, bg);
		style_attrs[s] = COLOR_PAIR(s) | def[s].extra;
	}
}

attr_t tui_attr(const struct tui *t, enum tui_style s)
{
	(void)t;
	return s < STYLE_COUNT ? style_attrs[s] : A_NORMAL;
}

/* ---- drawing helpers ----------------------------------------------------------------------- */

void tui_put(int y, int x, int width, attr_t attr, const char *text)
{
	size_t bytes = 0;
	int cells = 0;

	if (y < 0 || y >= LINES || x < 0 || x >= COLS)
		return;
	if (width < 0 || width > COLS - x)
		width = COLS - x;
	/* One column per character: the text is ASCII or the block
	 * elements of the sparkline. */
	while (text[bytes] && cells < width) {
		bytes++;
		while ((text[bytes] & 0xc0) == 0x80)
			bytes++;
		cells++;
	}
	attron(attr);
	mvaddnstr(y, x, text, (int)bytes);
	attroff(attr);
}

void tui_printf(int y, int x, int width, attr_t attr, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	tui_put(y, x, width, attr, buf);
}

void tui_message(struct tui *t, bool error, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->status, sizeof(t->status), fmt, ap);
	va_end(ap);
	t->status_error = error;
	t->status_until = host_now_ns() + MESSAGE_NS;
}

static bool queue_shown(const struct tui *t, unsigned slot)
{
	const struct model_queue *q = &t->m->queues[slot];

	return (q->active || q->gone || q->count[MC_ADDS]) &&
	       (!t->queue_filter[0] || strcasestr(q->name, t->queue_filter));
}

bool tui_selected_queue(struct tui *t, unsigned *slot)
{
	unsigned slots[MODEL_QUEUES];
	size_t n;

	if (t->have_queue && t->queue_slot < MODEL_QUEUES && queue_shown(t, t->queue_slot)) {
		*slot = t->queue_slot;
		return true;
	}
	n = overview_rows(t->m, t->sort, slots, MODEL_QUEUES);
	for (size_t i = 0; i < n; i++)
		if (queue_shown(t, slots[i])) {
			t->queue_slot = *slot = slots[i];
			t->have_queue = true;
			return true;
		}
	return false;
}

bool tui_cursor_index(const struct tui *t, size_t *index)
{
	return history_index(t->m, t->cursor, index);
}

/* ---- header, status line and hint bar ----------------------------------------------------- */

static int badge(struct tui *t, int x, const char *text)
{
	tui_put(0, x, -1, tui_attr(t, STYLE_MODE), text);
	return x + (int)strlen(text) + 1;
}

static void draw_header(struct tui *t)
{
	const struct source *s = t->src;
	const struct vq_model *m = t->m;
	char clock[16], line[512];
	time_t now = time(NULL);
	struct tm tm;
	int x = 0;

	localtime_r(&now, &tm);
	strftime(clock, sizeof(clock), "%H:%M:%S", &tm);
	if (t->replay)
		x = badge(t, x, t->playing ? " PLAYING " : " PAUSED ");
	else
		x = badge(t, x,
			  s->vm == VM_RUNNING  ? " VM running "
			  : s->vm == VM_PAUSED ? " VM paused "
			  : s->vm == VM_GONE   ? " VM gone "
					       : " VM ? ");
	if (t->is_frozen)
		x = badge(t, x, " FROZEN ");
	if (t->step)
		x = badge(t, x, " STEP ");
	if (source_recording(s))
		x = badge(t, x, " REC ");
	tui_printf(0, x, COLS - x - 9, tui_attr(t, STYLE_BOLD), "%s%s", t->replay ? "replay " : "",
		   s->name);
	tui_put(0, COLS - 8, 8, A_NORMAL, clock);

	snprintf(line, sizeof(line),
		 "%.0f ev/s | events %llu | lost %llu | violations %llu | frames %llu | stalls "
		 "%llu | %s gen %u",
		 m->events_per_s, (unsigned long long)m->events, (unsigned long long)m->lost,
		 (unsigned long long)m->violations, (unsigned long long)m->frames_total,
		 (unsigned long long)m->stalls_total, m->producer[0] ? m->producer : "no producer",
		 m->generation);
	tui_put(1, 0, -1, A_NORMAL, line);
}

static const char *why_no_step(const struct source *s)
{
	if (s->kind != SOURCE_LIVE)
		return "a recording cannot step";
	if (!s->have_region)
		return "this VM has no trace region";
	if (!s->region.valid)
		return "no producer in the trace region yet";
	if (!s->region.ctrl)
		return "the trace region's control page is read-only to vqscope";
	return "the producer never blocks, so it cannot step (vqscope-trace, or no_step set)";
}

static void mode_text(struct tui *t, char *buf, size_t len)
{
	char at[64] = "";
	size_t i;

	if (tui_cursor_index(t, &i))
		snprintf(at, sizeof(at), "event #%llu at %.6f s", (unsigned long long)t->cursor - 1,
			 (double)model_history_at(t->m, i)->at_ns / 1e9);
	else
		snprintf(at, sizeof(at), "no event yet");
	if (t->replay)
		snprintf(buf, len, "replay %s x%g, %s%s", t->playing ? "playing" : "paused",
			 t->speed, at,
			 t->src->ended && t->cursor >= t->live->events ? " (end)" : "");
	else if (t->src->ended)
		snprintf(buf, len, "the VM went away: %s", t->src->end_reason);
	else if (t->step) {
		char last[200] = "";

		if (t->live->history_len)
			event_line(last, sizeof(last), t->live,
				   model_history_at(t->live, t->live->history_len - 1));
		snprintf(buf, len, "step: granted %llu, events %llu | last:%s",
			 (unsigned long long)t->step_granted, (unsigned long long)t->live->events,
			 last);
	} else if (!t->follow)
		snprintf(buf, len, "%s %s: n/N step, g go to, space live",
			 t->is_frozen ? "frozen" : "at", at);
	else if (t->src->region_status[0])
		snprintf(buf, len, "%s", t->src->region_status);
	else
		snprintf(buf, len, "live, refresh %.1f s, sort %s", (double)t->refresh_ns / 1e9,
			 overview_sort_name(t->sort));
}

static void draw_status(struct tui *t)
{
	const struct finding *f;
	char buf[512];
	int y = LINES - 2;

	if (t->prompt) {
		tui_printf(y, 0, -1, tui_attr(t, STYLE_BOLD), "%s%s_",
			   t->prompt == PROMPT_GOTO ? "go to frame N, or time (12.5s, 800ms): "
						    : "filter: ",
			   t->prompt_text);
		return;
	}
	if (t->status[0] && host_now_ns() < t->status_until) {
		tui_put(y, 0, -1, tui_attr(t, t->status_error ? STYLE_ERROR : STYLE_BOLD),
			t->status);
		return;
	}
	mode_text(t, buf, sizeof(buf));
	/* The worst finding still so (the newest of those), when it is
	 * more than information: screen 6 has them all. */
	f = model_worst_finding(t->m);
	if (f && f->severity >= SEV_WARNING) {
		char what[160];
		int x;

		snprintf(what, sizeof(what), "%s %s%s%s%s", severity_name(f->severity),
			 finding_info(f->code)->name, f->queue >= 0 ? " " : "",
			 f->queue >= 0 ? f->queue_name : "",
			 t->m->nfindings > 1 ? " (6: all findings)" : " (6: details)");
		x = (int)strlen(what) < COLS ? (int)strlen(what) : COLS;
		tui_put(y, 0, x, tui_attr(t, f->severity == SEV_ERROR ? STYLE_ERROR : STYLE_BOLD),
			what);
		if (x + 3 < COLS)
			tui_printf(y, x, -1, A_NORMAL, " | %s", buf);
		return;
	}
	tui_put(y, 0, -1, A_NORMAL, buf);
}

static void draw_hint(struct tui *t)
{
	int y = LINES - 1;

	move(y, 0);
	attron(tui_attr(t, STYLE_HINT));
	hline(' ', COLS);
	attroff(tui_attr(t, STYLE_HINT));
	tui_put(y, 0, -1, tui_attr(t, STYLE_HINT), tui_help_hint(t));
}

/* The screens, by number: what draws them and what handles their keys
 * (the latency screen's arrows pick the queue, as on the overview). */
static const struct {
	void (*draw)(struct tui *t, int top, int rows);
	int (*key)(struct tui *t, int key);
} screens[SCREEN_COUNT] = {
    [SCREEN_OVERVIEW] = {tui_overview_draw, tui_overview_key},
    [SCREEN_RING] = {tui_ring_draw, tui_ring_key},
    [SCREEN_FRAMES] = {tui_frames_draw, tui_frames_key},
    [SCREEN_EVENTS] = {tui_events_draw, tui_events_key},
    [SCREEN_LATENCY] = {tui_latency_draw, tui_overview_key},
    [SCREEN_FINDINGS] = {tui_findings_draw, tui_findings_key},
};

/* ---- what the screens show, gathered before drawing ---------------------------------- */

/* The avail ring position that holds head, from the ring view's recent
 * entries (what QMP's x-query-virtio-queue-element takes, 2.7.6). */
static bool avail_position(const struct ring_view *v, uint16_t head, uint16_t *pos)
{
	for (size_t k = v->navail; k-- > 0;)
		if (v->avail[k].id == head) {
			*pos = v->avail[k].idx;
			return true;
		}
	return false;
}

/* The chain of the selected head: guest RAM is cheap to read every time;
 * QEMU is asked (without waiting) when the selection changed or the last
 * answer is a second old, and the answer is drawn when it comes. */
static void sample_chain(struct tui *t, unsigned slot, uint64_t now)
{
	const struct guest_mem *mem = source_guest_mem(t->src);
	const struct model_queue *q = &t->live->queues[slot];
	bool changed = t->chain_slot != slot || t->chain_head != t->ring_head;
	uint16_t pos;

	if (t->src->kind != SOURCE_LIVE) {
		chain_view_begin(&t->chain, t->ring_head, NULL);
		snprintf(t->chain.note, sizeof(t->chain.note), "%s",
			 "a recording holds no guest memory: descriptor chains are live only");
	} else if (mem) {
		chain_view_ram(&t->chain, mem, q, &t->ring->layout, t->ring_head);
	} else if (q->flags & VQT_QF_PACKED) {
		/* QEMU 7.2's x-query-virtio-queue-element answers "Packed ring
		 * not supported": only guest RAM has a packed chain. */
		chain_view_begin(&t->chain, t->ring_head, NULL);
		snprintf(t->chain.note, sizeof(t->chain.note), "%s",
			 "QEMU does not give packed chains (x-query-virtio-queue-element): "
			 "guest RAM is not mapped");
	} else if (changed || (!t->chain_request && now - t->chain_at_ns >= QUEUE_CHAIN_AGE_NS)) {
		/* A new selection starts empty; a refresh keeps showing the
		 * last answer until the next one comes. */
		if (changed)
			chain_view_begin(&t->chain, t->ring_head, "QMP");
		if (!avail_position(t->ring, t->ring_head, &pos)) {
			chain_view_begin(&t->chain, t->ring_head, "QMP");
			snprintf(
			    t->chain.note, sizeof(t->chain.note),
			    "head %u is not among the recent avail entries: QMP cannot find it",
			    t->ring_head);
			t->chain_request = 0;
		} else {
			if (changed)
				snprintf(t->chain.note, sizeof(t->chain.note), "%s",
					 "asking QEMU (x-query-virtio-queue-element)...");
			t->chain_request = source_request_chain(t->src, q, pos, t->ring_head);
			if (!t->chain_request)
				t->chain = t->src->chain;
		}
		t->chain_at_ns = now;
	}
	t->chain_slot = slot;
	t->chain_head = t->ring_head;
}

static void sample_ring(struct tui *t, uint64_t now)
{
	const struct guest_mem *mem = source_guest_mem(t->src);
	unsigned slot;
	size_t i;
	struct ring_view *v = t->ring;

	if (!tui_selected_queue(t, &slot)) {
		v->valid = false;
		snprintf(v->why, sizeof(v->why), "no queue to show yet");
		return;
	}
	if (t->follow && !t->replay && !t->is_frozen) {
		ring_view_live(v, t->live, mem, slot, now);
	} else if (tui_cursor_index(t, &i)) {
		/* A packed chain is found by its position in the ring as it
		 * is now (the chain view says so). */
		if (ring_view_at(v, t->m, slot, i) && v->packed && mem)
			packed_layout_read(&v->layout, mem, &t->live->queues[slot]);
	} else {
		v->valid = false;
		snprintf(v->why, sizeof(v->why), "%s",
			 t->cursor == 0 ? "before the first event: n steps, space plays"
					: "the event at the cursor is no longer kept");
	}
	if (!v->valid)
		return;
	if (t->ring_head >= v->size)
		t->ring_head = 0;
	sample_chain(t, slot, now);
}

/* Bring what the screens render up to date: the frozen copy, the
 * cursor, and the ring screen's data (guest RAM reads, QMP requests). */
static void prepare(struct tui *t)
{
	if (t->is_frozen)
		view_freeze_trim(t->frozen, t->live);
	if (t->follow)
		t->cursor = t->m->events;
	if (!t->help && t->screen == SCREEN_RING)
		sample_ring(t, host_now_ns());
}

/* Render only: everything drawn was prepared before. */
static void draw(struct tui *t)
{
	int top = 2, rows = LINES - 4;

	erase();
	if (LINES < 10 || COLS < 40) {
		tui_put(0, 0, -1, A_BOLD, "vqscope: the terminal is too small (40x10 at least)");
		refresh();
		return;
	}
	draw_header(t);
	if (t->help)
		tui_help_draw(t, top, rows);
	else
		screens[t->screen].draw(t, top, rows);
	draw_status(t);
	draw_hint(t);
	refresh();
	t->events_drawn = t->live->events;
}

/* ---- collection ------------------------------------------------------------------------------ */

static int collect_live(struct tui *t, uint64_t now)
{
	struct source *s = t->src;
	uint64_t before = t->live->events;
	int flags = 0;

	if (!s->ended) {
		source_poll(s, t->live, now);
		if (s->ended) {
			t->step = false;
			if (s->end_kind == VQR_END_SOURCE_GONE)
				t->result = TUI_RESULT_SOURCE_GONE;
			tui_message(t, true, "the VM went away: %s (q quits)", s->end_reason);
			flags |= TUI_REDRAW;
		}
	}
	if (s->region_gone[0] && t->result == TUI_RESULT_OK) {
		/* The device-side view goes on; the recording, if any, is
		 * closed (its message follows). */
		t->result = TUI_RESULT_REGION_GONE;
		t->step = false;
		tui_message(t, true, "%s (the device side goes on)", s->region_gone);
		flags |= TUI_REDRAW;
	}
	if (s->notices != t->notices_seen) {
		t->notices_seen = s->notices;
		tui_message(t, true, "%s", s->notice);
		flags |= TUI_REDRAW;
	}
	if (t->chain_request && s->chain_answered == t->chain_request) {
		/* QEMU answered: show it if the selection is still the one
		 * asked about. */
		if (t->chain_head == s->chain.head)
			t->chain = s->chain;
		t->chain_request = 0;
		flags |= TUI_REDRAW;
	}
	t->busy = t->live->events != before;
	if (t->recording && !source_recording(s)) {
		t->recording = false;
		tui_message(t, true, "recording stopped: %s", s->rec_error);
		flags |= TUI_REDRAW;
	}
	if (t->step && t->live->events != t->events_drawn)
		flags |= TUI_REDRAW;
	return flags;
}

static int collect_replay(struct tui *t, uint64_t now)
{
	int flags = 0;

	if (t->playing) {
		t->play_ns += (uint64_t)((double)(now - t->last_play_host_ns) * t->speed);
		source_file_advance(t->src, t->live, t->play_ns);
		t->cursor = t->live->events;
		if (t->src->ended && t->cursor >= t->live->events) {
			t->playing = false;
			tui_message(t, false, "end of the recording: %s", t->src->end_reason);
			flags |= TUI_REDRAW;
		}
	}
	t->last_play_host_ns = now;
	return flags;
}

static double total_completions(const struct vq_model *m)
{
	uint64_t n = 0;

	for (unsigned s = 0; s < MODEL_QUEUES; s++)
		n += m->queues[s].count[MC_COMPLETIONS];
	return (double)n;
}

static void tick(struct tui *t, uint64_t now)
{
	uint64_t elapsed;

	if (t->replay) {
		elapsed =
		    t->play_ns >= t->last_tick_play_ns ? t->play_ns - t->last_tick_play_ns : 0;
		t->last_tick_play_ns = t->play_ns;
	} else {
		elapsed = now - t->last_tick_ns;
	}
	if (elapsed) {
		double done = total_completions(t->live);

		model_tick(t->live, elapsed);
		series_push(&t->completions,
			    (done - (double)t->completions_base) / ((double)elapsed / 1e9));
		t->completions_base = (uint64_t)done;
	}
	t->last_tick_ns = now;
	t->next_tick_ns = now + t->refresh_ns;
}

/* ---- actions
 * ------------------------------------------------------------------------------------- */

static void freeze(struct tui *t)
{
	view_freeze(t->frozen, t->live);
	t->is_frozen = true;
	t->m = t->frozen;
	t->follow = false;
	t->cursor = t->frozen->events;
}

static void go_live(struct tui *t)
{
	t->is_frozen = false;
	t->m = t->live;
	t->follow = true;
}

static int toggle_freeze(struct tui *t)
{
	if (t->replay) {
		t->playing = !t->playing;
		if (t->playing && t->src->ended && t->cursor >= t->live->events) {
			t->playing = false;
			tui_message(t, false,
				    "at the end of the recording (g goes to a frame or time)");
		}
		return TUI_REDRAW;
	}
	if (t->is_frozen || !t->follow) {
		go_live(t);
		tui_message(t, false, "live again");
	} else {
		freeze(t);
		tui_message(t, false, "frozen at event #%llu (the VM keeps running): n/N step",
			    (unsigned long long)t->cursor - 1);
	}
	return TUI_REDRAW;
}

/* A replay's model is the session just after the cursor's event: every
 * figure on every screen is what it was then.  It is fed forward up to
 * lim, and played again to go back (replay_back). */
static void replay_feed(struct tui *t, const struct file_limit *lim)
{
	source_file_feed(t->src, t->live, lim);
	t->cursor = t->live->events;
}

/* After a jump or a step to play time play_ns: a paused replay plays no
 * time, so the rates shown are those of the recording's last refresh
 * interval up to play_ns; when it plays they count over played time
 * from here. */
static void replay_jumped(struct tui *t, uint64_t play_ns)
{
	t->play_ns = play_ns;
	model_rates_restart(t->live);
	model_rates_over_history(t->live, play_ns, t->refresh_ns);
	t->last_tick_play_ns = play_ns;
}

/* The session time of the cursor's event (0 before the first). */
static uint64_t cursor_ns(const struct tui *t)
{
	size_t i;

	return tui_cursor_index(t, &i) ? model_history_at(t->m, i)->at_ns : 0;
}

/* Start a replay with the first queue table read.  vqscope writes it
 * before the first event; an older recording started mid-session has it
 * only after its first events, which are then read too. */
static void replay_prime(struct tui *t)
{
	const struct source *s = t->src;

	while (!s->ended && s->next_chunk < s->file->nchunks && t->live->events < 100000) {
		uint32_t type = s->file->chunks[s->next_chunk].type;

		source_poll(t->src, t->live, host_now_ns());
		if (type == VQR_CHUNK_QUEUES)
			break;
	}
	t->cursor = t->live->events;
}

/* How far before the cursor a step back leaves the checkpoint: the
 * steps back after it play at most this many events again (some ms). */
#define REPLAY_CHECKPOINT_BEHIND 100000

static void replay_drop_checkpoint(struct tui *t)
{
	model_free(t->cp_model);
	t->cp_model = NULL;
	source_file_mark_free(&t->cp_mark);
}

/* A checkpoint where the replay is now (the old one goes). */
static void replay_checkpoint(struct tui *t)
{
	replay_drop_checkpoint(t);
	t->cp_model = model_clone(t->live);
	if (t->cp_model && !source_file_mark(t->src, &t->cp_mark)) {
		model_free(t->cp_model);
		t->cp_model = NULL;
	}
}

/* Open the recording again from its start (to go back). */
static bool replay_rewind(struct tui *t)
{
	char err[512];
	struct source *s = source_open(t->src->name, &t->src->opts, err, sizeof(err));
	struct vq_model *m = s ? model_new(NULL) : NULL;

	if (!s || !m) {
		tui_message(t, true, "cannot reopen %s: %s", t->src->name,
			    s ? "out of memory" : err);
		source_close(s);
		return false;
	}
	replay_drop_checkpoint(t); /* it marks the old source */
	source_close(t->own_src);
	model_free(t->own_model);
	t->own_src = t->src = s;
	t->own_model = t->live = m;
	t->m = m;
	t->play_ns = t->last_tick_play_ns = 0;
	t->completions_base = 0;
	replay_prime(t);
	return true;
}

/* Go back to the checkpoint when it is at or before where the replay is
 * going (cp_usable), else to the start; false when the recording could
 * not be opened again. */
static bool replay_back(struct tui *t, bool cp_usable)
{
	struct vq_model *m = cp_usable && t->cp_model ? model_clone(t->cp_model) : NULL;

	if (!m)
		return replay_rewind(t);
	source_file_return(t->src, &t->cp_mark);
	model_free(t->own_model);
	t->own_model = t->live = m;
	t->m = m;
	t->cursor = m->events;
	return true;
}

/* The replay's cursor to event count target (forward, or back from the
 * checkpoint or the start); false when the recording could not be opened
 * again.  Going back leaves a checkpoint a little before the target, so
 * that stepping on back is quick. */
static bool replay_seek(struct tui *t, uint64_t target)
{
	t->playing = false;
	if (target < t->live->events) {
		if (!replay_back(t, t->cp_model && t->cp_model->events <= target))
			return false;
		if (target - t->live->events > 2 * REPLAY_CHECKPOINT_BEHIND) {
			replay_feed(
			    t, &(struct file_limit){.until_ns = UINT64_MAX,
						    .events = target - REPLAY_CHECKPOINT_BEHIND});
			replay_checkpoint(t);
		}
	}
	replay_feed(t, &(struct file_limit){.until_ns = UINT64_MAX, .events = target});
	if (target > t->live->events)
		tui_message(t, false, "end of the recording");
	replay_jumped(t, cursor_ns(t));
	return true;
}

int tui_step_history(struct tui *t, long delta)
{
	uint64_t first, target;

	if (t->replay) {
		target =
		    delta < 0 && (uint64_t)-delta >= t->cursor ? 0 : t->cursor + (uint64_t)delta;
		replay_seek(t, target);
		return TUI_REDRAW;
	}
	if (!t->is_frozen && t->src->vm != VM_PAUSED && !t->src->ended)
		freeze(t);
	if (t->follow)
		t->cursor = t->m->events;
	t->follow = false;
	if (delta < 0 && (uint64_t)-delta >= t->cursor)
		target = 0;
	else
		target = t->cursor + (uint64_t)delta;
	first = history_first(t->m);
	if (target <= first) {
		target = first + 1;
		tui_message(t, false, "the oldest kept event (%zu are kept)", t->m->history_len);
	}
	if (target > t->m->events) {
		target = t->m->events;
		tui_message(t, false, "the newest event");
	}
	t->cursor = target;
	return TUI_REDRAW;
}

int tui_go_to_time(struct tui *t, uint64_t ns)
{
	if (!t->replay) {
		if (!t->is_frozen && t->src->vm != VM_PAUSED)
			freeze(t);
		t->follow = false;
	}
	if (t->replay) {
		t->playing = false;
		if (ns < t->live->now_ns &&
		    !replay_back(t, t->cp_model && t->cp_model->now_ns <= ns))
			return TUI_REDRAW;
		replay_feed(t, &(struct file_limit){.until_ns = ns, .events = UINT64_MAX});
		if (t->src->ended && ns > t->live->now_ns) {
			tui_message(
			    t, true,
			    "%.6f s is after the recording's last event (%.6f s): at its end",
			    (double)ns / 1e9, (double)t->live->now_ns / 1e9);
			ns = t->live->now_ns;
		}
		replay_jumped(t, ns);
	} else if (ns > t->m->now_ns) {
		tui_message(t, true, "%.6f s is after the newest event", (double)ns / 1e9);
		return TUI_REDRAW;
	}
	t->cursor = history_cursor_at_time(t->m, ns);
	if (t->cursor == history_first(t->m))
		tui_message(t, true, "no kept event at or before %.6f s", (double)ns / 1e9);
	return TUI_REDRAW;
}

static int go_to_frame(struct tui *t, uint64_t frame)
{
	uint64_t cursor;

	if (!t->replay && !t->is_frozen && t->src->vm != VM_PAUSED)
		freeze(t);
	t->follow = false;
	if (t->replay) {
		t->playing = false;
		if ((t->live->in_frame || t->live->frames_total) &&
		    frame <= t->live->frame_number &&
		    !replay_back(t, t->cp_model &&
					(!(t->cp_model->in_frame || t->cp_model->frames_total) ||
					 t->cp_model->frame_number < frame)))
			return TUI_REDRAW;
		replay_feed(t, &(struct file_limit){.until_ns = UINT64_MAX,
						    .events = UINT64_MAX,
						    .to_frame = true,
						    .frame = frame});
		replay_jumped(t, cursor_ns(t));
		/* The feed stopped on the frame's FRAME_BEGIN, when it has one. */
		if (history_cursor_at_frame(t->m, frame, &cursor))
			return TUI_REDRAW;
		if (t->src->ended)
			tui_message(t, true, "no frame %llu in the recording: at its end",
				    (unsigned long long)frame);
		else
			tui_message(
			    t, true, "no frame %llu in the recording: at frame %llu, the next one",
			    (unsigned long long)frame, (unsigned long long)t->live->frame_number);
		return TUI_REDRAW;
	}
	if (!history_cursor_at_frame(t->m, frame, &cursor)) {
		tui_message(t, true, "frame %llu is not in the kept history",
			    (unsigned long long)frame);
		return TUI_REDRAW;
	}
	t->cursor = cursor;
	return TUI_REDRAW;
}

static int apply_goto(struct tui *t, const char *text)
{
	uint64_t v;

	if (!text[0])
		return TUI_REDRAW;
	if (strspn(text, "0123456789") == strlen(text) && parse_uint(text, 0, UINT64_MAX, &v))
		return go_to_frame(t, v);
	if (parse_duration(text, &v))
		return tui_go_to_time(t, v);
	tui_message(t, true, "'%s' is neither a frame number nor a time like 12.5s", text);
	return TUI_REDRAW;
}

static int pause_vm(struct tui *t, bool pause)
{
	char err[256];

	if (t->replay) {
		t->playing = !pause;
		return TUI_REDRAW;
	}
	if (!pause) {
		if (t->step) {
			source_step_mode(t->src, false);
			t->step = false;
		}
		go_live(t);
	}
	if ((pause ? source_pause : source_resume)(t->src, err, sizeof(err)) != 0)
		tui_message(t, true, "%s: %s", pause ? "pause" : "continue", err);
	else if (pause)
		tui_message(t, false, "pausing the VM (%s): n/N step through history",
			    source_vm_control(t->src, true));
	else
		tui_message(t, false, "resuming the VM (%s)", source_vm_control(t->src, false));
	return TUI_REDRAW;
}

static int step_key(struct tui *t)
{
	if (t->replay)
		return tui_step_history(t, 1);
	if (!source_can_step(t->src)) {
		tui_message(t, true, "no step mode: %s", why_no_step(t->src));
		return TUI_REDRAW;
	}
	if (!t->step) {
		go_live(t);
		source_step_mode(t->src, true);
		t->step = true;
		t->step_granted = 0;
		tui_message(t, false,
			    "step mode: the guest waits before each event; s or n = one event, S "
			    "leaves");
		return TUI_REDRAW;
	}
	source_step_grant(t->src, 1);
	t->step_granted++;
	t->status_until = 0; /* show the step counters */
	return TUI_REDRAW;
}

static int step_off(struct tui *t)
{
	if (t->step) {
		source_step_mode(t->src, false);
		t->step = false;
		tui_message(t, false, "step mode off: the guest runs freely");
	}
	return TUI_REDRAW;
}

static int toggle_record(struct tui *t)
{
	char err[512], path[64];
	time_t now = time(NULL);
	struct tm tm;
	struct stat st;

	if (t->src->kind != SOURCE_LIVE) {
		tui_message(t, true, "recording needs a live VM: this is a recording already");
		return TUI_REDRAW;
	}
	if (source_recording(t->src)) {
		uint64_t events = t->live->events;

		if (source_record_stop(t->src, VQR_END_NORMAL, "stopped from the TUI", err,
				       sizeof(err)) != 0)
			tui_message(t, true, "recording %s: %s", t->src->rec_path, err);
		else
			tui_message(t, false, "saved %s", t->src->rec_path);
		snprintf(t->saved_recording, sizeof(t->saved_recording), "%s", t->src->rec_path);
		t->recording = false;
		(void)events;
		return TUI_REDRAW;
	}
	localtime_r(&now, &tm);
	strftime(path, sizeof(path), "vqscope-%Y%m%d-%H%M%S.vqt", &tm);
	for (int n = 2; stat(path, &st) == 0 && n < 100; n++) {
		strftime(path, sizeof(path), "vqscope-%Y%m%d-%H%M%S", &tm);
		snprintf(path + strlen(path), sizeof(path) - strlen(path), "-%d.vqt", n);
	}
	if (source_record_start(t->src, t->live, path, false, err, sizeof(err)) != 0) {
		tui_message(t, true, "cannot record: %s", err);
		return TUI_REDRAW;
	}
	t->recording = true;
	tui_message(t, false, "recording to %s (r stops)", path);
	return TUI_REDRAW;
}

static int change_rate(struct tui *t, bool up)
{
	if (t->replay) {
		t->speed = up ? t->speed * 2 : t->speed / 2;
		if (t->speed < SPEED_MIN)
			t->speed = SPEED_MIN;
		if (t->speed > SPEED_MAX)
			t->speed = SPEED_MAX;
		tui_message(t, false, "speed x%g", t->speed);
		return TUI_REDRAW;
	}
	t->refresh_ns = up ? t->refresh_ns / 2 : t->refresh_ns * 2;
	if (t->refresh_ns < REFRESH_MIN_NS)
		t->refresh_ns = REFRESH_MIN_NS;
	if (t->refresh_ns > REFRESH_MAX_NS)
		t->refresh_ns = REFRESH_MAX_NS;
	t->next_tick_ns = t->last_tick_ns + t->refresh_ns;
	tui_message(t, false, "refresh every %.1f s", (double)t->refresh_ns / 1e9);
	return TUI_REDRAW;
}

static int start_prompt(struct tui *t, enum prompt_kind kind)
{
	t->prompt = kind;
	t->prompt_len = 0;
	t->prompt_text[0] = 0;
	if (kind == PROMPT_FILTER) {
		const char *now = t->screen == SCREEN_EVENTS ? t->events.text : t->queue_filter;

		snprintf(t->prompt_text, sizeof(t->prompt_text), "%s", now);
		t->prompt_len = strlen(t->prompt_text);
	}
	return TUI_REDRAW;
}

static int prompt_key(struct tui *t, int ch)
{
	if (ch == 27) { /* Esc */
		t->prompt = PROMPT_NONE;
		return TUI_REDRAW;
	}
	if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
		enum prompt_kind kind = t->prompt;

		t->prompt = PROMPT_NONE;
		if (kind == PROMPT_GOTO)
			return apply_goto(t, t->prompt_text);
		if (t->screen == SCREEN_EVENTS)
			snprintf(t->events.text, sizeof(t->events.text), "%s", t->prompt_text);
		else
			snprintf(t->queue_filter, sizeof(t->queue_filter), "%s", t->prompt_text);
		return TUI_REDRAW;
	}
	if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
		if (t->prompt_len)
			t->prompt_text[--t->prompt_len] = 0;
		return TUI_REDRAW;
	}
	if (ch >= 32 && ch < 127 && t->prompt_len + 1 < sizeof(t->prompt_text)) {
		t->prompt_text[t->prompt_len++] = (char)ch;
		t->prompt_text[t->prompt_len] = 0;
	}
	return TUI_REDRAW;
}

static int handle_key(struct tui *t, int ch)
{
	if (t->prompt)
		return prompt_key(t, ch);
	if (ch == KEY_RESIZE)
		return TUI_REDRAW;
	if (t->help) {
		t->help = false;
		return TUI_REDRAW;
	}
	switch (ch) {
	case 'q':
		return TUI_QUIT;
	case '?':
	case KEY_F(1):
		t->help = true;
		return TUI_REDRAW;
	case '\t':
		t->screen = (enum tui_screen)((t->screen + 1) % SCREEN_COUNT);
		return TUI_REDRAW;
	case KEY_BTAB:
		t->screen = (enum tui_screen)((t->screen + SCREEN_COUNT - 1) % SCREEN_COUNT);
		return TUI_REDRAW;
	case '1':
	case '2':
	case '3':
	case '4':
	case '5':
	case '6':
		t->screen = (enum tui_screen)(ch - '1');
		return TUI_REDRAW;
	case ' ':
		return toggle_freeze(t);
	case 'p':
		return pause_vm(t, true);
	case 'c':
		return pause_vm(t, false);
	case 's':
		return step_key(t);
	case 'S':
		return step_off(t);
	case 'n':
		return t->step ? step_key(t) : tui_step_history(t, 1);
	case 'N':
		return tui_step_history(t, -1);
	case 'r':
		return toggle_record(t);
	case '+':
	case '=':
	case ']':
		return change_rate(t, true);
	case '-':
	case '[':
		return change_rate(t, false);
	case 'g':
		return start_prompt(t, PROMPT_GOTO);
	case '/':
		return start_prompt(t, PROMPT_FILTER);
	case 12: /* Ctrl-L */
		clearok(curscr, TRUE);
		return TUI_REDRAW;
	default:
		return screens[t->screen].key(t, ch);
	}
}

/* ---- the loop
 * ------------------------------------------------------------------------------------- */

/* While events flow, drain before a quarter of the ring can have filled at
 * the current rate (so nothing is lost), but no more often than needed:
 * every wakeup costs more than the events it finds at low rates. */
static uint64_t drain_interval_ns(const struct tui *t)
{
	double rate = t->live->events_per_s;
	uint64_t records = t->src->region.valid ? t->src->region.layout.ring_records : 0;
	uint64_t ns;

	if (rate < 1 || records == 0)
		return DRAIN_BUSY_NS;
	ns = (uint64_t)((double)records / 4 / rate * 1e9);
	if (ns < DRAIN_BUSY_NS)
		return DRAIN_BUSY_NS;
	return ns > DRAIN_IDLE_NS ? DRAIN_IDLE_NS : ns;
}

static int poll_timeout_ms(const struct tui *t, uint64_t now)
{
	uint64_t wait = t->next_tick_ns > now ? t->next_tick_ns - now : 0, cap;

	if (t->replay)
		cap = t->playing ? REPLAY_FRAME_NS : REFRESH_MAX_NS;
	else if (t->src->ended)
		cap = REFRESH_MAX_NS;
	else
		cap = t->busy ? drain_interval_ns(t) : DRAIN_IDLE_NS;
	if (wait > cap)
		wait = cap;
	return (int)((wait + MS - 1) / MS);
}

static void run_loop(struct tui *t)
{
	uint64_t now = host_now_ns();

	t->last_tick_ns = t->last_play_host_ns = now;
	t->next_tick_ns = now + t->refresh_ns;
	prepare(t);
	draw(t); /* the first frame before anything is read */
	while (!(t->opts->interrupted && t->opts->interrupted(NULL))) {
		struct pollfd pfd[2] = {{.fd = STDIN_FILENO, .events = POLLIN},
					{.fd = source_fd(t->src), .events = POLLIN}};
		int flags = 0, ch, ready;

		now = host_now_ns();
		ready = poll(pfd, pfd[1].fd >= 0 ? 2 : 1, poll_timeout_ms(t, now));
		if (ready < 0 && errno != EINTR)
			break;
		if ((t->opts->interrupted && t->opts->interrupted(NULL)) ||
		    (pfd[0].revents & (POLLHUP | POLLERR | POLLNVAL)))
			break;
		/* Keys, or KEY_RESIZE after a SIGWINCH interrupted poll(). */
		if (ready < 0 || (pfd[0].revents & POLLIN))
			while ((ch = getch()) != ERR)
				flags |= handle_key(t, ch);
		if (flags & TUI_QUIT)
			break;
		now = host_now_ns();
		flags |= t->replay ? collect_replay(t, now) : collect_live(t, now);
		if (now >= t->next_tick_ns) {
			tick(t, now);
			flags |= TUI_REDRAW;
		}
		if (flags & TUI_REDRAW) {
			prepare(t);
			draw(t);
		}
	}
}

static int curses_start(struct tui *t, SCREEN **screen, char *err, size_t errlen)
{
	/* The character set comes from LC_CTYPE, which main() took from the
	 * environment before any thread started (setlocale is not safe while
	 * the monitor thread's json-c copies the locale). */
	t->utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
	*screen = newterm(NULL, stdout, stdin);
	if (!*screen) {
		snprintf(err, errlen, "cannot use the terminal (TERM=%s)",
			 getenv("TERM") ? getenv("TERM") : "");
		return -1;
	}
	set_term(*screen);
	curses_active = 1;
	catch_crashes(true);
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	styles_init(t);
	return 0;
}

static void curses_stop(SCREEN *screen)
{
	restore_terminal();
	catch_crashes(false);
	delscreen(screen);
}

static void finish(struct tui *t)
{
	char err[512];

	if (source_recording(t->src) && t->src->kind == SOURCE_LIVE) {
		if (source_record_stop(t->src, VQR_END_NORMAL, "stopped from the TUI", err,
				       sizeof(err)) != 0)
			fprintf(stderr, "vqscope: recording %s: %s\n", t->src->rec_path, err);
		snprintf(t->saved_recording, sizeof(t->saved_recording), "%s", t->src->rec_path);
	}
	if (t->step)
		source_step_mode(t->src, false);
}

enum tui_result tui_run(struct source *s, struct vq_model *m, const struct tui_opts *o, char *err,
			size_t errlen)
{
	struct tui *t;
	SCREEN *screen;
	enum tui_result rc;

	t = calloc(1, sizeof(*t));
	if (t) {
		t->ring = malloc(sizeof(*t->ring));
		t->frozen = malloc(sizeof(*t->frozen));
	}
	if (!t || !t->ring || !t->frozen) {
		snprintf(err, errlen, "out of memory");
		if (t) {
			free(t->ring);
			free(t->frozen);
		}
		free(t);
		return TUI_RESULT_FAILED;
	}
	t->src = s;
	t->live = m;
	t->m = m;
	t->opts = o;
	t->replay = s->kind == SOURCE_FILE;
	t->follow = !t->replay;
	t->sort = o->sort;
	t->events.queue = -1;
	t->finding_code = -1;
	t->speed = o->speed > 0 ? o->speed : 1;
	t->playing = t->replay && !o->start_paused;
	t->refresh_ns = o->refresh_ns ? o->refresh_ns : 1000 * MS;
	if (t->replay && t->refresh_ns > REPLAY_REFRESH_MAX)
		t->refresh_ns = REPLAY_REFRESH_MAX;
	t->ring->valid = false;
	t->chain_slot = UINT_MAX; /* nothing chosen yet: the first is a change */
	t->result = TUI_RESULT_OK;
	t->notices_seen = s->notices;

	if (t->replay)
		replay_prime(t);
	if (o->greeting) {
		tui_message(t, false, "%s", o->greeting);
		t->status_until = host_now_ns() + GREETING_NS;
	}
	if (curses_start(t, &screen, err, errlen) != 0) {
		rc = TUI_RESULT_FAILED;
	} else {
		run_loop(t);
		finish(t);
		curses_stop(screen);
		if (t->saved_recording[0])
			fprintf(stderr, "vqscope: recording saved to %s\n", t->saved_recording);
		if (t->src->ended && !t->replay)
			fprintf(stderr, "vqscope: %s\n", t->src->end_reason);
		rc = t->result;
	}
	replay_drop_checkpoint(t);
	source_close(t->own_src);
	model_free(t->own_model);
	free(t->ring);
	free(t->frozen);
	free(t);
	return rc;
}
