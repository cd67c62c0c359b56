/* tui.h - the interactive view's entry point: the one header of the
 * screens layer that the commands include. */
#ifndef VQ_TUI_H
#define VQ_TUI_H

#include <stdbool.h>
#include <stdint.h>

#include "core/model.h"
#include "core/overview.h"
#include "live/source.h"

struct tui_opts {
	uint64_t refresh_ns; /* between redraws; 0: 1 s (250 ms at most in replay) */
	enum overview_sort sort;
	double speed;	   /* replay speed; 0: 1 */
	bool start_paused; /* replay: wait for space instead of playing at once */
	/* Asked on every turn of the loop: true quits (SIGINT, SIGTERM). */
	bool (*interrupted)(void *ctx);
	/* The status line's first message, for 30 s or until another one
	 * (vqscope run: the QMP socket free for a recording); NULL: none. */
	const char *greeting;
};

enum tui_result {
	TUI_RESULT_OK,		/* the user quit */
	TUI_RESULT_FAILED,	/* no terminal, out of memory: err says why */
	TUI_RESULT_SOURCE_GONE, /* the live VM went away */
	TUI_RESULT_REGION_GONE, /* the trace region's file shrank; the view went
				 * on with the device side */
};

/* Run the view on source s feeding model m until the user quits; the
 * terminal is restored on every way out.  Messages after leaving the
 * screen (a recording saved, why the VM went away) go to stderr. */
enum tui_result tui_run(struct source *s, struct vq_model *m, const struct tui_opts *o, char *err,
			size_t errlen);

#endif /* VQ_TUI_H */
