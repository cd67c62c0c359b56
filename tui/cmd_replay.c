/* cmd_replay.c - vqscope replay: play a recording in the interactive
 * view, paced by its own clock, with play/pause, event steps, jumps to a
 * frame or a time, and speed. */
#include <getopt.h>
#include <stdlib.h>

#include "cli.h"
#include "top.h"

static const char help[] = "usage: vqscope replay [OPTIONS] FILE.vqt\n"
			   "\n"
			   "Play a recording (from vqscope record, or r in the live view) in the\n"
			   "same screens as the live view, at the pace it was recorded.\n"
			   "Keys: space play/pause, n/N one event forward/back (the ring view\n"
			   "shows the queue just after that event), g a frame number or a time\n"
			   "like 12.5s, +/- or ]/[ speed, 1-5 screens, ? help, q quit.\n"
			   "\n"
			   "  -x, --speed X         playback speed (default 1, e.g. 0.25 or 8)\n"
			   "  -p, --paused          start paused at the beginning\n"
			   "  -i, --interval TIME   redraw interval (default 250ms)\n"
			   "      --salvage         read past damaged chunks\n"
			   "  -h, --help            this text\n"
			   "\n"
			   "`vqscope top --batch FILE.vqt` prints the same session as text.\n";

int cmd_replay(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"speed", required_argument, NULL, 'x'},	{"paused", no_argument, NULL, 'p'},
	    {"interval", required_argument, NULL, 'i'}, {"salvage", no_argument, NULL, 'S'},
	    {"help", no_argument, NULL, 'h'},		{NULL, 0, NULL, 0}};
	struct top_opts o = {.interval_ns = 250000000, .speed = 1};
	struct source_opts so = {0};
	char err[512], *end;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "x:pi:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'x':
			o.speed = strtod(optarg, &end);
			if (end == optarg || *end || !(o.speed >= 1.0 / 64 && o.speed <= 256)) {
				cli_error("replay",
					  "--speed: '%s' is not a number from 1/64 to 256", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'p':
			o.start_paused = true;
			break;
		case 'h':
			return cli_help(stdout, help);
		case '?':
			fputs(help, stderr);
			return EXIT_USAGE;
		default:
			if (top_parse_option(c, optarg, &o, &so) != 0)
				return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		cli_error("replay", "needs exactly one recording (FILE.vqt)");
		return EXIT_USAGE;
	}
	struct source *s = source_open(argv[optind], &so, err, sizeof(err));
	if (!s) {
		cli_error("replay", "%s", err);
		return EXIT_FAIL;
	}
	if (s->kind != SOURCE_FILE) {
		cli_error("replay", "%s is a live VM, not a recording (use vqscope top)",
			  argv[optind]);
		source_close(s);
		return EXIT_USAGE;
	}
	int rc = top_watch(s, &o);
	source_close(s);
	return rc;
}
