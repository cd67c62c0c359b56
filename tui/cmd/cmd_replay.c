/* cmd_replay.c - vqscope replay: play a recording in the interactive
 * view, paced by its own clock, with play/pause, event steps, jumps to a
 * frame or a time, and speed. */
#include <stdlib.h>

#include "cli.h"
#include "top.h"

static const char help[] = "usage: vqscope replay [OPTIONS] FILE.vqt\n"
			   "\n"
			   "Play a recording (from vqscope record, or r in the live view) in the\n"
			   "same screens as the live view, at the pace it was recorded.  Every\n"
			   "screen shows the session just after the event at the cursor.\n"
			   "Keys: space play/pause, n/N one event forward/back (the ring view\n"
			   "shows the queue just after that event), g a frame number or a time\n"
			   "like 12.5s, +/- or ]/[ speed, 1-6 screens, ? help, q quit.\n"
			   "\n"
			   "  -x, --speed X         playback speed (default 1, e.g. 0.25 or 8)\n"
			   "  -p, --paused          start paused at the beginning\n"
			   "  -i, --interval TIME   redraw interval (default 250ms)\n"
			   "      --salvage         read past damaged chunks\n"
			   "  -h, --help            this text\n"
			   "\n"
			   "`vqscope top --batch FILE.vqt` prints the same session as text.\n";

struct replay_args {
	struct top_opts o;
	struct source_opts so;
};

static int replay_option(void *ctx, int c, const char *arg)
{
	struct replay_args *a = ctx;
	char *end;

	if (c == 'x') {
		a->o.speed = strtod(arg, &end);
		if (end == arg || *end || !(a->o.speed >= 1.0 / 64 && a->o.speed <= 256)) {
			cli_error("replay", "--speed: '%s' is not a number from 1/64 to 256", arg);
			return EXIT_USAGE;
		}
		return 0;
	}
	if (c == 'p') {
		a->o.start_paused = true;
		return 0;
	}
	return top_parse_option(c, arg, &a->o, &a->so) == 0 ? 0 : EXIT_USAGE;
}

int cmd_replay(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"speed", required_argument, NULL, 'x'},	{"paused", no_argument, NULL, 'p'},
	    {"interval", required_argument, NULL, 'i'}, {"salvage", no_argument, NULL, 'S'},
	    {"help", no_argument, NULL, 'h'},		{NULL, 0, NULL, 0}};
	static const struct cli_spec spec = {"replay", help, "x:pi:h",
					     longopts, 1,    "recording (FILE.vqt)"};
	struct replay_args a = {.o = {.interval_ns = 250000000,
				      .speed = 1,
				      .command = "replay",
				      .text_hint = "vqscope top --batch FILE.vqt"}};
	int first, rc = cli_parse(&spec, argc, argv, replay_option, &a, &first);

	if (rc != CLI_RUN)
		return rc;
	struct source *s = cli_open_source("replay", argv[first], &a.so, SOURCE_FILE,
					   "is a live VM, not a recording (use vqscope top)", &rc);
	if (!s)
		return rc;
	rc = top_watch(s, &a.o);
	source_close(s);
	return rc;
}
