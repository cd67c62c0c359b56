/* tui_app.h - shared by the curses screens of the interactive view: the
 * state they render, the flags key handlers return, and the drawing
 * helpers.  Only tui_*.c include curses.
 *
 * Like htop, collection and display are apart: tui_app.c's main loop
 * feeds the model from the source and prepares what the screens need
 * (reading guest RAM, asking QEMU for a chain: all I/O happens there),
 * then redraws at the refresh tick; the screens only render the model
 * (live, or a frozen copy) and the data view_data.h and ring_view.h
 * prepare from it.  Key handlers change view state and return flags;
 * they never draw and never wait.
 */
#ifndef VQ_TUI_APP_H
#define VQ_TUI_APP_H

#include <curses.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/format.h"
#include "core/model.h"
#include "core/ring_view.h"
#include "core/view_data.h"
#include "live/source.h"
#include "tui.h"

enum tui_screen {
	SCREEN_OVERVIEW,
	SCREEN_RING,
	SCREEN_FRAMES,
	SCREEN_EVENTS,
	SCREEN_LATENCY,
	SCREEN_FINDINGS,
	SCREEN_COUNT
};

/* What a key handler did. */
enum {
	TUI_IGNORED = 0,
	TUI_HANDLED = 1 << 0,
	TUI_REDRAW = 1 << 1,
	TUI_QUIT = 1 << 2,
};

enum tui_style {
	STYLE_NORMAL,
	STYLE_BOLD,
	STYLE_TITLE,	/* column titles */
	STYLE_SELECTED, /* selected row or cell */
	STYLE_HINT,	/* key hint bar */
	STYLE_ERROR,
	STYLE_MODE, /* FROZEN, STEP, REC, PAUSED badges */
	STYLE_FREE,
	STYLE_AVAIL,
	STYLE_DEVICE,
	STYLE_USED,
	STYLE_POLL,
	STYLE_OTHER,
	STYLE_LOG,
	STYLE_STALL,
	STYLE_COUNT
};

enum prompt_kind { PROMPT_NONE, PROMPT_FILTER, PROMPT_GOTO };

struct tui {
	/* Collection: the source feeds `live`.  A replay feeds it exactly to
	 * the cursor, and to go back opens the recording again into
	 * own_src/own_model. */
	struct source *src;
	struct vq_model *live;
	struct source *own_src;
	struct vq_model *own_model;
	const struct tui_opts *opts;
	bool replay;
	/* A replay's checkpoint some events before the cursor: going back
	 * plays from there instead of from the start. */
	struct vq_model *cp_model;
	struct source_file_mark cp_mark;

	/* What the screens render: live, or the frozen copy. */
	const struct vq_model *m;
	struct vq_model *frozen;
	bool is_frozen;
	/* History cursor (view_data.h); follow: stay at the newest event. */
	uint64_t cursor;
	bool follow;

	/* Screen and selections. */
	enum tui_screen screen;
	bool help;
	bool color, utf8;
	unsigned queue_slot; /* selected queue */
	bool have_queue;
	enum overview_sort sort;
	char queue_filter[64];
	uint16_t ring_head; /* selected descriptor head in the ring view */
	struct event_filter events;
	size_t frames_back; /* frames view: how far back from the newest */
	/* Findings view: the selected finding, by code and queue. */
	int finding_code, finding_queue;

	/* Ring view data, gathered before drawing.  A chain asked of QEMU
	 * arrives later: chain_request is the question in flight (0: none). */
	struct ring_view *ring;
	struct chain_view chain;
	unsigned chain_slot;
	uint16_t chain_head;
	uint64_t chain_at_ns;
	uint64_t chain_request;
	uint64_t notices_seen; /* source notices already shown */

	/* Refresh and the completions sparkline. */
	uint64_t refresh_ns, next_tick_ns, last_tick_ns, last_tick_play_ns;
	struct rate_series completions;
	uint64_t completions_base;

	/* Live controls. */
	bool busy;	/* the last poll brought events */
	bool recording; /* a recording started here is running */
	bool step;
	uint64_t step_granted;
	uint64_t events_drawn; /* m->events at the last draw (step mode) */

	/* Replay. */
	bool playing;
	double speed;
	uint64_t play_ns; /* session time of the playback position */
	uint64_t last_play_host_ns;

	/* Status line: a message until status_until, else the mode. */
	char status[320];
	bool status_error;
	uint64_t status_until;

	/* Prompt in the status line. */
	enum prompt_kind prompt;
	char prompt_text[64];
	size_t prompt_len;

	enum tui_result result;
	char saved_recording[4096]; /* printed after leaving curses */
};

/* ---- tui_app.c: helpers for the screens ------------------------------------------- */

attr_t tui_attr(const struct tui *t, enum tui_style s);
/* Text at (y, x), cut at width columns (of the screen when width < 0). */
void tui_put(int y, int x, int width, attr_t attr, const char *text);
void tui_printf(int y, int x, int width, attr_t attr, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void tui_message(struct tui *t, bool error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The selected queue's slot in t->m, or false when there is none. */
bool tui_selected_queue(struct tui *t, unsigned *slot);
/* History index the screens show (the cursor's event); false when none. */
bool tui_cursor_index(const struct tui *t, size_t *index);
/* Move the cursor by delta events (freezing a live display first; a
 * replay reads on, or opens the recording again to go back). */
int tui_step_history(struct tui *t, long delta);
/* Move the cursor to the event at session time ns (freezing a live
 * display; a replay reads on, or opens the recording again to go back). */
int tui_go_to_time(struct tui *t, uint64_t ns);

/* ---- screens: draw into rows [top, top + rows); keys return flags ------------------- */

void tui_overview_draw(struct tui *t, int top, int rows);
int tui_overview_key(struct tui *t, int key);
void tui_ring_draw(struct tui *t, int top, int rows);
int tui_ring_key(struct tui *t, int key);
void tui_frames_draw(struct tui *t, int top, int rows);
int tui_frames_key(struct tui *t, int key);
void tui_events_draw(struct tui *t, int top, int rows);
int tui_events_key(struct tui *t, int key);
void tui_latency_draw(struct tui *t, int top, int rows);
void tui_findings_draw(struct tui *t, int top, int rows);
int tui_findings_key(struct tui *t, int key);
void tui_help_draw(struct tui *t, int top, int rows);
/* The one-line key hint for the bottom bar. */
const char *tui_help_hint(const struct tui *t);

#endif /* VQ_TUI_APP_H */
