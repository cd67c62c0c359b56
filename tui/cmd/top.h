/* top.h - watching a source: the options shared by `top`, `run` and
 * `replay`, the batch printer, and the hand-over to the interactive view. */
#ifndef VQ_TOP_H
#define VQ_TOP_H

#include <stdbool.h>
#include <stdint.h>

#include "core/model.h"
#include "core/overview.h"
#include "live/source.h"

struct top_opts {
	bool batch;
	bool json;
	uint64_t interval_ns; /* batch: between updates; interactive: refresh */
	uint64_t count;	      /* batch: updates before stopping; 0 = until stopped */
	enum overview_sort sort;
	const char *command;   /* the command its messages name; NULL: "top" */
	const char *text_hint; /* without a terminal, what prints text; NULL: "--batch" */
	const char *greeting;  /* interactive: the first status message (tui_opts) */
	/* Replay (a recording as the source). */
	double speed;	   /* playback speed; 0: 1 */
	bool start_paused; /* wait for space instead of playing at once */
};

/* Parse one of top's options (getopt code c).  0 handled, -1 bad value
 * (message printed), 1 not one of top's. */
int top_parse_option(int c, const char *arg, struct top_opts *o, struct source_opts *so);
/* Run batch or interactive on an opened source; returns an exit code. */
int top_watch(struct source *s, const struct top_opts *o);

#endif /* VQ_TOP_H */
