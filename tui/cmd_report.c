/* cmd_report.c - vqscope report: summarise a recording. */
#include <getopt.h>
#include <stdlib.h>

#include "cli.h"
#include "report.h"
#include "source.h"

static const char help[] =
    "usage: vqscope report [OPTIONS] FILE.vqt\n"
    "\n"
    "Summarise a recording: per-queue command latency (ADD to USED) with\n"
    "p50/p90/p99/max, rates, spins and barriers per completion, lost records,\n"
    "and where the frame time went (writing log output, waiting for the\n"
    "device, polling, other driver work) with the worst stalls and their cause.\n"
    "\n"
    "  -j, --json            one JSON object instead of text\n"
    "      --salvage         read past damaged chunks instead of failing\n"
    "      --stall-frame T   a frame over T is a stall (default: 2x the median)\n"
    "      --stall-command T a command over T is a stall (default 10ms)\n"
    "  -h, --help            this text\n";

/* --stall-frame / --stall-command. */
static int report_parse_model_opts(const char *cmd, int c, const char *arg, struct model_opts *mo)
{
	uint64_t ns;

	if (!cli_parse_duration(arg, &ns) || ns == 0) {
		cli_error(cmd, "%s: '%s' is not a duration like 20ms",
			  c == 'F' ? "--stall-frame" : "--stall-command", arg);
		return -1;
	}
	if (c == 'F')
		mo->stall_frame_ns = ns;
	else
		mo->stall_command_ns = ns;
	return 0;
}

int cmd_report(int argc, char **argv)
{
	static const struct option longopts[] = {{"json", no_argument, NULL, 'j'},
						 {"salvage", no_argument, NULL, 'S'},
						 {"stall-frame", required_argument, NULL, 'F'},
						 {"stall-command", required_argument, NULL, 'C'},
						 {"help", no_argument, NULL, 'h'},
						 {NULL, 0, NULL, 0}};
	struct source_opts so = {0};
	struct model_opts mo = {.history = 1024};
	bool json = false;
	char err[512];
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'S':
			so.file_flags |= VQP_OPEN_SALVAGE;
			break;
		case 'F':
		case 'C':
			if (report_parse_model_opts("report", c, optarg, &mo) != 0)
				return EXIT_USAGE;
			break;
		case 'h':
			return cli_help(stdout, help);
		default:
			fputs(help, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		cli_error("report", "needs exactly one recording (see vqscope report --help)");
		return EXIT_USAGE;
	}
	struct source *src = source_open(argv[optind], &so, err, sizeof(err));
	if (!src) {
		cli_error("report", "%s", err);
		return EXIT_FAIL;
	}
	if (src->kind != SOURCE_FILE) {
		cli_error("report", "%s is a live VM; record it first (vqscope record)",
			  argv[optind]);
		source_close(src);
		return EXIT_USAGE;
	}
	if (src->file_note[0])
		fprintf(stderr, "vqscope report: warning: %s: %s\n", argv[optind], src->file_note);
	struct vq_model *m = model_new(&mo);
	struct report *r = calloc(1, sizeof(*r));
	if (!m || !r) {
		cli_error("report", "out of memory");
		free(r);
		model_free(m);
		source_close(src);
		return EXIT_FAIL;
	}
	source_file_all(src, m);
	report_build(r, m, argv[optind], src->end_reason);
	if (json) {
		json_object *j = report_json(r);

		puts(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY |
							   JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(j);
	} else {
		report_print_text(stdout, r);
	}
	free(r);
	model_free(m);
	source_close(src);
	return EXIT_OK;
}
